"""The SQLite card catalog: rows as CardMatch, fuzzy name lookup, lookup by card id."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import pytest

from engine.catalog import Catalog, CatalogEntry, normalise_name, write_catalog
from engine.types import CardDetails, CardMatch

NAMES = [
    ("a1", 0, "Jace, the Mind Sculptor", "wwk", "31"),
    ("a2", 0, "Lightning Bolt", "lea", "161"),
    ("a3", 0, "Lightning Bolt", "m10", "146"),
    ("a4", 0, "Lightning Helix", "rav", "213"),
    ("a5", 0, "Æther Vial", "dst", "91"),
    ("a6", 0, "Delver of Secrets", "isd", "51"),
    ("a6", 1, "Insectile Aberration", "isd", "51"),
    ("a7", 0, "Bolt Bend", "war", "115"),
    ("a8", 0, "Chain Lightning", "leg", "137"),
]


def entry(card_id: str, face: int, name: str, set_code: str, number: str) -> CatalogEntry:
    return CatalogEntry(
        card_id=card_id, name=name, set_code=set_code, collector_number=number, face=face,
        scryfall_uri=f"https://scryfall.com/card/{set_code}/{number}", set_name=f"Set {set_code}",
        oracle_id=f"o-{name}", image_uri=f"https://img/{card_id}-{face}.jpg",
        extra={"note": "x"} if face else {},
    )


@pytest.fixture()
def catalog(tmp_path: Path) -> Catalog:
    # A folder name with URI-special characters: the catalog is opened through a file: URI.
    folder = tmp_path / "my cards #1 ?50%"
    folder.mkdir()
    path = folder / "catalog.sqlite"
    assert write_catalog(path, [entry(*n) for n in NAMES]) == len(NAMES)
    cat = Catalog(path)
    yield cat
    cat.close()


def names(matches: list[CardMatch]) -> list[str]:
    return [m.name for m in matches]


def test_rows_read_back_as_card_matches(catalog: Catalog) -> None:
    assert catalog.size == len(NAMES)
    got = catalog.matches([6, 1, 99], [0.5, 0.9, 0.1])  # 99 does not exist: left out
    assert got == [
        CardMatch(card_id="a6", name="Insectile Aberration", set="isd", set_name="Set isd",
                  collector_number="51", scryfall_uri="https://scryfall.com/card/isd/51",
                  image_uri="https://img/a6-1.jpg", score=0.5, oracle_id="o-Insectile Aberration",
                  face=1),
        CardMatch(card_id="a2", name="Lightning Bolt", set="lea", set_name="Set lea",
                  collector_number="161", scryfall_uri="https://scryfall.com/card/lea/161",
                  image_uri="https://img/a2-0.jpg", score=0.9, oracle_id="o-Lightning Bolt", face=0),
    ]
    assert catalog.matches([], []) == []


def test_lookup_exact_name_first(catalog: Catalog) -> None:
    found = catalog.lookup("lightning bolt")
    assert found[0].name == "Lightning Bolt" and found[0].score == 1.0
    assert found[0].set == "lea"  # the earliest indexed printing represents the name
    assert names(found).count("Lightning Bolt") == 1


def test_lookup_prefix(catalog: Catalog) -> None:
    found = catalog.lookup("Lightning")
    assert set(names(found)[:2]) == {"Lightning Bolt", "Lightning Helix"}
    assert all(m.score == 0.9 for m in found[:2])


def test_lookup_substring(catalog: Catalog) -> None:
    found = catalog.lookup("mind sculptor")
    assert names(found) == ["Jace, the Mind Sculptor"]
    assert found[0].score == 0.8


def test_lookup_misspelt(catalog: Catalog) -> None:
    assert names(catalog.lookup("Lightnig Bolt"))[0] == "Lightning Bolt"
    assert names(catalog.lookup("delver of secret"))[0] == "Delver of Secrets"
    assert catalog.lookup("Lightnig Bolt")[0].score < 0.8


def test_lookup_ignores_accents_case_and_punctuation(catalog: Catalog) -> None:
    assert names(catalog.lookup("aether vial")) == ["Æther Vial"]
    assert names(catalog.lookup("JACE THE MIND-SCULPTOR!"))[0] == "Jace, the Mind Sculptor"
    assert normalise_name("Jace, the Mind Sculptor") == "jace the mind sculptor"
    assert normalise_name("Æther  Vial") == "aether vial"


def test_lookup_empty_and_unmatched(catalog: Catalog) -> None:
    assert catalog.lookup("") == []
    assert catalog.lookup("  ,.! ") == []
    assert catalog.lookup("zzzzqqqq") == []


def test_lookup_limit(catalog: Catalog) -> None:
    assert len(catalog.lookup("l", limit=2)) == 2
    assert len(catalog.lookup("bolt", limit=1)) == 1


def test_by_card_id_with_and_without_face(catalog: Catalog) -> None:
    front = catalog.by_card_id("a6")
    back = catalog.by_card_id("a6:1")
    assert front is not None and front.name == "Delver of Secrets" and front.face == 0
    assert back is not None and back.name == "Insectile Aberration" and back.face == 1
    assert catalog.by_card_id("a6:0") == front
    assert catalog.by_card_id("a6:7") is None
    assert catalog.by_card_id("nope") is None
    assert catalog.by_card_id("a6:x") == front  # a malformed face falls back to the front


def test_concurrent_readers(catalog: Catalog) -> None:
    errors: list[BaseException] = []

    def read() -> None:
        try:
            for _ in range(50):
                assert catalog.lookup("bolt")[0].name == "Bolt Bend"
                assert catalog.by_card_id("a2") is not None
        except BaseException as exc:  # collected and re-raised in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


BOLT_DETAILS = CardDetails(
    type_line="Instant", mana_cost="{R}", oracle_text="Lightning Bolt deals 3 damage to any target.",
    prices={"usd": "1.20", "eur": "0.95", "tix": "0.02"}, prices_date="2024-05-01",
    legalities={"modern": "legal", "standard": "not_legal", "vintage": "legal"},
)


def test_details_are_stored_and_read_back_and_absent_without_them(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    bolt = dataclasses.replace(entry("b1", 0, "Lightning Bolt", "m10", "146"), details=BOLT_DETAILS)
    write_catalog(path, [bolt, entry("b2", 0, "Counterspell", "lea", "54")])
    cat = Catalog(path)
    try:
        (found,) = cat.matches([0], [0.9])
        assert found.details == BOLT_DETAILS
        assert cat.by_card_id("b1").details == BOLT_DETAILS  # type: ignore[union-attr]
        assert cat.by_card_id("b2").details is None  # type: ignore[union-attr]
        assert "details" not in cat.by_card_id("b2").to_json()  # type: ignore[union-attr]
    finally:
        cat.close()


def test_details_from_json_keep_only_well_formed_fields() -> None:
    raw = {"type_line": "Instant", "oracle_text": "", "prices": {"usd": "1.20", "eur": None, "usd_etched": "9"},
           "legalities": {"modern": "legal", "pauper": 3}, "prices_date": 20240501}
    assert CardDetails.from_json(raw) == CardDetails(type_line="Instant", prices={"usd": "1.20"},
                                                     legalities={"modern": "legal"})
    assert CardDetails.from_json({"name": "x", "prices": {}}) is None
    assert CardDetails.from_json([1]) is None


def test_lookup_in_a_set_gives_that_printing(catalog: Catalog) -> None:
    (m10,) = catalog.lookup("lightning bolt", set_code="M10")
    assert (m10.name, m10.set, m10.collector_number) == ("Lightning Bolt", "m10", "146")
    assert [m.set for m in catalog.lookup("lightnig bolt", set_code="lea")] == ["lea"]
    assert catalog.lookup("lightning bolt", set_code="rav") == []  # no printing there
    assert catalog.lookup("zzzzqqqq", set_code="lea") == []
