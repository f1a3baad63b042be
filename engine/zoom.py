"""A second, closer look at cards too small for the segmenter's 160x120 class map.

A card a fifth of the frame long is ~30 class-map pixels there: its own frame lines are
then as thick as the boundary band, so the network splits it or rounds it off, and its
quad is several work-image pixels off. Segmenting a window around such a patch again,
at the same input size, sees it up to 3x larger (~3 ms a look); on 300 simulated photos
(bench/crop_oracle.py) this turned 4% more quads right.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.segmenter import CardSegmenter, Segmentation

ZOOM_BELOW = 0.4  # a card patch whose long side is under this share of the frame's gets a closer look
CONTEXT = 2.5  # window long side over the patch's long side
MAX_LOOKS = 4  # closer looks per photo, largest patches first


@dataclass(frozen=True)
class CloserLook:
    """A window of the work image (x0, y0 its top-left), the patch it was opened for, and what it shows."""

    origin: np.ndarray
    patch: np.ndarray  # x0, y0, x1, y1 in work-image pixels
    segmentation: Segmentation


def closer_looks(small: np.ndarray, segmenter: CardSegmenter, segmentation: Segmentation) -> list[CloserLook]:
    """Segment a window around each small card patch, keeping the segmenter's input aspect."""
    height, width = small.shape[:2]
    long_side = max(width, height)
    patches = [box for box in segmentation.card_regions()
               if max(box[2] - box[0], box[3] - box[1]) < ZOOM_BELOW * long_side]
    patches.sort(key=lambda box: (box[2] - box[0]) * (box[3] - box[1]), reverse=True)
    model_w, model_h = segmenter.input_size
    looks = []
    for box in patches[:MAX_LOOKS]:
        span = CONTEXT * max(box[2] - box[0], box[3] - box[1])
        window = np.float32([span, span * model_h / model_w] if width >= height else [span * model_h / model_w, span])
        window = np.minimum(np.maximum(window, 16), [width, height])
        centre = (box[:2] + box[2:]) / 2
        origin = np.clip(np.round(centre - window / 2), 0, [width, height] - window).astype(np.int32)
        x0, y0 = (int(v) for v in origin)
        x1, y1 = (int(v) for v in origin + np.round(window).astype(np.int32))
        looks.append(CloserLook(np.float32(origin), box, segmenter.segment(small, (x0, y0, x1, y1))))
    return looks
