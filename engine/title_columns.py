"""Cascaded columns whose open card detection missed, found beside the columns it found.

`engine.title_strips` walks a column up from its open card, so a column whose open card was not
detected (glare, a finger, blur, a card printed sideways) gives no titles at all: a quarter of
the covered cards of simulated four-column layouts. Players lay columns side by side, the same
cards turned the same way a card's width and a little apart, so beside a column that holds
cascaded cards this module looks for another: the pitch that puts long straight vertical edges
(a column's sides) a card's width apart, then, between them, the lowest edge spanning the column
(the open card's bottom: table below). The open card lies a card's height above that edge; its
own title is cut like a covered card's, and its column is walked like any other.
"""

from __future__ import annotations

from collections import Counter

import cv2
import numpy as np

from engine.quad import quad_holds
from engine.title_strips import (
    STRIP_WIDTH,
    TitleStrip,
    card_homography,
    card_on_edge,
    find_title_strips,
    horizontal_edges,
    inside_photo,
    name_line,
    strips_above,
    top_edges,
)

PITCH = (1.03, 1.2)
"""Least and most distance between two columns' left sides, in card widths."""
MIN_WALKED = 2
"""Covered cards a column must hold for a search beside it: a spread's or binder's cards hold
none, so their photos are not searched."""
SIDE_EDGE = 0.35
"""Least share of the rows beside the column on which each side of a hypothesised column must be
a strong vertical edge (a column's straight side; table and art give far less)."""
BOTTOM = (0.3, 1.7)
"""Where, in card heights below the found column's open card's top edge, the lowest edge of the
column beside may lie: columns of equal length end near each other."""
SIDE_CONTRAST = 1.4
"""How many times the window's typical column the sides' edge share must be: a woven cloth or
wood grain has vertical edges all over, a column's sides stand out of it."""
SIDE_SCALE = 2
"""Card-plane pixels to a pixel of the window the sides are looked for in: long straight sides
show at half the column's scale, at a quarter of the cost."""
SIDE_ROWS = (-0.8, 1.0)
"""Rows, in card heights from the open card's top edge, over which the sides are measured: the
covered cards above and the open card, where the columns beside run along it."""


def column_strips(image: np.ndarray, card_quads: list[np.ndarray]) -> list[TitleStrip]:
    """Title strips above the open cards in `card_quads` (`find_title_strips`), and in columns
    found beside those that hold cascaded cards, each of those with its own open card's strip
    (`showing` 1.0) first. A found column's strips have `below` past the quads' indices."""
    quads = [np.asarray(q, np.float64) for q in card_quads]
    strips = find_title_strips(image, quads)
    walked = Counter(s.below for s in strips)
    anchors = [quads[i] for i, n in walked.items() if n >= MIN_WALKED]
    while anchors:
        anchor = anchors.pop()
        for side in (-1, 1):
            found = _beside(image, anchor, side)
            if found is None or any(quad_holds(q, found.mean(axis=0)) or quad_holds(found, q.mean(axis=0))
                                    for q in quads):
                continue
            index = len(quads)
            quads.append(found)
            to_photo, height = card_homography(found)
            own = TitleStrip(quad=found, crop=name_line(image, to_photo, height, height)[0], showing=1.0,
                             below=index, card=found)
            taken = quads + [s.quad for s in strips]  # open cards, and bands already cut from another walk
            above = [s for s in strips_above(image, found, index)
                     if not any(quad_holds(q, s.quad.mean(axis=0)) for q in taken)]
            strips += [own] + above
            if len(above) >= MIN_WALKED:
                anchors.append(found)
    return strips


def _beside(image: np.ndarray, anchor: np.ndarray, side: int) -> np.ndarray | None:
    """The open card of a column beside the one standing on `anchor` (TL, TR, BR, BL), to its
    left (`side` -1) or right (+1), as a quad in the photo; None where no column's sides show."""
    to_photo, height = card_homography(anchor)
    width, slack = STRIP_WIDTH // SIDE_SCALE, int((PITCH[1] - PITCH[0]) * STRIP_WIDTH) // SIDE_SCALE
    x0 = PITCH[0] * STRIP_WIDTH if side > 0 else -PITCH[1] * STRIP_WIDTH  # the least pitch's or the most's left
    top, bottom = SIDE_ROWS[0] * height, SIDE_ROWS[1] * height
    shift = np.array([[SIDE_SCALE, 0, x0], [0, SIDE_SCALE, top], [0, 0, 1]], np.float64)
    window = cv2.warpPerspective(image, to_photo @ shift, (width + slack + 1, int((bottom - top) / SIDE_SCALE)),
                                 flags=cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    grey = cv2.cvtColor(window, cv2.COLOR_RGB2GRAY).astype(np.float32)
    dx = np.abs(cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3))
    dy = np.abs(cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3))
    sides = cv2.dilate(((dx > 12) & (dx > 1.5 * dy)).mean(axis=0)[None].astype(np.float32), np.ones((1, 3)))[0]
    lefts = np.arange(slack + 1)
    score = np.minimum(sides[lefts], sides[lefts + width - 1])
    left = int(lefts[np.argmax(score)])
    if score.max() < max(SIDE_EDGE, SIDE_CONTRAST * float(np.median(sides))):
        return None
    return _open_card(image, to_photo, height, x0 + SIDE_SCALE * left)


def _open_card(image: np.ndarray, to_photo: np.ndarray, height: float, left: float) -> np.ndarray | None:
    """The open card of the column whose left side lies at card-plane x `left`: a card's height
    above the lowest edge spanning the column within `BOTTOM`; None where there is none or the
    card would reach out of the photo."""
    top = BOTTOM[0] * height
    shift = np.array([[1, 0, left], [0, 1, top], [0, 0, 1]], np.float64)
    size = (STRIP_WIDTH, int((BOTTOM[1] - BOTTOM[0]) * height))
    window = cv2.warpPerspective(image, to_photo @ shift, size, flags=cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_CONSTANT)
    strong = horizontal_edges(window)
    edges = top_edges(strong, inside_photo(image.shape, to_photo @ shift, window.shape))
    if not edges:
        return None
    quad = card_on_edge(edges[0], height, to_photo @ shift, top=False)
    rows, cols = image.shape[:2]
    if (quad < 0).any() or (quad[:, 0] >= cols).any() or (quad[:, 1] >= rows).any():
        return None
    return quad
