"""Scryfall card objects → validated gallery cards, filters, and file naming."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from training.sync.gallery import image_relpath, resolve_inside
from training.sync.records import RecordError, Rules, exclusion_reason, parse_card
from training.sync.settings import SyncSettings

CARD_ID = "0000579f-7b35-4ed3-b44c-db2a538066fe"
FACE_ILLUSTRATION = "8f9e1f7a-3a4c-4d1e-9a0b-8c1d2e3f4a5b"


def image_uris(stem: str) -> dict[str, str]:
    return {size: f"https://cards.scryfall.io/{size}/front/{stem}.jpg?1562894979"
            for size in ("small", "normal", "large", "png", "art_crop", "border_crop")}


def single_faced(**changes: object) -> dict[str, object]:
    record: dict[str, object] = {
        "object": "card", "id": CARD_ID, "oracle_id": "44623693-51d6-49ad-8cd7-140505caf02f",
        "illustration_id": "2f6d0a0c-5f3a-4b8a-9d4b-55a5f1d1c0a1", "name": "Fury Sliver", "lang": "en",
        "released_at": "2006-10-06", "scryfall_uri": "https://scryfall.com/card/tsp/157/fury-sliver",
        "layout": "normal", "image_status": "highres_scan", "image_uris": image_uris("a"),
        "set": "TSP", "set_name": "Time Spiral", "set_type": "expansion", "collector_number": "157",
        "digital": False, "rarity": "uncommon", "prices": {"usd": "0.29"}, "legalities": {"vintage": "legal"},
    }
    record.update(changes)
    return record


def transform() -> dict[str, object]:
    record = single_faced(name="Delver of Secrets // Insectile Aberration", layout="transform")
    del record["image_uris"], record["illustration_id"]
    record["card_faces"] = [
        {"object": "card_face", "name": "Delver of Secrets", "illustration_id": FACE_ILLUSTRATION,
         "image_uris": image_uris("front")},
        {"object": "card_face", "name": "Insectile Aberration", "image_uris": image_uris("back")},
    ]
    return record


def test_single_faced_card_has_one_face_named_like_the_card() -> None:
    card = parse_card(single_faced(), "normal")
    assert card.set == "tsp" and card.collector_number == "157" and card.rarity == "uncommon"
    assert [(f.face, f.name) for f in card.faces] == [(0, "Fury Sliver")]
    assert card.faces[0].image_uri.endswith("/normal/front/a.jpg?1562894979")
    assert card.prices == {"usd": "0.29"} and card.legalities == {"vintage": "legal"}


def test_double_faced_card_gets_one_entry_per_face_pointing_back_to_the_card() -> None:
    card = parse_card(transform(), "large")
    assert [(f.face, f.name) for f in card.faces] == [(0, "Delver of Secrets"), (1, "Insectile Aberration")]
    assert card.faces[0].illustration_id == FACE_ILLUSTRATION
    assert card.faces[1].image_uri.endswith("/large/front/back.jpg?1562894979")
    assert card.faces[0].oracle_id == card.oracle_id


@pytest.mark.parametrize(
    ("change", "variant"),
    [
        ({}, "normal"),
        ({"border_color": "borderless"}, "borderless"),
        ({"frame_effects": ["legendary", "showcase"]}, "showcase"),
        ({"frame_effects": ["extendedart"]}, "extended"),
        ({"full_art": True}, "fullart"),
        ({"promo": True}, "promo"),
        ({"digital": True, "border_color": "borderless"}, "digital"),
    ],
)
def test_variant_names_the_printing_treatment(change: dict[str, object], variant: str) -> None:
    assert parse_card(single_faced(**change), "normal").variant == variant


def test_split_card_with_top_level_image_is_one_entry() -> None:
    record = single_faced(name="Fire // Ice", layout="split",
                          card_faces=[{"name": "Fire"}, {"name": "Ice"}])
    card = parse_card(record, "normal")
    assert [(f.face, f.name) for f in card.faces] == [(0, "Fire // Ice")]


def test_rules_text_is_kept_per_printed_face() -> None:
    single = parse_card(single_faced(type_line="Creature — Sliver", mana_cost="{1}{R}",
                                     oracle_text="All Sliver creatures have double strike."), "normal")
    assert single.faces[0].rules == Rules("Creature — Sliver", "{1}{R}", "All Sliver creatures have double strike.")
    record = transform()
    faces = record["card_faces"]
    assert isinstance(faces, list)
    faces[0].update(type_line="Creature — Human Wizard", mana_cost="{U}", oracle_text="Look at the top card.")
    faces[1].update(type_line="Creature — Human Insect", mana_cost="", oracle_text="Flying")
    dfc = parse_card(record, "normal")
    assert [f.rules.type_line for f in dfc.faces] == ["Creature — Human Wizard", "Creature — Human Insect"]
    assert dfc.faces[1].rules.oracle_text == "Flying"


def test_one_image_card_of_several_faces_joins_their_rules() -> None:
    record = single_faced(name="Fire // Ice", layout="split", type_line="Instant // Instant",
                          card_faces=[{"name": "Fire", "mana_cost": "{1}{R}", "oracle_text": "Fire deals 2 damage."},
                                      {"name": "Ice", "mana_cost": "{1}{U}", "oracle_text": "Tap target permanent."}])
    rules = parse_card(record, "normal").faces[0].rules
    assert rules == Rules("Instant // Instant", "{1}{R} // {1}{U}", "Fire deals 2 damage.\n//\nTap target permanent.")


def test_reversible_card_takes_oracle_ids_from_its_faces() -> None:
    record = transform()
    record["layout"] = "reversible_card"
    del record["oracle_id"]
    faces = record["card_faces"]
    assert isinstance(faces, list)
    faces[0]["oracle_id"] = "11111111-2222-4333-8444-555555555555"
    card = parse_card(record, "normal")
    assert card.oracle_id is None
    assert card.faces[0].oracle_id == "11111111-2222-4333-8444-555555555555"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"id": "../../../etc/passwd"}, "not a UUID"),
        ({"id": "0000579F7B354ED3B44CDB2A538066FE"}, "canonical"),
        ({"id": 12}, "not a UUID string"),
        ({"name": ""}, "'name'"),
        ({"set": None}, "'set'"),
        ({"digital": "no"}, "'digital'"),
        ({"image_uris": {"normal": "file:///etc/passwd"}}, "http(s) URL"),
        ({"image_uris": "https://x"}, "not an object"),
        ({"oracle_id": "nope"}, "oracle_id"),
        ({"prices": [1, 2]}, "'prices'"),
        ({"oracle_text": 3}, "'oracle_text'"),
        ({"object": "ruling"}, "not a card"),
    ],
)
def test_malformed_records_are_rejected_with_the_reason(change: dict[str, object], message: str) -> None:
    with pytest.raises(RecordError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_card(single_faced(**change), "normal")


def test_non_object_record_is_rejected() -> None:
    with pytest.raises(RecordError, match="not a JSON object"):
        parse_card(["not", "a", "card"], "normal")


@pytest.mark.parametrize(
    ("change", "settings", "reason"),
    [
        ({"lang": "ja"}, {}, "language"),
        ({"set": "war"}, {"sets": ("TSP",)}, "set"),
        ({"digital": True}, {}, "digital"),
        ({"layout": "token"}, {}, "token"),
        ({"set_type": "token"}, {}, "token"),
        ({"layout": "art_series"}, {}, "art series"),
        ({"image_status": "missing"}, {}, "no image"),
        ({"image_uris": None}, {}, "no image"),
    ],
)
def test_filters_exclude_what_the_settings_exclude(
    change: dict[str, object], settings: dict[str, object], reason: str
) -> None:
    card = parse_card(single_faced(**change), "normal")
    assert exclusion_reason(card, SyncSettings(**settings)) == reason  # type: ignore[arg-type]


def test_filters_can_be_widened() -> None:
    settings = SyncSettings(languages=("en", "JA"), include_digital=True, include_tokens=True, include_art_series=True)
    for change in ({"lang": "ja"}, {"digital": True}, {"layout": "token"}, {"layout": "art_series"}):
        assert exclusion_reason(parse_card(single_faced(**change), "normal"), settings) is None


def test_image_names_come_only_from_the_uuid_face_and_url(tmp_path: Path) -> None:
    card = parse_card(single_faced(set="../../evil", name="../../evil"), "normal")
    rel = image_relpath(card.id, 0, card.faces[0].image_uri, "normal")
    assert rel.startswith(f"images/00/{CARD_ID}-0-") and rel.endswith(".jpg")
    assert "evil" not in rel
    assert resolve_inside(tmp_path, rel).is_relative_to(tmp_path.resolve())
    updated = image_relpath(card.id, 0, card.faces[0].image_uri.replace("1562894979", "1700000000"), "normal")
    assert updated != rel, "a replaced scan (new URL timestamp) must get a new file name"
    assert image_relpath(card.id, 0, "u", "png").endswith(".png")


@pytest.mark.parametrize("bad_id", ["../x", "0000579f-7b35-4ed3-b44c-db2a538066fe/../../x", CARD_ID.upper()])
def test_image_relpath_refuses_anything_but_a_canonical_uuid(bad_id: str) -> None:
    with pytest.raises(ValueError):
        image_relpath(bad_id, 0, "https://x", "normal")


def test_resolve_inside_refuses_escapes(tmp_path: Path) -> None:
    for rel in ("../outside.jpg", "/etc/passwd", "images/../../x"):
        with pytest.raises(ValueError, match="escapes"):
            resolve_inside(tmp_path / "gallery", rel)


def test_records_are_not_mutated_by_parsing() -> None:
    record = transform()
    before = copy.deepcopy(record)
    parse_card(record, "normal")
    assert record == before
