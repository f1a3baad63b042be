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

The geometry of the cut card's part in view lives here too: `cut_outline` fits its sides
in view from a segmented blob's outline, `area_in_view` measures how much of it shows.
"""

from __future__ import annotations

from typing import Callable

import cv2
import numpy as np

from engine.quad import (
    CARD_ASPECT,
    PHONE_FOCALS,
    box_holds,
    intersect_lines,
    is_plausible_card,
    order_corners,
    quad_area,
    side_line,
)

PHONE_FOCAL = sum(PHONE_FOCALS) / 2
"""Focal length (× the image's long side) the completion assumes: the middle of a phone's."""
_OFF_FRAME_REACH = 0.1  # of a cut blob's size: how far past the frame its simplified outline may reach
_MAX_CORNER_COS = 0.6  # |cos| of a card corner's angle seen under a hand-held photo's perspective
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


def area_in_view(quad: np.ndarray, frame: np.ndarray | None, cut: bool) -> float:
    """Area of the card's part inside `frame` (x0, y0, x1, y1), or of the quad without one.

    A cut quad (corners in view, then where its sides leave the frame: `cut_outline`)
    leaves out what lies beyond its cut where that runs across a frame corner, so there
    the frame is clipped by the three card sides in view instead.
    """
    if frame is None:
        return quad_area(quad)
    x0, y0, x1, y1 = frame
    view = np.float32([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
    if not cut:
        area, _ = cv2.intersectConvexConvex(np.asarray(quad, np.float32), view)
        return float(area)
    corner0, corner1, exit1, exit0 = quad
    inside = quad.mean(axis=0)
    for start, end in ((exit0, corner0), (corner0, corner1), (corner1, exit1)):
        view = _clip(view, start, end, inside)
    return quad_area(view) if len(view) >= 3 else 0.0


def _clip(polygon: np.ndarray, start: np.ndarray, end: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """The convex polygon's part on `inside`'s side of the line through start and end."""
    normal = np.float32([start[1] - end[1], end[0] - start[0]])
    if (inside - start) @ normal < 0:
        normal = -normal
    depth = (polygon - start) @ normal
    kept = []
    for i in range(len(polygon)):
        j = (i + 1) % len(polygon)
        if depth[i] >= 0:
            kept.append(polygon[i])
        if (depth[i] >= 0) != (depth[j] >= 0):
            kept.append(polygon[i] + (polygon[j] - polygon[i]) * depth[i] / (depth[i] - depth[j]))
    return np.float32(kept).reshape(-1, 2)


def cut_outline(contour: np.ndarray, frame: np.ndarray, near: float) -> tuple[np.ndarray, bool] | None:
    """Quad of a card outline the photo's edge cuts, from the sides in view, and whether one
    of its sides is the frame's cut (three card sides in view); None if it is not one card
    cut once.

    The part in view is the card's quad clipped by the frame: a convex polygon whose sides are
    the card's sides in view and a stretch or two of the frame's edge (two where it runs across
    a frame corner). The hull polygon `engine.segmenter.fit_quad` starts from takes a frame stretch for a card
    side, and across a frame corner makes five sides of four, so here the hull is simplified to
    four sides, or five where four leave part of it out (a corner just inside the frame has a
    short side in view that four sides swallow; of two shapes neither fitting, the first with
    its frame stretches in one run), those along the frame are set aside, and lines are fitted
    to the outline on the others. With four card sides in view the corner off the frame is where
    the outer two meet; with three, the quad closes where those two leave the frame (a side
    along the frame edge, for `complete_cut_card` to complete). Outline points within
    `near` of the frame are left out: a segmenter leaves the last pixels before it unsure.
    """
    hull = cv2.convexHull(contour)
    x0, y0, x1, y1 = frame
    points = contour.reshape(-1, 2).astype(np.float32)
    points = points[(points[:, 0] > x0 + near) & (points[:, 0] < x1 - near)
                    & (points[:, 1] > y0 + near) & (points[:, 1] < y1 - near)]
    # Simplified, the hull's polygon may reach a little past the frame where it runs across a
    # frame corner; far past it, the polygon has made one long side of a card side and the frame.
    beyond = near + _OFF_FRAME_REACH * np.sqrt(max(cv2.contourArea(hull), 1.0))
    reach = frame + np.float32([-beyond, -beyond, beyond, beyond])
    fallback = None
    for sides in (4, 5):
        if len(hull) < sides:  # a sliver or triangle of class pixels: approxPolyN asserts on it
            continue
        polygon = cv2.approxPolyN(hull, sides, ensure_convex=True).reshape(-1, 2).astype(np.float32)
        if len(polygon) != sides or not all(box_holds(reach, vertex) for vertex in polygon):
            continue  # a vertex far beyond the photo: a side in view was swallowed into a frame stretch
        along = [_along_frame(polygon[i], polygon[(i + 1) % sides], frame, near) for i in range(sides)]
        card_sides = sides - sum(along)
        first = next((i for i in range(sides) if along[i - 1] and not along[i]), None)
        if first is None or card_sides not in (3, 4) or not all(along[(first + card_sides + k) % sides]
                                                                 for k in range(sides - card_sides)):
            continue  # the frame stretches must be one run, between the card sides
        chain = np.roll(polygon, -first, axis=0)[:card_sides + 1]
        if _hull_error(hull, polygon) <= near:
            break
        fallback = fallback or (chain, card_sides)
    else:
        if fallback is None:
            return None
        chain, card_sides = fallback
    lines = [side_line(points, chain[i], chain[i + 1]) for i in range(card_sides)]
    if any(abs(float(lines[i][1] @ lines[i + 1][1])) > _MAX_CORNER_COS for i in range(card_sides - 1)):
        return None  # two stretches of one side: too little of the card is in view
    corners = [intersect_lines(lines[i], lines[i + 1]) for i in range(card_sides - 1)]
    if any(c is None for c in corners):
        return None
    if card_sides == 4:
        ends = [intersect_lines(lines[3], lines[0])]
    else:
        ends = [_exit(corners[1], lines[2], chain[3], frame), _exit(corners[0], lines[0], chain[0], frame)]
    if any(c is None for c in ends):
        return None
    if np.abs(np.float32(corners) - chain[1:-1]).max() > 0.25 * np.sqrt(max(cv2.contourArea(hull), 1.0)):
        return None  # a wild line fit
    return np.float32(corners + ends), card_sides == 3


def _along_frame(a: np.ndarray, b: np.ndarray, frame: np.ndarray, near: float) -> bool:
    """Whether the segment a-b runs along one edge of the frame (x0, y0, x1, y1), within `near`."""
    x0, y0, x1, y1 = frame
    return bool(max(a[0], b[0]) <= x0 + near or min(a[0], b[0]) >= x1 - near
                or max(a[1], b[1]) <= y0 + near or min(a[1], b[1]) >= y1 - near)


def _hull_error(hull: np.ndarray, polygon: np.ndarray) -> float:
    """Farthest any hull vertex lies from the polygon's outline."""
    outline = polygon.reshape(-1, 1, 2)
    return max(abs(cv2.pointPolygonTest(outline, (float(x), float(y)), True)) for x, y in hull.reshape(-1, 2))


def _exit(corner: np.ndarray, line: tuple[np.ndarray, np.ndarray], towards: np.ndarray,
          frame: np.ndarray) -> np.ndarray | None:
    """Where the side through `corner` along `line`'s direction, heading for `towards`,
    leaves the frame (x0, y0, x1, y1); None if the corner lies outside it."""
    _, direction = line
    if (towards - corner) @ direction < 0:
        direction = -direction
    x0, y0, x1, y1 = frame
    if not (x0 <= corner[0] <= x1 and y0 <= corner[1] <= y1):
        return None
    reach = []
    for start, step, low, high in ((corner[0], direction[0], x0, x1), (corner[1], direction[1], y0, y1)):
        if abs(step) > 1e-9:
            reach.append(((high if step > 0 else low) - start) / step)
    return (corner + min(reach) * direction).astype(np.float32) if reach else None
