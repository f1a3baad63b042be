"""Segmenter card proposals: one quad per card blob of the learned segmenter's class map
(engine/segmenter.py), a closer look at small cards (engine/zoom.py), cards the frame cuts
completed (engine/frame_cut.py), and card-shaped patches around pieces as other readings.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from engine.frame_cut import complete_cut_card
from engine.proposal import AGREEING_IOU, ASPECT_TOLERANCE, MIN_AREA_FRACTION, MIN_SCORE, Proposal
from engine.quad import (
    aspect_error,
    box_holds,
    card_aspect_error,
    fixed_lens_aspects,
    is_plausible_card,
    order_corners,
    quad_area,
    quad_holds,
    quad_iou,
)
from engine.segmenter import CardSegmenter, Segmentation
from engine.tiles import tiled_looks
from engine.zoom import closer_looks

LEARNED_ASPECT_TOLERANCE = 0.3  # relative; segmenter quads are coarser than contour quads
LEARNED_MAX_COS = 0.7  # |cos| of a segmented card's corners: a steeply tilted card shows 45-135 degrees
CUT_TOLERANCE = 1.5  # class-map pixels from the frame edge within which a segmented corner is on it
PIECE_ASPECT_ERROR = 0.1  # a segmented quad this far off a card's shape may be a piece of one
PATCH_GROWTH = 1.2  # least area of a patch outline over a piece's for it to be another reading
PATCH_SCORE = 0.5  # of a small card outlined by its patch alone: below any well-filled blob's
PIECE_INSIDE = 0.7  # least share of such a piece's quad inside the patch outline (its own fit is rough)
SPLIT_FILL = 0.75  # least share of a patch outline two pieces of one split card fill together


def segmenter_proposals(small: np.ndarray, segmenter: CardSegmenter, segmentation: Segmentation,
             found: list[Proposal]) -> list[Proposal]:
    """Segmenter candidates; for a small card, those of a closer look when it finds any (for
    many small cards, of the tiled looks covering the photo: engine/tiles.py); for a piece of
    no card's shape, its patch's outline as another reading.

    A candidate a classical quad (`found`) agrees with is outlined exactly already.
    """
    image_size = (small.shape[1], small.shape[0])
    looks = tiled_looks(small, segmenter, segmentation)
    if looks:
        candidates: list[Proposal] = []  # the tiles see every card closer
    else:
        candidates = _learned_candidates(segmentation, small.shape)
        outlined = [c.quad for c in candidates if any(quad_iou(f.quad, c.quad)[0] >= AGREEING_IOU for f in found)]
        looks = closer_looks(small, segmenter, segmentation, outlined)
    for look in looks:
        width, height = look.segmentation.image_size
        margin = 0.25 * (look.patch[2:] - look.patch[:2])  # blob and quad centres differ a little
        around = np.concatenate([look.patch[:2] - margin, look.patch[2:] + margin]) - np.tile(look.origin, 2)
        closer = [replace(c, quad=order_corners(c.quad + look.origin, image_size))
                  for c in _learned_candidates(look.segmentation, (height, width), around)]
        closer = [c for c in closer if box_holds(look.patch, c.quad.mean(axis=0))]
        if not closer and not any(box_holds(look.patch, c.quad.mean(axis=0)) for c in candidates):
            closer = [c for c in _patch_candidates(look.segmentation, look.origin, image_size)
                      if box_holds(look.patch, c.quad.mean(axis=0))]
        if closer:
            candidates = [c for c in candidates if not box_holds(look.patch, c.quad.mean(axis=0))] + closer
    return _with_patch_outlines(candidates, segmentation, image_size)


def _patch_candidates(segmentation: Segmentation, origin: np.ndarray, image_size: tuple[int, int]) -> list[Proposal]:
    """Card-shaped patch outlines of a closer look's window, moved to work-image pixels by `origin`.

    For a small card whose interior the network still breaks into odd blobs up close (its
    art and text boxes, glare), the patch labelled card keeps the card's outline.
    """
    out = []
    for quad in segmentation.patch_quads():
        quad = order_corners(quad + origin, image_size)
        shape_error = learned_aspect_error(quad, image_size)
        if is_plausible_card(quad) and shape_error <= ASPECT_TOLERANCE:
            score = PATCH_SCORE * (1.0 - 0.5 * shape_error / ASPECT_TOLERANCE)
            out.append(Proposal(quad=quad, score=score, area=quad_area(quad)))
    return out


def _with_patch_outlines(candidates: list[Proposal], segmentation: Segmentation,
                         image_size: tuple[int, int]) -> list[Proposal]:
    """Give segmented pieces the outline of the card-shaped patch around them as another reading.

    The network sometimes draws a card's own frame lines (its text box, its art) as
    boundary, and what it leaves is either one piece of no card's shape or, on a steeply
    tilted or small card, several pieces that each pass for a card, while the patch around
    them still has the card's outline. Two cards that touch make a card-shaped patch too
    (side by side they are nearly 63:88), but each of them is a well-shaped piece, so a lone
    piece gets the patch only when it is clearly off a card's shape and the patch holds no
    well-shaped card: in a pile the covered cards are ill-shaped pieces, and the pile's
    outline is the top card's no more than theirs. Two pieces get it when together they
    fill it and it fits a card's shape better than the worse of them
    (`_with_split_card_outlines`). The gallery decides (DetectedCard.readings).
    """
    errors = [learned_aspect_error(c.quad, image_size) for c in candidates]
    ill_shaped = [error > PIECE_ASPECT_ERROR for error in errors]
    if len(candidates) < 2 and not any(ill_shaped):
        return candidates  # no two pieces and no ill-shaped one: the patch fits would go unused
    patches = [(quad, error) for quad in segmentation.patch_quads() if is_plausible_card(quad)
               and (error := learned_aspect_error(quad, image_size)) <= ASPECT_TOLERANCE]
    candidates = _with_split_card_outlines(candidates, errors, patches)
    if not any(ill_shaped):
        return candidates
    well_shaped = [c.quad.mean(axis=0) for c, ill in zip(candidates, ill_shaped) if not ill]
    outlines = [quad for quad, _ in patches
                if not any(quad_holds(quad, point) for point in well_shaped)]
    out = []
    for candidate, ill in zip(candidates, ill_shaped):
        if ill:
            around = [quad for quad in outlines if _holds_piece(quad, candidate)
                      and all(quad is not other for other in candidate.alternatives)]
            candidate = replace(candidate, alternatives=candidate.alternatives + tuple(around[:1]))
        out.append(candidate)
    return out


def _with_split_card_outlines(candidates: list[Proposal], errors: list[float],
                              patches: list[tuple[np.ndarray, float]]) -> list[Proposal]:
    """Two pieces that fill a patch better card-shaped than the worse of them get it as
    another reading.

    A frame line drawn as boundary splits a card in two pieces that together fill its
    outline. Touching cards make such patches too (two side by side are nearly a card
    turned; three or four are a row or a grid), so the pieces stay cards of their own;
    where the gallery knows the patch's crop better than the pieces', they are one split
    card and the recognizer answers it once.
    """
    out = list(candidates)
    for patch, patch_error in patches:
        inside = [i for i, c in enumerate(out) if _holds_piece(patch, c)]
        if (len(inside) == 2 and patch_error < max(errors[i] for i in inside)
                and sum(out[i].area for i in inside) >= SPLIT_FILL * quad_area(patch)):
            for i in inside:
                out[i] = replace(out[i], alternatives=out[i].alternatives + (patch,))
    return out


def _holds_piece(patch: np.ndarray, piece: Proposal) -> bool:
    """True when a patch outline is clearly larger than a segmented quad and holds most of it."""
    return quad_area(patch) > PATCH_GROWTH * piece.area and quad_iou(piece.quad, patch)[1] >= PIECE_INSIDE


def learned_aspect_error(quad: np.ndarray, image_size: tuple[int, int]) -> float:
    """How far a segmenter quad is from a card's shape, by the most favourable reading.

    The network already judged the blob a card; its quad is a pixel or two off at the
    160 px scale, which the focal-length estimate inside the perspective-corrected aspect
    amplifies, so the plain side ratio or a phone lens (PHONE_FOCALS) may vouch for it too:
    a steeply tilted card is a card if it rectifies to one under some such lens.
    """
    return min(card_aspect_error(quad, image_size), *map(aspect_error, fixed_lens_aspects(quad, image_size)))


def _learned_candidates(segmentation: Segmentation, shape: tuple[int, ...],
                        around: np.ndarray | None = None) -> list[Proposal]:
    """Segmenter quads that have card shape, scored by how fully their blob fills them
    (of blobs centred `around` a box, when given: see Segmentation.quads); a card the
    frame cuts is completed to its whole outline (engine/frame_cut.py).
    """
    frame_area = float(shape[0] * shape[1])
    image_size = (shape[1], shape[0])
    candidates = []
    for seen, fill, cut in segmentation.quads(around):
        completions = complete_cut_card(seen, image_size, CUT_TOLERANCE * segmentation.pixel_size) if cut else [seen]
        if not completions:
            continue  # one side is the frame's: no card's outline, and too little shows to complete
        quad, *alternatives = completions
        area = quad_area(quad)
        if area < MIN_AREA_FRACTION * frame_area or not is_plausible_card(quad, max_cos=LEARNED_MAX_COS):
            continue
        shape_error = learned_aspect_error(quad, image_size)
        if shape_error > LEARNED_ASPECT_TOLERANCE:  # more slack than classical quads get
            continue
        score = min(fill, 1.0 / max(fill, 1e-6)) * (1.0 - 0.5 * shape_error / LEARNED_ASPECT_TOLERANCE)
        if score >= MIN_SCORE:
            candidates.append(Proposal(quad=quad, score=float(score), area=area, alternatives=tuple(alternatives)))
    return candidates
