"""Title bars of cards that others cover: where they are in a photo, cut upright for reading.

Players lay decks and cube drafts out in cascaded columns, each card sliding down over the one
before so that only its top 10-20% shows: the title bar with the name. No outline of such a card
is a card's shape, so detection finds only the last card of each column, lying open. The
covered cards lie in the same plane, the same size and turned nearly the same way, so each one's
top edge is a line across the column a short step above the card it lies under. This module walks
each column up one card at a time: it rectifies the short window above the card it stands on,
finds the next top edge as rows where an edge runs across most of the column's width, measures
that edge's own tilt, and stands on the covered card it bounds (its outline: that edge and a
card's height below it) for the next step. Each card is placed by hand a degree or two off its
neighbours, so following the open card's perspective alone drifts a third of a title bar off by
the column's top; re-anchoring on every edge does not. From each covered card it cuts the line of
its name, found as the rows of densest lettering just under the edge (the edge found is the card's
or its title bar's border, ~3% of a card apart). Naming the strip is the title reader's job (OCR +
fuzzy match to the catalog, engine/title_read.py); a strip says how much of its card shows
(`showing`), so a printing is claimed only where enough art shows.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from engine.quad import quad_holds
from engine.title_read import TITLE_COLUMNS

STRIP_WIDTH = 320
"""Pixels across a rectified column: a title's letters are ~12 px tall at this width."""
LOOK_ABOVE = 3.0
"""How far above an open card to look for covered ones, in card heights."""
MIN_STEP, MAX_STEP = 0.09, 0.35
"""Least and most of a card's height between two covered cards' top edges: a cascade's step. The
least is just under the title bar's height, so the line under a title bar (a band's own edge) is
not taken for another card's top; a band showing more than twice that may still split in two,
one of them art only, which the title reader finds no name in."""
TITLE_HEIGHT = 0.11
"""Of a card's height from its top edge: the title bar (name and mana cost)."""
NEAR_MARGIN = 16
"""Rows added above the window's reach, beyond `top_edges`' blur (σ 1.5), gradients and peak
test (±4 rows), so an edge at the step's far end reads as in the middle of a column."""
EDGE_SPAN = 0.5
"""Share of a row's pixels (over the middle 80% of the column) that must lie on a strong
horizontal edge for the row to be a card's top edge; lines of text and art cover far less."""
EDGE_BLOCK = 16
"""Columns taken together when an edge's slope is tried: over 16 px a 3° slope moves < 1 row."""
SLOPES = np.tan(np.deg2rad(np.arange(-3.0, 3.01, 0.5)))
"""Slopes of a covered card's top edge looked for, in the frame of the card below it: each card
of a column lies turned by hand up to a degree or two from the one below."""
NAME_ABOVE, NAME_BELOW = 0.03, 0.13
"""Card heights above and below a top edge within which the name's line lies: the edge found may
be the card's or its title bar's upper border (~0.03 lower), and the name sits 0.035-0.105 under
the card's edge."""
NAME_ROWS = 0.065
"""Of a card's height: the name's line with a little room, the rows cut for the reader."""
NAME_MIDDLE = 0.07
"""Of a card's height: how far under its top edge the middle of its name lies. A covered card's
outline is placed by where its name was found, not by the edge found above it, which may be the
title bar's border (~0.03 lower) or the line under the title bar (~0.1 lower, the name above it)."""
STROKE_GRADIENT = 35.0
"""A pixel on a letter's vertical stroke has a horizontal grey-level gradient over this."""


@dataclass(frozen=True)
class TitleStrip:
    """One covered card's visible title bar."""

    quad: np.ndarray
    """(4, 2) corners of the band in the photo: TL, TR, BR, BL, the title on top."""
    crop: np.ndarray
    """The name's line warped upright: (rows, columns, 3), as the photo's channels; its columns
    are the card's `engine.title_read.TITLE_COLUMNS` at STRIP_WIDTH pixels a card."""
    showing: float
    """How much of its card shows, as a share of the card's height (0.1-0.2 in a cascade)."""
    below: int
    """Index of the open card (in the quads given) whose column this strip belongs to."""
    card: np.ndarray
    """(4, 2) corners TL, TR, BR, BL of the whole covered card, its hidden part included: where
    the card lies, placed by its name's line (`NAME_MIDDLE`) and the card size of the column."""


def find_title_strips(image: np.ndarray, card_quads: list[np.ndarray]) -> list[TitleStrip]:
    """Title strips of covered cards in the columns above each open card in `card_quads`.

    Quads are ordered TL, TR, BR, BL of upright cards (engine.detect's order) in `image` pixels.
    Bands that fall inside another open card are left out: that card is answered by its art.
    A card with another open card right above it (a spread's rows, a binder's pockets) has no
    room for a covered card's title there, and its column is not looked at (~5 ms a card).
    """
    card_quads = [np.asarray(q, np.float64) for q in card_quads]
    strips: list[TitleStrip] = []
    for index, quad in enumerate(card_quads):
        if _open_card_above(quad, card_quads):
            continue
        for strip in strips_above(image, quad, index):
            centre = strip.quad.mean(axis=0)
            if not any(quad_holds(other, centre) for other in card_quads):
                strips.append(strip)
    return strips


def _sides(quad: np.ndarray) -> tuple[float, float]:
    """A quad's mean width and height in pixels."""
    width = (np.linalg.norm(quad[1] - quad[0]) + np.linalg.norm(quad[2] - quad[3])) / 2
    height = (np.linalg.norm(quad[3] - quad[0]) + np.linalg.norm(quad[2] - quad[1])) / 2
    return float(width), float(height)


def _open_card_above(quad: np.ndarray, card_quads: list[np.ndarray]) -> bool:
    """Whether the point `MAX_STEP` card heights above the middle of the card's top edge lies in
    another of the open cards. A covered card's title could then show only in the gap between
    the two: a spread's or a binder page's gap, not a cascade's step."""
    top = (quad[0] + quad[1]) / 2
    up = top - (quad[3] + quad[2]) / 2  # from the bottom edge's middle: a card height
    return any(quad_holds(other, top + MAX_STEP * up) for other in card_quads)


def card_homography(quad: np.ndarray) -> tuple[np.ndarray, float]:
    """Card plane (x across, y down; the card spans [0, STRIP_WIDTH] x [0, height]) → photo."""
    width, height_px = _sides(quad)
    height = STRIP_WIDTH * height_px / max(width, 1.0)
    plane = np.float32([[0, 0], [STRIP_WIDTH, 0], [STRIP_WIDTH, height], [0, height]])
    return cv2.getPerspectiveTransform(plane, quad.astype(np.float32)), float(height)


def strips_above(image: np.ndarray, quad: np.ndarray, index: int) -> list[TitleStrip]:
    """The column above the open card at `quad`, walked up one covered card at a time."""
    strips = []
    to_photo, height = card_homography(quad)
    climbed, limit = 0.0, LOOK_ABOVE * height
    while climbed < limit:
        reach = MAX_STEP * height + NEAR_MARGIN
        shift = np.array([[1, 0, 0], [0, 1, -reach], [0, 0, 1]], np.float64)  # row r: card-plane y = r - reach
        window = cv2.warpPerspective(image, to_photo @ shift, (STRIP_WIDTH, int(reach) + 2),
                                     flags=cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        strong = horizontal_edges(window)
        edges = [(r, slope) for r, slope in top_edges(strong, inside_photo(image.shape, to_photo @ shift, window.shape))
                 if MIN_STEP * height <= reach - r <= MAX_STEP * height]
        if not edges:
            break  # the column ended: table above, or another card's art
        card = card_on_edge(edges[0], height, to_photo @ shift, top=True)
        step = reach - edges[0][0]
        to_photo, height = card_homography(card)
        crop, depth = name_line(image, to_photo, height, step)
        strips.append(TitleStrip(quad=_band(to_photo, min(step, TITLE_HEIGHT * height)), crop=crop,
                                 showing=float(step / height), below=index,
                                 card=_card_at(to_photo, height, depth - NAME_MIDDLE)))
        climbed += step
    return strips


def _card_at(to_photo: np.ndarray, height: float, offset: float) -> np.ndarray:
    """The card's outline in the photo, moved `offset` card heights down its column."""
    rows = offset * height
    plane = np.float32([[0, rows], [STRIP_WIDTH, rows], [STRIP_WIDTH, rows + height], [0, rows + height]])
    return cv2.perspectiveTransform(plane[None], to_photo)[0].astype(np.float64)


def _band(to_photo: np.ndarray, rows: float) -> np.ndarray:
    """The top `rows` of a card (card-plane rows) as corners in the photo."""
    band = np.float32([[0, 0], [STRIP_WIDTH, 0], [STRIP_WIDTH, rows], [0, rows]])
    return cv2.perspectiveTransform(band[None], to_photo)[0]


def name_line(image: np.ndarray, to_photo: np.ndarray, height: float, step: float) -> tuple[np.ndarray, float]:
    """The rows of a card that hold its name, upright, and how far their middle lies under its
    top edge (card heights): of the rows `NAME_ABOVE` above to `NAME_BELOW` below the edge (no
    lower than the next card's edge, `step` below), the `NAME_ROWS` with the most letter strokes
    across the name's columns."""
    left, right = (int(c * STRIP_WIDTH) for c in TITLE_COLUMNS)
    top = NAME_ABOVE * height
    rows = int(top + min(NAME_BELOW * height, step))
    shift = np.array([[1, 0, left], [0, 1, -top], [0, 0, 1]], np.float64)
    region = cv2.warpPerspective(image, to_photo @ shift, (right - left, rows),
                                 flags=cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    strokes = letter_strokes(region).mean(axis=1)
    span = min(rows, int(round(NAME_ROWS * height)))
    density = np.convolve(strokes, np.ones(span), mode="valid")
    start = int(np.argmax(density))
    return region[start:start + span], float((start + span / 2 - top) / height)


def letter_strokes(band: np.ndarray) -> np.ndarray:
    """Pixels of a band (RGB or grey) on a letter's vertical stroke (`STROKE_GRADIENT`)."""
    grey = cv2.cvtColor(band, cv2.COLOR_RGB2GRAY) if band.ndim == 3 else band
    return np.abs(cv2.Sobel(grey.astype(np.float32), cv2.CV_32F, 1, 0, ksize=3)) > STROKE_GRADIENT


def card_on_edge(edge: tuple[float, float], height: float, to_photo: np.ndarray, *, top: bool) -> np.ndarray:
    """The outline in the photo (TL, TR, BR, BL) of a card `height` card-plane rows tall standing
    square to `edge` (row, slope: `top_edges`) of a rectified window that `to_photo` maps to the
    photo: the edge is the card's top, or with `top` False its bottom."""
    left, right = edge_ends(*edge)
    ends = np.float64([[0, left], [STRIP_WIDTH, right]])
    down = np.array([left - right, STRIP_WIDTH], np.float64)  # the edge's normal, pointing down the card
    down *= height / np.linalg.norm(down)
    if top:
        plane = np.float32([ends[0], ends[1], ends[1] + down, ends[0] + down])
    else:
        plane = np.float32([ends[0] - down, ends[1] - down, ends[1], ends[0]])
    return cv2.perspectiveTransform(plane[None], to_photo)[0].astype(np.float64)


def inside_photo(shape: tuple[int, ...], homography: np.ndarray, size: tuple[int, ...]) -> np.ndarray:
    """Rows of the rectified column that lie wholly inside the photo (beyond it is black fill)."""
    rows, cols = size[:2]
    ys = np.arange(rows, dtype=np.float32)
    points = np.stack([np.stack([np.zeros_like(ys), ys], 1), np.stack([np.full_like(ys, cols - 1), ys], 1)])
    mapped = cv2.perspectiveTransform(points.reshape(1, -1, 2), homography)[0].reshape(2, rows, 2)
    height, width = shape[:2]
    return ((mapped[..., 0] >= 0) & (mapped[..., 0] < width) & (mapped[..., 1] >= 0) & (mapped[..., 1] < height)).all(0)


def horizontal_edges(window: np.ndarray) -> np.ndarray:
    """Pixels of a rectified column on a strong horizontal edge, not a letter's stroke."""
    grey = cv2.cvtColor(window, cv2.COLOR_RGB2GRAY).astype(np.float32) if window.ndim == 3 else window.astype(np.float32)
    grey = cv2.GaussianBlur(grey, (0, 0), 1.5)
    dy = np.abs(cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3))
    dx = np.abs(cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3))
    return (dy > 12) & (dy > 1.5 * dx)


def top_edges(strong: np.ndarray, inside: np.ndarray) -> list[tuple[float, float]]:
    """Lines, from the bottom up, where a horizontal edge spans the column: covered cards' tops,
    each as (row at the column's middle, slope). Each card lies turned a degree or two off the
    one below it, enough to spread its edge over ~9 rows of the window; the edge spans a row of
    the window sheared by its slope (`SLOPES`)."""
    margin = STRIP_WIDTH // 10
    middle = strong[:, margin:-margin]
    rows, cols = middle.shape
    blocks = middle[:, :cols - cols % EDGE_BLOCK].reshape(rows, -1, EDGE_BLOCK).mean(axis=2)
    blocks = np.maximum(blocks, np.roll(blocks, 1, axis=0))  # an edge blurred over two rows counts once
    across = (np.arange(blocks.shape[1]) + 0.5) * EDGE_BLOCK - cols / 2
    span, slope_at = np.zeros(rows), np.zeros(rows)
    for slope in SLOPES:  # each block of columns shifted by the slope at its middle
        at = np.arange(rows)[:, None] + np.round(slope * across).astype(int)[None, :]
        share = (np.take_along_axis(blocks, np.clip(at, 0, rows - 1), axis=0) * ((at >= 0) & (at < rows))).mean(axis=1)
        better = share > span
        span[better], slope_at[better] = share[better], slope
    span[~inside] = 0
    nearby = cv2.dilate(span[None].astype(np.float32), np.ones((1, 7), np.uint8))[0]  # the most within ±3 rows
    peaks = [r for r in np.flatnonzero((span >= EDGE_SPAN) & (span >= nearby - 1e-6))[::-1]
             if 0 < r <= rows - 4]  # bottom-up, skipping the card's own edge at the bottom
    merged: list[tuple[float, float]] = []
    for r in peaks:
        if not merged or merged[-1][0] - r > 3:
            merged.append((float(r), float(slope_at[r])))
    return merged


def edge_ends(row: float, slope: float) -> tuple[float, float]:
    """Rows at the column's left and right sides of an edge through `row` at its middle."""
    return row - slope * STRIP_WIDTH / 2, row + slope * STRIP_WIDTH / 2
