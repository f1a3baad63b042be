"""Closer looks: a small card is segmented again in a window around it, at the model's full input size."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from engine.quad import order_corners
from engine.segmenter import MODEL_PATH, CardSegmenter, Segmentation
from engine.zoom import closer_looks
from tests.scenes import corner_error
from training.cardgen import random_spec, render_card
from training.photosim import PhotoSimConfig, SimulatedPhoto, simulate_photo

WORK = 0.4  # a 1600x1200 photo's work copy is 640x480


def _photo(seed: int, scale: tuple[float, float]) -> SimulatedPhoto:
    rng = np.random.default_rng(seed)
    card = render_card(random_spec("Small Card", rng))
    return simulate_photo([card], rng, PhotoSimConfig(size=(1600, 1200), scale=scale, hardness=0.3))


def _best_error(segmentation: Segmentation, truth: np.ndarray, origin: np.ndarray = np.zeros(2, np.float32)) -> float:
    return min((corner_error(order_corners(quad + origin), truth) for quad, _ in segmentation.quads()), default=np.inf)


@pytest.fixture(scope="module")
def segmenter() -> CardSegmenter:
    return CardSegmenter(MODEL_PATH)


@pytest.mark.parametrize("seed", [0, 1, 2, 4])
def test_a_small_card_is_outlined_more_exactly_from_closer(segmenter: CardSegmenter, seed: int) -> None:
    photo = _photo(seed, (0.15, 0.2))
    small = cv2.resize(photo.image, (640, 480), interpolation=cv2.INTER_AREA)
    truth = photo.quads[0] * WORK
    coarse = segmenter.segment(small)
    looks = closer_looks(small, segmenter, coarse)
    assert len(looks) == 1
    centre = truth.mean(axis=0)
    assert (looks[0].patch[:2] <= centre).all() and (centre <= looks[0].patch[2:]).all()
    closer = _best_error(looks[0].segmentation, truth, looks[0].origin)
    assert closer < 0.03
    assert closer < _best_error(coarse, truth)


def test_a_large_card_gets_no_closer_look(segmenter: CardSegmenter) -> None:
    photo = _photo(3, (0.6, 0.7))
    small = cv2.resize(photo.image, (640, 480), interpolation=cv2.INTER_AREA)
    assert closer_looks(small, segmenter, segmenter.segment(small)) == []


def test_segmenting_a_window_is_segmenting_its_crop(segmenter: CardSegmenter) -> None:
    image = _photo(5, (0.3, 0.4)).image
    box = (200, 100, 1000, 700)
    windowed = segmenter.segment(image, box)
    cropped = segmenter.segment(image[100:700, 200:1000])
    assert windowed.image_size == (800, 600)
    assert np.array_equal(windowed.classes, cropped.classes)
