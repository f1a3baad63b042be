"""Fetch card images into the gallery: bounded concurrency, verified, written atomically.

An image is only written once Pillow has both verified and fully decoded it, so a corrupt or
truncated response (which is retried) never lands in the gallery, and the write itself is
temp-file-then-rename, so a killed sync never leaves half an image under a real name.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from PIL import Image

from training.sync.atomic import write_bytes_atomic
from training.sync.gallery import resolve_inside
from training.sync.errors import HttpFailure
from training.sync.http import BadBody, PoliteClient

log = logging.getLogger(__name__)

ACCEPT_IMAGES = "image/jpeg, image/png;q=0.9, image/*;q=0.8"
#: Scryfall's largest image (``png``) is a few MB; anything far bigger is not a card scan.
MAX_IMAGE_BYTES = 32 << 20


@dataclass(frozen=True)
class ImageJob:
    card_id: str
    face: int
    uri: str
    relpath: str


@dataclass
class DownloadTally:
    downloaded: int = 0
    failed: int = 0
    bytes: int = 0


def verify_image(data: bytes) -> None:
    """Raise `BadBody` unless `data` is an image Pillow can verify and decode completely."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise BadBody(f"not a decodable image ({exc})") from None


async def _read_verified(resp: aiohttp.ClientResponse) -> bytes:
    if resp.content_length is not None and resp.content_length > MAX_IMAGE_BYTES:
        raise HttpFailure(str(resp.url), f"image of {resp.content_length} bytes is over {MAX_IMAGE_BYTES}")
    data = bytearray()
    async for chunk in resp.content.iter_chunked(1 << 16):
        data += chunk
        if len(data) > MAX_IMAGE_BYTES:
            raise HttpFailure(str(resp.url), f"image is over {MAX_IMAGE_BYTES} bytes")
    body = bytes(data)
    await asyncio.to_thread(verify_image, body)
    return body


async def fetch_image(client: PoliteClient, job: ImageJob, root: Path) -> int:
    """Download `job` into the gallery at `root`; returns the bytes written."""
    dest = resolve_inside(root, job.relpath)
    body = await client.fetch(job.uri, accept=ACCEPT_IMAGES, consume=_read_verified)
    await asyncio.to_thread(write_bytes_atomic, dest, body)
    return len(body)


async def download_images(
    client: PoliteClient,
    jobs: Sequence[ImageJob],
    root: Path,
    *,
    concurrency: int,
    on_stored: Callable[[ImageJob, int], None],
) -> DownloadTally:
    """Fetch every job with `concurrency` workers; a failed image is logged and counted, not fatal.

    `on_stored(job, size)` runs (on the event loop) right after each file is in place.
    Errors writing to disk are fatal and stop every worker.
    """
    tally = DownloadTally()
    pending = iter(jobs)

    async def worker() -> None:
        for job in pending:
            try:
                size = await fetch_image(client, job, root)
            except HttpFailure as exc:
                tally.failed += 1
                log.warning("image for card %s face %d failed: %s", job.card_id, job.face, exc.reason)
                continue
            tally.downloaded += 1
            tally.bytes += size
            on_stored(job, size)

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(min(concurrency, len(jobs))):
                group.create_task(worker())
    except BaseExceptionGroup as failure:
        raise failure.exceptions[0] from None
    return tally
