"""The gallery folder's layout, and the only place that turns card data into file paths.

Layout::

    <gallery>/cards.jsonl        one line per face image on disk (what `cardsight index` reads)
    <gallery>/catalog.sqlite     the sync's catalog and state (training.sync.store)
    <gallery>/images/ab/<id>-<face>-<version>.<ext>
    <gallery>/.sync/             lock file and the cached bulk file

Image names are built only from validated parts: the card's canonical UUID, the face index
and a hash of the image URL. Set codes and names never reach a path, so no record can write
outside the gallery. The URL hash in the name makes "already downloaded and unchanged" a
question the disk answers by itself: Scryfall changes an image's URL (its ``?timestamp``)
when it replaces the scan, so a new scan gets a new name.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from training.sync.atomic import atomic_writer
from training.sync.errors import GalleryBusy

CARDS_FILE = "cards.jsonl"
CATALOG_FILE = "catalog.sqlite"
IMAGES_DIR = "images"
WORK_DIR = ".sync"


def extension_for(image_size: str) -> str:
    return "png" if image_size == "png" else "jpg"


def image_relpath(card_id: str, face: int, image_uri: str, image_size: str) -> str:
    """``images/<2 hex>/<uuid>-<face>-<url hash>.<ext>``; raises ValueError on anything odd."""
    if str(uuid.UUID(card_id)) != card_id:
        raise ValueError(f"card id {card_id!r} is not a canonical UUID")
    if not isinstance(face, int) or not 0 <= face < 100:
        raise ValueError(f"face index {face!r} out of range")
    version = hashlib.sha1(image_uri.encode("utf-8")).hexdigest()[:10]
    return f"{IMAGES_DIR}/{card_id[:2]}/{card_id}-{face}-{version}.{extension_for(image_size)}"


def resolve_inside(root: Path, relpath: str) -> Path:
    """`root/relpath`, refusing any path that would land outside `root`."""
    base = root.resolve()
    path = (base / relpath).resolve()
    if not path.is_relative_to(base) or path == base:
        raise ValueError(f"{relpath!r} escapes the gallery folder {base}")
    return path


@contextmanager
def gallery_lock(root: Path) -> Iterator[None]:
    """Hold the gallery for one sync; the OS drops the lock if the process is killed."""
    work = root / WORK_DIR
    work.mkdir(parents=True, exist_ok=True)
    fd = os.open(work / "lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise GalleryBusy(f"another `cardsight sync` is running on {root}") from None
        yield
    finally:
        os.close(fd)


def write_cards_jsonl(root: Path, entries: Iterable[dict[str, Any]]) -> int:
    """Replace ``cards.jsonl`` atomically with `entries` whose image file exists; returns the count."""
    count = 0
    with atomic_writer(root / CARDS_FILE) as fh:
        for entry in entries:
            if not (root / entry["image"]).is_file():
                continue
            fh.write(json.dumps(entry, ensure_ascii=False).encode("utf-8") + b"\n")
            count += 1
    return count


def sweep_unreferenced_images(root: Path, keep: set[str]) -> int:
    """Delete image files no catalog entry points at (replaced scans, removed cards)."""
    images = root / IMAGES_DIR
    removed = 0
    if not images.is_dir():
        return 0
    for path in images.rglob("*"):
        if path.is_file() and path.relative_to(root).as_posix() not in keep:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
