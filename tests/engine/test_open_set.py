"""Open set on the session artifact set: a card the index lacks is "not sure" with candidates,
and an image with no Magic card in it comes back with no card."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot import replies
from engine.recognizer import Recognizer
from tests.conftest import EASY_PHOTOS
from training.cardgen import random_spec, render_card
from training.gallery import read_gallery
from training.noncards import KINDS
from training.photosim import PhotoSimConfig, encode_jpeg, simulate_photo


def absent_card_photos(gallery: Path, count: int) -> list[bytes]:
    """Clean photos of generated cards whose names (and art) the gallery does not hold."""
    names = {it.entry.name for it in read_gallery(gallery)}
    rng = np.random.default_rng(23)
    photos = []
    for i in range(count):
        spec = random_spec(f"Absent Card {i}", rng, frame="normal")
        assert spec.name not in names
        photo = simulate_photo([render_card(spec)], rng, PhotoSimConfig(**EASY_PHOTOS))
        photos.append(encode_jpeg(photo.image, 90))
    return photos


@pytest.fixture(scope="module")
def absent_photos(demo_gallery: Path) -> list[bytes]:
    return absent_card_photos(demo_gallery, 4)


def test_a_card_absent_from_the_index_is_unsure_with_candidates(recognizer: Recognizer,
                                                                   absent_photos: list[bytes]) -> None:
    for data in absent_photos:
        result = recognizer.identify(data)
        assert result.cards, "an unknown Magic card is still a card: candidates, not 'no card'"
        assert all(card.unsure for card in result.cards)
        card = max(result.cards, key=lambda c: c.confidence)
        assert card.confidence < recognizer.settings.unsure_below
        assert len(card.alternatives) >= 2


def test_the_bots_say_not_sure_and_offer_the_candidates_for_an_absent_card(
        recognizer: Recognizer, absent_photos: list[bytes]) -> None:
    result = recognizer.identify(absent_photos[0])
    reply = replies.from_identification(result)
    if len(result.cards) > 1:  # a stray outline beside the card: the compact list flags each
        assert reply.kind is replies.ReplyKind.SEVERAL and reply.note is not None
        return
    assert reply.kind is replies.ReplyKind.UNSURE and reply.headline == replies.NOT_SURE
    assert reply.cards[0].unsure and reply.cards[0].confidence_text.startswith("not sure ")
    assert len(reply.choices) >= 3
    assert reply.choices[0].card_id == result.cards[0].match.card_id


def test_the_right_card_is_still_answered_sure(recognizer: Recognizer,
                                               demo_photos: list[tuple[bytes, str]]) -> None:
    """Open-set calibration must not make every answer unsure: clean photos of indexed cards stay sure."""
    sure = 0
    for data, name in demo_photos:
        card = max(recognizer.identify(data).cards, key=lambda c: c.confidence)
        sure += card.match.name == name and not card.unsure
    assert sure >= len(demo_photos) - 1


@pytest.mark.parametrize("kind", ["screenshot", "meme", "empty_table", "hand"])
def test_an_image_with_no_magic_card_comes_back_with_no_card(recognizer: Recognizer, kind: str) -> None:
    for seed in range(3):
        image = KINDS[kind](np.random.default_rng(seed), (1024, 768))
        cards = recognizer.identify(encode_jpeg(image, 90)).cards
        assert cards == (), f"{kind} seed {seed}: {[(c.match.name, c.match.score, c.confidence) for c in cards]}"
