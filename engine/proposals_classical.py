"""Classical card proposals: OpenCV contours (engine/outlines.py) fitted with quads.

Pixel-exact where an outline closes around the card; a finger, glare or wood grain that
breaks the outline, or two touching cards, are left to the segmenter's proposals.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Executor, Future

import cv2
import numpy as np

from engine.outlines import edge_contours, edge_maps, mask_contours
from engine.proposal import ASPECT_TOLERANCE, MIN_AREA_FRACTION, MIN_SCORE, Proposal
from engine.quad import NEXT_CORNER, card_aspect_error, is_plausible_card, order_corners, quad_area

_SUPPORT_KERNEL = cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5))
_ROUGH_ASPECT = (0.45, 0.95)
_SUPPORT_STEPS = np.linspace(0.05, 0.95, 48, dtype=np.float32)  # samples along each side


def classical_proposals(small: np.ndarray, pool: Executor | None = None) -> list[Proposal]:
    """Scored card outlines of every contour pass; with a `pool`, the mask passes run in it
    while the edge passes run here (the same proposals, in the same order, sooner)."""
    gray = cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), (5, 5), 0)
    masked = pool.submit(mask_contours, small, gray) if pool is not None else None
    grey_edges, colour_edges = edge_maps(small, gray)
    # Support is judged with a few pixels' slack: hull polygons of rounded outlines
    # wander off a thin edge line by a pixel or two.
    near_edges = cv2.dilate(cv2.bitwise_or(grey_edges, colour_edges), _SUPPORT_KERNEL)
    frame_area = float(small.shape[0] * small.shape[1])
    image_size = (small.shape[1], small.shape[0])
    candidates = []
    for contour in _contours(small, gray, grey_edges, colour_edges, masked):
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
            candidates.append(Proposal(quad=quad, score=float(score), area=area))
    return candidates


def _contours(small: np.ndarray, gray: np.ndarray, grey_edges: np.ndarray, colour_edges: np.ndarray,
              masked: Future[list[np.ndarray]] | None) -> Iterator[np.ndarray]:
    """The edge passes' contours, then the mask passes' (waited for only once those are scored)."""
    yield from edge_contours(gray, grey_edges, colour_edges)
    yield from masked.result() if masked is not None else mask_contours(small, gray)


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
