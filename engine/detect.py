"""Find every Magic card in a photo and cut each out as an upright, tight crop.

Works with OpenCV only (no learned detector) so it runs in a few milliseconds on the CPU
machines admins have: outlines are proposed on a <= 800 px copy, fitted with quads of
card aspect, scored, de-duplicated, then refined and warped from the full-resolution image.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from engine.corners import refine_quad
from engine.outlines import candidate_contours, edge_map
from engine.quad import (
    CARD_ASPECT,
    NEXT_CORNER,
    card_aspect_error,
    is_plausible_card,
    order_corners,
    quad_area,
    quad_iou,
    warp_quad,
)

WORK_LONG_SIDE = 800
ASPECT_TOLERANCE = 0.2  # relative; perspective and sleeves stretch the measured aspect
MIN_AREA_FRACTION = 0.002
MIN_SCORE = 0.35
NESTED_OVERLAP = 0.6  # intersection / smaller area above which two quads claim one card
OUTER_SCORE_RATIO = 0.6  # an enclosing outline replaces a kept one scoring at least this share
TIGHT_CROP_FILL = 0.7  # one outline this big inside a card-shaped frame: the frame is the card
_SUPPORT_KERNEL = cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5))
_ROUGH_ASPECT = (0.45, 0.95)
_SUPPORT_STEPS = np.linspace(0.05, 0.95, 48, dtype=np.float32)  # samples along each side


@dataclass(frozen=True)
class DetectedCard:
    """One card outline: corners in DecodedImage.rgb pixels, crop, and how sure we are."""

    quad: np.ndarray
    crop: np.ndarray
    score: float
    whole_frame: bool


@dataclass(frozen=True)
class _Candidate:
    quad: np.ndarray  # ordered, in work-image pixels
    score: float
    area: float


def detect_cards(
    rgb: np.ndarray, *, crop_size: tuple[int, int] = (160, 224), max_cards: int = 12
) -> list[DetectedCard]:
    """Detect up to `max_cards` cards, best first; crops are (crop_size[1], crop_size[0], 3).

    When no outline is found and the frame itself has card proportions (a tight crop or
    a screenshot), the whole frame is returned turned to portrait with whole_frame=True.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected (H, W, 3) uint8 RGB, got {rgb.shape} {rgb.dtype}")
    height, width = rgb.shape[:2]
    factor = min(1.0, WORK_LONG_SIDE / max(height, width))
    small = _work_copy(rgb, factor)
    candidates = _find_candidates(small)
    kept = _suppress(candidates)[:max_cards]
    frame_area = float(small.shape[0] * small.shape[1])
    if len(kept) == 1 and kept[0].area >= TIGHT_CROP_FILL * frame_area:
        whole = _whole_frame(rgb, crop_size)
        if whole:  # the outline found is the inner frame of a tightly cropped card
            return whole
    search_px = 1.5 / factor + 1.5
    cards = []
    for candidate in kept:
        quad = refine_quad(rgb, candidate.quad / factor, search_px)
        quad = order_corners(quad, (width, height))
        crop = warp_quad(rgb, quad, crop_size)
        cards.append(DetectedCard(quad=quad, crop=crop, score=candidate.score, whole_frame=False))
    if not cards:
        return _whole_frame(rgb, crop_size)
    return cards


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


def _find_candidates(small: np.ndarray) -> list[_Candidate]:
    gray = cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), (5, 5), 0)
    edges = edge_map(gray)
    # Support is judged with a few pixels' slack: hull polygons of rounded outlines
    # wander off a thin edge line by a pixel or two.
    near_edges = cv2.dilate(edges, _SUPPORT_KERNEL)
    frame_area = float(small.shape[0] * small.shape[1])
    image_size = (small.shape[1], small.shape[0])
    candidates = []
    for contour in candidate_contours(small, gray, edges):
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
        aspect_error = card_aspect_error(quad, image_size)
        if aspect_error > ASPECT_TOLERANCE or area <= 0:
            continue
        fill = min(contour_area / area, area / max(contour_area, 1.0))
        support = _edge_support(near_edges, quad)
        score = support * fill * (1.0 - 0.5 * aspect_error / ASPECT_TOLERANCE)
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


def _whole_frame(rgb: np.ndarray, crop_size: tuple[int, int]) -> list[DetectedCard]:
    """The whole image as one card when its shape says it is one (tight crop, screenshot)."""
    height, width = rgb.shape[:2]
    aspect = min(width, height) / max(width, height)
    aspect_error = abs(aspect - CARD_ASPECT) / CARD_ASPECT
    if aspect_error > ASPECT_TOLERANCE:
        return []
    corners = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    if width > height:  # landscape: the card lies on its side; start at the bottom-left
        corners = corners[[3, 0, 1, 2]]
    crop = warp_quad(rgb, corners, crop_size)
    score = 1.0 - aspect_error / ASPECT_TOLERANCE
    return [DetectedCard(quad=corners, crop=crop, score=float(score), whole_frame=True)]
