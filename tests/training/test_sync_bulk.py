"""Bulk listing choice and streaming parse of both bulk file forms."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from training.sync.bulk import BulkFile, choose_bulk, iter_records
from training.sync.errors import BulkError
from training.sync.settings import SyncSettings

RECORDS = [{"object": "card", "id": f"card-{i}", "cmc": 2.0, "name": "Ünïcödé"} for i in range(5)]


def listing(**extra: object) -> dict[str, object]:
    base = {"object": "bulk_data", "updated_at": "2024-05-01T09:02:44.153+00:00", "size": 190_000_000,
            "content_type": "application/json", "content_encoding": "gzip"}
    return {"object": "list", "has_more": False, "data": [
        {**base, "type": "oracle_cards", "download_uri": "https://data.scryfall.io/oracle-cards/o.json"},
        {**base, "type": "unique_artwork", "download_uri": "https://data.scryfall.io/unique-artwork/u.json", **extra},
    ]}


def test_choose_bulk_picks_the_configured_type() -> None:
    bulk = choose_bulk(listing(), SyncSettings())
    assert (bulk.type, bulk.form, bulk.url) == ("unique_artwork", "json", "https://data.scryfall.io/unique-artwork/u.json")
    assert bulk.size == 190_000_000
    oracle = choose_bulk(listing(), SyncSettings(bulk_type="oracle_cards"))
    assert oracle.url.endswith("/o.json")


def test_choose_bulk_prefers_json_lines_when_offered_and_allowed() -> None:
    offered = listing(jsonl_download_uri="https://data.scryfall.io/unique-artwork/u.jsonl.gz")
    assert choose_bulk(offered, SyncSettings()).form == "jsonl"
    assert choose_bulk(offered, SyncSettings(bulk_format="json")).form == "json"
    with pytest.raises(BulkError, match="jsonl_download_uri"):
        choose_bulk(listing(), SyncSettings(bulk_format="jsonl"))


def test_choose_bulk_names_what_is_missing() -> None:
    with pytest.raises(BulkError, match="no 'default_cards' file .*oracle_cards, unique_artwork"):
        choose_bulk(listing(), SyncSettings(bulk_type="default_cards"))
    with pytest.raises(BulkError, match="list object"):
        choose_bulk({"object": "error"}, SyncSettings())
    with pytest.raises(BulkError, match="download URL"):
        choose_bulk(listing(download_uri="ftp://x"), SyncSettings())


def test_cache_name_is_built_from_digits_only() -> None:
    bulk = BulkFile(type="unique_artwork", updated_at="../../2024-05-01T09:02/../x", url="https://x", form="json", size=None)
    assert bulk.cache_name() == "unique_artwork-202405010902.json.raw"


@pytest.mark.parametrize("compress", [False, True])
def test_json_array_streams_record_by_record(tmp_path: Path, compress: bool) -> None:
    data = json.dumps(RECORDS).encode()
    path = tmp_path / "bulk.raw"
    path.write_bytes(gzip.compress(data) if compress else data)
    got = list(iter_records(path, "json"))
    assert [n for n, _ in got] == [1, 2, 3, 4, 5]
    assert [r for _, r in got] == RECORDS
    assert isinstance(got[0][1]["cmc"], float)


def test_json_lines_yield_bad_lines_as_errors_not_failures(tmp_path: Path) -> None:
    lines = [json.dumps(r) for r in RECORDS[:2]] + ["{not json", "", json.dumps(RECORDS[2])]
    path = tmp_path / "bulk.raw"
    path.write_bytes(gzip.compress("\n".join(lines).encode()))
    got = list(iter_records(path, "jsonl"))
    assert [r for _, r in got if isinstance(r, dict)] == RECORDS[:3]
    errors = [(n, r) for n, r in got if isinstance(r, Exception)]
    assert len(errors) == 1 and errors[0][0] == 3


def test_double_gzipped_json_lines_are_read(tmp_path: Path) -> None:
    path = tmp_path / "bulk.raw"
    path.write_bytes(gzip.compress(gzip.compress(json.dumps(RECORDS[0]).encode())))
    assert [r for _, r in iter_records(path, "jsonl")] == RECORDS[:1]


@pytest.mark.parametrize(
    ("content", "form"),
    [
        (json.dumps(RECORDS).encode()[:-30], "json"),  # truncated array
        (b'{"object": "list"}', "json"),  # not an array
        (gzip.compress(json.dumps(RECORDS).encode())[:-20], "json"),  # truncated gzip
        (gzip.compress(b"\n".join(json.dumps(r).encode() for r in RECORDS))[:-12], "jsonl"),
    ],
)
def test_broken_bulk_files_raise_bulk_error(tmp_path: Path, content: bytes, form: str) -> None:
    path = tmp_path / "bulk.raw"
    path.write_bytes(content)
    with pytest.raises(BulkError, match="bulk.raw"):
        list(iter_records(path, form))
