"""A second look at an unsure card through outlines rebuilt from the card's shape.

Why: of the in-gallery cards the open-set bench still answered "not sure" after the edge lead,
18 of 24 had been cut from an outline whose worst corner was off by more than 5% of the card's
diagonal (the sure ones: 2.3% median): a finger across one side moved it outwards, the frame's
edge cut it, a neighbour was merged in. Three sides are usually right, and a card's sides keep
its 63:88 proportions, so each side in turn is rebuilt from the opposite one (`completed`), the
four crops are embedded in one model call, and the reading whose best match scores highest is
kept when it beats the detected one *for the same name* (`Recognizer.retry_outline`): the retry
only re-weighs the evidence for the name already answered, it never picks another.

It costs an embedding of four crops (~10-20 ms on two cores), so it runs only for answers that
are not sure; calibration (`training.calibration`) gives its unsure samples the same second look
before the final fit, so the confidence is fitted on what serving computes.
"""

from __future__ import annotations

import numpy as np

CARD_RATIO = 88.0 / 63.0
"""A card's height over its width."""


def _unit(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = b - a
    return d / max(float(np.linalg.norm(d)), 1e-6)


def completed(quad: np.ndarray) -> list[np.ndarray]:
    """The outline `quad` (TL, TR, BR, BL of the upright card) with each side in turn rebuilt
    from the opposite side's length and the card's proportions, along the two adjacent sides'
    directions: bottom from top, top from bottom, right from left, left from right."""
    p0, p1, p2, p3 = (np.asarray(p, np.float64) for p in np.asarray(quad, np.float64).reshape(4, 2))
    top, bottom = np.linalg.norm(p1 - p0), np.linalg.norm(p2 - p3)
    left, right = np.linalg.norm(p3 - p0), np.linalg.norm(p2 - p1)
    out = [
        [p0, p1, p1 + _unit(p1, p2) * top * CARD_RATIO, p0 + _unit(p0, p3) * top * CARD_RATIO],
        [p3 + _unit(p3, p0) * bottom * CARD_RATIO, p2 + _unit(p2, p1) * bottom * CARD_RATIO, p2, p3],
        [p0, p0 + _unit(p0, p1) * left / CARD_RATIO, p3 + _unit(p3, p2) * left / CARD_RATIO, p3],
        [p1 + _unit(p1, p0) * right / CARD_RATIO, p1, p2, p2 + _unit(p2, p3) * right / CARD_RATIO],
    ]
    return [np.asarray(q, np.float32) for q in out]
