"""Whether an artifact set is the demo catalog, and the words every surface uses to say so.

A fresh clone serves a demo set built from generated, invented cards (`training/demo.py`
renders them into a folder named `demo-gallery` beside the artifacts). Its answers look real,
but its Scryfall links and images do not exist, so the log, `/health`, the page and the bots
all say "demo catalog (100 generated cards)" with the same label, from here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DEMO_GALLERY_DIR = "demo-gallery"
"""The folder `training.demo.ensure_demo_artifacts` renders the demo cards into."""

DEMO_WARNING = (
    "this is the DEMO catalog: invented cards whose Scryfall links and images do not exist. "
    "Build the real catalog before letting people use it (README: 'Quick-start to the real catalog')."
)


def demo_gallery(manifest: Mapping[str, Any]) -> Path | None:
    """The generated gallery a demo set was built from, or None for any other set.

    A manifest may say `"demo": true` outright; sets built before that are recognised by the
    demo gallery's folder name.
    """
    gallery = manifest.get("gallery")
    if manifest.get("demo") is True or (gallery and Path(str(gallery)).name == DEMO_GALLERY_DIR):
        return Path(str(gallery)) if gallery else None
    return None


def is_demo(manifest: Mapping[str, Any]) -> bool:
    return manifest.get("demo") is True or demo_gallery(manifest) is not None


def catalog_label(manifest: Mapping[str, Any], size: int) -> str:
    """"demo catalog (100 generated cards)" or "catalog of 35,412 cards"."""
    if is_demo(manifest):
        return f"demo catalog ({size} generated cards)"
    return f"catalog of {size:,} cards"


def gallery_images(gallery: Path) -> dict[str, Path]:
    """card id -> image file of a gallery folder (its cards.jsonl), for serving the demo's own
    card images: the catalog's image links point at Scryfall, where invented cards are not."""
    images: dict[str, Path] = {}
    listing = gallery / "cards.jsonl"
    if not listing.is_file():
        return images
    root = gallery.resolve()
    with listing.open(encoding="utf-8") as lines:
        for line in lines:
            if not line.strip():
                continue
            record = json.loads(line)
            path = (root / str(record.get("image", ""))).resolve()
            if record.get("id") and path.is_relative_to(root) and path.is_file():
                images[str(record["id"])] = path
    return images
