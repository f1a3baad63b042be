"""Real labelled photos as training positives: a `cardsight eval --photos` folder (such as the
bots' feedback folder, bot/feedback.py) mapped onto the gallery being trained on.

Each record whose card is in the gallery and whose photo is a single card's crop becomes a
(reference, real photo) positive pair; `PairDataset` mixes them into batches beside the
simulated photos, which is where the model is weakest: real cameras, sleeves and lighting.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Sequence

from training.gallery import GalleryItem

log = logging.getLogger(__name__)


def real_photo_pairs(folder: Path, items: Sequence[GalleryItem]) -> dict[int, list[Path]]:
    """Gallery index → crops of that card. Photos of several cards, or of cards the gallery
    lacks, are skipped (counted in the log): a whole scene is not a crop to pair."""
    index = {}
    for i, item in enumerate(items):
        index.setdefault(item.entry.card_id, i)
    pairs: dict[int, list[Path]] = {}
    skipped = 0
    truth = Path(folder) / "truth.jsonl"
    for line in truth.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        cards = record.get("cards") or []
        photo = Path(folder) / str(record.get("photo", ""))
        row = index.get(str(cards[0].get("id"))) if len(cards) == 1 else None
        if row is None or not photo.is_file():
            skipped += 1
            continue
        pairs.setdefault(row, []).append(photo)
    log.info("real photos: %d of %d cards, %d records skipped", len(pairs), len(items), skipped)
    return pairs
