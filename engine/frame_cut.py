"""Complete a card that runs off the edge of the photo from the three sides still in view.

A segmented blob cut by the frame has the frame edge as its fourth side, so its quad is
no card's shape and detection dropped it, or warped the visible part stretched to a whole
card, which the gallery cannot match. But the two corners in view, the directions of the
two sides leaving the frame and a phone lens fix the card's plane: the corners are rays
from the camera, the sides' vanishing point is one direction in the plane, and the side
between the corners lies in the plane perpendicular to it. Walking the card's length
(63:88) along that direction and projecting back gives the hidden corners, off the frame.
The warp then fills the missing part with the frame's edge pixels, and the gallery still
knows the card from the rest (on simulated photos the true corners of such cards read
right as often as others).

Whether the side between the corners in view is the card's short side or its long one is
open while less of the card shows along the cut sides than its width, so then both
completions are returned, the one that leaves more of the card in view first; the
recognizer keeps whichever the gallery knows best.
"""

from __future__ import annotations

from typing import Callable

import cv2
import numpy as np

from engine.quad import CARD_ASPECT, PHONE_FOCALS, is_plausible_card, order_corners, quad_area

PHONE_FOCAL = sum(PHONE_FOCALS) / 2
"""Focal length (× the image's long side) the completion assumes: the middle of a phone's."""
MIN_IN_VIEW = 0.5
"""Least share of a completed card's area in the photo: a card mostly out of the picture is
not what the user asks about, and completing a blob from so little invents cards in
flowers and table clutter."""
LENGTH_SLACK = 1.1  # a visible side may run this much past the card length it is completed to


def complete_cut_card(quad: np.ndarray, image_size: tuple[int, int], tolerance: float) -> list[np.ndarray]:
    """Ordered whole-card quads for a card quad with one side on the frame edge, the one
    leaving more of the card in view first.

    `quad` is a convex quad in image pixels one of whose sides joins two points on the
    frame's edge (within `tolerance` pixels of it; on one edge, or across a frame corner):
    where the card leaves the photo. Returns [] when no single side does, or when no card
    of 63:88 fits the sides in view.
    """
    quad = np.asarray(quad, dtype=np.float64)
    cut = _cut_side(quad, image_size, tolerance)
    if cut is None:
        return []
    # Corners in view a0, a1 (side A between them); b0, b1 where the sides leaving the frame meet it.
    a1, a0 = quad[(cut + 3) % 4], quad[(cut + 2) % 4]
    b0, b1 = quad[(cut + 1) % 4], quad[cut]
    camera = _Camera(image_size)
    plane = camera.plane(a0, a1, b0, b1)
    if plane is None:
        return _flat_completions(a0, a1, b0, b1, image_size)
    x0, x1, away, normal = plane
    width = float(np.linalg.norm(x1 - x0))
    shown = max(float((camera.on_plane(b, x0, normal) - x) @ away) for b, x in ((b0, x0), (b1, x1))) / width

    def hidden_at(length: float) -> list[np.ndarray] | None:
        hidden = [camera.project(x + length * width * away) for x in (x1, x0)]
        return None if any(h is None for h in hidden) else hidden

    return _completions(a0, a1, shown, hidden_at, image_size) or _flat_completions(a0, a1, b0, b1, image_size)


def _flat_completions(a0: np.ndarray, a1: np.ndarray, b0: np.ndarray, b1: np.ndarray,
                      image_size: tuple[int, int]) -> list[np.ndarray]:
    """The completions without foreshortening: each side leaving the frame walked on for the
    card's length in image pixels.

    Where those sides run nearly parallel their vanishing point is ill-conditioned: a degree
    off in a segmented side tilts the plane far, and the lens's completion comes out no
    card's shape, while the card seen that way is barely foreshortened.
    """
    span = float(np.linalg.norm(a1 - a0))
    ways = [(b - a) / max(float(np.linalg.norm(b - a)), 1e-9) for a, b in ((a1, b1), (a0, b0))]
    shown = max(float(np.linalg.norm(b0 - a0)), float(np.linalg.norm(b1 - a1))) / span
    return _completions(a0, a1, shown, lambda length: [a + length * span * way for a, way in zip((a1, a0), ways)],
                        image_size)


def _completions(a0: np.ndarray, a1: np.ndarray, shown: float,
                 hidden_at: Callable[[float], list[np.ndarray] | None], image_size: tuple[int, int]) -> list[np.ndarray]:
    """Whole cards for each length the cut sides may have (in widths of side A: short side or
    long one) that the `shown` part of them leaves room for; `hidden_at(length)` gives the
    hidden corners beyond a1 and a0, or None. A card must be a card's shape with enough of it
    in the photo (MIN_IN_VIEW)."""
    completions = []
    for length in (CARD_ASPECT, 1.0 / CARD_ASPECT):
        if shown > LENGTH_SLACK * length:
            continue
        hidden = hidden_at(length)
        if hidden is None:
            continue
        card = order_corners(np.float32([a0, a1, hidden[0], hidden[1]]), image_size)
        if is_plausible_card(card) and _share_in_view(card, image_size) >= MIN_IN_VIEW:
            completions.append(card)
    return completions


def _share_in_view(quad: np.ndarray, image_size: tuple[int, int]) -> float:
    width, height = image_size
    frame = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    in_view, _ = cv2.intersectConvexConvex(quad, frame)
    return float(in_view) / max(quad_area(quad), 1e-6)


def _cut_side(quad: np.ndarray, image_size: tuple[int, int], tolerance: float) -> int | None:
    """Index i of the one side quad[i]-quad[i+1] joining two points on the frame's edge, else None."""
    width, height = image_size
    on_frame = ((quad[:, 0] <= tolerance) | (quad[:, 0] >= width - tolerance)
                | (quad[:, 1] <= tolerance) | (quad[:, 1] >= height - tolerance))
    sides = [i for i in range(4) if on_frame[i] and on_frame[(i + 1) % 4]]
    return sides[0] if len(sides) == 1 else None


class _Camera:
    """A pinhole with a phone's focal length, looking through the image centre."""

    def __init__(self, image_size: tuple[int, int]) -> None:
        width, height = image_size
        focal = PHONE_FOCAL * max(width, height)
        self.matrix = np.array([[focal, 0.0, width / 2.0], [0.0, focal, height / 2.0], [0.0, 0.0, 1.0]])
        self.inverse = np.linalg.inv(self.matrix)

    def ray(self, point: np.ndarray) -> np.ndarray:
        return self.inverse @ np.array([point[0], point[1], 1.0])

    def project(self, point: np.ndarray) -> np.ndarray | None:
        """Image pixel of a 3-D point, None behind the camera."""
        image = self.matrix @ point
        return image[:2] / image[2] if image[2] > 1e-9 else None

    def plane(self, a0: np.ndarray, a1: np.ndarray, b0: np.ndarray,
              b1: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """3-D corners a0, a1 (a0 at depth 1), the unit direction along the sides a0-b0, a1-b1
        (towards b0, b1) and the plane's unit normal.

        None when the sides in view cannot be a rectangle's under this lens.
        """
        homogeneous = [np.array([p[0], p[1], 1.0]) for p in (a0, a1, b0, b1)]
        side_b = np.cross(homogeneous[0], homogeneous[2])
        side_c = np.cross(homogeneous[1], homogeneous[3])
        along = self.inverse @ np.cross(side_b, side_c)  # the sides' vanishing direction
        across_plane = self.matrix.T @ np.cross(homogeneous[0], homogeneous[1])  # plane through side A
        across = np.cross(along, across_plane)
        normal = np.cross(along, across)
        if min(np.linalg.norm(along), np.linalg.norm(across), np.linalg.norm(normal)) < 1e-12:
            return None
        along, normal = along / np.linalg.norm(along), normal / np.linalg.norm(normal)
        x0 = self.ray(a0)
        if abs(self.ray(a1) @ normal) < 1e-9:
            return None
        x1 = self.on_plane(a1, x0, normal)
        if x1[2] <= 0:
            return None
        if (self.on_plane(b0, x0, normal) - x0) @ along < 0:
            along = -along
        return x0, x1, along, normal

    def on_plane(self, point: np.ndarray, origin: np.ndarray, normal: np.ndarray) -> np.ndarray:
        """Where the ray through an image point meets the plane through `origin`."""
        ray = self.ray(point)
        return ray * (origin @ normal) / (ray @ normal)
