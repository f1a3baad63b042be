"""Card quadrilateral geometry: corner order, rectified aspect, overlap, perspective warp.

Kept apart from detection so the recognizer, the benchmark and the tests share one
definition of "card corners in TL, TR, BR, BL order, upright in portrait".
"""

from __future__ import annotations

import math

import cv2
import numpy as np

CARD_ASPECT = 63.0 / 88.0
"""Width over height of a Magic card in portrait."""

NEXT_CORNER = np.array([1, 2, 3, 0])
"""Index of each corner's clockwise neighbour: quad[NEXT_CORNER] - quad are the sides."""

PHONE_FOCALS = (0.7, 1.0)
"""Focal lengths (× the image's long side) of phone main cameras (~26–35 mm equivalent), for
geometry that must assume a lens: the photo rarely tells its own."""


def order_corners(points: np.ndarray, image_size: tuple[int, int] | None = None) -> np.ndarray:
    """Four points -> float32 (4, 2) TL, TR, BR, BL of a portrait card.

    Corners go clockwise on screen, the first side is the card's short one (judged after
    undoing perspective when `image_size` is given, so a foreshortened card that looks
    landscape still comes out portrait), and of the two such starts (180 degrees apart)
    the one whose top edge sits higher wins, so an upright card comes out upright.
    """
    pts = np.asarray(points, dtype=np.float32).reshape(4, 2)
    centre = pts.sum(axis=0) / 4.0
    angles = np.arctan2(pts[:, 1] - centre[1], pts[:, 0] - centre[0])
    pts = pts[np.argsort(angles)]  # y points down, so rising angle is clockwise on screen
    if rectified_aspect(pts, image_size) > 1.0:
        pts = pts[NEXT_CORNER]
    flipped = pts[[2, 3, 0, 1]]
    if flipped[0, 1] + flipped[1, 1] < pts[0, 1] + pts[1, 1]:
        pts = flipped
    return np.ascontiguousarray(pts, dtype=np.float32)


def side_lengths(quad: np.ndarray) -> tuple[float, float]:
    """Mean (width, height) of an ordered quad, averaging opposite sides."""
    sides = np.hypot(*(quad[NEXT_CORNER] - quad).T)
    return float(sides[0] + sides[2]) / 2.0, float(sides[1] + sides[3]) / 2.0


_Point = tuple[float, float, float]
"""A homogeneous image point or line. rectified_aspect does its 3-vector algebra on plain
floats: numpy's per-call overhead on 3-element arrays (np.linalg.inv among them) was most of
its ~20 us, and detection calls it some 40 times a photo, hundreds on a page of cards."""


def rectified_aspect(quad: np.ndarray, image_size: tuple[int, int] | None = None,
                     focal: float | None = None) -> float:
    """Width over height of the real rectangle behind an ordered quad.

    With `image_size` (W, H) the perspective is undone by estimating the focal length
    from the quad itself, principal point at the image centre (Zhang and He, "Whiteboard
    scanning and image enhancement", 2007): a card seen at a low angle looks square but
    rectifies to 0.72. Near-affine views, where the focal length is unobservable, fall
    back to the ratio of mean side lengths. `focal` (pixels) assumes that lens instead of
    estimating it: the estimate is sensitive to a pixel of corner error in a small quad.
    """
    width, height = side_lengths(quad)
    fallback = width / max(height, 1e-6)
    if image_size is None:
        return fallback
    u0, v0 = image_size[0] / 2.0, image_size[1] / 2.0
    tl, tr, br, bl = ((x, y, 1.0) for x, y in np.asarray(quad, dtype=np.float64).tolist())
    m1, m2, m3, m4 = tl, tr, bl, br
    cross14 = _cross(m1, m4)
    denom2, denom3 = _dot(_cross(m2, m4), m3), _dot(_cross(m3, m4), m2)
    if abs(denom2) < 1e-9 or abs(denom3) < 1e-9:
        return fallback
    k2, k3 = _dot(cross14, m3) / denom2, _dot(cross14, m2) / denom3
    n2 = (k2 * m2[0] - m1[0], k2 * m2[1] - m1[1], k2 * m2[2] - m1[2])
    n3 = (k3 * m3[0] - m1[0], k3 * m3[1] - m1[1], k3 * m3[2] - m1[2])
    if abs(n2[2]) < 1e-6 or abs(n3[2]) < 1e-6:
        return fallback  # a pair of sides is parallel: no vanishing point, no focal length
    if focal is not None:
        f2 = focal**2
    else:
        f2 = -(
            n2[0] * n3[0] - (n2[0] * n3[2] + n2[2] * n3[0]) * u0 + n2[2] * n3[2] * u0 * u0
            + n2[1] * n3[1] - (n2[1] * n3[2] + n2[2] * n3[1]) * v0 + n2[2] * n3[2] * v0 * v0
        ) / (n2[2] * n3[2])
        long_side = float(max(image_size))
        if not 0.25 * long_side**2 <= f2 <= 25.0 * long_side**2:
            return fallback  # implausible lens: the quad is near-affine or not a rectangle
    # The rays K^-1 n of the camera matrix K = [[f, 0, u0], [0, f, v0], [0, 0, 1]], written out
    f = math.sqrt(f2)
    ray2 = ((n2[0] - u0 * n2[2]) / f, (n2[1] - v0 * n2[2]) / f, n2[2])
    ray3 = ((n3[0] - u0 * n3[2]) / f, (n3[1] - v0 * n3[2]) / f, n3[2])
    return math.sqrt(_dot(ray2, ray2) / _dot(ray3, ray3))


def _cross(a: _Point, b: _Point) -> _Point:
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def _dot(a: _Point, b: _Point) -> float:
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def card_aspect_error(quad: np.ndarray, image_size: tuple[int, int] | None = None,
                      focal: float | None = None) -> float:
    """Relative distance of the quad's rectified short/long ratio from a card's 63:88."""
    return aspect_error(rectified_aspect(quad, image_size, focal))


def aspect_error(ratio: float) -> float:
    """Relative distance of a width/height ratio, either way up, from a card's 63:88."""
    ratio = min(ratio, 1.0 / max(ratio, 1e-6))
    return abs(ratio - CARD_ASPECT) / CARD_ASPECT


def fixed_lens_aspects(quad: np.ndarray, image_size: tuple[int, int]) -> list[float]:
    """rectified_aspect by the plain side ratio and under each phone lens (PHONE_FOCALS).

    The focal length a small or steep quad gives of itself swings with a pixel of corner
    error; these readings do not depend on it.
    """
    return [rectified_aspect(quad), *(rectified_aspect(quad, image_size, k * max(image_size)) for k in PHONE_FOCALS)]


def is_plausible_card(quad: np.ndarray, max_cos: float = 0.6, min_side_ratio: float = 0.5) -> bool:
    """True when every corner is near-square and opposite sides are similar.

    A card under the perspective of a hand-held photo keeps corners within ~55-125
    degrees; slivers, triangles and kites from merged contours do not.
    """
    sides = quad[NEXT_CORNER] - quad
    lengths = np.hypot(sides[:, 0], sides[:, 1])
    if lengths.min() < 1.0:
        return False
    incoming = -sides[[3, 0, 1, 2]]
    cosines = (sides * incoming).sum(axis=1) / (lengths * lengths[[3, 0, 1, 2]])
    if np.abs(cosines).max() > max_cos:
        return False
    return bool(
        min(lengths[0], lengths[2]) >= min_side_ratio * max(lengths[0], lengths[2])
        and min(lengths[1], lengths[3]) >= min_side_ratio * max(lengths[1], lengths[3])
    )


def box_holds(box: np.ndarray, point: np.ndarray) -> bool:
    """Whether `point` (x, y) lies in the axis-aligned `box` (x0, y0, x1, y1), edges included."""
    return bool(box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3])


def quad_holds(quad: np.ndarray, point: np.ndarray) -> bool:
    """Whether `point` (x, y) lies in the quad (any polygon's corners), edges included."""
    return cv2.pointPolygonTest(np.asarray(quad, np.float32), (float(point[0]), float(point[1])), False) >= 0


def quad_area(quad: np.ndarray) -> float:
    return float(abs(cv2.contourArea(np.asarray(quad, dtype=np.float32))))


def quad_iou(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(intersection over union, intersection over the smaller area) of two convex quads."""
    inter, _ = cv2.intersectConvexConvex(
        np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)
    )
    area_a, area_b = quad_area(a), quad_area(b)
    union = area_a + area_b - inter
    return (
        float(inter / union) if union > 0 else 0.0,
        float(inter / min(area_a, area_b)) if min(area_a, area_b) > 0 else 0.0,
    )


def warp_quad(rgb: np.ndarray, quad: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Perspective-warp the ordered quad to an upright (size[1], size[0]) crop.

    Large quads are first area-downsampled so the bilinear warp does not alias fine print.
    """
    width, height = size
    quad = np.asarray(quad, dtype=np.float32)
    quad_w, quad_h = side_lengths(quad)
    shrink = min(1.0, 2.0 * max(width / max(quad_w, 1.0), height / max(quad_h, 1.0)))
    source = rgb
    if shrink < 0.5:
        x0, y0 = np.floor(quad.min(axis=0)).astype(int).clip(0)
        x1, y1 = np.ceil(quad.max(axis=0)).astype(int) + 1
        roi = rgb[y0:y1, x0:x1]
        if roi.size:
            roi_size = (max(1, round(roi.shape[1] * shrink)), max(1, round(roi.shape[0] * shrink)))
            source = cv2.resize(roi, roi_size, interpolation=cv2.INTER_AREA)
            sx, sy = roi_size[0] / roi.shape[1], roi_size[1] / roi.shape[0]
            quad = (quad - np.float32([x0, y0])) * np.float32([sx, sy])
    target = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    # Corners are pixel-edge coordinates; cv2 samples at pixel centres, hence the half pixel.
    matrix = cv2.getPerspectiveTransform(quad - 0.5, target - 0.5)
    return cv2.warpPerspective(
        source, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


Line = tuple[np.ndarray, np.ndarray]
"""A line as (point on it, direction)."""


def intersect_lines(a: Line, b: Line, parallel_eps: float = 1e-3) -> np.ndarray | None:
    """Where two lines cross; None when they are (nearly) parallel."""
    (pa, da), (pb, db) = a, b
    cross = float(da[0] * db[1] - da[1] * db[0])
    if abs(cross) < parallel_eps:
        return None
    diff = pb - pa
    s = float(diff[0] * db[1] - diff[1] * db[0]) / cross
    return (pa + s * da).astype(np.float32)


SIDE_SPAN = (0.15, 0.85)  # part of each side whose outline points the line fit uses


def side_line(points: np.ndarray, start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(point, direction) of the line through outline points near the middle of side start-end."""
    direction = end - start
    length = float(np.linalg.norm(direction))
    if length < 1.0:
        return start, np.float32([1.0, 0.0])
    direction = direction / length
    normal = np.float32([-direction[1], direction[0]])
    relative = points - start
    along = relative @ direction / length
    across = np.abs(relative @ normal)
    near = (along >= SIDE_SPAN[0]) & (along <= SIDE_SPAN[1]) & (across <= max(2.0, 0.04 * length))
    if np.count_nonzero(near) < 4:
        return start, direction
    vx, vy, x0, y0 = cv2.fitLine(points[near], cv2.DIST_HUBER, 0, 0.01, 0.01).ravel()
    return np.float32([x0, y0]), np.float32([vx, vy])
