"""Locating the title bars of cascaded cards from the open card at the foot of each column."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from engine import title_strips
from engine.title_read import TITLE_COLUMNS
from engine.title_strips import STRIP_WIDTH, find_title_strips
from training import scenelayout
from training.photosim import PhotoSimConfig, simulate_photo
from tests.training.test_photosim import marked_card


def _columns(seed: int, hardness: float):
    cards = [marked_card(s) for s in range(14)]
    photo = simulate_photo(cards, np.random.default_rng(seed),
                           PhotoSimConfig(max_cards=14, scene="columns", hardness=hardness))
    titles = [scenelayout.title_band(q, cards[i].shape).mean(axis=0)
              for q, i, v in zip(photo.quads, photo.card_indices, photo.visible_fraction) if v < 0.5]
    open_cards = [q for q, v in zip(photo.quads, photo.visible_fraction) if v >= 0.5]
    return photo, titles, open_cards


def _holds(strip_quad: np.ndarray, point: np.ndarray) -> bool:
    return cv2.pointPolygonTest(strip_quad.astype(np.float32), (float(point[0]), float(point[1])), False) >= 0


@pytest.mark.parametrize("seed", [0, 1])
def test_every_covered_title_is_found_above_its_open_card(seed: int) -> None:
    photo, titles, open_cards = _columns(seed, 0.0)
    assert len(open_cards) == 2 and len(titles) == 12
    strips = find_title_strips(photo.image, open_cards)
    assert all(any(_holds(s.quad, t) for s in strips) for t in titles)
    assert len(strips) <= 2 * len(titles)  # a tall band may split once (art only), never more
    for strip in strips:
        left, right = TITLE_COLUMNS
        assert strip.crop.shape[1] == int(right * STRIP_WIDTH) - int(left * STRIP_WIDTH) and strip.crop.shape[2] == 3
        assert 0.09 <= strip.showing <= 0.35


def test_strips_come_upright_with_the_title_on_top() -> None:
    """Cards whose title bar is red on the left and blue on the right give strips red on the left."""
    cards = []
    for seed in range(14):
        card = marked_card(seed)
        card[12:34, 14:122] = (230, 20, 20)
        card[12:34, 122:230] = (20, 20, 230)
        cards.append(card)
    photo = simulate_photo(cards, np.random.default_rng(2),
                           PhotoSimConfig(max_cards=14, scene="columns", hardness=0.0))
    open_cards = [q for q, v in zip(photo.quads, photo.visible_fraction) if v >= 0.5]
    strips = find_title_strips(photo.image, open_cards)
    assert len(strips) >= 12
    checked = 0
    for strip in strips:
        top = strip.crop[: strip.crop.shape[0] // 2].astype(int)
        left, right = top[:, : STRIP_WIDTH // 2], top[:, STRIP_WIDTH // 2:]
        redness = lambda part: float((part[..., 0] - part[..., 2]).mean())  # noqa: E731
        if abs(redness(left)) > 20 or abs(redness(right)) > 20:  # the bar shows in this strip
            assert redness(left) > redness(right)
            checked += 1
    assert checked >= 12


def test_a_lone_card_on_a_plain_table_has_no_strips() -> None:
    image = np.full((900, 1200, 3), 90, np.uint8)
    quad = np.float32([[500, 400], [644, 400], [644, 600], [500, 600]])
    cv2.fillConvexPoly(image, quad.astype(np.int32), (20, 20, 20))
    assert find_title_strips(image, [quad]) == []


def test_a_card_with_an_open_card_right_above_is_not_looked_above(monkeypatch: pytest.MonkeyPatch) -> None:
    # A spread's rows: the band between two rows holds no covered card's title.
    looked: list[int] = []
    monkeypatch.setattr(title_strips, "strips_above", lambda image, quad, index: looked.append(index) or [])
    below = np.float32([[500, 400], [644, 400], [644, 600], [500, 600]])
    above = below - [0, 220]  # a 10% gap, as a spread's
    apart = below + [300, 0]  # a card with the table above it
    find_title_strips(np.zeros((900, 1200, 3), np.uint8), [below, above, apart])
    assert looked == [1, 2]
