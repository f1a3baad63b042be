"""Sub-pixel card corners at full resolution from edge profiles across each side.

Detection runs on a small copy, so its corners are a few full-resolution pixels off, and
rounded card corners pull polygon vertices inward. The embedder is sensitive to such
misalignment, so each side is re-found as the strongest colour edge on short profiles
across its middle part, a robust line is fitted, and the corners are the intersections.
"""

from __future__ import annotations

import cv2
import numpy as np

from engine.quad import intersect_lines

_SAMPLES_PER_SIDE = 24
_SIDE_SPAN = (0.12, 0.88)  # skip the rounded corners
_MIN_PROFILES = 6


def refine_quad(rgb: np.ndarray, quad: np.ndarray, search_px: float) -> np.ndarray:
    """Move each side of the ordered convex quad onto the image edge within +-search_px.

    Sides without a clear edge (cut off by the frame, covered by another card) keep their
    original line; corners that would move further than 2*search_px keep their original spot.
    """
    quad = np.asarray(quad, dtype=np.float32)
    lines = [_refit_side(rgb, quad[i], quad[(i + 1) % 4], search_px) for i in range(4)]
    refined = quad.copy()
    for i in range(4):
        corner = intersect_lines(lines[i - 1], lines[i])
        if corner is not None and np.linalg.norm(corner - quad[i]) <= 2.0 * search_px:
            refined[i] = corner
    return refined


def _refit_side(
    rgb: np.ndarray, start: np.ndarray, end: np.ndarray, search_px: float
) -> tuple[np.ndarray, np.ndarray]:
    """(point, unit direction) of the side's line after snapping it to the image edge."""
    direction = end - start
    length = float(np.linalg.norm(direction))
    if length < 1.0:
        return start, np.float32([1.0, 0.0])
    direction = direction / length
    normal = np.float32([direction[1], -direction[0]])
    t = np.linspace(*_SIDE_SPAN, _SAMPLES_PER_SIDE, dtype=np.float32)
    radius = max(2, int(np.ceil(search_px)))
    offsets = np.arange(-radius, radius + 1, dtype=np.float32)
    base = start[None, :] + (t[:, None] * length) * direction[None, :]
    points = base[:, None, :] + offsets[None, :, None] * normal[None, None, :]
    profiles = cv2.remap(
        rgb,
        np.ascontiguousarray(points[..., 0]),
        np.ascontiguousarray(points[..., 1]),
        interpolation=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    ).astype(np.float32)
    strength = np.abs(np.diff(profiles, axis=1)).sum(axis=2)
    strength = cv2.GaussianBlur(strength, (3, 1), 0)
    inside = (
        (points[..., 0] >= 0)
        & (points[..., 1] >= 0)
        & (points[..., 0] <= rgb.shape[1] - 1)
        & (points[..., 1] <= rgb.shape[0] - 1)
    )
    strength[~(inside[:, 1:] & inside[:, :-1])] = 0.0
    best = strength.argmax(axis=1)
    peak = strength[np.arange(len(best)), best]
    good = peak > max(12.0, 0.5 * float(np.median(peak)))
    if good.sum() < _MIN_PROFILES:
        return start, direction
    sub = _parabola_offset(strength, best)
    edge_offsets = offsets[best] + 0.5 + sub  # diff sits between samples
    edge_points = base + edge_offsets[:, None] * normal[None, :]
    vx, vy, x0, y0 = cv2.fitLine(edge_points[good], cv2.DIST_HUBER, 0, 0.01, 0.01).ravel()
    return np.float32([x0, y0]), np.float32([vx, vy])


def _parabola_offset(strength: np.ndarray, best: np.ndarray) -> np.ndarray:
    """Sub-sample peak position from a parabola through the peak and its neighbours."""
    rows = np.arange(len(best))
    left = strength[rows, np.clip(best - 1, 0, strength.shape[1] - 1)]
    centre = strength[rows, best]
    right = strength[rows, np.clip(best + 1, 0, strength.shape[1] - 1)]
    denom = left - 2.0 * centre + right
    with np.errstate(divide="ignore", invalid="ignore"):
        offset = np.where(np.abs(denom) > 1e-6, 0.5 * (left - right) / denom, 0.0)
    return np.clip(offset, -0.5, 0.5).astype(np.float32)

