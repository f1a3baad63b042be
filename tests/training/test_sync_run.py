"""Whole syncs against the local Scryfall stand-in: full, incremental, dry run, faults, safety."""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from pathlib import Path

import pytest
from PIL import Image

from tests.scryfall_stub import ScryfallStub, StubCard, generate_cards, sync_settings
from training.sync.errors import GalleryBusy, SyncError
from training.sync.gallery import gallery_lock
from training.sync.run import SyncSummary, run_sync

CONTRACT_FIELDS = {
    "id", "oracle_id", "illustration_id", "name", "card_name", "face", "set", "set_name",
    "collector_number", "rarity", "lang", "layout", "variant", "released_at", "scryfall_uri", "image_uri", "image",
}
IMAGE_NAME = re.compile(r"^images/[0-9a-f]{2}/[0-9a-f-]{36}-\d+-[0-9a-f]{10}\.jpg$")


def read_gallery(gallery: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (gallery / "cards.jsonl").read_text().splitlines()]


def all_files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


async def sync(stub: ScryfallStub, gallery: Path, **overrides: object) -> SyncSummary:
    dry_run = bool(overrides.pop("dry_run", False))
    return await run_sync(sync_settings(stub, gallery, **overrides), dry_run=dry_run, progress=False)


@pytest.mark.parametrize("bulk_format", ["json", "jsonl"])
async def test_full_sync_writes_the_gallery_contract(tmp_path: Path, bulk_format: str) -> None:
    cards = generate_cards(10)  # cards 4 and 9 are double-faced: 12 face images
    gallery = tmp_path / "gallery"
    async with ScryfallStub(cards) as stub:
        summary = await sync(stub, gallery, bulk_format=bulk_format)
        requests = list(stub.requests)

    assert summary.ok and summary.bulk is not None and summary.bulk.form == bulk_format
    assert summary.cards is not None and (summary.cards.new, summary.cards.rejected) == (10, 0)
    assert (summary.images_downloaded, summary.images_failed, summary.gallery_entries) == (12, 0, 12)
    entries = read_gallery(gallery)
    assert len(entries) == 12
    for entry in entries:
        assert CONTRACT_FIELDS <= set(entry)
        assert IMAGE_NAME.match(str(entry["image"]))
        with Image.open(gallery / str(entry["image"])) as image:
            image.load()
    dfc = [e for e in entries if e["id"] == cards[4].id]
    assert [(e["face"], e["name"], e["card_name"]) for e in dfc] == [
        (0, "Card 4 Front", "Card 4 Front // Card 4 Back"), (1, "Card 4 Back", "Card 4 Front // Card 4 Back"),
    ]
    assert dfc[0]["image"] != dfc[1]["image"] and dfc[0]["layout"] == "transform"

    gallery_reader = pytest.importorskip("training.gallery")  # what `cardsight index` reads
    items = gallery_reader.read_gallery(gallery)
    assert sorted((i.entry.card_id, i.entry.face) for i in items) == sorted((e["id"], e["face"]) for e in entries)

    with sqlite3.connect(gallery / "catalog.sqlite") as db:
        prices, legalities = db.execute("SELECT prices, legalities FROM cards WHERE id = ?", (cards[0].id,)).fetchone()
    assert json.loads(prices)["usd"] == "0.10" and json.loads(legalities)["vintage"] == "legal"
    plain = next(e for e in entries if e["id"] == cards[0].id)
    assert plain["prices"]["usd"] == "0.10" and plain["legalities"]["vintage"] == "legal"
    assert plain["type_line"] == "Instant" and plain["oracle_text"] == f"{cards[0].name} deals 3 damage to any target."
    assert re.fullmatch(r"2024-05-\d\d", str(plain["prices_date"]))
    assert [e["type_line"] for e in dfc] == ["Creature — Face 0", "Creature — Face 1"]
    details = items[0].entry.details  # what `cardsight index` puts in the catalog
    assert details is not None and details.prices == {"usd": "0.10"} and details.prices_date == plain["prices_date"]

    assert all(r.user_agent and r.user_agent.startswith("cardsight/") and r.accept for r in requests)
    assert len([r for r in requests if r.path.startswith("/bulk/")]) == 1
    assert all_files(gallery) == {"cards.jsonl", "catalog.sqlite", ".sync/lock"} | {str(e["image"]) for e in entries} | {
        f for f in all_files(gallery) if f.startswith("catalog.sqlite-")
    }


async def test_second_sync_fetches_only_what_changed(tmp_path: Path) -> None:
    cards = generate_cards(8)
    gallery = tmp_path / "gallery"
    async with ScryfallStub(cards) as stub:
        await sync(stub, gallery)
        first_entries = {(e["id"], e["face"]): e for e in read_gallery(gallery)}

        stub.requests.clear()
        unchanged = await sync(stub, gallery)
        assert [r.path for r in stub.requests] == ["/api/bulk-data"]
        assert not unchanged.bulk_downloaded and unchanged.images_present == 9

        removed, bumped = cards[0], cards[2]
        added = StubCard("5b9d0b36-3f6b-4f3c-9c1e-2f9a4f1b7a10", "Brand New", "new", "1")
        stub.cards.remove(removed)
        stub.cards.append(added)
        stub.bump_image(bumped)
        stub.publish()
        stub.requests.clear()
        changed = await sync(stub, gallery)
        fetched_images = sorted(r.path for r in stub.requests if r.path.startswith("/img/"))

    assert fetched_images == sorted([stub.image_path(added, 0), stub.image_path(bumped, 0)])
    assert changed.cards is not None
    assert (changed.cards.new, changed.cards.updated, changed.cards_removed) == (1, 1, 1)
    entries = {(e["id"], e["face"]): e for e in read_gallery(gallery)}
    assert (removed.id, 0) not in entries and (added.id, 0) in entries
    old, new = first_entries[(bumped.id, 0)], entries[(bumped.id, 0)]
    assert new["image"] != old["image"] and new["image_uri"] != old["image_uri"]
    assert not (gallery / str(old["image"])).exists(), "the replaced scan should be deleted"
    assert not (gallery / str(first_entries[(removed.id, 0)]["image"])).exists()
    assert {str(e["image"]) for e in entries.values()} == {f for f in all_files(gallery) if f.startswith("images/")}


async def test_dry_run_reports_the_plan_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cards = generate_cards(5)
    gallery = tmp_path / "gallery"
    async with ScryfallStub(cards) as stub:
        plan = await sync(stub, gallery, dry_run=True)
        assert not any(r.path.startswith("/img/") for r in stub.requests)
        assert not (gallery / "cards.jsonl").exists() and not (gallery / "images").exists()
        assert plan.cards is not None and plan.cards.new == 5 and plan.images_to_fetch == 6
        assert "6 to download" in plan.render()

        await sync(stub, gallery)
        before = (gallery / "cards.jsonl").read_bytes()
        stub.cards.append(StubCard("9a3b7c1e-0d2f-4e5a-8b6c-7d8e9f0a1b2c", "Late Addition", "new", "2"))
        stub.publish()
        stub.requests.clear()
        plan = await sync(stub, gallery, dry_run=True)
        assert not any(r.path.startswith("/img/") for r in stub.requests)

    assert plan.cards is not None and (plan.cards.new, plan.cards.unchanged) == (1, 5)
    assert (plan.images_to_fetch, plan.images_present) == (1, 6)
    assert (gallery / "cards.jsonl").read_bytes() == before
    with sqlite3.connect(gallery / "catalog.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM cards").fetchone()[0] == 5


async def test_faults_are_retried_and_a_corrupt_image_is_never_kept(tmp_path: Path) -> None:
    cards = generate_cards(6)
    gallery = tmp_path / "gallery"
    async with ScryfallStub(cards, slow_s=1.0) as stub:
        stub.inject("/api/bulk-data", "500")
        stub.inject("/bulk/unique_artwork-00000001.jsonl.gz", "drop")
        stub.inject(stub.image_path(cards[0], 0), "drop", "500")
        stub.inject(stub.image_path(cards[1], 0), "slow")
        stub.corrupt.add(stub.image_path(cards[2], 0))
        summary = await sync(stub, gallery, read_timeout_s=0.3)
        corrupt_attempts = len(stub.requests_to(stub.image_path(cards[2], 0)))

    assert (summary.images_downloaded, summary.images_failed) == (6, 1)
    assert not summary.ok and "1 failed" in summary.render()
    assert corrupt_attempts == 3, "a bad image is retried (retries=2) before it counts as failed"
    ids = {e["id"] for e in read_gallery(gallery)}
    assert cards[2].id not in ids and {cards[0].id, cards[1].id} <= ids
    assert not any(cards[2].id in f for f in all_files(gallery))
    assert not any(f.endswith(".part") for f in all_files(gallery))


async def test_malformed_records_are_rejected_with_a_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cards = generate_cards(3)
    async with ScryfallStub(cards) as stub:
        nameless = stub.card_json(StubCard("1f0e2d3c-4b5a-4697-8877-665544332211", "x", "abc", "1"))
        del nameless["name"]
        stub.extra_records += [{"id": "../../etc/passwd", "name": "Evil"}, nameless, "just a string"]
        stub.extra_lines.append("{this is not json")
        with caplog.at_level(logging.WARNING, logger="training.sync"):
            summary = await sync(stub, tmp_path / "gallery", bulk_format="jsonl")

    assert summary.cards is not None and (summary.cards.new, summary.cards.rejected) == (3, 4)
    messages = [r.getMessage() for r in caplog.records if "rejected bulk record" in r.getMessage()]
    assert "rejected bulk record #4 (id '../../etc/passwd'): id '../../etc/passwd' is not a UUID" in messages
    assert any("(id '1f0e2d3c-4b5a-4697-8877-665544332211'): field 'name' is missing" in m for m in messages)
    assert any("#6 (no id): record is str, not a JSON object" in m for m in messages)
    assert any("#7 (no id): not valid JSON" in m for m in messages)


async def test_no_record_can_write_outside_the_gallery(tmp_path: Path) -> None:
    cards = generate_cards(2)
    gallery = tmp_path / "gallery"
    async with ScryfallStub(cards) as stub:
        hostile = StubCard("7c6b5a49-3827-4165-9f4e-3d2c1b0a9f8e", "../../../../escaped", "../../..", "../../x")
        stub.cards.append(hostile)
        record = stub.card_json(cards[0])
        record["id"] = "../../../../tmp/escaped"
        stub.extra_records.append(record)
        summary = await sync(stub, gallery)

    assert summary.cards is not None and summary.cards.new == 3 and summary.cards.rejected == 1
    assert [p.name for p in tmp_path.iterdir()] == ["gallery"]
    images = {f for f in all_files(gallery) if f.startswith("images/")}
    assert len(images) == 3 and all(IMAGE_NAME.match(f) for f in images)
    entry = next(e for e in read_gallery(gallery) if e["id"] == hostile.id)
    assert entry["set"] == "../../.." and str(entry["image"]).startswith(f"images/7c/{hostile.id}-0-")


async def test_filters_keep_tokens_digital_and_other_languages_out(tmp_path: Path) -> None:
    cards = generate_cards(3, double_faced_every=0)
    cards[0].lang, cards[1].digital, cards[2].layout = "ja", True, "token"
    extra = StubCard("3e4f5a6b-7c8d-49e0-a1b2-c3d4e5f6a7b8", "Kept", "abc", "1")
    async with ScryfallStub([*cards, extra]) as stub:
        summary = await sync(stub, tmp_path / "gallery")
        widened = await sync(stub, tmp_path / "gallery", languages=("en", "ja"), include_digital=True)

    assert summary.cards is not None and dict(summary.cards.filtered) == {"language": 1, "digital": 1, "token": 1}
    assert widened.cards is not None and widened.cards.new == 2, "changing the filters re-reads the card list"
    assert {e["name"] for e in read_gallery(tmp_path / "gallery")} == {"Kept", "Card 0", "Card 1"}


async def test_an_empty_card_list_never_empties_the_gallery(tmp_path: Path) -> None:
    gallery = tmp_path / "gallery"
    async with ScryfallStub(generate_cards(3)) as stub:
        await sync(stub, gallery)
        before = (gallery / "cards.jsonl").read_bytes()
        stub.cards.clear()
        stub.publish()
        with pytest.raises(SyncError, match="refusing to empty the gallery"):
            await sync(stub, gallery)
    assert (gallery / "cards.jsonl").read_bytes() == before


async def test_a_second_sync_on_the_same_gallery_is_refused(tmp_path: Path) -> None:
    gallery = tmp_path / "gallery"
    async with ScryfallStub(generate_cards(1)) as stub:
        with gallery_lock(gallery):
            with pytest.raises(GalleryBusy, match="another `cardsight sync`"):
                await sync(stub, gallery)
        assert stub.requests == []


def test_schema_1_catalog_gains_rules_columns_and_reads_the_card_list_again(tmp_path: Path) -> None:
    from training.sync.store import SCHEMA, CatalogStore

    path = tmp_path / "catalog.sqlite"
    v1 = re.sub(r"\n    (type_line|mana_cost|oracle_text) TEXT NOT NULL DEFAULT '',", "", SCHEMA)
    assert "oracle_text" not in v1
    with sqlite3.connect(path) as db:
        db.executescript(v1)
        db.execute("INSERT INTO state VALUES ('bulk_updated_at', '2024-05-01T09:00:00+00:00')")
        db.execute("PRAGMA user_version=1")
    store = CatalogStore(path)
    try:
        assert store.get_state("bulk_updated_at") is None  # the next sync re-reads the bulk file
    finally:
        store.close()
    with sqlite3.connect(path) as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(faces)")}
        assert {"type_line", "mana_cost", "oracle_text"} <= columns
        assert db.execute("PRAGMA user_version").fetchone()[0] == 2
