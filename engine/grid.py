"""Cards in rows and columns: a binder page's pockets, a deck laid out on a table.

Where cards lie in a grid, the outlines found of most of them say where the others are: one
homography maps (column, row) to each card's centre in the photo, and the card outline
common to all cells, carried through it, is each cell's outline. Glare across a pocket, a
card that touches its neighbours or blur leave single outlines merged, shrunk to an inner
frame, skewed or missing, while the grid around them is found well; so every cell's outline
is offered: as another reading of an outline found in that cell that disagrees with it (the
gallery decides, see `engine.detect.DetectedCard.readings`), and as a card of its own where
nothing was found in a cell the segmenter calls card (in the grid, or in a row or column
beside it that no well-shaped outline was found in). Photos without a grid of
`MIN_CARDS` well-shaped outlines are left as they are.
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from engine.proposal import Proposal
from engine.proposals_segmenter import PIECE_ASPECT_ERROR, learned_aspect_error
from engine.quad import is_plausible_card, quad_area, quad_iou
from engine.segmenter import Segmentation

MIN_CARDS = 4
"""Well-shaped outlines, in at least two rows and two columns, that make a grid."""
SNAP = 0.25
"""Of the pitch: how far a card's centre may lie off its grid point (cards are laid by hand)."""
PITCH = (0.9, 1.8)
"""Centre distance of neighbours over the card's side: touching pockets to a hand's gap."""
PARALLEL = 0.9
"""Least |cos| between a card's axes and the grid's: a card turned across the grid is in none."""
CORNER_SLACK = 0.15
"""Of a card's side: how far an outline's corner may lie off the grid's for RANSAC to count it."""
SIZE_RANGE = (0.6, 1.6)
"""Area of a grid's outline over the typical one's: two touching cards side by side have a
card's shape turned, twice the area, and a grid read from them would be turned and wrong."""
AGREES = 0.85
"""IoU with its cell's outline above which an outline found needs no other reading."""
CARD_SHARE = 0.5
"""Least share of an empty cell's outline the segmenter must call card for it to be a card."""
CELL_SCORE = 0.4
"""Score of an outline the grid alone proposes: below a well-fitted found outline's."""


def complete_grid(kept: list[Proposal], segmentation: Segmentation) -> list[Proposal]:
    """`kept` with each grid cell's outline as another reading of a disagreeing outline found
    in it, and as a card of its own in each empty cell the segmenter calls card; outlines
    between the grid's cells (across two touching cards) are dropped."""
    if len(kept) < MIN_CARDS:
        return kept  # most photos: no grid, and nothing to measure
    quads = _anchors(kept, segmentation.image_size)
    if len(quads) < MIN_CARDS:
        return kept
    cells, pitch = _grid_cells(quads)
    found = _fit(cells, pitch, quads)
    if found is None:
        return kept
    homography, card = found
    centres = np.float64([p.quad.mean(axis=0) for p in kept]).reshape(-1, 1, 2)
    places = cv2.perspectiveTransform(centres, np.linalg.inv(homography)).reshape(-1, 2)
    nearest = np.round(places)
    on_cell = np.abs(places - nearest).max(axis=1) <= 0.5 - SNAP / 2
    # The grid reaches as far as outlines on its cells (the well-shaped ones it was read from
    # may be a corner of it only), and a ring beyond: a row or column where none was found.
    spanned = np.concatenate([np.float64(list(cells.values())), nearest[on_cell]])
    columns = range(int(spanned[:, 0].min()) - 1, int(spanned[:, 0].max()) + 2)
    rows = range(int(spanned[:, 1].min()) - 1, int(spanned[:, 1].max()) + 2)
    inside = ((places[:, 0] >= columns[0]) & (places[:, 0] <= columns[-1])
              & (places[:, 1] >= rows[0]) & (places[:, 1] <= rows[-1]))
    out = [p for p, between in zip(kept, inside & ~on_cell) if not between]
    occupied: dict[tuple[int, int], list[int]] = {}
    for i, place in enumerate(nearest[~(inside & ~on_cell)]):
        occupied.setdefault((int(place[0]), int(place[1])), []).append(i)
    for column in columns:
        for row in rows:
            outline = cv2.perspectiveTransform((card + (column, row)).reshape(-1, 1, 2), homography)
            outline = outline.reshape(4, 2).astype(np.float32)
            if not is_plausible_card(outline) or not _in_view(outline, segmentation.image_size):
                continue
            here = occupied.get((column, row), [])
            for i in here:
                if quad_iou(out[i].quad, outline)[0] < AGREES:
                    out[i] = replace(out[i], alternatives=out[i].alternatives + (outline,))
            if not here and segmentation.card_share(outline) >= CARD_SHARE:
                out.append(Proposal(quad=outline, score=CELL_SCORE, area=quad_area(outline)))
    return out


def _anchors(kept: list[Proposal], image_size: tuple[int, int]) -> dict[int, np.ndarray]:
    """Outlines (by index in `kept`) a grid may be read from: well-shaped, of the typical
    size, their corners started alike (`_aligned`) from the best scored's."""
    shaped = [i for i, p in enumerate(kept) if learned_aspect_error(p.quad, image_size) <= PIECE_ASPECT_ERROR]
    if len(shaped) < MIN_CARDS:
        return {}
    typical = float(np.median([kept[i].area for i in shaped]))
    shaped = [i for i in shaped if SIZE_RANGE[0] <= kept[i].area / typical <= SIZE_RANGE[1]]
    shaped.sort(key=lambda i: kept[i].score, reverse=True)
    aligned = {i: _aligned(kept[i].quad, kept[shaped[0]].quad) for i in shaped}
    return {i: q for i, q in aligned.items() if q is not None}


def _in_view(quad: np.ndarray, image_size: tuple[int, int]) -> bool:
    """Whether the outline's centre lies in the photo."""
    x, y = quad.mean(axis=0)
    return bool(0 <= x < image_size[0] and 0 <= y < image_size[1])


def _axes(quad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Across and down vectors of an ordered quad, each a card side long (opposite sides averaged)."""
    return (quad[1] - quad[0] + quad[2] - quad[3]) / 2, (quad[3] - quad[0] + quad[2] - quad[1]) / 2


def _aligned(quad: np.ndarray, reference: np.ndarray) -> np.ndarray | None:
    """The quad's corners started where the reference's start, or None for a card turned
    across it. Which corner order_corners starts at turns with perspective: a card a steep
    view foreshortens may come out on its side or its head while its neighbour does not."""
    across, _ = _axes(reference)
    for turn in range(4):
        turned = np.roll(quad, -turn, axis=0)
        mine, _ = _axes(turned)
        if np.dot(mine, across) >= PARALLEL * np.linalg.norm(mine) * np.linalg.norm(across):
            return turned
    return None


def _grid_cells(quads: dict[int, np.ndarray]) -> tuple[dict[int, tuple[int, int]], np.ndarray]:
    """(column, row) of each quad connected to the first through neighbours that sit a pitch
    (`PITCH`, in the quad's own card sides) across or down, or both, within `SNAP`; and the
    pitch across and down in card sides."""
    order = list(quads)
    centres = np.float64([quads[k].mean(axis=0) for k in order])
    # offsets[a, b]: b's centre from a's, in a's card sides across and down
    bases = np.linalg.inv(np.stack([np.column_stack(_axes(quads[k])) for k in order]))
    offsets = np.einsum("aij,abj->abi", bases, centres[None, :, :] - centres[:, None, :])
    others = ~np.eye(len(order), dtype=bool)
    pitch = np.float64([_pitch(offsets[..., axis][others & (np.abs(offsets[..., 1 - axis]) < SNAP)])
                        for axis in (0, 1)])
    steps = offsets / pitch
    rounded = np.round(steps)
    neighbours = (np.abs(rounded).max(axis=2) == 1) & (np.abs(steps - rounded).max(axis=2) <= SNAP)
    cells = {0: (0, 0)}
    frontier = [0]
    while frontier:
        a = frontier.pop(0)
        for b in np.flatnonzero(neighbours[a]):
            if int(b) not in cells:
                cells[int(b)] = (cells[a][0] + int(rounded[a, b, 0]), cells[a][1] + int(rounded[a, b, 1]))
                frontier.append(int(b))
    return {order[i]: cell for i, cell in cells.items()}, pitch


def _pitch(distances: np.ndarray) -> float:
    """Median neighbour distance within `PITCH` (a card's side when there are none: one row)."""
    near = np.abs(distances)
    near = near[(near >= PITCH[0]) & (near <= PITCH[1])]
    return float(np.median(near)) if near.size else 1.0


def _fit(cells: dict[int, tuple[int, int]], pitch: np.ndarray,
         quads: dict[int, np.ndarray]) -> tuple[np.ndarray, np.ndarray] | None:
    """Homography from grid units ((column, row) at card centres) to the photo, and the card
    outline common to the cells (corners relative to the cell's centre, grid units); None
    without a two-way grid.

    Fitted to the outlines' corners, a card a pitch's inverse wide and high about each grid
    point: every outline then vouches for the perspective as well as for its place, and one
    that is skewed or shrunk to an inner frame is outvoted (RANSAC) instead of bending the grid.
    """
    keys = list(cells)
    grid = np.float64([cells[k] for k in keys])
    if len(keys) < MIN_CARDS or len(set(grid[:, 0])) < 2 or len(set(grid[:, 1])) < 2:
        return None
    half = 0.5 / pitch
    rectangle = np.float64([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * half
    source = np.concatenate([rectangle + point for point in grid])
    target = np.concatenate([quads[k] for k in keys]).astype(np.float64)
    side = float(np.median([np.linalg.norm(_axes(quads[k])[0]) for k in keys]))
    homography, inliers = cv2.findHomography(source, target, cv2.RANSAC, CORNER_SLACK * side)
    if homography is None or int(inliers.sum()) < 3 * MIN_CARDS:
        return None
    inverse = np.linalg.inv(homography)
    whole = inliers.reshape(-1, 4).all(axis=1)
    shapes = [cv2.perspectiveTransform(quads[k].reshape(-1, 1, 2).astype(np.float64), inverse).reshape(4, 2) - grid[n]
              for n, k in enumerate(keys) if whole[n]]
    return homography, (np.median(shapes, axis=0) if len(shapes) >= MIN_CARDS else rectangle)
