"""The art and frame checks: same art agrees, other art in the same frame does not, turns are free."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from engine.colour_layout import layout, signatures
from engine.verify import art_agreement, crop_lab, half_turned
from training.cardgen import random_spec, render_card


def card(art_seed: int, colour: str = "U") -> np.ndarray:
    spec = random_spec("Test Card", np.random.default_rng(1), frame="normal", colour=colour, art_seed=art_seed)
    return render_card(spec)


def signature(image: np.ndarray) -> np.ndarray:
    return signatures(layout(image)[None])[0]


def photographed(image: np.ndarray, seed: int) -> np.ndarray:
    """The crop the engine would see: resized to its input, blurred, noisy, colour-cast, darker."""
    rng = np.random.default_rng(seed)
    crop = cv2.resize(image, (160, 224), interpolation=cv2.INTER_AREA).astype(np.float32)
    crop = cv2.GaussianBlur(crop, (0, 0), 1.2) * rng.uniform(0.7, 0.9, 3) + rng.normal(0, 8, crop.shape)
    return np.clip(crop, 0, 255).astype(np.uint8)


def test_the_same_card_agrees_and_other_art_in_the_same_frame_does_not() -> None:
    reference = card(101)
    same = [art_agreement(crop_lab(photographed(reference, s)), signature(reference)) for s in range(5)]
    other = [art_agreement(crop_lab(photographed(card(200 + s), s)), signature(reference)) for s in range(5)]
    assert min(same) > 0.8
    assert max(other) < 0.6
    assert min(same) - max(other) > 0.3


def test_a_card_turned_half_way_agrees_as_well() -> None:
    reference = card(7)
    crop = photographed(reference, 3)
    upright = art_agreement(crop_lab(crop), signature(reference))
    turned = art_agreement(crop_lab(np.ascontiguousarray(crop[::-1, ::-1])), signature(reference))
    assert turned == pytest.approx(upright, abs=1e-5)


def test_the_layout_tells_which_end_of_a_photographed_card_is_its_top() -> None:
    reference = card(21, colour="G")
    for seed in range(3):
        crop = photographed(reference, seed)
        assert not half_turned(crop_lab(crop), signature(reference))
        assert half_turned(crop_lab(crop[::-1, ::-1].copy()), signature(reference))
