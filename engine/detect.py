"""Find every Magic card in a photo and cut each out as an upright, tight crop.

Runs on the CPU machines admins have. On a <= 640 px copy a tiny learned segmenter
(engine/segmenter.py) says which cards there are, one quad each even where a finger or
glare breaks the outline or cards touch, taking a closer look at small ones
(engine/zoom.py) and completing those the photo's edge cuts (engine/frame_cut.py), and
classical OpenCV outlines (engine/outlines.py) give the exact shape of those they agree
with and fill its gaps; each side is then settled on the
card's own edge (not its inner frame or sleeve) on that copy, refined to sub-pixel on
the full-resolution image, and warped. An outline that looks landscape on screen is
also cut a quarter turn round, for the recognizer to keep the reading it knows. Without
the segmenter's model file only the classical passes run.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from engine.borders import settle_sides
from engine.corners import refine_quad
from engine.frame_cut import complete_cut_card
from engine.outlines import candidate_contours, edge_maps
from engine.quad import (
    NEXT_CORNER,
    aspect_error,
    box_holds,
    card_aspect_error,
    fixed_lens_aspects,
    is_plausible_card,
    order_corners,
    quad_area,
    quad_iou,
    warp_quad,
)
from engine.segmenter import MODEL_PATH, CardSegmenter, Segmentation, load_segmenter
from engine.zoom import closer_looks

WORK_LONG_SIDE = 640
ASPECT_TOLERANCE = 0.2  # relative; perspective and sleeves stretch the measured aspect
MIN_AREA_FRACTION = 0.002
MIN_SCORE = 0.35
NESTED_OVERLAP = 0.6  # intersection / smaller area above which two quads claim one card
OUTER_SCORE_RATIO = 0.6  # an enclosing outline replaces a kept one scoring at least this share
TIGHT_CROP_INSET = 0.12  # of the frame: an outline this close to every frame corner is a tight crop's frame
_SUPPORT_KERNEL = cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5))
_ROUGH_ASPECT = (0.45, 0.95)
_SUPPORT_STEPS = np.linspace(0.05, 0.95, 48, dtype=np.float32)  # samples along each side
LEARNED_ASPECT_TOLERANCE = 0.3  # relative; segmenter quads are coarser than contour quads
LEARNED_MAX_COS = 0.7  # |cos| of a segmented card's corners: a steeply tilted card shows 45-135 degrees
CUT_TOLERANCE = 1.5  # class-map pixels from the frame edge within which a segmented corner is on it
PIECE_ASPECT_ERROR = 0.1  # a segmented quad this far off a card's shape may be a piece of one
PATCH_GROWTH = 1.2  # least area of a patch outline over a piece's for it to be another reading
PATCH_SCORE = 0.5  # of a small card outlined by its patch alone: below any well-filled blob's
PIECE_INSIDE = 0.7  # least share of such a piece's quad inside the patch outline (its own fit is rough)
SPLIT_FILL = 0.75  # least share of a patch outline two pieces of one split card fill together
MIN_CARD_SHARE = 0.6  # of a classical quad the segmenter must call card, when both run
AGREEING_IOU = 0.8  # a classical quad this close to a segmented card outlines that card
ENCLOSED = 0.9  # share of a segmented quad inside a classical one for the classical one to enclose it
ENCLOSING_CARD_SHARE = 0.7  # of an enclosing classical quad the segmenter must call card
GAP_OVERLAP = 0.2  # most a classical quad may overlap a segmented card (of the smaller) and still count
# Segmenter and classical passes together beat either alone on recall, corner error and
# false outlines (bench/detection.py); the segmenter alone is ~2x faster but misses tight
# crops and more real photos.
CLASSICAL_WITH_LEARNED = True


@dataclass(frozen=True)
class DetectedCard:
    """One card outline: corners in DecodedImage.rgb pixels (beyond the photo's edge where it
    cuts the card), crop, and how sure we are."""

    quad: np.ndarray
    crop: np.ndarray
    score: float
    whole_frame: bool
    readings: tuple[tuple[np.ndarray, np.ndarray], ...] = ()
    """Other (quad, crop) readings of this card that geometry can't rule out: a quarter turn
    when the outline's shape leaves that open, the piece of an enclosing outline that may be
    a card on top of a pile, the whole outline around a piece of a split card; the
    recognizer keeps the one the gallery knows best (and answers a card once when two
    pieces keep its whole outline)."""


@dataclass(frozen=True)
class _Candidate:
    quad: np.ndarray  # ordered, in work-image pixels
    score: float
    area: float
    alternatives: tuple[np.ndarray, ...] = ()
    """Other outlines of this card for the gallery to judge: the segmented pieces of a split
    card this enclosing outline stands in for, the patch outline around a piece, or the other
    completion of a card the frame cuts."""


class Detector:
    """Card detection with what it owns: the segmenter's session, loaded on first use, and
    the one thread the segmenter runs in while the classical passes run in the caller's.

    The thread takes 2.4-3.7 ms off a photo's detection on two cores, with the same
    outlines (bench/segmenter_thread.py). A recognizer holds one Detector and closes it;
    a forked child makes a thread of its own (the parent's is not in it, and would never
    run its work).
    """

    def __init__(self, model_path: Path = MODEL_PATH) -> None:
        self._model_path = model_path
        self._segmenter: CardSegmenter | None = None
        self._loaded = False
        self._pool: ThreadPoolExecutor | None = None
        self._pool_pid = 0
        self._lock = threading.Lock()

    @property
    def segmenter(self) -> CardSegmenter | None:
        """The segmenter, or None when its model file is absent (classical passes only)."""
        with self._lock:
            if not self._loaded:
                self._segmenter, self._loaded = load_segmenter(self._model_path), True
            return self._segmenter

    def _segmenting_thread(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None or self._pool_pid != os.getpid():
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="segmenter")
                self._pool_pid = os.getpid()
            return self._pool

    def detect(self, rgb: np.ndarray, *, crop_size: tuple[int, int] = (160, 224),
               max_cards: int = 64) -> list[DetectedCard]:
        """`detect_cards`, the segmenter beside the classical passes in this detector's thread."""
        segmenter = self.segmenter
        classical = segmenter is None or CLASSICAL_WITH_LEARNED
        pool = self._segmenting_thread() if segmenter is not None and classical else None
        return detect_cards_using(rgb, segmenter, classical=classical, crop_size=crop_size,
                                  max_cards=max_cards, pool=pool)

    def close(self) -> None:
        """Stop the segmenter's thread (a later `detect` starts another)."""
        with self._lock:
            pool, self._pool = self._pool, None
            ours = self._pool_pid == os.getpid()
        if pool is not None and ours:
            pool.shutdown(wait=True)


def detect_cards(
    rgb: np.ndarray, *, crop_size: tuple[int, int] = (160, 224), max_cards: int = 64
) -> list[DetectedCard]:
    """Detect up to `max_cards` cards, best first; crops are (crop_size[1], crop_size[0], 3).

    When no outline is found and the frame itself has card proportions (a tight crop or
    a screenshot), the whole frame is returned turned to portrait with whole_frame=True.
    Loads the shipped segmenter for this one photo: whatever detects many holds a `Detector`.
    """
    segmenter = load_segmenter()
    classical = segmenter is None or CLASSICAL_WITH_LEARNED
    return detect_cards_using(rgb, segmenter, classical=classical, crop_size=crop_size, max_cards=max_cards)


def detect_cards_using(
    rgb: np.ndarray,
    segmenter: CardSegmenter | None,
    *,
    classical: bool,
    crop_size: tuple[int, int] = (160, 224),
    max_cards: int = 64,
    pool: Executor | None = None,
) -> list[DetectedCard]:
    """detect_cards with a chosen proposal source: the segmenter, the classical passes, or both.

    With both, the segmenter decides which cards there are and agreeing classical outlines
    give their exact shape (see `_merge`); with a `pool`, the segmenter runs in it while
    the classical passes run here (the same outlines, sooner).
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected (H, W, 3) uint8 RGB, got {rgb.shape} {rgb.dtype}")
    if segmenter is None and not classical:
        raise ValueError("no proposal source: give a segmenter or enable the classical passes")
    height, width = rgb.shape[:2]
    factor = min(1.0, WORK_LONG_SIDE / max(height, width))
    small = _work_copy(rgb, factor)
    if segmenter is not None and classical and pool is not None:
        pending = pool.submit(segmenter.segment, small)
        found = _find_candidates(small)
        segmentation = pending.result()
    else:
        segmentation = segmenter.segment(small) if segmenter is not None else None
        found = _find_candidates(small) if classical else []
    outlines = _suppress(found)
    if len(outlines) == 1 and _frames_the_picture(outlines[0].quad, small.shape):
        whole = _whole_frame(rgb, crop_size)
        if whole:  # the outline found is the inner frame of a tightly cropped card
            return whole
    if segmentation is None:
        kept = outlines
    else:
        kept = _suppress(_learned(small, segmenter, segmentation, found))
        if classical:
            kept = _merge(kept, found, outlines, segmentation)
    kept = sorted(kept, key=lambda c: c.score, reverse=True)[:max_cards]
    search_px = 1.5 / factor + 1.5
    lab = cv2.cvtColor(small, cv2.COLOR_RGB2Lab).astype(np.float32) if kept else None
    cards = []
    for candidate in kept:
        first, *others = [
            reading
            for outline in (candidate.quad, *candidate.alternatives)
            for reading in _readings(rgb, lab, outline, factor, search_px, crop_size)
        ]
        cards.append(DetectedCard(quad=first[0], crop=first[1], score=candidate.score, whole_frame=False,
                                  readings=tuple(others)))
    if not cards:
        return _whole_frame(rgb, crop_size)
    return cards


def _readings(rgb: np.ndarray, lab: np.ndarray, work_quad: np.ndarray, factor: float, search_px: float,
              crop_size: tuple[int, int]) -> list[tuple[np.ndarray, np.ndarray]]:
    """(quad, crop) of an outline settled on the full image, and its quarter turn when in
    doubt (see `_may_be_turned`)."""
    height, width = rgb.shape[:2]
    quad = refine_quad(rgb, settle_sides(lab, work_quad) / factor, search_px)
    quad = order_corners(quad, (width, height))
    out = [(quad, warp_quad(rgb, quad, crop_size))]
    if _may_be_turned(quad, (width, height)):
        turned = np.roll(quad, -1, axis=0)
        out.append((turned, warp_quad(rgb, turned, crop_size)))
    return out


def _may_be_turned(quad: np.ndarray, image_size: tuple[int, int]) -> bool:
    """Whether an outline order_corners stood upright may be the card's quarter turn.

    order_corners trusts the perspective-corrected aspect, right for most tilted cards; but
    on a steeply tilted, small or nearly square outline a pixel's error swings the focal
    length it estimates, or throws that out as implausible and leaves the plain side ratio,
    which a tilt can turn. So the outline is in doubt where the plain ratio or a phone lens
    (PHONE_FOCALS) reads it as landscape.
    """
    return max(fixed_lens_aspects(quad, image_size)) > 1.0


def _work_copy(rgb: np.ndarray, factor: float) -> np.ndarray:
    """Downscale by `factor`: pyrDown halvings, then bilinear (INTER_AREA is ~6x slower)."""
    if factor >= 1.0:
        return rgb
    height, width = rgb.shape[:2]
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    small = rgb
    while small.shape[1] >= 2 * size[0] and small.shape[0] >= 2 * size[1]:
        small = cv2.pyrDown(small)
    return cv2.resize(small, size, interpolation=cv2.INTER_LINEAR)


def _merge(learned: list[_Candidate], found: list[_Candidate], outlines: list[_Candidate],
           segmentation: Segmentation) -> list[_Candidate]:
    """The segmenter decides which cards there are; classical outlines give their exact shape.

    A segmenter quad is only as precise as its 160 px class map, a classical contour is
    pixel-exact where it closed around the card, so of all classical quads (`found`,
    before suppression, so every pass's outline competes) the one closest to a segmented
    card replaces it when they agree; the closest, not the best scored, because the
    segmenter's quad is unbiased in size while an inner frame is ~8% smaller. A segmented
    quad that agrees with none but lies inside a classical outline the segmenter calls card
    almost throughout is a piece of that card (the network drew a frame line or a finger
    across it as boundary): the enclosing outline replaces it, once for all its pieces.
    Suppressed classical `outlines` that overlap no segmented card fill gaps (cards the
    segmenter merged or left as odd blobs) where the segmenter sees card, which keeps
    classical false outlines on patterned tables out.

    A fanned pile looks the same to both: the top card is a segmented piece inside the
    pile's outline. So the pieces ride along with their enclosing outline as other
    alternatives, and the gallery decides (see `DetectedCard.readings`).
    """
    kept: list[_Candidate] = []
    pieces: dict[int, list[np.ndarray]] = {}  # id of an enclosing outline -> its pieces
    for card in learned:
        overlaps = [(quad_iou(c.quad, card.quad), c) for c in found]  # ((iou, inside share), quad)
        (overlap, _), closest = max(overlaps, key=lambda pair: pair[0][0], default=((0.0, 0.0), card))
        if overlap < AGREEING_IOU:
            enclosing = [c for (_, inside), c in overlaps if c.area > card.area and inside >= ENCLOSED
                         and segmentation.card_share(c.quad) >= ENCLOSING_CARD_SHARE]
            closest = max(enclosing, key=lambda c: c.score, default=card)
            if closest is not card:
                pieces.setdefault(id(closest), []).append(card.quad)
        if all(closest is not k for k in kept):  # the pieces of a split card share one outline
            kept.append(closest)
    kept = [replace(k, alternatives=k.alternatives + tuple(pieces.get(id(k), ()))) for k in kept]
    gaps = [c for c in outlines if segmentation.card_share(c.quad) >= MIN_CARD_SHARE
            and all(quad_iou(c.quad, k.quad)[1] <= GAP_OVERLAP for k in learned)]
    return kept + gaps


def _learned(small: np.ndarray, segmenter: CardSegmenter, segmentation: Segmentation,
             found: list[_Candidate]) -> list[_Candidate]:
    """Segmenter candidates; for a small card, those of a closer look when it finds any;
    for a piece of no card's shape, its patch's outline as another reading.

    A candidate a classical quad (`found`) agrees with is outlined exactly already.
    """
    candidates = _learned_candidates(segmentation, small.shape)
    image_size = (small.shape[1], small.shape[0])
    outlined = [c.quad for c in candidates if any(quad_iou(f.quad, c.quad)[0] >= AGREEING_IOU for f in found)]
    for look in closer_looks(small, segmenter, segmentation, outlined):
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


def _patch_candidates(segmentation: Segmentation, origin: np.ndarray, image_size: tuple[int, int]) -> list[_Candidate]:
    """Card-shaped patch outlines of a closer look's window, moved to work-image pixels by `origin`.

    For a small card whose interior the network still breaks into odd blobs up close (its
    art and text boxes, glare), the patch labelled card keeps the card's outline.
    """
    out = []
    for quad in segmentation.patch_quads():
        quad = order_corners(quad + origin, image_size)
        shape_error = _aspect_error(quad, image_size)
        if is_plausible_card(quad) and shape_error <= ASPECT_TOLERANCE:
            score = PATCH_SCORE * (1.0 - 0.5 * shape_error / ASPECT_TOLERANCE)
            out.append(_Candidate(quad=quad, score=score, area=quad_area(quad)))
    return out


def _with_patch_outlines(candidates: list[_Candidate], segmentation: Segmentation,
                         image_size: tuple[int, int]) -> list[_Candidate]:
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
    errors = [_aspect_error(c.quad, image_size) for c in candidates]
    ill_shaped = [error > PIECE_ASPECT_ERROR for error in errors]
    if len(candidates) < 2 and not any(ill_shaped):
        return candidates  # no two pieces and no ill-shaped one: the patch fits would go unused
    patches = [(quad, error) for quad in segmentation.patch_quads() if is_plausible_card(quad)
               and (error := _aspect_error(quad, image_size)) <= ASPECT_TOLERANCE]
    candidates = _with_split_card_outlines(candidates, errors, patches)
    if not any(ill_shaped):
        return candidates
    well_shaped = [c.quad.mean(axis=0) for c, ill in zip(candidates, ill_shaped) if not ill]
    outlines = [quad for quad, _ in patches
                if not any(cv2.pointPolygonTest(quad, (float(x), float(y)), False) >= 0 for x, y in well_shaped)]
    out = []
    for candidate, ill in zip(candidates, ill_shaped):
        if ill:
            around = [quad for quad in outlines if _holds_piece(quad, candidate)
                      and all(quad is not other for other in candidate.alternatives)]
            candidate = replace(candidate, alternatives=candidate.alternatives + tuple(around[:1]))
        out.append(candidate)
    return out


def _with_split_card_outlines(candidates: list[_Candidate], errors: list[float],
                              patches: list[tuple[np.ndarray, float]]) -> list[_Candidate]:
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


def _holds_piece(patch: np.ndarray, piece: _Candidate) -> bool:
    """True when a patch outline is clearly larger than a segmented quad and holds most of it."""
    return quad_area(patch) > PATCH_GROWTH * piece.area and quad_iou(piece.quad, patch)[1] >= PIECE_INSIDE


def _aspect_error(quad: np.ndarray, image_size: tuple[int, int]) -> float:
    """How far a segmenter quad is from a card's shape, by the most favourable reading.

    The network already judged the blob a card; its quad is a pixel or two off at the
    160 px scale, which the focal-length estimate inside the perspective-corrected aspect
    amplifies, so the plain side ratio or a phone lens (PHONE_FOCALS) may vouch for it too:
    a steeply tilted card is a card if it rectifies to one under some such lens.
    """
    return min(card_aspect_error(quad, image_size), *map(aspect_error, fixed_lens_aspects(quad, image_size)))


def _learned_candidates(segmentation: Segmentation, shape: tuple[int, ...],
                        around: np.ndarray | None = None) -> list[_Candidate]:
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
        shape_error = _aspect_error(quad, image_size)
        if shape_error > LEARNED_ASPECT_TOLERANCE:  # more slack than classical quads get
            continue
        score = min(fill, 1.0 / max(fill, 1e-6)) * (1.0 - 0.5 * shape_error / LEARNED_ASPECT_TOLERANCE)
        if score >= MIN_SCORE:
            candidates.append(_Candidate(quad=quad, score=float(score), area=area, alternatives=tuple(alternatives)))
    return candidates


def _find_candidates(small: np.ndarray) -> list[_Candidate]:
    gray = cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), (5, 5), 0)
    grey_edges, colour_edges = edge_maps(small, gray)
    # Support is judged with a few pixels' slack: hull polygons of rounded outlines
    # wander off a thin edge line by a pixel or two.
    near_edges = cv2.dilate(cv2.bitwise_or(grey_edges, colour_edges), _SUPPORT_KERNEL)
    frame_area = float(small.shape[0] * small.shape[1])
    image_size = (small.shape[1], small.shape[0])
    candidates = []
    for contour in candidate_contours(small, gray, grey_edges, colour_edges):
        contour_area = cv2.contourArea(contour)
        if contour_area < MIN_AREA_FRACTION * frame_area or contour_area > 0.98 * frame_area:
            continue
        (_, _), (box_w, box_h), _ = cv2.minAreaRect(contour)
        if not _ROUGH_ASPECT[0] <= min(box_w, box_h) / max(box_w, box_h, 1.0) <= _ROUGH_ASPECT[1]:
            continue  # cheap reject before quad fitting; perspective is allowed for
        quad = _fit_quad(contour, image_size)
        if quad is None or not is_plausible_card(quad):
            continue
        area = quad_area(quad)
        shape_error = card_aspect_error(quad, image_size)
        if shape_error > ASPECT_TOLERANCE or area <= 0:
            continue
        fill = min(contour_area / area, area / max(contour_area, 1.0))
        support = _edge_support(near_edges, quad)
        score = support * fill * (1.0 - 0.5 * shape_error / ASPECT_TOLERANCE)
        if score >= MIN_SCORE:
            candidates.append(_Candidate(quad=quad, score=float(score), area=area))
    return candidates


def _fit_quad(contour: np.ndarray, image_size: tuple[int, int]) -> np.ndarray | None:
    """Four ordered corners for a contour: polygon of its hull, else its min-area rectangle.

    Convex hulls tolerate rounded corners and small bites (a finger, an overlapping card
    corner); rounded or clipped outlines that do not simplify to 4 vertices get minAreaRect.
    """
    hull = cv2.convexHull(contour)
    perimeter = cv2.arcLength(hull, True)
    for epsilon in (0.02, 0.04):
        polygon = cv2.approxPolyDP(hull, epsilon * perimeter, True)
        if len(polygon) == 4:
            return order_corners(polygon.reshape(4, 2), image_size)
        if len(polygon) < 4:
            return None
    rect = cv2.boxPoints(cv2.minAreaRect(hull))
    if quad_area(rect) > 1.15 * cv2.contourArea(hull):
        return None
    return order_corners(rect, image_size)


def _edge_support(edges: np.ndarray, quad: np.ndarray) -> float:
    """Fraction of the quad's perimeter lying on an edge pixel: real outlines are ~1."""
    t = _SUPPORT_STEPS[:, None, None]
    ends = quad[NEXT_CORNER]
    points = np.rint(quad[None] + t * (ends - quad)[None]).astype(np.int32).reshape(-1, 2)
    h, w = edges.shape
    inside = (points[:, 0] >= 0) & (points[:, 0] < w) & (points[:, 1] >= 0) & (points[:, 1] < h)
    hits = np.count_nonzero(edges[points[inside, 1], points[inside, 0]])
    return float(hits) / len(points)  # samples off the frame count as missing edge


def _suppress(candidates: list[_Candidate]) -> list[_Candidate]:
    """Keep one quad per card, best score first.

    Quads that mostly overlap a kept one describe the same card. When they nest, the
    outer one wins if it is a reasonable outline too: art boxes and the inner frame
    inside a black border are not the card, and a sleeve is cut with the card it holds.
    """
    kept: list[_Candidate] = []
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


def _frames_the_picture(quad: np.ndarray, shape: tuple[int, ...]) -> bool:
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


def _whole_frame(rgb: np.ndarray, crop_size: tuple[int, int]) -> list[DetectedCard]:
    """The whole image as one card when its shape says it is one (tight crop, screenshot)."""
    height, width = rgb.shape[:2]
    error = aspect_error(width / height)
    if error > ASPECT_TOLERANCE:
        return []
    corners = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    if width > height:  # landscape: the card lies on its side; start at the bottom-left
        corners = corners[[3, 0, 1, 2]]
    crop = warp_quad(rgb, corners, crop_size)
    score = 1.0 - error / ASPECT_TOLERANCE
    return [DetectedCard(quad=corners, crop=crop, score=float(score), whole_frame=True)]
