"""Cards the photo's edge cuts: outlined from the sides in view and completed to the whole card."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from engine.detect import detect_cards_using
from engine.frame_cut import complete_cut_card, cut_outline
from engine.quad import is_plausible_card
from engine.segmenter import BAND_RADIUS, quads_from_classes
from tests.scenes import card_quad, make_scene, photographed
from tests.truth_segmenter import TruthSegmenter
from training.segmenter_data import label_map

SIZE = (1600, 1200)
DATA = Path(__file__).parents[1] / "data"


def _seen(card: np.ndarray) -> np.ndarray:
    """What a detector outlines of a card the frame cuts: the corners in view and, in their
    place, where the two sides leaving the frame meet its edge (cyclic order kept)."""
    width, height = SIZE
    inside = (card[:, 0] >= 0) & (card[:, 0] <= width) & (card[:, 1] >= 0) & (card[:, 1] <= height)
    assert inside.sum() == 2, "the test card should have two corners in view"
    seen = card.copy()
    for i in np.flatnonzero(~inside):
        neighbour = next(j for j in ((i - 1) % 4, (i + 1) % 4) if inside[j])
        start, step = card[neighbour], card[i] - card[neighbour]
        reach = min(t for t in ((0 - start[0]) / step[0] if step[0] else np.inf,
                                (width - start[0]) / step[0] if step[0] else np.inf,
                                (0 - start[1]) / step[1] if step[1] else np.inf,
                                (height - start[1]) / step[1] if step[1] else np.inf) if t > 0)
        seen[i] = start + reach * step
    return seen


def _error(found: np.ndarray, truth: np.ndarray) -> float:
    """Largest corner distance over the card's length, for the best pairing of corners."""
    length = max(np.linalg.norm(truth - np.roll(truth, 1, axis=0), axis=1))
    return min(float(np.linalg.norm(np.roll(found, k, axis=0) - truth, axis=1).max()) for k in range(4)) / length


@pytest.mark.parametrize(("centre", "spin", "tilt"), [
    ((1540, 600), 0, 30),      # the right edge cuts the card's short sides, the far end foreshortened
    ((800, 1120), 90, -25),    # the bottom edge cuts its long sides
    ((1300, 200), 35, 20),     # across the top-right frame corner
    ((250, 950), 120, -25),    # across the bottom-left one
])
def test_a_cut_card_is_completed_under_perspective(centre: tuple[float, float], spin: float, tilt: float) -> None:
    truth = photographed(centre, 700, spin, tilt)
    completions = complete_cut_card(_seen(truth), SIZE, tolerance=2.0)
    assert len(completions) == 1
    assert _error(completions[0], truth) < 0.01


def test_an_open_cut_gives_both_completions() -> None:
    # Lying across, half of it off the right edge: the side in view may be its short side
    # with its long sides running off, or its long side with the short ones running off.
    truth = photographed((1579, 600), 700, 90, 0)
    first, second = complete_cut_card(_seen(truth), SIZE, tolerance=2.0)
    assert _error(second, truth) < 0.01 and _error(first, truth) > 0.3
    assert _error(first, photographed((1409, 600), 502, 0, 0)) < 0.01  # the other card it could be


def test_sides_that_put_the_card_on_no_plane_complete_without_foreshortening() -> None:
    # A segmenter outline from a simulated 640x480 photo (seed 43): the two sides running off
    # the bottom are nearly parallel, and a degree off either tilts the lens's plane so far that
    # its completion is no card's shape. The card, barely foreshortened, completes flat instead.
    seen = np.float32([[190.9, 211.71], [433.84, 138.21], [530.79, 479.89], [285.57, 480.54]])
    truth = np.float32([[539.5, 510.3], [299.4, 518.2], [192.6, 215.3], [434.9, 140.5]])
    completions = complete_cut_card(seen, (640, 480), tolerance=6.0)
    assert completions and all(is_plausible_card(card) for card in completions)
    assert min(_error(card, truth) for card in completions) < 0.1


def test_whole_cards_and_mostly_hidden_ones_are_not_completed() -> None:
    whole = photographed((800, 600), 700, 10, 20)
    assert complete_cut_card(whole, SIZE, tolerance=2.0) == []
    barely = photographed((1850, 600), 700, 0, 0)  # a quarter of it in view
    assert complete_cut_card(_seen(barely), SIZE, tolerance=2.0) == []


def test_a_cut_blob_is_outlined_by_its_sides_in_view() -> None:
    size = (256, 192)
    truth = card_quad((250, 96), 120, 10)  # its right corners lie beyond the map's edge
    (blob,) = quads_from_classes(label_map([truth], size), frame_cuts=True)
    assert blob.cut
    in_view = [corner for corner in truth if corner[0] < size[0]]
    assert all(np.linalg.norm(blob.quad - corner, axis=1).min() < 1.5 for corner in in_view)
    assert np.abs(blob.quad[:, 0] - size[0]).min() < 1.5  # the cut side lies on the edge
    # A window's edge (a closer look) is no frame edge: the blob is fitted as before.
    assert not any(found.cut for found in quads_from_classes(label_map([truth], size)))


@pytest.mark.parametrize("centre_y", [150, 155])
def test_a_short_card_side_beside_the_frame_keeps_its_corner(centre_y: float) -> None:
    # Turned 40° with its bottom corner off the map: four card sides are in view, one only a
    # few pixels long beside the frame's edge. Simplified to four sides, the outline runs the
    # long side on to the frame and loses that corner; the five-sided reading fits the blob.
    size = (256, 192)
    truth = card_quad((128, centre_y), 120, 40)
    assert (truth[:, 1] < size[1]).sum() == 3
    (blob,) = quads_from_classes(label_map([truth], size), frame_cuts=True)
    assert not blob.cut  # the hidden corner is where the two sides running off meet
    assert min(np.abs(np.roll(blob.quad, k, axis=0) - truth).max() for k in range(4)) < 1.5


def test_a_card_side_beside_a_frame_corner_is_not_run_on_past_the_photo() -> None:
    # The shipped segmenter's class map of a simulated photo (tests/data/cut_card_classes.png):
    # a card off the right edge with corners a pixel or two from the top and bottom edges. Its
    # blob-plus-band outline simplified to four sides runs the short side in view on along the
    # frame to a vertex 33 px below the photo; that reading is not a card cut once, and the
    # five-sided one (four card sides, the corner off the frame where two of them meet) is.
    classes = cv2.imread(str(DATA / "cut_card_classes.png"), cv2.IMREAD_GRAYSCALE)
    truth = np.float32([[78.9, 30.9], [132.0, 1.6], [199.4, 73.4], [137.2, 115.5]])
    (blob,) = quads_from_classes(classes, frame_cuts=True)
    assert min(np.abs(np.roll(blob.quad, k, axis=0) - truth).max() for k in range(4)) < 3.0


def test_detection_returns_the_whole_card_running_off_the_photo() -> None:
    truth = card_quad((1080, 450), 620, 20)  # its right corners lie beyond the 1200 px frame
    scene = make_scene(np.random.default_rng(3), [truth], size=(1200, 900))
    cards = detect_cards_using(scene.image, TruthSegmenter([truth], (1200, 900)), classical=False)  # type: ignore[arg-type]
    assert len(cards) == 1
    assert min(_error(quad, truth) for quad in [cards[0].quad, *(q for q, _ in cards[0].readings)]) < 0.03
    assert cards[0].quad[:, 0].max() > 1200  # reported where it lies, off the photo


CUT_NEAR = 2 * BAND_RADIUS + 1  # as the segmenter asks: its last pixels before the frame are unsure


def test_a_cut_blob_whose_hull_has_fewer_points_than_sides_is_read_not_raised() -> None:
    """OpenCV's approxPolyN asserts on a hull of fewer points than the sides asked for; a
    non-card photo (bench/open_set.py) made such a blob and identify() raised."""
    frame = np.array([0, 0, 100, 100], np.float32)
    box = np.array([[[0, 10]], [[60, 10]], [[60, 90]], [[0, 90]]], np.int32)  # four points, on the frame's left
    found = cut_outline(box, frame, CUT_NEAR)
    assert found is not None and found[0].shape == (4, 2)
    assert cut_outline(np.array([[[0, 10]], [[60, 50]], [[0, 90]]], np.int32), frame, CUT_NEAR) is None
