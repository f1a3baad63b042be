"""Reads a gallery folder: `cards.jsonl` (Scryfall-shaped records) plus the images it names.

This is the format of `cardsight sync` output, of `cardsight synth cards` and of the team's
shared scan set, so `index` and `train` take any of them unchanged. Records without a Scryfall
id (hand-made galleries) are keyed by set and collector number. Prices, legalities, type line
and rules text go into the catalog when a record has them (sync output) and are left out when
it has not.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from engine.catalog import CatalogEntry
from engine.types import CardDetails

log = logging.getLogger(__name__)

CARD_ASPECT = 88 / 63


@dataclass(frozen=True)
class GalleryItem:
    entry: CatalogEntry
    image_path: Path


class GalleryError(ValueError):
    pass


def read_gallery(folder: Path) -> list[GalleryItem]:
    folder = Path(folder)
    index = folder / "cards.jsonl"
    if not index.is_file():
        raise GalleryError(f"{folder} has no cards.jsonl (see `cardsight index --help`)")
    items: list[GalleryItem] = []
    seen: set[tuple[str, int]] = set()
    root = folder.resolve()
    for line_no, record in _records(index):
        try:
            item = _item(record, folder)
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("%s:%d: skipped malformed record (%s)", index, line_no, exc)
            continue
        if not item.image_path.resolve().is_relative_to(root):
            log.warning("%s:%d: skipped: image path leaves the gallery", index, line_no)
            continue
        if not item.image_path.is_file():
            log.warning("%s:%d: skipped: %s is missing", index, line_no, item.image_path)
            continue
        key = (item.entry.card_id, item.entry.face)
        if key in seen:
            log.warning("%s:%d: skipped duplicate entry %s face %d", index, line_no, *key)
            continue
        seen.add(key)
        items.append(item)
    if not items:
        raise GalleryError(f"{index}: no usable records")
    return items


def _records(path: Path) -> Iterator[tuple[int, dict]]:
    with path.open(encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, 1):
            if line.strip():
                try:
                    yield line_no, json.loads(line)
                except json.JSONDecodeError as exc:
                    log.warning("%s:%d: skipped: not JSON (%s)", path, line_no, exc.msg)


def _item(r: dict, folder: Path) -> GalleryItem:
    if not isinstance(r, dict):
        raise TypeError(f"expected a JSON object, got {type(r).__name__}")
    name, image = str(r["name"]).strip(), str(r["image"])
    set_code, number = str(r["set"]), str(r["collector_number"])
    if not name or not image:
        raise ValueError("empty name or image")
    card_id = r.get("id") or f"{set_code}-{number}"
    uris = r.get("image_uris") or {}
    if not isinstance(uris, dict):
        raise TypeError("image_uris is not an object")
    image_uri = r.get("image_uri") or uris.get("normal")
    entry = CatalogEntry(
        card_id=str(card_id), name=name, set_code=set_code, collector_number=number,
        scryfall_uri=str(r.get("scryfall_uri") or f"https://scryfall.com/card/{set_code}/{number}"),
        face=int(r.get("face") or 0), oracle_id=r.get("oracle_id"),
        card_name=r.get("card_name") or name, set_name=r.get("set_name"),
        rarity=r.get("rarity"), lang=r.get("lang"), layout=r.get("layout"),
        image_uri=image_uri, released_at=r.get("released_at"), variant=r.get("variant"),
        details=CardDetails.from_json(r),
    )
    return GalleryItem(entry=entry, image_path=folder / image)


def load_card_image(path: Path, size: tuple[int, int] | None = None) -> np.ndarray:
    """RGB uint8 card image, landscape scans turned portrait, optionally resized to (W, H)."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise GalleryError(f"{path}: not a readable image")
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    if rgb.shape[1] > rgb.shape[0]:
        rgb = np.ascontiguousarray(np.rot90(rgb, k=-1))
    if size is not None and (rgb.shape[1], rgb.shape[0]) != size:
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    return rgb
