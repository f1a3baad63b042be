"""Decklists from many-card photos: counts per name and the text deck sites import."""

from __future__ import annotations

from bot import replies
from engine.decklist import Decklist
from engine.types import Identification
from tests.bot_engine import DECK_TEXT, deck_answers


def test_counts_per_name_most_copies_first() -> None:
    deck = Decklist.of(deck_answers())
    assert [(e.count, e.name, e.unsure) for e in deck.entries] == [
        (4, "Lightning Bolt", 0), (2, "Counterspell", 0), (2, "Llanowar Elves", 0), (1, "Lightning Helix", 1)]
    assert deck.cards == 9 and deck.unsure == 1


def test_export_is_one_count_and_name_per_line() -> None:
    """The format Arena, MTGO and Moxfield import: ``4 Lightning Bolt``, nothing else on the line."""
    assert Decklist.of(deck_answers()).export() == DECK_TEXT
    assert Decklist.of(()).export() == ""


def test_json_carries_entries_and_text() -> None:
    body = Decklist.of(deck_answers()).to_json()
    assert body["cards"] == 9 and body["unsure"] == 1 and body["text"] == DECK_TEXT
    assert body["entries"][0] == {"count": 4, "name": "Lightning Bolt", "unsure": 0}


def test_many_cards_get_a_decklist_reply_and_few_a_list() -> None:
    answers = deck_answers()
    reply = replies.from_identification(Identification(answers, (1600, 1200)), decklist_from=6)
    assert reply.kind is replies.ReplyKind.DECKLIST and reply.decklist is not None
    assert reply.headline == "I see 9 cards, 4 different:"
    assert reply.note == "Not sure about: Lightning Helix. Check those before importing."
    few = replies.from_identification(Identification(answers[:5], (1600, 1200)), decklist_from=6)
    assert few.kind is replies.ReplyKind.SEVERAL and few.decklist is None


def test_unsure_note_counts_doubtful_copies() -> None:
    answers = deck_answers()
    doubtful = tuple(a if a.match.name != "Counterspell" else a.__class__(**{**a.__dict__, "unsure": True})
                     for a in answers)
    note = replies.unsure_note(Decklist.of(doubtful))
    assert note is not None and "Counterspell (2 of 2)" in note and "Lightning Helix" in note


def test_fitting_lines_stops_before_the_limit() -> None:
    shown, left = replies.fitting_lines(["aaaa", "bbbb", "cccc"], 9)
    assert shown == ["aaaa", "bbbb"] and left == 1
    assert replies.fitting_lines(["aaaa"], 100) == (["aaaa"], 0)
