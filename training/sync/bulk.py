"""Scryfall bulk files: pick one from ``/bulk-data``, download it to disk, stream its records.

The file is streamed to disk as it arrives (still gzip-compressed when the server sent it
so) and parsed from disk record by record, so memory holds one card at a time, never the
file. Both published forms are read: the JSON array at ``download_uri`` (parsed
incrementally by ijson) and the gzipped JSON Lines at ``jsonl_download_uri``. A finished
download is kept under ``.sync/`` until its cards are in the catalog, so a sync killed while
ingesting does not download it again.
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import aiohttp
import ijson

from training.sync.atomic import atomic_writer
from training.sync.errors import BulkError
from training.sync.http import PoliteClient
from training.sync.settings import SyncSettings

GZIP_MAGIC = b"\x1f\x8b"
ACCEPT_BULK = "application/json, application/jsonl;q=0.9, application/gzip;q=0.8"


@dataclass(frozen=True)
class BulkFile:
    type: str
    updated_at: str
    url: str
    form: str  # "json" or "jsonl"
    size: int | None

    def cache_name(self) -> str:
        """A file name built from digits and the fixed type names only (never raw remote text)."""
        stamp = re.sub(r"[^0-9]", "", self.updated_at)[:20] or "undated"
        return f"{self.type}-{stamp}.{self.form}.raw"


def choose_bulk(listing: Any, settings: SyncSettings) -> BulkFile:
    """The bulk object of the configured type from a ``/bulk-data`` list, in the configured form."""
    items = listing.get("data") if isinstance(listing, dict) else None
    if not isinstance(items, list):
        raise BulkError("/bulk-data did not return a list object with 'data'")
    for item in items:
        if isinstance(item, dict) and item.get("type") == settings.bulk_type:
            break
    else:
        offered = ", ".join(str(i.get("type")) for i in items if isinstance(i, dict))
        raise BulkError(f"/bulk-data offers no {settings.bulk_type!r} file (offered: {offered or 'none'})")
    jsonl_url = item.get("jsonl_download_uri")
    if settings.bulk_format == "jsonl" and not jsonl_url:
        raise BulkError(f"bulk file {settings.bulk_type!r} has no jsonl_download_uri; set sync.bulk_format = 'json'")
    use_jsonl = settings.bulk_format == "jsonl" or (settings.bulk_format == "auto" and bool(jsonl_url))
    url = jsonl_url if use_jsonl else item.get("download_uri")
    updated_at = item.get("updated_at")
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise BulkError(f"bulk file {settings.bulk_type!r} has no usable download URL")
    if not isinstance(updated_at, str) or not updated_at:
        raise BulkError(f"bulk file {settings.bulk_type!r} has no updated_at")
    size = item.get("size")
    return BulkFile(
        type=settings.bulk_type, updated_at=updated_at, url=url,
        form="jsonl" if use_jsonl else "json", size=size if isinstance(size, int) else None,
    )


async def download_bulk(
    client: PoliteClient, bulk: BulkFile, cache_dir: Path, on_progress: Callable[[int, int | None], None]
) -> Path:
    """The bulk file on disk under `cache_dir`, downloaded unless an earlier run finished it.

    `on_progress(bytes, total)` is called per chunk; `bytes` < 0 means a retry restarted.
    """
    dest = cache_dir / bulk.cache_name()
    if dest.is_file():
        return dest

    async def consume(resp: aiohttp.ClientResponse) -> None:
        encoding = resp.headers.get("Content-Encoding", "identity").lower()
        if encoding not in ("identity", "gzip"):
            raise BulkError(f"{bulk.url}: unsupported Content-Encoding {encoding!r}")
        on_progress(-1, resp.content_length)
        with atomic_writer(dest) as fh:
            async for chunk in resp.content.iter_chunked(1 << 16):
                fh.write(chunk)
                on_progress(len(chunk), resp.content_length)

    # The body is stored as sent (gzip stays gzip): smaller on disk, decompressed while parsing.
    await client.fetch(
        bulk.url, accept=ACCEPT_BULK, consume=consume,
        headers={"Accept-Encoding": "gzip"}, auto_decompress=False,
    )
    for stale in cache_dir.glob(f"{bulk.type}-*.raw"):
        if stale != dest:
            stale.unlink(missing_ok=True)
    return dest


@contextmanager
def _open_decoded(path: Path) -> Iterator[IO[bytes]]:
    """`path` opened for reading, gunzipped as often as it is gzipped (a .gz sent with gzip encoding)."""
    with ExitStack() as stack:
        stream: Any = stack.enter_context(path.open("rb"))
        for _ in range(2):
            if stream.peek(2)[:2] != GZIP_MAGIC:
                break
            stream = stack.enter_context(gzip.GzipFile(fileobj=stream, mode="rb"))
        yield stream


def iter_records(path: Path, form: str) -> Iterator[tuple[int, Any]]:
    """``(position, record)`` for every record; a JSON Lines line that is not JSON yields a
    `json.JSONDecodeError` as its record, so one bad line is rejected, not the whole file.

    Raises `BulkError` when the file as a whole is broken (truncated array, bad gzip).
    """
    with _open_decoded(path) as stream:
        try:
            if form == "jsonl":
                for number, line in enumerate(stream, start=1):
                    if not line.strip():
                        continue
                    try:
                        yield number, json.loads(line)
                    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                        yield number, exc
                return
            head = stream.peek(64).lstrip()[:1]
            if head != b"[":
                raise BulkError(f"{path.name}: expected a JSON array of cards")
            for number, record in enumerate(ijson.items(stream, "item", use_float=True), start=1):
                yield number, record
        except (ijson.JSONError, EOFError, OSError, zlib.error) as exc:
            raise BulkError(f"{path.name}: broken bulk file ({type(exc).__name__}: {exc})") from exc
