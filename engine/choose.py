"""Choosing the photo's cards among the passes' proposals: one outline per card, the
segmenter deciding which cards there are and classical outlines giving their exact shape.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from engine.proposal import AGREEING_IOU, Proposal
from engine.proposals_segmenter import PIECE_ASPECT_ERROR, learned_aspect_error
from engine.quad import quad_holds, quad_iou
from engine.segmenter import Segmentation

NESTED_OVERLAP = 0.6  # intersection / smaller area above which two quads claim one card
OUTER_SCORE_RATIO = 0.6  # an enclosing outline replaces a kept one scoring at least this share
TIGHT_CROP_INSET = 0.12  # of the frame: an outline this close to every frame corner is a tight crop's frame
MIN_CARD_SHARE = 0.6  # of a classical quad the segmenter must call card, when both run
ENCLOSED = 0.9  # share of a segmented quad inside a classical one for the classical one to enclose it
ENCLOSING_CARD_SHARE = 0.7  # of an enclosing classical quad the segmenter must call card
GAP_OVERLAP = 0.2  # most a classical quad may overlap a segmented card (of the smaller) and still count


def merge(learned: list[Proposal], found: list[Proposal], outlines: list[Proposal],
           segmentation: Segmentation) -> list[Proposal]:
    """The segmenter decides which cards there are; classical outlines give their exact shape.

    A segmenter quad is only as precise as its 160 px class map, a classical contour is
    pixel-exact where it closed around the card, so of all classical quads (`found`,
    before suppression, so every pass's outline competes) the one closest to a segmented
    card replaces it when they agree; the closest, not the best scored, because the
    segmenter's quad is unbiased in size while an inner frame is ~8% smaller. A segmented
    quad that agrees with none but lies inside a classical outline the segmenter calls card
    almost throughout is a piece of that card (the network drew a frame line or a finger
    across it as boundary): the enclosing outline replaces it, once for all its pieces.
    An outline that holds three or more well-shaped segmented cards is a group of cards (a row
    of a spread, a binder page or the whole spread has a card's proportions often enough), not
    one: a card split in three leaves no piece of a card's shape. Two are left to the gallery: a
    card split across its middle is exactly two cards side by side, each a card's shape turned
    (in a grid, `engine.grid` drops the pair's outline and reads both cells).
    Suppressed classical `outlines` that overlap no segmented card fill gaps (cards the
    segmenter merged or left as odd blobs) where the segmenter sees card, which keeps
    classical false outlines on patterned tables out.

    A fanned pile looks the same to both: the top card is a segmented piece inside the
    pile's outline. So the pieces ride along with their enclosing outline as other
    alternatives, and the gallery decides (see `engine.detect.DetectedCard.readings`).
    """
    kept: list[Proposal] = []
    pieces: dict[int, list[np.ndarray]] = {}  # id of an enclosing outline -> its pieces
    cards = [c.quad.mean(axis=0) for c in learned
             if learned_aspect_error(c.quad, segmentation.image_size) <= PIECE_ASPECT_ERROR]
    boxes = _boxes([c.quad for c in found])
    for card in learned:
        near = [found[i] for i in np.flatnonzero(_meeting(boxes, card.quad))]  # a spread has 40 x 100
        overlaps = [(quad_iou(c.quad, card.quad), c) for c in near]  # ((iou, inside share), quad)
        (overlap, _), closest = max(overlaps, key=lambda pair: pair[0][0], default=((0.0, 0.0), card))
        if overlap < AGREEING_IOU:
            enclosing = [c for (_, inside), c in overlaps if c.area > card.area and inside >= ENCLOSED
                         and segmentation.card_share(c.quad) >= ENCLOSING_CARD_SHARE and _holds(c.quad, cards) < 3]
            closest = max(enclosing, key=lambda c: c.score, default=card)
            if closest is not card:
                pieces.setdefault(id(closest), []).append(card.quad)
        if all(closest is not k for k in kept):  # the pieces of a split card share one outline
            kept.append(closest)
    kept = [replace(k, alternatives=k.alternatives + tuple(pieces.get(id(k), ()))) for k in kept]
    gaps = [c for c in outlines if segmentation.card_share(c.quad) >= MIN_CARD_SHARE
            and all(quad_iou(c.quad, k.quad)[1] <= GAP_OVERLAP for k in learned)]
    return kept + gaps


def _boxes(quads: list[np.ndarray]) -> np.ndarray:
    """(N, 4) bounding boxes x0, y0, x1, y1 of quads."""
    if not quads:
        return np.zeros((0, 4), np.float32)
    corners = np.stack(quads)
    return np.concatenate([corners.min(axis=1), corners.max(axis=1)], axis=1)


def _meeting(boxes: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """Which boxes meet the quad's bounding box: only those quads can overlap it."""
    low, high = quad.min(axis=0), quad.max(axis=0)
    return (boxes[:, 0] <= high[0]) & (boxes[:, 2] >= low[0]) & (boxes[:, 1] <= high[1]) & (boxes[:, 3] >= low[1])


def _holds(quad: np.ndarray, points: list[np.ndarray]) -> int:
    """How many of `points` lie inside `quad`."""
    return sum(quad_holds(quad, point) for point in points)


def suppress(candidates: list[Proposal]) -> list[Proposal]:
    """Keep one quad per card, best score first.

    Quads that mostly overlap a kept one describe the same card. When they nest, the
    outer one wins if it is a reasonable outline too: art boxes and the inner frame
    inside a black border are not the card, and a sleeve is cut with the card it holds.
    """
    kept: list[Proposal] = []
    for candidate in sorted(candidates, key=lambda c: c.score, reverse=True):
        clash = next(
            (i for i, other in enumerate(kept) if quad_iou(candidate.quad, other.quad)[1] > NESTED_OVERLAP),
            None,
        )
        if clash is None:
            kept.append(candidate)
        elif candidate.area > kept[clash].area and candidate.score >= OUTER_SCORE_RATIO * kept[clash].score:
            kept[clash] = candidate
    return kept


def frames_the_picture(quad: np.ndarray, shape: tuple[int, ...]) -> bool:
    """True when the quad is an upright inset of the frame, as a tight crop's inner frame is.

    A photographed card that merely fills most of a 4:3 frame is tilted or off-centre,
    so its corners do not all sit near the frame's own.
    """
    height, width = shape[:2]
    frame = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    reach = TIGHT_CROP_INSET * np.float32([width, height])
    return any(
        bool((np.abs(np.roll(quad, turn, axis=0) - frame) <= reach).all()) for turn in range(4)
    )
