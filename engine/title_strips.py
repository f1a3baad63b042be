"""Title bars of cards that others cover: where they are in a photo, cut upright for reading.

Players lay decks and cube drafts out in cascaded columns, each card sliding down over the one
before so that only its top 10-20% shows: the title bar with the name. No outline of such a card
is a card's shape, so detection finds only the last card of each column, lying open. The
covered cards lie in the same plane, the same size and turned the same way, so their top edges
are lines across the column above that card: this module follows the open card's perspective
upward (its homography extends to the table around it), finds those edges as rows where an
edge runs across most of the column's width, and cuts each band between two edges as an
upright strip. Naming the strip is the title reader's job (OCR + fuzzy match to the catalog,
engine/title_read.py); a strip says how much of its card shows (`showing`), so a printing is
claimed only where enough art shows.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from engine.quad import quad_holds

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
"""Rows added above the first look's window, beyond the reach of `_top_edges`' blur (σ 1.5),
gradients and peak test (±4 rows), so the rows that matter read as in the whole column."""
EDGE_SPAN = 0.5
"""Share of a row's pixels (over the middle 80% of the column) that must lie on a strong
horizontal edge for the row to be a card's top edge; lines of text and art cover far less."""


@dataclass(frozen=True)
class TitleStrip:
    """One covered card's visible title bar."""

    quad: np.ndarray
    """(4, 2) corners of the band in the photo: TL, TR, BR, BL, the title on top."""
    crop: np.ndarray
    """The band warped upright: (height, STRIP_WIDTH, 3), as the photo's channels."""
    showing: float
    """How much of its card shows, as a share of the card's height (0.1-0.2 in a cascade)."""
    below: int
    """Index of the open card (in the quads given) whose column this strip belongs to."""
    card: np.ndarray
    """(4, 2) corners TL, TR, BR, BL of the whole covered card, its hidden part included: where
    the card lies, and the outline `engine.title_read.warp_strip` cuts its title from exactly as
    it does an open card's."""


def find_title_strips(image: np.ndarray, card_quads: list[np.ndarray]) -> list[TitleStrip]:
    """Title strips of covered cards in the columns above each open card in `card_quads`.

    Quads are ordered TL, TR, BR, BL of upright cards (engine.detect's order) in `image` pixels.
    Bands that fall inside another open card are left out: that card is answered by its art.
    A card with another open card right above it (a spread's rows, a binder's pockets) has no
    room for a covered card's title there, and its column is not looked at (~5 ms a card).
    """
    strips: list[TitleStrip] = []
    for index, quad in enumerate(card_quads):
        quad = np.asarray(quad, np.float64)
        if _open_card_above(quad, card_quads):
            continue
        for strip in _strips_above(image, quad, index):
            centre = strip.quad.mean(axis=0)
            if not any(quad_holds(other, centre) for other in card_quads):
                strips.append(strip)
    return strips


def _open_card_above(quad: np.ndarray, card_quads: list[np.ndarray]) -> bool:
    """Whether the point `MAX_STEP` card heights above the middle of the card's top edge lies in
    another of the open cards. A covered card's title could then show only in the gap between
    the two: a spread's or a binder page's gap, not a cascade's step."""
    top = (quad[0] + quad[1]) / 2
    up = top - (quad[3] + quad[2]) / 2  # from the bottom edge's middle: a card height
    return any(quad_holds(other, top + MAX_STEP * up) for other in card_quads)


def _card_homography(quad: np.ndarray) -> tuple[np.ndarray, float]:
    """Card plane (x across, y down; the card spans [0, STRIP_WIDTH] x [0, height]) → photo."""
    width = (np.linalg.norm(quad[1] - quad[0]) + np.linalg.norm(quad[2] - quad[3])) / 2
    height_px = (np.linalg.norm(quad[3] - quad[0]) + np.linalg.norm(quad[2] - quad[1])) / 2
    height = STRIP_WIDTH * height_px / max(width, 1.0)
    plane = np.float32([[0, 0], [STRIP_WIDTH, 0], [STRIP_WIDTH, height], [0, height]])
    return cv2.getPerspectiveTransform(plane, quad.astype(np.float32)), float(height)


def _column_above(image: np.ndarray, to_photo: np.ndarray, reach: float) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """The column `reach` card-plane rows above the card, rectified (row r is card-plane
    y = r - reach), the rows that lie inside the photo, and its top edges, bottom-up."""
    shift = np.array([[1, 0, 0], [0, 1, -reach], [0, 0, 1]], np.float64)
    above = cv2.warpPerspective(image, to_photo @ shift, (STRIP_WIDTH, int(reach) + 2),
                                flags=cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    inside = _inside_photo(image.shape, to_photo @ shift, above.shape)
    return above, shift, _top_edges(above, inside)


def _strips_above(image: np.ndarray, quad: np.ndarray, index: int) -> list[TitleStrip]:
    to_photo, height = _card_homography(quad)
    # A covered card's top edge lies within MAX_STEP of the open card's, or the column is empty:
    # look there first (blur and gradients are local, so rows NEAR_MARGIN inside the short
    # column read as in the long one), and rectify the whole column only when one is found.
    # The short column is the long one's bottom, shifted by whole rows so both sample alike.
    reach = LOOK_ABOVE * height
    near = reach - int(reach - MAX_STEP * height - NEAR_MARGIN)
    _, _, edges = _column_above(image, to_photo, near)
    if not any(MIN_STEP * height <= near - row <= MAX_STEP * height for row in edges):
        return []  # exactly what the whole column gives: its first step would end it
    above, shift, edges = _column_above(image, to_photo, reach)  # rows, bottom-up, of covered cards' top edges
    strips = []
    lower = reach  # the open card's own top edge
    for row in edges:
        step = lower - row
        if step < MIN_STEP * height:
            continue  # the open card's own top edge, or a line inside a band
        if step > MAX_STEP * height:
            break  # the column ended: table above
        band_height = min(step, TITLE_HEIGHT * height)
        band = np.float32([[0, row], [STRIP_WIDTH, row], [STRIP_WIDTH, row + band_height], [0, row + band_height]])
        photo_band = cv2.perspectiveTransform(band[None], to_photo @ shift)[0]
        whole = np.float32([[0, row], [STRIP_WIDTH, row], [STRIP_WIDTH, row + height], [0, row + height]])
        card = cv2.perspectiveTransform(whole[None], to_photo @ shift)[0]
        crop = above[int(row):int(np.ceil(row + band_height))]
        strips.append(TitleStrip(quad=photo_band, crop=crop, showing=float(step / height), below=index, card=card))
        lower = row
    return strips


def _inside_photo(shape: tuple[int, ...], homography: np.ndarray, size: tuple[int, ...]) -> np.ndarray:
    """Rows of the rectified column that lie wholly inside the photo (beyond it is black fill)."""
    rows, cols = size[:2]
    ys = np.arange(rows, dtype=np.float32)
    points = np.stack([np.stack([np.zeros_like(ys), ys], 1), np.stack([np.full_like(ys, cols - 1), ys], 1)])
    mapped = cv2.perspectiveTransform(points.reshape(1, -1, 2), homography)[0].reshape(2, rows, 2)
    height, width = shape[:2]
    return ((mapped[..., 0] >= 0) & (mapped[..., 0] < width) & (mapped[..., 1] >= 0) & (mapped[..., 1] < height)).all(0)


def _top_edges(above: np.ndarray, inside: np.ndarray) -> list[float]:
    """Rows, from the bottom up, where a horizontal edge spans the column: covered cards' tops."""
    grey = cv2.cvtColor(above, cv2.COLOR_RGB2GRAY).astype(np.float32) if above.ndim == 3 else above.astype(np.float32)
    grey = cv2.GaussianBlur(grey, (0, 0), 1.5)
    dy = np.abs(cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3))
    dx = np.abs(cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3))
    margin = STRIP_WIDTH // 10
    strong = (dy > 12) & (dy > 1.5 * dx)  # a horizontal edge, not a letter's stroke
    span = strong[:, margin:-margin].mean(axis=1)
    span = np.maximum(span, np.roll(span, 1))  # an edge blurred over two rows counts once, whole
    span[~inside] = 0
    rows = len(span)
    peaks = [r for r in range(rows - 4, 0, -1)  # skip the open card's own edge at the bottom
             if span[r] >= EDGE_SPAN and span[r] >= span[max(0, r - 3):r + 4].max()]
    merged: list[float] = []
    for r in peaks:
        if not merged or merged[-1] - r > 3:
            merged.append(float(r))
    return merged
