"""The title reader: rendered cards in a tilted photo are read by name, upright or turned."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from engine.title_read import (
    Reading,
    TitleReader,
    agreement,
    foreign_word,
    reading_key,
    strip_corners,
    title_vote,
    warp_strip,
)
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
    reading = reader.read(warp_strip(photo, quad, turned=turned))
    text = reading.text
    assert reading.score >= 0.5
    assert reader.match(text)[0][0] == name
    assert agreement(text, name) >= 0.8
    other = next(n for n in NAMES if n != name)
    assert agreement(text, other) < 0.6


def test_the_wrong_end_of_a_turned_card_reads_no_name(reader: TitleReader) -> None:
    photo, quad = _photo("Serra Angel", seed=3, turned=True)
    text = reader.read(warp_strip(photo, quad, turned=False)).text
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


def test_a_clear_reading_of_another_name_votes_against_a_look_alike() -> None:
    """'Enduring Tenacity' agrees 0.74 with 'Enduring Curiosity' as a whole: a blurred reading
    that close leans for the name, a clear one with a word the name lacks votes against it."""
    assert 0.7 < agreement("Enduring Tenacity", "Enduring Curiosity") < 0.8
    assert foreign_word("Enduring Tenacity", "Enduring Curiosity")
    assert title_vote(Reading("Enduring Tenacity", 0.6), "Enduring Curiosity") > 0
    assert title_vote(Reading("Enduring Tenacity", 0.95), "Enduring Curiosity") == -1.0


@pytest.mark.parametrize("text,name", [
    ("Interoal Phantom", "Infernal Phantom"),  # the recogniser's slips, read with confidence >= 0.9
    ("lent Hallereeper", "Silent Hallcreeper"),
    ("FolyStrength", "Holy Strength"),
    ("Clobbering", "Coordinated Clobbering"),
    ("Fire", "Fire // Ice"),
])
def test_a_clear_misreading_of_the_name_still_votes_for_it(text: str, name: str) -> None:
    assert not foreign_word(text, name)
    assert title_vote(Reading(text, 0.97), name) > -1.0
