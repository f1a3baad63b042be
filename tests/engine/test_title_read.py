"""The title reader: rendered cards in a tilted photo are read by name, upright or turned."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from engine.title_read import TitleReader, agreement, reading_key, strip_corners, warp_strip
from training.cardgen import random_spec, render_card

NAMES = ["Lightning Bolt", "Grizzly Bears", "Serra Angel", "Fire // Ice", "Llanowar Elves", "Counterspell"]


def _photo(name: str, seed: int, turned: bool) -> tuple[np.ndarray, np.ndarray]:
    """A rendered card warped into a 1000×800 table photo; its outline TL, TR, BR, BL as the
    detector would report it (for a turned card: the outline of the card's upside-down view)."""
    rng = np.random.default_rng(seed)
    card = render_card(random_spec(name, rng, frame="normal"))
    if turned:
        card = card[::-1, ::-1]
    h, w = card.shape[:2]
    quad = np.float32([[260, 90], [640, 120], [620, 650], [230, 620]])
    matrix = cv2.getPerspectiveTransform(np.float32([[0, 0], [w, 0], [w, h], [0, h]]), quad)
    table = np.full((800, 1000, 3), (90, 110, 80), np.uint8)
    photo = cv2.warpPerspective(card[:, :, :3], matrix, (1000, 800), dst=table, borderMode=cv2.BORDER_TRANSPARENT)
    return photo, quad


@pytest.fixture(scope="module")
def reader() -> TitleReader:
    return TitleReader(NAMES)


@pytest.mark.parametrize("name,turned", [("Lightning Bolt", False), ("Grizzly Bears", True), ("Llanowar Elves", False)])
def test_a_tilted_card_title_reads_as_its_name(reader: TitleReader, name: str, turned: bool) -> None:
    photo, quad = _photo(name, seed=len(name), turned=turned)
    text = reader.read(warp_strip(photo, quad, turned=turned))
    assert reader.match(text)[0][0] == name
    assert agreement(text, name) >= 0.8
    other = next(n for n in NAMES if n != name)
    assert agreement(text, other) < 0.6


def test_the_wrong_end_of_a_turned_card_reads_no_name(reader: TitleReader) -> None:
    photo, quad = _photo("Serra Angel", seed=3, turned=True)
    text = reader.read(warp_strip(photo, quad, turned=False))
    assert not reader.match(text) or reader.match(text)[0][1] < 0.6


def test_a_face_of_a_two_faced_card_agrees_with_the_whole_name(reader: TitleReader) -> None:
    assert agreement("Fire", "Fire // Ice") == 1.0
    assert reader.match("Ice")[0][0] == "Fire // Ice"


def test_stray_marks_are_no_reading() -> None:
    assert agreement("1}", "Lightning Bolt") is None
    assert agreement("", "Lightning Bolt") is None
    assert reading_key("Lightning Bolt 1R") == "lightning bolt 1r".strip("0123456789 ")
    assert reading_key("2 Counterspell 3") == "counterspell"


def test_the_strip_is_the_title_band_of_the_outline_turned_or_not() -> None:
    quad = np.float32([[0, 0], [630, 0], [630, 880], [0, 880]])
    upright = strip_corners(quad)
    assert upright[0] == pytest.approx([0.06 * 630, 0.035 * 880])
    turned = strip_corners(quad, turned=True)
    assert turned[0] == pytest.approx([630 - 0.06 * 630, 880 - 0.035 * 880])


def test_a_reading_cut_short_agrees_with_the_name_it_starts() -> None:
    assert agreement("Kaito", "Kaito, Bane of Nightmares") == 1.0
    assert agreement("Kaito", "Grizzly Bears") < 0.5
    assert agreement("Kai", "Kaito, Bane of Nightmares") < 0.8  # too short to count as a start
