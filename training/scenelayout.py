"""Where cards lie in a simulated photo: camera geometry, table layouts, what stays visible.

Cards lie flat on one table plane seen by a pinhole camera tilted by up to the configured
angle, so every card in a scene shares one consistent perspective, as in a real photo.
Each card gets a card-pixel → image-pixel homography; its ground-truth quad is that
homography applied to the card image's corner pixels, so warping the quad back with
``cv2.getPerspectiveTransform(quad, corners)`` recovers the card exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

LABEL_SCALE = 4  # visibility is measured on a label map this many times smaller than the frame
OCCLUDER = -2
EMPTY = -1
TITLE_BAND = ((0.06, 0.035), (0.94, 0.095))
"""Where a card's name is printed, as (left, top), (right, bottom) shares of the card image: the
title bar that stays in view when cards are cascaded."""


@dataclass(frozen=True)
class Placement:
    """One card in the scene: which input image, and its card → image homography."""

    index: int
    homography: np.ndarray  # (3, 3) float64
    quad: np.ndarray  # (4, 2) float32: card's own TL, TR, BR, BL


@dataclass(frozen=True)
class Finger:
    """A finger-like capsule entering the frame, occluding part of a card."""

    start: tuple[float, float]
    end: tuple[float, float]
    width: float


def card_corners(card_shape: tuple[int, ...]) -> np.ndarray:
    height, width = card_shape[:2]
    return np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], np.float32)


def table_homography(rng: np.random.Generator, size: tuple[int, int], max_tilt_deg: float) -> np.ndarray:
    """Table plane (pixels at the image centre) → image, for a camera tilted about a random axis."""
    width, height = size
    focal = 0.85 * max(width, height)  # a phone main camera's field of view
    tilt = np.deg2rad(rng.uniform(0, max_tilt_deg))
    axis_angle = rng.uniform(0, 2 * np.pi)
    rotation, _ = cv2.Rodrigues(np.array([np.cos(axis_angle), np.sin(axis_angle), 0.0]) * tilt)
    intrinsics = np.array([[focal, 0, (width - 1) / 2], [0, focal, (height - 1) / 2], [0, 0, 1]])
    extrinsics = np.column_stack([rotation[:, 0], rotation[:, 1], [0, 0, focal]])
    return intrinsics @ extrinsics


def card_on_plane(card_shape: tuple[int, ...], long_side: float, angle: float, centre: np.ndarray) -> np.ndarray:
    """Card pixel → plane similarity: centred, scaled to `long_side`, rotated, moved to `centre`."""
    height, width = card_shape[:2]
    k = long_side / max(height, width)
    c, s = np.cos(angle), np.sin(angle)
    to_origin = np.array([[1, 0, -(width - 1) / 2], [0, 1, -(height - 1) / 2], [0, 0, 1]])
    rotate_scale = np.array([[k * c, -k * s, centre[0]], [k * s, k * c, centre[1]], [0, 0, 1]])
    return rotate_scale @ to_origin


def project(homography: np.ndarray, points: np.ndarray) -> np.ndarray:
    return cv2.perspectiveTransform(points.reshape(-1, 1, 2).astype(np.float64), homography).reshape(-1, 2)


def image_to_plane(table: np.ndarray, point: np.ndarray) -> np.ndarray:
    return project(np.linalg.inv(table), point[None])[0]


def in_frame_fraction(quad: np.ndarray, size: tuple[int, int]) -> float:
    """Share of the quad's area inside the frame (exact polygon clipping)."""
    width, height = size
    frame = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
    area = abs(cv2.contourArea(quad.astype(np.float32)))
    if area <= 0:
        return 0.0
    inter, _ = cv2.intersectConvexConvex(quad.astype(np.float32), frame)
    return float(inter) / area


def overlap_fraction(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection area over the smaller of the two quads."""
    inter, _ = cv2.intersectConvexConvex(a.astype(np.float32), b.astype(np.float32))
    smaller = min(abs(cv2.contourArea(a.astype(np.float32))), abs(cv2.contourArea(b.astype(np.float32))))
    return float(inter) / smaller if smaller > 0 else 1.0


def _is_sane(quad: np.ndarray, min_side: float) -> bool:
    """Convex, clockwise-on-screen card with no side collapsed by perspective."""
    sides = np.linalg.norm(np.roll(quad, -1, axis=0) - quad, axis=1)
    return bool(cv2.isContourConvex(quad.astype(np.float32)) and sides.min() >= min_side)


def _placement(index: int, card_shape: tuple[int, ...], table: np.ndarray, long_side: float, angle: float,
               centre: np.ndarray) -> Placement:
    homography = table @ card_on_plane(card_shape, long_side, angle, centre)
    return Placement(index, homography, project(homography, card_corners(card_shape)).astype(np.float32))


def scatter_layout(rng: np.random.Generator, shapes: list[tuple[int, ...]], indices: list[int], table: np.ndarray,
                   size: tuple[int, int], scale: tuple[float, float], any_rotation: bool, max_overlap: float,
                   min_in_frame: float) -> list[Placement]:
    """Cards dropped one by one at random spots, rejecting spots that overlap others too much."""
    width, height = size
    short = min(width, height)
    placed: list[Placement] = []
    for index in indices:
        long_side = rng.uniform(*scale) * short
        for _attempt in range(25):
            angle = rng.uniform(0, 2 * np.pi) if any_rotation else np.deg2rad(rng.normal(0, 4))
            centre = image_to_plane(table, rng.uniform([0.1 * width, 0.1 * height], [0.9 * width, 0.9 * height]))
            candidate = _placement(index, shapes[index], table, long_side, angle, centre)
            if (_is_sane(candidate.quad, 0.04 * short)
                    and in_frame_fraction(candidate.quad, size) >= min_in_frame
                    and all(overlap_fraction(candidate.quad, p.quad) <= max_overlap for p in placed)):
                placed.append(candidate)
                break
            long_side = max(scale[0] * short, long_side * 0.93)
    return placed


def group_layout(rng: np.random.Generator, shapes: list[tuple[int, ...]], indices: list[int], table: np.ndarray,
                 size: tuple[int, int], scale: tuple[float, float], any_rotation: bool, style: str) -> list[Placement]:
    """Cards arranged together: a 'grid' on a table, a 'fan' in hand, or a 'cascade' of titles.

    The group is built around the plane origin, then shrunk until it fits in the frame and
    moved to a random spot.
    """
    width, height = size
    short = min(width, height)
    count = len(indices)
    base_angle = rng.uniform(0, 2 * np.pi) if any_rotation else np.deg2rad(rng.normal(0, 3))
    long_side = rng.uniform(scale[0], max(scale[0], min(scale[1], 1.6 / np.sqrt(count)))) * short
    unit = np.array([np.cos(base_angle), np.sin(base_angle)])
    normal = np.array([-unit[1], unit[0]])
    if style == "grid":
        cols = int(np.ceil(np.sqrt(count * 1.4)))
        gap = rng.uniform(1.03, 1.12)
        offsets = [((i % cols) - (cols - 1) / 2, (i // cols) - (count - 1) // cols / 2) for i in range(count)]
        poses = [(base_angle + np.deg2rad(rng.normal(0, 2)), gap * (u * 0.72 * unit + v * normal)) for u, v in offsets]
    elif style == "fan":
        step = np.deg2rad(rng.uniform(6, 14))
        poses = []
        for i in range(count):
            turn = base_angle + (i - (count - 1) / 2) * step
            pivot_to_centre = np.array([np.sin(turn), -np.cos(turn)]) * 0.9
            poses.append((turn, pivot_to_centre - np.array([np.sin(base_angle), -np.cos(base_angle)]) * 0.9))
    else:  # cascade: each card slides down, leaving the title bars of the ones below visible
        shift = rng.uniform(0.12, 0.2)
        sideways = rng.uniform(-0.05, 0.08)
        poses = [(base_angle + np.deg2rad(rng.normal(0, 1.5)),
                  (i - (count - 1) / 2) * (shift * normal + sideways * unit)) for i in range(count)]
    for _attempt in range(20):
        centre = image_to_plane(table, rng.uniform([0.3 * width, 0.3 * height], [0.7 * width, 0.7 * height]))
        placed = [_placement(index, shapes[index], table, long_side, angle, centre + offset * long_side)
                  for index, (angle, offset) in zip(indices, poses)]
        corners = np.concatenate([p.quad for p in placed])
        inside = (corners.min(0) >= 0).all() and (corners.max(0) <= (width - 1, height - 1)).all()
        if inside and all(_is_sane(p.quad, 0.03 * short) for p in placed):
            return placed
        long_side *= 0.88
    return []


def _fitted(placements_at, table: np.ndarray, size: tuple[int, int], long_side: float, short: float,
            margin: float = 0.02) -> list[Placement]:
    """`placements_at(centre, long_side)`, shrunk until every corner lies in the frame."""
    width, height = size
    for _attempt in range(30):
        centre = image_to_plane(table, np.array([(width - 1) / 2, (height - 1) / 2]))
        placed = placements_at(centre, long_side)
        corners = np.concatenate([p.quad for p in placed])
        lo, hi = margin * np.array(size), (1 - margin) * np.array(size)
        if (corners.min(0) >= lo).all() and (corners.max(0) <= hi).all() and all(
                _is_sane(p.quad, 0.02 * short) for p in placed):
            return placed
        long_side *= 0.92
    return []


def grid_layout(rng: np.random.Generator, shapes: list[tuple[int, ...]], indices: list[int], table: np.ndarray,
                size: tuple[int, int], cols: int, gap: tuple[float, float], jitter_deg: float) -> list[Placement]:
    """Cards in rows of `cols`: a binder page's pockets (3 x 3, little gap) or a deck spread out
    on a table (5 x 8), as large as the frame allows; `gap` is the pitch range over a card's size."""
    short = min(size)
    rows = int(np.ceil(len(indices) / cols))
    base_angle = np.deg2rad(rng.normal(0, 2)) + (np.pi / 2 if rng.random() < 0.1 else 0.0)
    unit = np.array([np.cos(base_angle), np.sin(base_angle)])
    normal = np.array([-unit[1], unit[0]])
    pitch = rng.uniform(*gap)
    jitter = [(np.deg2rad(rng.normal(0, jitter_deg)), rng.normal(0, 0.01, 2)) for _ in indices]

    def at(centre: np.ndarray, long_side: float) -> list[Placement]:
        out = []
        for i, (index, (turn, nudge)) in enumerate(zip(indices, jitter)):
            u, v = (i % cols) - (cols - 1) / 2, (i // cols) - (rows - 1) / 2
            offset = pitch * (u * 0.716 * unit + v * normal) + nudge
            out.append(_placement(index, shapes[index], table, long_side, base_angle + turn,
                                  centre + offset * long_side))
        return out

    return _fitted(at, table, size, rng.uniform(0.8, 1.0) * short, short)


def columns_layout(rng: np.random.Generator, shapes: list[tuple[int, ...]], indices: list[int], table: np.ndarray,
                   size: tuple[int, int], columns: int, showing: tuple[float, float]) -> list[Placement]:
    """Deck columns as players lay a cube draft or a deck out: each card slides down over the one
    before, leaving `showing` (a share of its height: its title bar) of it in view; the last
    card of each column shows whole."""
    short = min(size)
    per_column = int(np.ceil(len(indices) / columns))
    base_angle = np.deg2rad(rng.normal(0, 1.5))
    unit = np.array([np.cos(base_angle), np.sin(base_angle)])
    normal = np.array([-unit[1], unit[0]])
    steps = rng.uniform(*showing, len(indices))
    pitch = rng.uniform(1.03, 1.12)
    drift = [(np.deg2rad(rng.normal(0, 1.0)), rng.normal(0, 0.01)) for _ in indices]

    def at(centre: np.ndarray, long_side: float) -> list[Placement]:
        out = []
        height = 1 + steps[:per_column].sum()
        for i, (index, (turn, sideways)) in enumerate(zip(indices, drift)):
            col, row = divmod(i, per_column)
            down = steps[col * per_column:i].sum() - (height - 1) / 2
            offset = ((col - (columns - 1) / 2) * pitch * 0.716 + sideways) * unit + down * normal
            out.append(_placement(index, shapes[index], table, long_side, base_angle + turn,
                                  centre + offset * long_side))
        return out

    return _fitted(at, table, size, rng.uniform(0.9, 1.2) * short, short)


def finger_for(rng: np.random.Generator, target: Placement, size: tuple[int, int]) -> Finger:
    """A finger reaching from the nearest frame edge to a point a little inside the card's edge."""
    width, height = size
    quad = target.quad.astype(np.float64)
    edge = int(rng.integers(4))
    t = rng.uniform(0.2, 0.8)
    point = quad[edge] * (1 - t) + quad[(edge + 1) % 4] * t
    centre = quad.mean(0)
    card_width = np.linalg.norm(quad[1] - quad[0])
    tip = point + (centre - point) * rng.uniform(0.05, 0.25)
    distances = {(tip[0], -0.2 * width): tip[1], (tip[0], 1.2 * height): height - tip[1],
                 (-0.2 * width, tip[1]): tip[0], (1.2 * width, tip[1]): width - tip[0]}
    start = min(distances, key=distances.__getitem__)
    return Finger(start=(float(start[0]), float(start[1])), end=(float(tip[0]), float(tip[1])),
                  width=float(card_width * rng.uniform(0.26, 0.36)))  # a finger is ~18 mm, a card 63 mm


def label_map(placements: list[Placement], finger: Finger | None, size: tuple[int, int]) -> np.ndarray:
    """Low-resolution map of the top-most thing at each spot: card position, EMPTY or OCCLUDER."""
    width, height = size
    labels = np.full((max(1, height // LABEL_SCALE), max(1, width // LABEL_SCALE)), EMPTY, np.int16)
    for position, placement in enumerate(placements):
        cv2.fillConvexPoly(labels, np.round(placement.quad / LABEL_SCALE).astype(np.int32), position)
    if finger is not None:
        draw_finger(labels, finger, 1 / LABEL_SCALE, OCCLUDER, antialias=False)
    return labels


def draw_finger(canvas: np.ndarray, finger: Finger, scale: float, value: float, antialias: bool = True) -> None:
    start = tuple(int(round(v * scale)) for v in finger.start)
    end = tuple(int(round(v * scale)) for v in finger.end)
    thickness = max(1, int(round(finger.width * scale)))
    cv2.line(canvas, start, end, value, thickness, cv2.LINE_AA if antialias else cv2.LINE_8)
    cv2.circle(canvas, end, max(1, thickness // 2), value, -1, cv2.LINE_AA if antialias else cv2.LINE_8)


def visible_fractions(placements: list[Placement], labels: np.ndarray) -> list[float]:
    """Per card: unoccluded in-frame label cells over the card's whole (even off-frame) area."""
    counts = np.bincount((labels[labels >= 0]).ravel(), minlength=len(placements))
    fractions = []
    for position, placement in enumerate(placements):
        area = abs(cv2.contourArea((placement.quad / LABEL_SCALE).astype(np.float32)))
        fractions.append(float(min(1.0, counts[position] / area)) if area > 0 else 0.0)
    return fractions


def visible_centres(placements: list[Placement], labels: np.ndarray) -> list[np.ndarray | None]:
    """Per card: the centroid, in photo pixels, of what is seen of it (None if nothing is).

    In a cascade a covered card's whole outline centres near the open card below it; what
    is seen of it (its strip) does not, so an answer can be paired with the card it shows."""
    rows, cols = np.nonzero(labels >= 0)
    owners = labels[rows, cols]
    counts = np.bincount(owners, minlength=len(placements))
    xs = np.bincount(owners, weights=cols, minlength=len(placements))
    ys = np.bincount(owners, weights=rows, minlength=len(placements))
    return [np.array([xs[i], ys[i]]) / counts[i] * LABEL_SCALE if counts[i] else None
            for i in range(len(placements))]


def title_band(quad: np.ndarray, card_shape: tuple[int, ...]) -> np.ndarray:
    """(4, 2) corners in the photo of the title bar (`TITLE_BAND`) of a card placed at `quad`."""
    height, width = card_shape[:2]
    (x0, y0), (x1, y1) = TITLE_BAND
    band = np.array([[x0 * width, y0 * height], [x1 * width, y0 * height],
                     [x1 * width, y1 * height], [x0 * width, y1 * height]])
    homography = cv2.getPerspectiveTransform(card_corners(card_shape), np.asarray(quad, np.float32))
    return project(homography, band)


def title_visible_fractions(placements: list[Placement], labels: np.ndarray,
                            shapes: list[tuple[int, ...]]) -> list[float]:
    """Per card: share of its title bar (`TITLE_BAND`) that is in frame and not covered."""
    fractions = []
    for position, placement in enumerate(placements):
        band = title_band(placement.quad, shapes[placement.index]) / LABEL_SCALE
        mask = np.zeros(labels.shape, np.uint8)
        cv2.fillConvexPoly(mask, np.round(band).astype(np.int32), 1)
        area = abs(cv2.contourArea(band.astype(np.float32)))
        shown = np.count_nonzero((labels == position) & (mask > 0))
        fractions.append(float(min(1.0, shown / area)) if area > 0 else 0.0)
    return fractions
