"""Card detection on generated scenes with known corners (no data files needed)."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import pytest

from engine.borders import settle_sides
from engine.detect import DetectedCard, _may_be_turned, detect_cards
from engine.proposals_segmenter import LEARNED_ASPECT_TOLERANCE
from engine.quad import CARD_ASPECT, PHONE_FOCALS, card_aspect_error, order_corners, rectified_aspect
from tests.scenes import (
    PHONE_FOCAL,
    card_quad,
    corner_error,
    make_card,
    make_scene,
    paste_card,
    photographed,
    random_scene,
    textured_background,
)

CORNER_TOLERANCE = 0.03  # of the card's height


def _best_error(cards: list[DetectedCard], truth: np.ndarray) -> float:
    return min((corner_error(card.quad, truth) for card in cards), default=np.inf)


@pytest.mark.parametrize("angle", [0, 17, 45, 90, 135, 180, -90, -30])
def test_single_card_any_rotation(angle: float) -> None:
    rng = np.random.default_rng(400)
    truth = card_quad((600, 450), 560, angle)
    scene = make_scene(rng, [truth])
    cards = detect_cards(scene.image)
    assert len(cards) == 1
    assert not cards[0].whole_frame
    assert corner_error(cards[0].quad, truth) < CORNER_TOLERANCE
    assert cards[0].readings == ()  # a card's shape this plain is read one way only


@pytest.mark.parametrize("tilt,angle", [(0.12, 0), (0.2, 10), (0.15, 180), (0.1, 75)])
def test_single_card_under_perspective(tilt: float, angle: float) -> None:
    rng = np.random.default_rng(7)
    truth = card_quad((600, 450), 600, angle, tilt)
    cards = detect_cards(make_scene(rng, [truth]).image)
    assert len(cards) == 1
    assert corner_error(cards[0].quad, truth) < CORNER_TOLERANCE


def test_upright_card_comes_out_upright() -> None:
    """Corner order starts at the card's top-left for an upright card, not just modulo 180°."""
    truth = card_quad((600, 450), 560, 5)
    cards = detect_cards(make_scene(np.random.default_rng(3), [truth]).image)
    assert len(cards) == 1
    assert np.linalg.norm(cards[0].quad - truth, axis=1).max() < CORNER_TOLERANCE * 560


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_several_cards_all_found_once(seed: int) -> None:
    scene = random_scene(np.random.default_rng(seed), 4, size=(1600, 900))
    cards = detect_cards(scene.image)
    assert len(cards) == 4
    for truth in scene.quads:
        assert _best_error(cards, truth) < CORNER_TOLERANCE


def test_max_cards_caps_the_answer() -> None:
    scene = random_scene(np.random.default_rng(21), 4, size=(1600, 900))
    assert len(detect_cards(scene.image, max_cards=2)) == 2


def test_art_box_and_inner_frame_are_not_extra_cards() -> None:
    """A card whose art box is framed in heavy black still counts once, as its outer outline."""
    rng = np.random.default_rng(5)
    card = make_card(rng)
    cv2.rectangle(card, (30, 70), (458, 380), (0, 0, 0), 10)
    cv2.rectangle(card, (24, 24), (463, 655), (250, 250, 250), 4)
    truth = card_quad((600, 450), 640, 12)
    cards = detect_cards(make_scene(rng, [truth], cards=[card]).image)
    assert len(cards) == 1
    assert corner_error(cards[0].quad, truth) < CORNER_TOLERANCE


def test_blank_frame_gives_nothing() -> None:
    background = textured_background(np.random.default_rng(2), (1280, 720))
    assert detect_cards(background) == []


@pytest.mark.parametrize("landscape", [False, True])
def test_tight_crop_is_whole_frame(landscape: bool) -> None:
    card = make_card(np.random.default_rng(9))
    image = cv2.rotate(card, cv2.ROTATE_90_CLOCKWISE) if landscape else card
    cards = detect_cards(image)
    assert len(cards) == 1
    assert cards[0].whole_frame
    assert cards[0].crop.shape == (224, 160, 3)
    upright = cv2.resize(card, (160, 224), interpolation=cv2.INTER_AREA).astype(np.float32)
    turned = upright[::-1, ::-1]
    difference = min(np.abs(cards[0].crop - upright).mean(), np.abs(cards[0].crop - turned).mean())
    assert difference < 8.0  # the crop is the card itself, turned to portrait


def test_crop_shape_dtype_and_content() -> None:
    rng = np.random.default_rng(4)
    card = make_card(rng)
    truth = card_quad((600, 450), 600, 0)
    cards = detect_cards(make_scene(rng, [truth], cards=[card]).image, crop_size=(120, 168))
    assert len(cards) == 1
    crop = cards[0].crop
    assert crop.shape == (168, 120, 3) and crop.dtype == np.uint8
    assert cards[0].quad.shape == (4, 2) and cards[0].quad.dtype == np.float32
    assert 0.0 < cards[0].score <= 1.0
    expected = cv2.resize(card, (120, 168), interpolation=cv2.INTER_AREA).astype(np.float32)
    inner = (slice(10, -10), slice(10, -10))  # ignore the rounded, blended corners
    assert np.abs(crop[inner] - expected[inner]).mean() < 12.0


def test_rejects_non_rgb_arrays() -> None:
    with pytest.raises(ValueError):
        detect_cards(np.zeros((100, 100), np.uint8))


def test_order_corners_starts_top_left_clockwise() -> None:
    truth = np.float32([[100, 100], [163, 100], [163, 188], [100, 188]])
    shuffled = truth[[2, 0, 3, 1]]
    assert np.allclose(order_corners(shuffled), truth)
    landscape = np.float32([[100, 100], [188, 100], [188, 163], [100, 163]])
    ordered = order_corners(landscape)
    assert rectified_aspect(ordered) == pytest.approx(CARD_ASPECT, rel=1e-3)


@pytest.mark.parametrize("spin,tilt", [(15, 40), (25, 55), (-60, 30), (110, 50)])
def test_rectified_aspect_undoes_a_phone_cameras_perspective(spin: float, tilt: float) -> None:
    """A card photographed tilted (tests/scenes.py's pinhole camera) rectifies to 63:88,
    with the focal length estimated from the quad and with the camera's own (spun off the
    axes: a pair of sides parallel on screen leaves the focal length unobservable)."""
    size = (1600, 1200)
    quad = order_corners(photographed((700, 650), 700, spin, tilt, size), size)
    assert card_aspect_error(quad) > 0.05  # the plain side ratio is off
    assert rectified_aspect(quad, size) == pytest.approx(CARD_ASPECT, rel=1e-6)
    assert rectified_aspect(quad, size, PHONE_FOCAL * max(size)) == pytest.approx(CARD_ASPECT, rel=1e-6)


def test_steeply_tilted_card_is_a_card_under_a_phone_lens() -> None:
    """The segmenter's quad of a card tilted ~40° in a 640×480 frame, a few pixels off: the focal
    length estimated from it is implausible and the plain side ratio is far from a card's, but
    under a phone's lens it rectifies to one. A square seen head-on stays no card under any."""
    size = (640, 480)
    tilted = np.float32([[540, 43], [621, 143], [343, 202], [311, 92]])
    assert card_aspect_error(tilted, size) > LEARNED_ASPECT_TOLERANCE
    assert card_aspect_error(tilted) > LEARNED_ASPECT_TOLERANCE
    assert min(card_aspect_error(tilted, size, k * 640) for k in PHONE_FOCALS) < 0.1
    square = np.float32([[200, 100], [400, 100], [400, 300], [200, 300]])
    assert min(card_aspect_error(square, size, k * 640) for k in PHONE_FOCALS) > LEARNED_ASPECT_TOLERANCE


def test_a_steep_outline_order_corners_may_have_turned_is_read_both_ways() -> None:
    """Steeply tilted cards with corners a pixel off: where order_corners stands one up a
    quarter turn wrong, the outline is in doubt, so its quarter turn is read too; seen from
    nearer above, the rectified aspect is trusted and no second reading is paid for."""
    rng = np.random.default_rng(0)
    size = (1600, 1200)
    turned = 0
    for tilt in (45, 55, 65):
        for spin in range(0, 180, 10):
            for length in (250, 400):
                card = photographed((800, 600), length, spin, tilt, size)
                ordered = order_corners(card + rng.normal(0, 1.0, card.shape).astype(np.float32), size)
                nearest = [int(np.argmin(np.linalg.norm(card - corner, axis=1))) for corner in ordered]
                if {nearest[0], nearest[1]} not in ({0, 1}, {2, 3}):  # its first side is a long one
                    turned += 1
                    assert _may_be_turned(ordered, size)
    assert turned > 0
    for spin in range(0, 180, 10):
        assert not _may_be_turned(order_corners(photographed((800, 600), 400, spin, 25, size), size), size)


def _lab(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_RGB2Lab).astype(np.float32)


def _inset(quad: np.ndarray, fraction_w: float, fraction_h: float) -> np.ndarray:
    """The quad shrunk towards its centre by the given fractions of its width and height."""
    centre = quad.mean(axis=0)
    return (centre + (quad - centre) * np.float32([1 - 2 * fraction_w, 1 - 2 * fraction_h])).astype(np.float32)


def test_inner_frame_settles_on_the_card_edge() -> None:
    """A quad around the inner frame moves out across the black border to the card's edge."""
    truth = card_quad((400, 300), 420, 0)
    image = make_scene(np.random.default_rng(31), [truth], size=(800, 600)).image
    inner = np.float32([[22, 22], [465, 22], [465, 657], [22, 657]]) * np.float32(truth[1, 0] - truth[0, 0]) / 488
    inner = (inner + truth[0]).astype(np.float32)
    settled = settle_sides(_lab(image), inner)
    assert corner_error(settled, truth) < 0.01
    assert corner_error(inner, truth) > 0.03  # the start really was off


def test_sleeve_outline_settles_on_the_card_inside() -> None:
    """A light sleeve rim around the card: the card edge, not the rim, is the answer."""
    rng = np.random.default_rng(32)
    truth = card_quad((400, 300), 420, 0)
    sleeve = _inset(truth, -0.03, -0.02)
    image = np.full((600, 800, 3), 70, np.uint8)
    cv2.fillConvexPoly(image, np.rint(sleeve).astype(np.int32), (185, 185, 195))
    paste_card(image, make_card(rng), truth)
    image = cv2.GaussianBlur(image, (0, 0), 0.8)
    settled = settle_sides(_lab(image), sleeve)
    assert corner_error(settled, truth) < 0.01


def test_card_edge_is_not_pulled_to_a_parallel_table_line() -> None:
    """Ruled paper next to a correctly found card must not drag its side outwards."""
    truth = card_quad((400, 300), 420, 0)
    image = np.full((600, 800, 3), 215, np.uint8)
    for x in range(10, 800, 14):
        cv2.line(image, (x, 0), (x, 599), (120, 130, 170), 1)
    paste_card(image, make_card(np.random.default_rng(33)), truth)
    settled = settle_sides(_lab(image), truth)
    assert corner_error(settled, truth) < 0.01


def test_black_bordered_card_on_a_dark_mat() -> None:
    """The black border against a dark green mat is the outline, not the inner frame."""
    rng = np.random.default_rng(34)
    truth = card_quad((800, 600), 700, 62, 0.05)
    image = np.empty((1200, 1600, 3), np.uint8)
    image[:] = (28, 58, 32)
    image[:] = np.clip(image + rng.normal(0, 4, image.shape), 0, 255).astype(np.uint8)
    paste_card(image, make_card(rng, border=(12, 12, 12)), truth)
    cards = detect_cards(cv2.GaussianBlur(image, (0, 0), 2.0))
    assert len(cards) == 1
    assert corner_error(cards[0].quad, truth) < CORNER_TOLERANCE


def test_large_tilted_card_in_a_4_3_photo_is_not_whole_frame() -> None:
    """A 4:3 photo is close to card shaped; a big card inside it is still found as itself."""
    truth = card_quad((800, 600), 1000, 78)
    cards = detect_cards(make_scene(np.random.default_rng(35), [truth], size=(1600, 1200)).image)
    assert len(cards) == 1
    assert not cards[0].whole_frame
    assert corner_error(cards[0].quad, truth) < CORNER_TOLERANCE


def _detect_in_child(image: np.ndarray, out: Any) -> None:
    out.put([card.quad for card in detect_cards(image)])


def test_a_forked_child_detects_after_its_parent_did() -> None:
    """The segmenter runs in a worker thread, which a forked child does not inherit."""
    import multiprocessing

    rng = np.random.default_rng(400)
    truth = card_quad((600, 450), 560, 30)
    scene = make_scene(rng, [truth])
    expected = detect_cards(scene.image)  # the parent's worker thread now exists
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    child = context.Process(target=_detect_in_child, args=(scene.image, out))
    child.start()
    try:
        quads = out.get(timeout=60)
    finally:
        child.join(timeout=10)
        if child.is_alive():
            child.kill()
    assert [q.tolist() for q in quads] == [c.quad.tolist() for c in expected]
