"""A card outline one of the detector's passes proposes, and what both kinds of pass share.

The classical passes (engine/proposals_classical.py) and the segmenter
(engine/proposals_segmenter.py) each propose outlines in work-image pixels;
engine/choose.py decides which of them are the photo's cards.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ASPECT_TOLERANCE = 0.2  # relative; perspective and sleeves stretch the measured aspect
MIN_AREA_FRACTION = 0.002
MIN_SCORE = 0.35
AGREEING_IOU = 0.8  # a classical quad this close to a segmented card outlines that card


@dataclass(frozen=True)
class Proposal:
    quad: np.ndarray  # ordered, in work-image pixels
    score: float
    area: float
    alternatives: tuple[np.ndarray, ...] = ()
    """Other outlines of this card for the gallery to judge: the segmented pieces of a split
    card this enclosing outline stands in for, the patch outline around a piece, or the other
    completion of a card the frame cuts."""
