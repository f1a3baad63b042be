"""Tiled looks at photos of many small cards: a binder page, a deck laid out on a table.

In a 40-card spread a card's long side is ~24 pixels of the segmenter's 160x120 class map,
and the gaps between neighbours are narrower than the boundary band the network draws, so
the whole spread comes out as one patch whose card blobs merge with their neighbours or
shrink into shapes of no card; the classical passes then outline inner frames and art
boxes, and a third of the cards went unread (bench/results/decks-2026-12-06.txt). Segmenting
overlapping windows of the work image at the model's input size shows the cards ~2x larger,
where the gaps are several class-map pixels wide and each card is one blob again (~4 ms a
window; a spread takes 9). Windows overlap by more than a card, so every card lies whole in
the window whose core holds its centre, and each window answers for its core alone.

Photos of one to four cards never get here (`MANY_CARDS`): their cards are large enough for
the whole-photo map, and small ones get `engine.zoom`'s closer looks instead.
"""

from __future__ import annotations

import math

import numpy as np

from engine.segmenter import CardSegmenter, Segmentation
from engine.zoom import CloserLook

ROUGH_ASPECT = (0.45, 0.95)
"""Short over long side of a card blob's box: a card's 0.72, with room for a turn and perspective."""
MANY_CARDS = 5
"""Card blobs on the whole-photo map from which a photo counts as many cards: a binder page
shows 9, a spread 40; a pile of 2-4 cards with a finger across one shows up to 5 pieces, but
those are large, and tiling only where the cards are small (`MIN_ZOOM`) leaves them alone."""
TARGET_SPAN = 48.0
"""Class-map pixels a card's long side should span: the size the segmenter outlines cards at
within a pixel or two (closer looks showed a fifth-of-the-frame card, ~30 pixels, 3x larger)."""
MIN_ZOOM = 1.3
"""Below this the windows would show the cards hardly larger, for 4+ segmenter runs."""
MAX_ZOOM = 2.5
OVERLAP = 1.2
"""Of a card's long side: how much neighbouring windows overlap. A core reaches to the middle
of the overlap, so a card centred in it has >= 0.6 of its long side of window on every side."""


def tiled_looks(small: np.ndarray, segmenter: CardSegmenter, segmentation: Segmentation) -> list[CloserLook]:
    """Overlapping windows covering the work image, each segmented at the model's input size,
    with the core (`CloserLook.patch`) each answers for; none unless the photo shows
    `MANY_CARDS` blobs and its cards are too small for the whole-photo map.

    Only blobs whose box has roughly a card's proportions size the cards: the title bars of
    cascaded deck columns are thin blobs, under cards that are large enough as they are.
    """
    sides = [(max(x1 - x0, y1 - y0), min(x1 - x0, y1 - y0)) for x0, y0, x1, y1 in segmentation.interior_regions()]
    cards = [long for long, short in sides if ROUGH_ASPECT[0] <= short / max(long, 1.0) <= ROUGH_ASPECT[1]]
    if len(sides) < MANY_CARDS or not cards:
        return []
    card = float(np.median(cards))
    height, width = small.shape[:2]
    # Windows keep the photo's aspect (the model's input) and span at least two overlaps.
    zoom = min(MAX_ZOOM, TARGET_SPAN * segmentation.pixel_size / max(card, 1.0),
               min(width, height) / (2 * OVERLAP * card))
    if zoom < MIN_ZOOM:
        return []
    xs = _spans(width, width / zoom, OVERLAP * card)
    ys = _spans(height, height / zoom, OVERLAP * card)
    looks = []
    for (y0, y1), (core_y0, core_y1) in ys:
        for (x0, x1), (core_x0, core_x1) in xs:
            looks.append(CloserLook(np.float32([x0, y0]), np.float32([core_x0, core_y0, core_x1, core_y1]),
                                    segmenter.segment(small, (x0, y0, x1, y1))))
    return looks


def _spans(size: int, window: float, overlap: float) -> list[tuple[tuple[int, int], tuple[float, float]]]:
    """Windows ((start, end), pixels) evenly spread along one side of `size`, overlapping by at
    least `overlap`, each with its core: from the middle of one overlap to the next."""
    if window >= size:
        return [((0, size), (0.0, float(size)))]
    count = math.ceil((size - window) / (window - overlap)) + 1
    starts = np.linspace(0.0, size - window, count)
    centres = starts + window / 2
    cuts = [0.0, *((centres[:-1] + centres[1:]) / 2), float(size)]
    return [((int(round(s)), int(round(s + window))), (cuts[i], cuts[i + 1])) for i, s in enumerate(starts)]
