"""The learned card segmenter: mask post-processing, its use in detection, the shipped model, training."""

from __future__ import annotations

import logging
import os
import select
import signal
from pathlib import Path

import cv2
import numpy as np
import pytest

from engine.detect import Detector, detect_cards, detect_cards_using
from engine.quad import order_corners, quad_area
from engine.segmenter import (
    BACKGROUND,
    BOUNDARY,
    INTERIOR,
    MODEL_PATH,
    BlobQuad,
    CardSegmenter,
    Segmentation,
    quads_from_classes,
)
from tests.scenes import CARD_SIZE, card_quad, corner_error, make_scene
from tests.truth_segmenter import MAP_SIZE, TruthSegmenter
from training.segmenter_data import label_map

CARD_H = 120.0  # card height in class-map pixels
CARD_W = CARD_H * CARD_SIZE[0] / CARD_SIZE[1]


def _match(found: list[BlobQuad], truth: np.ndarray) -> float:
    return min((corner_error(order_corners(blob.quad), truth) for blob in found), default=np.inf)


def test_two_touching_cards_give_two_quads() -> None:
    left = card_quad((90, 96), CARD_H, 0)
    right = card_quad((90 + CARD_W, 96), CARD_H, 0)  # shares the left card's right edge
    found = quads_from_classes(label_map([left, right], MAP_SIZE))
    assert len(found) == 2
    assert _match(found, left) < 0.01 and _match(found, right) < 0.01
    # a closer look asks for the card at the centre of its window only
    around = np.concatenate([right.min(axis=0), right.max(axis=0)])
    (only,) = quads_from_classes(label_map([left, right], MAP_SIZE), around)
    assert _match([only], right) < 0.01


def test_overlapping_cards_give_the_top_card_exactly() -> None:
    below = card_quad((100, 96), CARD_H, 10)
    above = card_quad((150, 100), CARD_H, -5)  # covers part of the card below
    found = quads_from_classes(label_map([below, above], MAP_SIZE))
    assert len(found) == 2
    assert _match(found, above) < 0.01


@pytest.mark.parametrize("lean", [0.5, -0.5])
def test_card_on_its_side_whose_band_leans_the_other_way(lean: float) -> None:
    # A card lying on its side is a near-tie for which corner comes first; the blob and its
    # band, each a fraction of a degree off, break it 180 degrees apart. Averaged corner by
    # corner without matching them up, the quad collapsed onto the card's centre.
    truth = card_quad((128, 96), CARD_H, 90)
    classes = np.zeros((MAP_SIZE[1], MAP_SIZE[0]), np.uint8)
    cv2.fillConvexPoly(classes, np.int32(np.round(card_quad((128, 96), CARD_H + 6, 90 - lean))), BOUNDARY)
    cv2.fillConvexPoly(classes, np.int32(np.round(card_quad((128, 96), CARD_H - 4, 90 + lean))), INTERIOR)
    found = quads_from_classes(classes)
    assert len(found) == 1
    assert _match(found, truth) < 0.03


def test_square_blob_whose_band_is_long_the_other_way_is_no_card() -> None:
    # Card-ish patches of a playmat's print: the blob is a shade taller than wide, its band a
    # shade wider than tall, so they disagree on which sides are short. A card never does.
    classes = np.zeros((MAP_SIZE[1], MAP_SIZE[0]), np.uint8)
    cv2.rectangle(classes, (91, 65), (164, 130), BOUNDARY, -1)  # blob and band: 74 wide, 66 tall
    cv2.rectangle(classes, (98, 66), (157, 129), INTERIOR, -1)  # the blob: 60 wide, 64 tall
    assert quads_from_classes(classes) == []


def test_card_that_looks_square_is_kept_when_blob_and_band_order_it_a_quarter_turn_apart() -> None:
    # The shipped segmenter's class map of a simulated photo (tests/data/square_card_classes.png):
    # Alpha's Smoke seen steeply from one end, as wide as tall on screen. Its blob and its band,
    # both square to a pixel, start their corners a quarter turn apart, which for an oblong
    # blob means it is no card; here it is noise, and the card was answered "no card" for it.
    classes = cv2.imread(str(Path(__file__).parents[1] / "data" / "square_card_classes.png"), cv2.IMREAD_GRAYSCALE)
    truth = np.float32([[36.8, 50.6], [99.3, 64.9], [77.4, 114.4], [30.7, 106.6]])  # the simulator's corners / 10
    found = quads_from_classes(classes)
    assert len(found) == 1
    assert min(np.abs(np.roll(found[0].quad, k, axis=0) - truth).max() for k in range(4)) < 2.0


def test_card_with_a_finger_notch_is_one_quad_on_its_true_sides() -> None:
    truth = card_quad((128, 96), CARD_H, 20)
    classes = label_map([truth], MAP_SIZE)
    middle_of_side = tuple(int(v) for v in (truth[1] + truth[2]) / 2)
    cv2.circle(classes, middle_of_side, 14, BACKGROUND, -1)  # a fingertip over the right edge
    cv2.circle(classes, middle_of_side, 16, BOUNDARY, 2)
    found = quads_from_classes(classes)
    assert len(found) == 1
    assert _match(found, truth) < 0.02


def test_blobs_that_are_not_cards_are_dropped() -> None:
    classes = np.zeros((MAP_SIZE[1], MAP_SIZE[0]), np.uint8)
    cv2.circle(classes, (128, 96), 40, 1, -1)  # a round interior blob: no four sides
    cv2.rectangle(classes, (10, 10), (13, 14), 1, -1)  # a speck
    assert quads_from_classes(classes) == []


@pytest.mark.parametrize("size", [(1200, 900), (900, 1200)])
def test_detection_from_segmenter_quads_alone(size: tuple[int, int]) -> None:
    width, height = size
    short = min(width, height)
    truths = [card_quad((0.3 * width, 0.3 * height), 0.45 * short, 15),
              card_quad((0.7 * width, 0.7 * height), 0.4 * short, -70)]
    scene = make_scene(np.random.default_rng(5), truths, size=size)
    stand_in = TruthSegmenter(truths, size)
    cards = detect_cards_using(scene.image, stand_in, classical=False)  # type: ignore[arg-type]
    assert len(cards) == 2
    for truth in truths:
        assert min(corner_error(card.quad, truth) for card in cards) < 0.02


def test_classical_outlines_outside_segmented_cards_are_dropped() -> None:
    truth = card_quad((400, 450), 500, 5)
    decoy = card_quad((900, 450), 500, -5)  # a real outline the segmenter calls background
    scene = make_scene(np.random.default_rng(9), [truth, decoy], size=(1200, 900))
    stand_in = TruthSegmenter([truth], (1200, 900))
    assert len(detect_cards_using(scene.image, None, classical=True)) == 2
    cards = detect_cards_using(scene.image, stand_in, classical=True)  # type: ignore[arg-type]
    assert len(cards) == 1 and corner_error(cards[0].quad, truth) < 0.02


def test_the_segmenter_thread_gives_the_outlines_of_one_thread() -> None:
    truths = [card_quad((400, 450), 500, 5), card_quad((900, 450), 500, -5)]
    scene = make_scene(np.random.default_rng(9), truths, size=(1200, 900))
    detector = Detector()
    try:
        beside = detector.detect(scene.image)
    finally:
        detector.close()
    alone = detect_cards(scene.image)
    assert len(beside) == 2
    assert [c.quad.tolist() for c in beside] == [c.quad.tolist() for c in alone]


def test_a_forked_child_detects_with_a_thread_of_its_own() -> None:
    # The parent's segmenter thread is not in the child: work handed to it would never run.
    scene = make_scene(np.random.default_rng(2), [card_quad((600, 450), 560, 30)])
    detector = Detector()
    try:
        expected = len(detector.detect(scene.image))
        read_end, write_end = os.pipe()
        child = os.fork()
        if child == 0:  # pragma: no cover - the child reports through the pipe
            os.close(read_end)
            os.write(write_end, bytes([len(detector.detect(scene.image))]))
            os._exit(0)
        os.close(write_end)
        ready, _, _ = select.select([read_end], [], [], 60)
        if not ready:
            os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
        assert ready, "the forked child's detection never finished"
        assert os.read(read_end, 1) == bytes([expected])
        os.close(read_end)
    finally:
        detector.close()


def test_missing_model_falls_back_to_classical(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    detector = Detector(tmp_path / "absent.onnx")
    try:
        with caplog.at_level(logging.INFO, logger="engine.segmenter"):
            truth = card_quad((600, 450), 560, 30)
            cards = detector.detect(make_scene(np.random.default_rng(2), [truth]).image)
        assert "classical outlines only" in caplog.text
        assert len(cards) == 1 and corner_error(cards[0].quad, truth) < 0.03
    finally:
        detector.close()


def test_shipped_model_finds_a_clear_card() -> None:
    assert MODEL_PATH.exists(), f"the trained segmenter should ship at {MODEL_PATH}"
    assert MODEL_PATH.stat().st_size <= 3 * 1024 * 1024
    from training.cardgen import random_spec, render_card
    from training.photosim import PhotoSimConfig, simulate_photo

    rng = np.random.default_rng(21)
    card = render_card(random_spec("Clear Card", rng))
    photo = simulate_photo([card], rng, PhotoSimConfig(size=(800, 600), scale=(0.6, 0.7), hardness=0.0))
    found = CardSegmenter(MODEL_PATH).segment(photo.image).quads()
    assert len(found) == 1
    assert corner_error(found[0][0], photo.quads[0]) < 0.05


def test_training_runs_and_exports_a_model_the_engine_loads(tmp_path: Path) -> None:
    from training.segmenter_data import INPUT_SIZE, SegmenterDataConfig
    from training.segmenter_train import SegmenterTrainConfig, train_segmenter

    out = tmp_path / "seg.onnx"
    config = SegmenterTrainConfig(steps=2, batch_size=2, warmup_steps=1, checkpoint_every=1, workers=0, pretrained=False)
    data = SegmenterDataConfig(max_cards=(2,), pool_cards=2)
    train_segmenter(out, config, data)
    assert out.with_suffix(".ckpt").exists()
    classes = CardSegmenter(out).segment(np.zeros((300, 400, 3), np.uint8)).classes
    assert classes.shape == (INPUT_SIZE[1], INPUT_SIZE[0]) and classes.max() <= BOUNDARY
    train_segmenter(out, SegmenterTrainConfig(steps=3, batch_size=2, warmup_steps=1, workers=0, pretrained=False), data)
    import torch

    assert torch.load(out.with_suffix(".ckpt"), weights_only=True)["step"] == 3  # resumed, not restarted


def test_agreeing_classical_outline_gives_the_exact_shape() -> None:
    """A segmented card a few percent off is replaced by the classical outline of the same card."""
    truth = card_quad((600, 450), 560, 25)
    scene = make_scene(np.random.default_rng(13), [truth], size=(1200, 900))
    centre = truth.mean(axis=0)
    coarse = (centre + (truth - centre) * 1.05).astype(np.float32)  # 5% too big, as a coarse mask may be
    cards = detect_cards_using(scene.image, TruthSegmenter([coarse], (1200, 900)), classical=True)  # type: ignore[arg-type]
    assert len(cards) == 1
    assert corner_error(cards[0].quad, truth) < 0.01


class _MapSegmenter:
    """Stand-in for CardSegmenter that answers one given class map for the whole photo."""

    input_size = MAP_SIZE

    def __init__(self, classes: np.ndarray) -> None:
        self.classes = classes

    def segment(self, rgb: np.ndarray, box: tuple[int, int, int, int] | None = None) -> Segmentation:
        if box is not None:  # no closer look: this map has one resolution only
            return Segmentation(np.zeros_like(self.classes), (box[2] - box[0], box[3] - box[1]))
        return Segmentation(self.classes, (rgb.shape[1], rgb.shape[0]))


def test_card_the_segmenter_split_in_two_is_one_card_outlined_whole() -> None:
    # On a small card the network may draw the card's own frame line as a boundary band,
    # splitting it into two card-shaped halves; the classical outline enclosing both wins.
    truth = card_quad((600, 450), 500, 8)
    scene = make_scene(np.random.default_rng(4), [truth], size=(1200, 900))
    scale = np.float32(MAP_SIZE) / np.float32([1200, 900])
    classes = _split_across(truth * scale, 0.5)
    assert len(quads_from_classes(classes)) == 2
    cards = detect_cards_using(scene.image, _MapSegmenter(classes), classical=True)  # type: ignore[arg-type]
    assert len(cards) == 1
    assert corner_error(cards[0].quad, truth) < 0.02
    # the halves (a pile's top card looks the same) stay on as readings for the gallery to weigh
    halves = [quad for quad, _ in cards[0].readings if 0.35 < quad_area(quad) / quad_area(truth) < 0.65]
    assert len(halves) >= 2


def _split_across(truth: np.ndarray, share: float) -> np.ndarray:
    """Class map of a card the network split with a band across it, `share` of the way down."""
    classes = label_map([truth], MAP_SIZE)
    left = truth[0] + share * (truth[3] - truth[0])
    right = truth[1] + share * (truth[2] - truth[1])
    cv2.line(classes, tuple(int(v) for v in left), tuple(int(v) for v in right), BOUNDARY, 3)
    return classes


def test_a_patch_keeps_the_outline_of_a_card_split_into_pieces() -> None:
    truth = card_quad((128, 96), CARD_H, 12)
    classes = _split_across(truth, 0.4)
    assert len(quads_from_classes(classes)) == 2
    (whole,) = Segmentation(classes, MAP_SIZE).patch_quads()
    assert corner_error(whole, truth) < 0.03


@pytest.mark.parametrize("share", [0.4, 0.5])
def test_the_pieces_of_a_split_card_have_its_patch_outline_as_another_reading(share: float) -> None:
    # The network drew the card's text box as boundary, and without a classical outline around
    # them only the patch still outlines the card. At 0.4 neither piece has a card's shape; split
    # across its middle (0.5), the card is two halves of a card's shape turned a quarter, which
    # both pass for cards.
    truth = card_quad((600, 450), 500, 8)
    scene = make_scene(np.random.default_rng(4), [truth], size=(1200, 900))
    scale = np.float32(MAP_SIZE) / np.float32([1200, 900])
    classes = _split_across(truth * scale, share)
    cards = detect_cards_using(scene.image, _MapSegmenter(classes), classical=False)  # type: ignore[arg-type]
    assert len(cards) == 2
    for card in cards:
        assert corner_error(card.quad, truth) > 0.2  # a piece
        assert min(corner_error(quad, truth) for quad, _ in card.readings) < 0.02


def test_touching_cards_do_not_take_their_patch_as_a_reading() -> None:
    # Side by side, two cards make a patch of nearly a card's shape; each is well shaped itself.
    left = card_quad((90, 96), CARD_H, 0)
    right = card_quad((90 + CARD_W, 96), CARD_H, 0)
    classes = label_map([left, right], MAP_SIZE)
    image = np.full((MAP_SIZE[1] * 4, MAP_SIZE[0] * 4, 3), 90, np.uint8)
    cards = detect_cards_using(image, _MapSegmenter(classes), classical=False)  # type: ignore[arg-type]
    assert len(cards) == 2
    assert all(card.readings == () for card in cards)


def test_a_grid_of_touching_cards_does_not_take_its_patch_as_a_reading() -> None:
    # Four cards in a 2x2 grid fill a patch of a card's shape turned, as two halves of one card would.
    height = 80.0
    width = height * CARD_SIZE[0] / CARD_SIZE[1]
    quads = [card_quad((70 + dx * width, 16 + dy * height), height, 0) for dx in (0.5, 1.5) for dy in (0.5, 1.5)]
    classes = label_map(quads, MAP_SIZE)
    image = np.full((MAP_SIZE[1] * 4, MAP_SIZE[0] * 4, 3), 90, np.uint8)
    cards = detect_cards_using(image, _MapSegmenter(classes), classical=False)  # type: ignore[arg-type]
    assert len(cards) == 4
    assert all(card.readings == () for card in cards)


def test_a_steeply_tilted_card_with_corners_past_53_degrees_is_found() -> None:
    # A simulated photo's card (seed 7, photo 72, twice the size): tilted away and turned, its
    # corners are 51-129 degrees, past the 53-127 that classical contours must keep; the
    # segmenter's blob of it is still a card.
    truth = np.float32([[736, 402], [648, 312], [698, 120], [776, 218]])
    scene = make_scene(np.random.default_rng(5), [truth], size=(1280, 960))
    cards = detect_cards_using(scene.image, TruthSegmenter([truth], (1280, 960)), classical=False)  # type: ignore[arg-type]
    assert len(cards) == 1 and not cards[0].whole_frame
    assert corner_error(cards[0].quad, truth) < 0.06


class _CrossedSegmenter(TruthSegmenter):
    """Draws each card's diagonals as boundary: its interior falls apart into triangles."""

    def segment(self, rgb: np.ndarray, box: tuple[int, int, int, int] | None = None) -> Segmentation:
        truth = super().segment(rgb, box)
        for quad in self.map_quads(rgb, box):
            corners = [tuple(int(v) for v in p) for p in quad]
            cv2.line(truth.classes, corners[0], corners[2], BOUNDARY, 3)
            cv2.line(truth.classes, corners[1], corners[3], BOUNDARY, 3)
        return truth


def test_a_small_card_broken_into_odd_blobs_is_outlined_by_its_patch() -> None:
    truth = card_quad((300, 300), 200, 20)
    scene = make_scene(np.random.default_rng(6), [truth], size=(1200, 900))
    segmenter = _CrossedSegmenter([truth], (1200, 900))
    assert segmenter.segment(scene.image).quads() == []  # no blob has a card's shape
    cards = detect_cards_using(scene.image, segmenter, classical=False)  # type: ignore[arg-type]
    assert len(cards) == 1
    assert corner_error(cards[0].quad, truth) < 0.03


@pytest.mark.parametrize("image_size", [(1600, 1200), (900, 1200)])
def test_quads_around_a_box_are_those_centred_in_it(image_size: tuple[int, int]) -> None:
    # A portrait photo is segmented turned landscape: the box must be turned the same way.
    left = card_quad((90, 96), CARD_H, 0)
    right = card_quad((90 + CARD_W + 10, 96), CARD_H, 0)
    segmentation = Segmentation(label_map([left, right], MAP_SIZE), image_size)
    every = segmentation.quads()
    assert len(every) == 2
    for quad, _, _ in every:
        around = np.concatenate([quad.min(axis=0), quad.max(axis=0)])
        (only,) = segmentation.quads(around)
        assert np.allclose(only[0], quad)
