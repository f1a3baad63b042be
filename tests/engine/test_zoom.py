"""Closer looks: a small card is segmented again in a window around it, at the model's full input size."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from engine.quad import box_holds, order_corners
from engine.segmenter import MODEL_PATH, CardSegmenter, Segmentation
from engine import zoom
from engine.zoom import closer_looks
from tests.scenes import card_quad, corner_error, make_scene
from training.cardgen import random_spec, render_card
from training.photosim import PhotoSimConfig, SimulatedPhoto, simulate_photo

WORK = 0.4  # a 1600x1200 photo's work copy is 640x480


def _photo(seed: int, scale: tuple[float, float]) -> SimulatedPhoto:
    rng = np.random.default_rng(seed)
    card = render_card(random_spec("Small Card", rng))
    return simulate_photo([card], rng, PhotoSimConfig(size=(1600, 1200), scale=scale, hardness=0.3))


def _best_error(segmentation: Segmentation, truth: np.ndarray, origin: np.ndarray = np.zeros(2, np.float32)) -> float:
    return min((corner_error(order_corners(quad + origin), truth) for quad, _, _ in segmentation.quads()), default=np.inf)


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


def _touching_cards(seed: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """Three small cards in a row, touching: one card patch too long for a look of its own."""
    quads = [card_quad((560 + 250 * i, 600), 330, 3 * i - 3) for i in range(3)]
    scene = make_scene(np.random.default_rng(seed), quads, size=(1600, 1200))
    return cv2.resize(scene.image, (640, 480), interpolation=cv2.INTER_AREA), [q * WORK for q in quads]


def _looked_at(looks: list, quads: list[np.ndarray]) -> list[int]:
    """Index of the card at the centre of each look's patch."""
    return [next(i for i, q in enumerate(quads) if box_holds(look.patch, q.mean(axis=0))) for look in looks]


@pytest.mark.parametrize("seed", [0, 1])
def test_each_small_card_of_a_touching_row_gets_its_own_look(segmenter: CardSegmenter, seed: int,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zoom, "MAX_CROWDED_LOOKS", 3)
    small, truths = _touching_cards(seed)
    coarse = segmenter.segment(small)
    assert len(coarse.card_regions()) == 1  # the row is one patch, longer than ZOOM_BELOW
    looks = closer_looks(small, segmenter, coarse)
    assert sorted(_looked_at(looks, truths)) == [0, 1, 2]
    for look, i in zip(looks, _looked_at(looks, truths)):
        closer = _best_error(look.segmentation, truths[i], look.origin)
        assert closer < 0.05 and closer < _best_error(coarse, truths[i])


def test_looks_into_a_crowded_patch_are_capped(segmenter: CardSegmenter) -> None:
    small, _ = _touching_cards(3)
    assert len(closer_looks(small, segmenter, segmenter.segment(small))) == zoom.MAX_CROWDED_LOOKS


def test_a_card_outlined_already_gets_no_closer_look(segmenter: CardSegmenter,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zoom, "MAX_CROWDED_LOOKS", 3)
    small, truths = _touching_cards(2)
    looks = closer_looks(small, segmenter, segmenter.segment(small), outlined=[truths[1]])
    assert sorted(_looked_at(looks, truths)) == [0, 2]
