"""Covered cards named by their title alone: a cascaded column of generated cards."""

from __future__ import annotations

import numpy as np
import pytest

from engine import title_answers
from engine.title_answers import MIN_MATCH, covered_cards, named_by_title, title_confidence
from engine.title_columns import column_strips
from engine.title_read import Reading, TitleReader
from engine.title_strips import TitleStrip, find_title_strips
from engine.types import CardAnswer, CardMatch
from training.cardgen import random_spec, render_card
from training.photosim import PhotoSimConfig, simulate_photo

NAMES = ["Lightning Bolt", "Grizzly Bears", "Serra Angel", "Llanowar Elves", "Counterspell", "Shivan Dragon",
         "Giant Growth", "Dark Ritual", "Wrath of God", "Sol Ring", "Swords to Plowshares", "Birds of Paradise"]
TITLE_BAR = 0.12
"""Of a rendered card's height from its top: the title bar, blanked to make a card unreadable."""


class _Catalog:
    """The one `Catalog` call `covered_cards` makes: a name's representative printing."""

    def lookup(self, query: str, limit: int = 5) -> list[CardMatch]:
        if query not in NAMES + ["Fear"]:
            return []
        number = str((NAMES + ["Fear"]).index(query) + 1)
        return [CardMatch(f"id-{number}", query, "tst", "Test", number, "https://example.org", None, 1.0)][:limit]


def _column(seed: int, blank_titles: bool = False, names: list[str] = NAMES):  # type: ignore[no-untyped-def]
    """Two cascaded columns of the 12 named cards on a table: the photo, the open cards and the
    covered cards whose title bars show, each as (name, outline)."""
    rng = np.random.default_rng(seed)
    cards = [render_card(random_spec(name, rng, frame="normal"))[:, :, :3].copy() for name in names]
    if blank_titles:
        for card in cards:
            card[: int(TITLE_BAR * card.shape[0])] = (40, 40, 40)
    sim = PhotoSimConfig(size=(1400, 1050), max_cards=len(cards), scene="columns", hardness=0.0)
    photo = simulate_photo(cards, rng, sim)
    opened = [(names[i], q) for q, i, v in zip(photo.quads, photo.card_indices, photo.visible_fraction) if v >= 0.85]
    covered = [(names[i], q) for q, i, v, t in zip(photo.quads, photo.card_indices, photo.visible_fraction,
                                                    photo.title_visible) if v < 0.85 and t >= 0.9]
    return photo.image, opened, covered


@pytest.fixture(scope="module")
def reader() -> TitleReader:
    return TitleReader(NAMES)


@pytest.mark.parametrize("lone", [False, True])
def test_covered_cards_of_a_column_are_named_by_title(reader: TitleReader, lone: bool) -> None:
    """`lone`: only the first column's open card was found, the photo reads as one of a single
    card (its bands are judged by `reads_as_title` before they are read), and the other column
    is found beside it: the covered cards are named all the same."""
    image, opened, covered = _column(3)
    assert len(opened) == 2 and len(covered) >= 8
    open_quads = [q for _, q in opened[:1 if lone else 2]]
    answers = covered_cards(image, open_quads, 1.0, reader, _Catalog(), unsure_below=0.6)  # type: ignore[arg-type]
    named = []
    for name, quad in covered:
        top = quad[:2].mean(axis=0)
        height = float(np.linalg.norm(quad[3] - quad[0]))
        near = [a for a in answers if np.linalg.norm(np.asarray(a.quad)[:2].mean(axis=0) - top) < 0.1 * height]
        named += [name] if any(a.match.name == name for a in near) else []
    assert len(named) >= len(covered) - 1, (named, [n for n, _ in covered])
    assert all(not a.printing_known for a in answers)
    unfound = {n for n, _ in opened[1:]} if lone else set()  # the column found beside: its open card by title
    assert {a.match.name for a in answers} <= {n for n, _ in covered} | unfound  # never an open card found, nor a stray
    sure = [a for a in answers if not a.unsure]
    # a mana symbol may trail as letters ("Bears30u"), more so cut from the column found beside's estimated outline
    assert sure and all(a.match.score >= (0.8 if lone else 0.85) for a in sure)


@pytest.mark.parametrize("blank,names", [
    (True, NAMES),  # title bars painted over: no lettering
    (False, [f"Qwpx Zvrk {chr(65 + i)}" for i in range(len(NAMES))]),  # legible, but no name of the catalog
])
def test_strips_with_no_legible_name_give_no_answer(reader: TitleReader, blank: bool, names: list[str]) -> None:
    image, opened, covered = _column(3, blank_titles=blank, names=names)
    open_quads = [q for _, q in opened]
    assert len(open_quads) == 2 and covered
    assert find_title_strips(image, open_quads)  # there are strips to read
    assert covered_cards(image, open_quads, 1.0, reader, _Catalog(), unsure_below=0.6) == []  # type: ignore[arg-type]



@pytest.mark.parametrize("lone", [False, True])
def test_bands_read_as_no_name_end_a_column(reader: TitleReader, monkeypatch: pytest.MonkeyPatch, lone: bool) -> None:
    """Lettering that spells no card (a printed mat, a page) is read a few bands deep, not all the way up."""
    image, opened, covered = _column(3, names=[f"Qwpx Zvrk {chr(65 + i)}" for i in range(len(NAMES))])
    open_quads = [q for _, q in opened[:1 if lone else 2]]
    reads: list[int] = []
    real_read = reader.read
    monkeypatch.setattr(reader, "read", lambda text: reads.append(1) or real_read(text))
    assert covered_cards(image, open_quads, 1.0, reader, _Catalog(), unsure_below=0.6) == []  # type: ignore[arg-type]
    limit = title_answers.LONE_UNREAD_BANDS if lone else title_answers.UNREAD_BANDS
    columns = {strip.below for strip in column_strips(image, [np.asarray(q, np.float64) for q in open_quads])}
    assert len(covered) > 2 * limit  # bands enough to read on
    assert 0 < len(reads) <= len(columns) * limit

def test_a_weak_or_ambiguous_reading_is_never_sure() -> None:
    assert title_confidence(1.0, 0.5) >= 0.9
    assert title_confidence(MIN_MATCH, 0.3) < 0.6  # loosely spelt
    assert title_confidence(0.95, 0.02) < 0.6  # spells two names nearly alike


class _FixedReader:
    """A reader that reads every strip as `text` with the recogniser's confidence `score`."""

    def __init__(self, text: str, score: float) -> None:
        self.reading = Reading(text, score)
        self.names = TitleReader(NAMES + ["Fear"])

    def read(self, strip: np.ndarray) -> Reading:
        return self.reading

    def match(self, text: str, limit: int = 5) -> list[tuple[str, float]]:
        return self.names.match(text, limit)


def _strip(top: float) -> TitleStrip:
    """A strip with lettering of a 100 x 140 px card whose top edge lies at `top`."""
    card = np.float64([[100, top], [200, top], [200, top + 140], [100, top + 140]])
    crop = np.zeros((12, 60, 3), np.uint8)
    crop[:, ::4] = 255  # letters' strokes
    return TitleStrip(quad=card[[0, 1, 1, 0]] + [[0, 0], [0, 0], [0, 14], [0, 14]], crop=crop, showing=0.15,
                      below=0, card=card)


def test_one_card_read_from_two_edges_is_answered_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # The edge under a title bar and the card's own top both give its name's line, placed alike.
    monkeypatch.setattr(title_answers, "column_strips", lambda image, quads: [_strip(300.0), _strip(306.0), _strip(280.0)])
    answers = covered_cards(np.zeros((600, 400, 3), np.uint8), [np.zeros((4, 2))], 1.0,
                            _FixedReader("Lightning Bolt", 0.99), _Catalog(), unsure_below=0.6)  # type: ignore[arg-type]
    assert [a.match.name for a in answers] == ["Lightning Bolt", "Lightning Bolt"]  # 300/306 one card, 280 another


@pytest.mark.parametrize("text,score", [("ear", 0.99), ("Lightning Bolt", 0.55)])
def test_a_short_or_doubtful_reading_is_never_sure(monkeypatch: pytest.MonkeyPatch, text: str, score: float) -> None:
    monkeypatch.setattr(title_answers, "column_strips", lambda image, quads: [_strip(300.0)])
    answers = covered_cards(np.zeros((600, 400, 3), np.uint8), [np.zeros((4, 2))], 1.0, _FixedReader(text, score),
                            _Catalog(), unsure_below=0.6)  # type: ignore[arg-type]
    assert len(answers) == 1 and answers[0].unsure


def test_a_column_is_read_from_the_sharper_decode(monkeypatch: pytest.MonkeyPatch) -> None:
    # A 12 MP upload is detected at 1000 px; its covered titles are found and read at twice that.
    looked: list[float] = []

    def strips(image: np.ndarray, quads: list[np.ndarray]) -> list[TitleStrip]:
        looked.append(float(quads[0][1, 0]))
        return [_strip(300.0), _strip(280.0)] if image.shape[0] == 1200 else [_strip(150.0), _strip(140.0)]

    monkeypatch.setattr(title_answers, "column_strips", strips)
    quad = np.float64([[50, 160], [100, 160], [100, 230], [50, 230]])
    sharp = np.zeros((1200, 800, 3), np.uint8)
    answers = covered_cards(np.zeros((600, 400, 3), np.uint8), [quad], 0.25, _FixedReader("Lightning Bolt", 0.99),
                            _Catalog(), unsure_below=0.6, sharper=lambda: (sharp, 0.5))  # type: ignore[arg-type]
    assert looked == [100.0, 200.0]  # the open card's outline carried to the sharper decode
    assert [np.asarray(a.quad)[0, 1] for a in answers] == [600.0, 560.0]  # back in the upload's pixels


class _SequenceReader(_FixedReader):
    """A reader that reads its texts in turn, one a strip."""

    def __init__(self, texts: list[str]) -> None:
        super().__init__("", 0.0)
        self.texts = list(texts)

    def read(self, strip: np.ndarray) -> Reading:
        text = self.texts.pop(0)
        return Reading(text, 0.99 if text else 0.0)


@pytest.mark.parametrize("texts,named", [
    (["Lightning Bolt", "", "", "", "Grizzly Bears"], ["Lightning Bolt", "Grizzly Bears"]),
    (["", "", "", "Grizzly Bears", "Serra Angel"], []),
])
def test_a_column_that_named_a_card_is_read_past_more_unread_bands(
        monkeypatch: pytest.MonkeyPatch, texts: list[str], named: list[str]) -> None:
    """Most titles of a cascade photographed in poor light read as no name; once a band has named a
    card the column is a cascade, not text-like ground, and is read on past three such bands."""
    monkeypatch.setattr(title_answers, "column_strips",
                        lambda image, quads: [_strip(300.0 - 20 * k) for k in range(len(texts))])
    reader = _SequenceReader(texts)
    answers = covered_cards(np.zeros((600, 400, 3), np.uint8), [np.zeros((4, 2)), np.ones((4, 2))], 1.0, reader,
                            _Catalog(), unsure_below=0.6)  # type: ignore[arg-type]
    assert [a.match.name for a in answers] == named
    assert title_answers.UNREAD_BANDS == 3 < title_answers.CASCADE_UNREAD_BANDS


def test_a_lone_card_costs_no_second_decode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(title_answers, "column_strips", lambda image, quads: [])
    covered_cards(np.zeros((600, 400, 3), np.uint8), [np.zeros((4, 2))], 0.25, _FixedReader("Lightning Bolt", 0.99),
                  _Catalog(), unsure_below=0.6, sharper=lambda: pytest.fail("decoded again"))  # type: ignore[arg-type]


def test_the_band_right_above_an_open_card_that_reads_its_own_name_is_its_title(monkeypatch: pytest.MonkeyPatch) -> None:
    # A detection cut short under the title bar leaves the card's own title above its outline.
    monkeypatch.setattr(title_answers, "column_strips", lambda image, quads: [_strip(300.0), _strip(280.0)])
    answers = covered_cards(np.zeros((600, 400, 3), np.uint8), [np.zeros((4, 2))], 1.0,
                            _FixedReader("Lightning Bolt", 0.99), _Catalog(), unsure_below=0.6,  # type: ignore[arg-type]
                            open_names=["Lightning Bolt"])
    assert [np.asarray(a.quad)[0, 1] for a in answers] == [280.0]  # the copy further up stays


def test_no_band_above_a_lone_card_on_a_table_is_read(reader: TitleReader, monkeypatch: pytest.MonkeyPatch) -> None:
    """Wood grain, ruled and squared paper, cloth and sensor noise above a photo's one card are not
    lettering (`title_answers.LETTER_SMOOTHING`): a single-card photo pays for no title read there."""
    reads: list[np.ndarray] = []
    monkeypatch.setattr(reader, "read", lambda text: reads.append(text) or Reading("", 0.0))
    grounds = 0
    for seed in range(24):
        rng = np.random.default_rng(seed)
        card = render_card(random_spec(NAMES[seed % len(NAMES)], rng))[:, :, :3].copy()
        photo = simulate_photo([card], rng, PhotoSimConfig(size=(1600, 1200), hardness=1.0, finger_chance=0.0))
        quads = [np.asarray(q, np.float64) for q in photo.quads]
        grounds += len(find_title_strips(photo.image, quads))
        covered_cards(photo.image, quads, 1.0, reader, _Catalog(), unsure_below=0.6)  # type: ignore[arg-type]
    assert grounds >= 3  # table above the card that the column walk takes for covered cards' bands
    assert reads == []


def _printing(name: str, number: str) -> CardMatch:
    return CardMatch(f"art-{number}", name, "art", "Art", number, "https://example.org", None, 0.5)


SHORTLIST = [_printing("Counterspell", "1"), _printing("Sol Ring", "2"), _printing("Dark Ritual", "3"),
             _printing("Counterspell", "4")]
QUAD = ((0.0, 0.0), (63.0, 0.0), (63.0, 88.0), (0.0, 88.0))


def _named(*readings: Reading) -> CardAnswer | None:
    return named_by_title(readings, TitleReader(NAMES), _Catalog(), SHORTLIST, QUAD,  # type: ignore[arg-type]
                          unsure_below=0.6, alternatives=5)


def test_a_clear_title_names_an_open_card_without_claiming_a_printing() -> None:
    # Either end of the card may bear the title; the other reads nothing.
    answer = _named(Reading("", 0.0), Reading("Dark Ritual", 0.98))
    assert answer is not None and answer.match.name == "Dark Ritual" and not answer.unsure
    assert answer.match.card_id == "art-3"  # the art's own printing of that name, where it ranked one
    assert not answer.printing_known
    assert [a.name for a in answer.alternatives] == ["Counterspell", "Sol Ring"]  # the art's names, once each


def test_a_title_the_art_did_not_rank_names_the_catalogs_printing() -> None:
    answer = _named(Reading("Giant Growth", 0.97))
    assert answer is not None and answer.match.name == "Giant Growth" and answer.match.set == "tst"


@pytest.mark.parametrize("text,score", [
    ("Dark Ritual", 0.55),  # the recogniser unsure of its letters
    ("Dark Rit", 0.99),  # spells the name under CLEAR_MATCH
    ("Enduring Tenacity", 0.99),  # a card the catalog lacks
    ("ear", 0.99),  # too few letters
])
def test_an_unclear_or_unknown_title_names_nothing(text: str, score: float) -> None:
    assert _named(Reading(text, score)) is None
