"""The demo catalog's own card images, served by the service.

The demo's catalog rows link to Scryfall images that do not exist (the cards are invented), so
the page would show a broken image beside each crop. For a demo set loaded in this process the
service serves the generated gallery's files at `demo-gallery/<card_id>` and points answers'
`image_uri` there (a path relative to the service, as the page's own links are). Real sets, and
engines on other machines, are left alone.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from engine.demo_set import demo_gallery, gallery_images

ROUTE_PREFIX = "demo-gallery/"


@functools.lru_cache(maxsize=4)
def _images(gallery: Path) -> dict[str, Path]:
    return gallery_images(gallery)


def demo_images(engine: Any) -> dict[str, Path]:
    """card id -> image file when `engine` is a local engine serving a demo set, else empty."""
    artifact_set = getattr(engine, "artifact_set", None)
    manifest = getattr(artifact_set, "manifest", None)
    if not isinstance(manifest, dict):
        return {}
    gallery = demo_gallery(manifest)
    return _images(gallery) if gallery is not None else {}


def point_at_demo_images(body: dict[str, Any], images: dict[str, Path]) -> None:
    """Rewrite the `image_uri` of every card and alternative in an /identify body that the
    demo gallery has an image for."""
    for card in body.get("cards", []):
        for match in (card, *card.get("alternatives", [])):
            if match.get("card_id") in images:
                match["image_uri"] = ROUTE_PREFIX + match["card_id"]
