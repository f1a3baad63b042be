"""The second look at an unsure card: outlines rebuilt from the card's shape recover one whose
side a finger or the frame's edge moved, and the engine takes it only for the same name."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from engine.outline_retry import CARD_RATIO, completed
from engine.quad import warp_quad
from engine.recognizer import Recognizer


def card_quad(angle_deg: float, width: float = 300.0) -> np.ndarray:
    """A card's outline TL, TR, BR, BL, turned by `angle_deg` about (500, 500)."""
    a = np.deg2rad(angle_deg)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    h = width * CARD_RATIO
    corners = np.array([[-width / 2, -h / 2], [width / 2, -h / 2], [width / 2, h / 2], [-width / 2, h / 2]])
    return (corners @ rot.T + 500).astype(np.float32)


@pytest.mark.parametrize("side", [0, 1, 2, 3])
@pytest.mark.parametrize("angle", [0.0, 17.0, -70.0])
def test_a_side_moved_outwards_is_rebuilt_from_the_opposite_one(side: int, angle: float) -> None:
    truth = card_quad(angle)
    moved = truth.copy()
    a, b = side, (side + 1) % 4  # the side's corners slide 20% of the card's height outwards
    outward = (moved[a] + moved[b]) / 2 - truth.mean(axis=0)
    outward /= np.linalg.norm(outward)
    moved[a] += 0.2 * 420 * outward
    moved[b] += 0.2 * 420 * outward
    errors = [np.abs(q - truth).max() for q in completed(moved)]
    assert min(errors) < 0.5  # one of the four rebuilt outlines is the card's own
    assert np.abs(moved - truth).max() > 50


def test_an_outline_already_right_is_among_its_rebuilt_ones() -> None:
    truth = card_quad(30.0)
    assert all(np.abs(q - truth).max() < 1e-3 for q in completed(truth))


def test_the_engine_takes_a_rebuilt_outline_only_for_the_same_name_and_a_better_match(
        recognizer: Recognizer, demo_photos: list[tuple[bytes, str]]) -> None:
    data, name = demo_photos[0]
    found = recognizer.analyse(data)[0][0]
    assert found.matches[0].name == name
    quad = np.asarray(found.source_quad, np.float32)
    bad = quad.copy()
    bad[2:] += 0.35 * (quad[2:] - quad[1::-1])  # bottom side 35% too low, as if a finger extended it
    crop = warp_quad(found.source, bad, recognizer.embedder.input_size)
    scores, rows, _ = recognizer._rank([crop])
    cut = recognizer._candidates(found.quad, scores[0], rows[0], False, crop, found.source, bad)
    retried = recognizer.retry_outline(cut)
    assert retried is not cut and retried.matches[0].name == cut.matches[0].name
    assert retried.matches[0].score > cut.matches[0].score
    assert np.abs(retried.source_quad - quad).max() < 0.1 * np.abs(quad[2] - quad[0]).max()
    other = recognizer.retry_outline(cut, drop=lambda c: c.without_name(cut.matches[0].name))
    assert other is cut  # another name on top: the retry never changes the answer's name


@pytest.mark.parametrize("enabled", [False, True])
def test_only_unsure_answers_of_a_set_fitted_so_get_a_second_look(
        recognizer: Recognizer, demo_photos: list[tuple[bytes, str]], monkeypatch: pytest.MonkeyPatch,
        enabled: bool) -> None:
    found = recognizer.analyse(demo_photos[1][0])[0][0]
    looked: list[object] = []
    monkeypatch.setattr(recognizer, "retry_outline", lambda f, drop=None: looked.append(f) or f)
    for bias, unsure in ((-60.0, True), (60.0, False)):
        monkeypatch.setattr(recognizer, "calibrator", dataclasses.replace(
            recognizer.calibrator, bias=bias, outline_retry=enabled, card_floor=None))
        looked.clear()
        answer = recognizer.answer(found)
        assert answer is not None and answer.unsure is unsure
        assert len(looked) == (1 if enabled and unsure else 0)
