"""Evaluation figures: cards hidden behind others are counted, and reported apart."""

from __future__ import annotations

import numpy as np

from engine.recognizer import Candidates
from engine.types import CardAnswer, CardMatch
from training.evaluate import VISIBLE_ENOUGH, CardOutcome, EvalResult, TrueCard, match_detections

QUAD = np.float32([[0, 0], [63, 0], [63, 88], [0, 88]])


def _outcome(name: str, answered: str | None, visible: float) -> CardOutcome:
    truth = TrueCard(card_id=name, name=name, quad=QUAD, visible=visible)
    if answered is None:
        return CardOutcome(truth, None)
    match = CardMatch(card_id=answered, name=answered, set="lea", set_name=None, collector_number="1",
                      scryfall_uri="", image_uri=None, score=0.9)
    return CardOutcome(truth, Candidates(QUAD, [match], False, np.zeros((4, 4, 3), np.uint8)), 0.9)


def test_cards_mostly_hidden_are_reported_apart() -> None:
    result = EvalResult(photos=1, outcomes=[
        _outcome("A", "A", 1.0),
        _outcome("B", "C", VISIBLE_ENOUGH),  # in view, named wrong
        _outcome("D", None, 0.95),  # in view, missed
        _outcome("E", None, 0.3),  # under another card, missed
        _outcome("F", "F", 0.5),  # half hidden, still named
    ])
    summary = result.summary()
    assert summary["cards"] == 5 and summary["cards_in_view"] == 3
    assert summary["detection_rate"] == 3 / 5 and summary["top1"] == 2 / 5
    assert summary["detection_rate_in_view"] == 2 / 3 and summary["top1_in_view"] == 1 / 3
    assert summary["precision_when_sure"] == 2 / 3  # all three answers were sure (0.9)
    assert summary["precision_when_sure_in_view"] == 1 / 2


def _found(quad: np.ndarray) -> Candidates:
    return Candidates(tuple(map(tuple, quad)), [], False, np.zeros((4, 4, 3), np.uint8))  # type: ignore[arg-type]


def test_a_card_under_another_does_not_take_the_top_cards_detection() -> None:
    top = QUAD + 100
    under = QUAD * 1.5 + 80  # larger, centre 12 px from the top card's: it lies beneath
    far = QUAD + 400
    found = [_found(top), _found(far + 3)]
    # scene order puts the card beneath first; it must not claim the top card's detection
    assert match_detections(found, [under, top, far]) == [None, 0, 1]


def test_a_covered_card_is_paired_by_what_is_seen_of_it() -> None:
    open_card = QUAD + 100
    covered = open_card - np.array([0.0, 12.0])  # a strip of it shows above the open card
    answer = [_found(open_card - np.array([0.0, 8.0]))]  # the outline reaches over the strip
    assert match_detections(answer, [covered, open_card]) == [0, None]  # whole outlines: wrong card
    strip = covered[:2].mean(axis=0) + np.array([0.0, 6.0])
    seen = [strip, open_card.mean(axis=0)]
    assert match_detections(answer, [covered, open_card], seen) == [None, 0]


def test_a_detection_too_far_from_every_card_answers_for_none() -> None:
    assert match_detections([_found(QUAD + 60)], [QUAD]) == [None]
    assert match_detections([], [QUAD]) == [None]


def test_the_name_served_is_scored_and_the_arts_match_is_kept_for_calibration() -> None:
    outcome = _outcome("A", "B", 1.0)  # the art's best match is B
    assert outcome.name_rank() is None and not outcome.top_match_right
    title = CardMatch(card_id="A", name="A", set="dsk", set_name=None, collector_number="2",
                      scryfall_uri="", image_uri=None, score=1.0)
    outcome.answer = CardAnswer(match=title, confidence=0.9, unsure=False, quad=((0.0, 0.0),) * 4,
                                printing_known=False)  # named by its title
    assert outcome.name_rank() == 1 and outcome.names == ["A", "B"]
    assert not outcome.top_match_right  # what the calibrator's evidence describes
    assert not outcome.exact  # the title claims no printing, though this one is the card's
