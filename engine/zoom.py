"""A second, closer look at cards too small for the segmenter's 160x120 class map.

A card a fifth of the frame long is ~30 class-map pixels there: its own frame lines are
then as thick as the boundary band, so the network splits it or rounds it off, and its
quad is several work-image pixels off. Segmenting a window around such a patch again,
at the same input size, sees it up to 3x larger (~3 ms a look); on 300 simulated photos
(bench/crop_oracle.py) this turned 4% more quads right.

Cards that touch or overlap form one patch too large for that, though each card in it is
as small; there a card's own blob gets the look, unless a classical outline already agrees
with its quad (then the look would only cost time). On 100 simulated photos of 2-4 cards
(280 in view) one such look a photo turned 8 more quads right (IoU >= 0.8: 235 -> 243),
two or four looks 10; on the real photos, with up to 10 cards, each look costs ~3 ms.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from engine.quad import box_holds
from engine.segmenter import CardSegmenter, Segmentation

ZOOM_BELOW = 0.4  # a card patch whose long side is under this share of the frame's gets a closer look
CONTEXT = 2.5  # window long side over the patch's long side
MAX_LOOKS = 4  # closer looks per photo, largest patches first
MAX_CROWDED_LOOKS = 1  # of those, at cards in a large patch (the largest card there first)


@dataclass(frozen=True)
class CloserLook:
    """A window of the work image (x0, y0 its top-left), the patch it was opened for, and what it shows."""

    origin: np.ndarray
    patch: np.ndarray  # x0, y0, x1, y1 in work-image pixels
    segmentation: Segmentation


def closer_looks(small: np.ndarray, segmenter: CardSegmenter, segmentation: Segmentation,
                 outlined: Sequence[np.ndarray] = ()) -> list[CloserLook]:
    """Segment a window around each small card patch, keeping the segmenter's input aspect.

    `outlined`: quads (work-image pixels) of cards already outlined exactly; a card blob
    in a large patch around one of their centres gets no look.
    """
    height, width = small.shape[:2]
    limit = ZOOM_BELOW * max(width, height)
    patches, crowded = [], []
    for box in segmentation.card_regions():
        (patches if _long_side(box) < limit else crowded).append(box)
    centres = [np.asarray(quad).mean(axis=0) for quad in outlined]
    blobs = [blob for blob in segmentation.interior_regions()
             if _long_side(blob) < limit and any(box_holds(box, _centre(blob)) for box in crowded)
             and not any(box_holds(blob, centre) for centre in centres)]
    patches = sorted(patches, key=_area, reverse=True)[:MAX_LOOKS]
    patches += sorted(blobs, key=_area, reverse=True)[:min(MAX_CROWDED_LOOKS, MAX_LOOKS - len(patches))]
    model_w, model_h = segmenter.input_size
    looks = []
    for box in patches:
        span = CONTEXT * _long_side(box)
        window = np.float32([span, span * model_h / model_w] if width >= height else [span * model_h / model_w, span])
        window = np.minimum(np.maximum(window, 16), [width, height])
        origin = np.clip(np.round(_centre(box) - window / 2), 0, [width, height] - window).astype(np.int32)
        x0, y0 = (int(v) for v in origin)
        x1, y1 = (int(v) for v in origin + np.round(window).astype(np.int32))
        looks.append(CloserLook(np.float32(origin), box, segmenter.segment(small, (x0, y0, x1, y1))))
    return looks


def _area(box: np.ndarray) -> float:
    return float((box[2] - box[0]) * (box[3] - box[1]))


def _long_side(box: np.ndarray) -> float:
    return float(max(box[2] - box[0], box[3] - box[1]))


def _centre(box: np.ndarray) -> np.ndarray:
    return (box[:2] + box[2:]) / 2
