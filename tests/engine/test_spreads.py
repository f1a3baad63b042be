"""Many-card photos: a binder page (3x3, touching) and a deck spread (5x8) give every card a
detection, and the grid and tile geometry behind that (engine/grid.py, engine/tiles.py)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from engine.choose import merge
from engine.detect import detect_cards
from engine.grid import CELL_SCORE, complete_grid
from engine.proposal import Proposal
from engine.quad import quad_area, quad_iou
from engine.segmenter import INTERIOR, MODEL_PATH, CardSegmenter, Segmentation
from engine.tiles import _spans, tiled_looks
from tests.scenes import card_quad, make_scene


def _grid_quads(cols: int, rows: int, height: float, pitch: float, centre: tuple[float, float],
                angle: float = 0.0) -> list[np.ndarray]:
    """Cards in rows of `cols`, `pitch` card heights apart down and that share of a card's
    width across, turned `angle` degrees about the grid's centre."""
    theta = np.deg2rad(angle)
    turn = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    quads = []
    for row in range(rows):
        for col in range(cols):
            offset = np.array([(col - (cols - 1) / 2) * 0.716, row - (rows - 1) / 2]) * pitch * height
            quads.append(card_quad(tuple(np.float32(centre) + turn @ offset), height, angle))
    return quads


def _unmatched(found: list[np.ndarray], truths: list[np.ndarray], iou: float = 0.8) -> list[int]:
    return [i for i, truth in enumerate(truths) if not any(quad_iou(q, truth)[0] >= iou for q in found)]


@pytest.mark.parametrize("seed", [0, 1])
def test_every_card_of_a_deck_spread_is_detected(seed: int) -> None:
    truths = _grid_quads(8, 5, 190, 1.12, (800, 600), angle=3 - 6 * seed)
    scene = make_scene(np.random.default_rng(seed), truths, size=(1600, 1200))
    cards = detect_cards(scene.image)
    assert len(cards) == 40
    assert _unmatched([c.quad for c in cards], truths) == []


def test_every_card_of_a_binder_page_is_detected() -> None:
    truths = _grid_quads(3, 3, 340, 1.02, (800, 600), angle=2)
    scene = make_scene(np.random.default_rng(5), truths, size=(1600, 1200))
    cards = detect_cards(scene.image)
    assert len(cards) == 9
    assert _unmatched([c.quad for c in cards], truths) == []


def _card_map(quads: list[np.ndarray], size: tuple[int, int] = (640, 480)) -> Segmentation:
    """A landscape class map that calls card just what the quads (image pixels) cover."""
    classes = np.zeros((120, 160), np.uint8)
    for quad in quads:
        cv2.fillConvexPoly(classes, np.round(quad * 160 / size[0]).astype(np.int32), INTERIOR)
    return Segmentation(classes, size)


def test_the_grid_fills_an_empty_cell_and_offers_a_cell_outline_for_a_shrunk_card() -> None:
    truths = _grid_quads(3, 3, 120, 1.1, (320, 240))
    centre = truths[4].mean(axis=0)
    shrunk = (truths[4] - centre) * 0.75 + centre  # an inner frame
    found = [Proposal(quad=q, score=0.9, area=quad_area(q)) for i, q in enumerate(truths) if i not in (4, 7)]
    found.append(Proposal(quad=shrunk, score=0.8, area=quad_area(shrunk)))
    out = complete_grid(found, _card_map(truths))
    added = [p for p in out if p.score == CELL_SCORE]
    assert len(added) == 1 and quad_iou(added[0].quad, truths[7])[0] > 0.9
    inner = next(p for p in out if p.quad is shrunk)
    assert any(quad_iou(a, truths[4])[0] > 0.9 for a in inner.alternatives)
    assert all(not p.alternatives for p in out if p.quad is not shrunk)


def test_no_grid_from_three_cards() -> None:
    truths = _grid_quads(3, 1, 120, 1.1, (320, 240))
    found = [Proposal(quad=q, score=0.9, area=quad_area(q)) for q in truths]
    assert complete_grid(found, _card_map(truths)) == found


def test_an_outline_around_a_row_of_three_cards_does_not_replace_them() -> None:
    """A classical outline round a row of three touching cards is no card (two side by side are
    also one card split across its middle, and are left to the gallery)."""
    row = [card_quad((220 + 100 * i, 240), 200, 0) for i in range(3)]
    outline = np.float32([row[0][0], row[2][1], row[2][2], row[0][3]])
    segmented = [Proposal(quad=q, score=0.9, area=quad_area(q)) for q in row]
    around = Proposal(quad=outline, score=0.95, area=quad_area(outline))
    kept = merge(segmented, [around], [around], _card_map(row))
    assert all(any(k.quad is s.quad for k in kept) for s in segmented)


@pytest.mark.parametrize("size, window, overlap", [(640, 320.0, 110.0), (480, 240.0, 110.0), (640, 457.0, 168.0)])
def test_tiles_cover_the_photo_and_hold_each_card_centred_in_a_core_whole(size: int, window: float,
                                                                        overlap: float) -> None:
    spans = _spans(size, window, overlap)
    assert spans[0][1][0] == 0 and spans[-1][1][1] == size
    for ((start, end), (core_start, core_end)), following in zip(spans, spans[1:] + [None]):
        assert end - start <= round(window) + 1
        assert core_start - start >= overlap / 2 - 1 or start == 0
        assert end - core_end >= overlap / 2 - 1 or end == size
        if following is not None:
            assert following[1][0] == core_end


@pytest.mark.parametrize("cards, tiled", [(40, True), (1, False)])
def test_only_photos_of_many_small_cards_are_tiled(cards: int, tiled: bool) -> None:
    truths = _grid_quads(8, 5, 95, 1.12, (320, 240))[:cards] if cards > 1 else [card_quad((320, 240), 300, 10)]
    small = make_scene(np.random.default_rng(3), truths, size=(640, 480)).image
    segmenter = CardSegmenter(MODEL_PATH)
    looks = tiled_looks(small, segmenter, segmenter.segment(small))
    assert bool(looks) == tiled
    if tiled:  # the cores cover the photo, once
        assert sum((b[2] - b[0]) * (b[3] - b[1]) for b in (look.patch for look in looks)) == pytest.approx(640 * 480)
