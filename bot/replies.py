"""What the bots say, decided once for both platforms.

Discord renders a `Reply` as an embed with buttons and Telegram as an HTML message with inline
buttons, but the wording, the confidence shown, when to say "not sure" and which alternatives
to offer all come from here, so the two platforms give the same answers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from bot import card_text
from bot.lookups import LookupQuery, Show
from engine.decklist import Decklist
from engine.errors import RecognizerError
from engine.types import CardAnswer, CardDetails, CardMatch, Identification


class ReplyKind(StrEnum):
    FOUND = "found"  # one card, sure
    UNSURE = "unsure"  # one card, not sure: show candidates
    SEVERAL = "several"  # several cards in one photo: compact list
    DECKLIST = "decklist"  # many cards in one photo: counts per name, importable text
    LOOKUP = "lookup"  # a catalog entry by name or a picked alternative (no photo confidence)
    NOT_FOUND = "not_found"  # no card in the photo / no name matched
    LIMITED = "limited"  # cooldown or server budget
    ERROR = "error"  # bad input or engine trouble


@dataclass(frozen=True)
class CardLine:
    """One card as shown to a user."""

    card_id: str
    name: str
    url: str
    set_code: str
    set_name: str | None
    collector_number: str
    image_uri: str | None
    confidence: float | None = None
    unsure: bool = False
    details: CardDetails | None = None
    printing_known: bool = True
    """False for a card named by its title alone: set and number are then one printing of the
    name, not the one in the photo, and are not shown."""

    @classmethod
    def from_answer(cls, answer: CardAnswer) -> CardLine:
        return cls.from_match(answer.match, answer.confidence, answer.unsure, answer.printing_known)

    @classmethod
    def from_match(cls, match: CardMatch, confidence: float | None = None, unsure: bool = False,
                   printing_known: bool = True) -> CardLine:
        return cls(
            card_id=match.card_id,
            name=match.name,
            url=match.scryfall_uri,
            set_code=match.set.upper(),
            set_name=match.set_name,
            collector_number=match.collector_number,
            image_uri=match.image_uri,
            confidence=confidence,
            unsure=unsure,
            details=match.details,
            printing_known=printing_known,
        )

    @property
    def printing(self) -> str:
        """``Alpha (LEA) #161``: enough to tell printings apart without the set symbol."""
        if not self.printing_known:
            return TITLE_ONLY
        where = f"{self.set_name} ({self.set_code})" if self.set_name else self.set_code
        return f"{where} #{self.collector_number}"

    @property
    def prices(self) -> str | None:
        return card_text.prices_text(self.details)

    @property
    def legality(self) -> str | None:
        return card_text.legality_text(self.details)

    @property
    def rules(self) -> str | None:
        return card_text.rules_text(self.details)

    @property
    def confidence_text(self) -> str | None:
        if self.confidence is None:
            return None
        label = "not sure" if self.unsure else "confidence"
        return f"{label} {format_percent(self.confidence)}"


@dataclass(frozen=True)
class Choice:
    """A button that switches the answer to another catalog entry."""

    card_id: str
    label: str
    name: str


@dataclass(frozen=True)
class Reply:
    """A platform-neutral answer: a headline, the cards to show, and the buttons to offer."""

    kind: ReplyKind
    headline: str
    cards: tuple[CardLine, ...] = ()
    choices: tuple[Choice, ...] = ()
    note: str | None = None
    decklist: Decklist | None = None
    show: Show = Show.CARD
    feedback: str | None = None
    """Token of the held crop when the poster's pick is recorded (`bot.feedback`): the
    alternatives and a "Right" button then carry it."""
    explain: str | None = None
    """Token of the photo held for the "Explain" button (`bot.answering.PhotoHold`)."""

    @property
    def is_problem(self) -> bool:
        return self.kind in (ReplyKind.NOT_FOUND, ReplyKind.LIMITED, ReplyKind.ERROR)

    @property
    def details_of(self) -> str | None:
        """The card id a "Details" button shows the rules text of; None when there is none."""
        if self.kind not in (ReplyKind.FOUND, ReplyKind.LOOKUP) or self.show is not Show.CARD:
            return None
        return self.cards[0].card_id if self.cards[0].rules else None

    @property
    def explain_of(self) -> str | None:
        """The card id an "Explain" button compares the held photo with: the one card shown."""
        return self.cards[0].card_id if self.explain is not None and len(self.cards) == 1 else None

    def fields(self, card: CardLine) -> list[tuple[str, str]]:
        """(title, text) of the details this reply shows for `card`, in order.

        None under a "not sure" guess: a price or legality of a card that may not be the one
        in the photo would mislead; picking a candidate shows them."""
        if self.kind not in (ReplyKind.FOUND, ReplyKind.LOOKUP):
            return []
        wanted = {
            Show.CARD: ("prices", "legality"),
            Show.PRICES: ("prices",),
            Show.LEGALITY: ("legality",),
            Show.DETAILS: ("rules", "prices", "legality"),
            Show.IMAGE: (),
        }[self.show]
        titles = {"rules": "Rules", "prices": "Prices", "legality": "Legality"}
        out = [(titles[name], getattr(card, name)) for name in wanted]
        return [(title, text) for title, text in out if text]


@dataclass(frozen=True)
class Explanation:
    """What the "Explain" button answers: the overlay PNG and its caption, or (no PNG) why not."""

    text: str
    png: bytes | None = None


EXPLAIN_EXPIRED = "That photo is no longer held, so I can't explain it. Send it again."
EXPLAIN_FILE = "explain.png"


def explained(png: bytes, name: str) -> Explanation:
    """The overlay with the key to its colours (engine/explain.py)."""
    return Explanation(f"Green: where the photo agrees with {name}. Red: where it differs.", png)


NO_CARD = "I couldn't find a Magic card in that photo. Try a closer, well-lit shot with the whole card visible."
NOT_SURE = "Not sure which card this is. Best guesses:"
NOT_IMAGE = "Send me a photo of a Magic card (or use /card Name to look one up)."
SHUTTING_DOWN = "I'm restarting right now. Please send that again in a minute."
TITLE_ONLY = "named by its title (set not seen)"
DECKLIST_FILE = "decklist.txt"
DECKLIST_HINT = "Paste it into Arena, MTGO or Moxfield to import."


def format_percent(value: float) -> str:
    """Calibrated confidences near 1 are shown as 99%, never a misleading 100%."""
    pct = math.floor(max(0.0, min(1.0, value)) * 100)
    return f"{min(pct, 99)}%"


def choice_label(match: CardMatch) -> str:
    """Buttons hold at most 80 characters on Discord and should stay short on Telegram."""
    label = f"{match.name} ({match.set.upper()} #{match.collector_number})"
    return label if len(label) <= 80 else label[:79] + "…"


def from_identification(ident: Identification, max_alternatives: int = 4, decklist_from: int = 6) -> Reply:
    if not ident.cards:
        return Reply(ReplyKind.NOT_FOUND, NO_CARD)
    if len(ident.cards) >= decklist_from:
        return _decklist(ident.cards)
    if len(ident.cards) > 1:
        return _several(ident.cards)
    answer = ident.cards[0]
    line = CardLine.from_answer(answer)
    if answer.unsure:
        candidates = _distinct((answer.match, *answer.alternatives))[: max_alternatives + 1]
        return Reply(
            ReplyKind.UNSURE,
            NOT_SURE,
            cards=(line,),
            choices=tuple(Choice(m.card_id, choice_label(m), m.name) for m in candidates),
        )
    alternatives = _distinct(answer.alternatives, exclude=answer.match.card_id)[:max_alternatives]
    return Reply(
        ReplyKind.FOUND,
        answer.match.name,
        cards=(line,),
        choices=tuple(Choice(m.card_id, choice_label(m), m.name) for m in alternatives),
    )


def _several(answers: tuple[CardAnswer, ...]) -> Reply:
    lines = tuple(CardLine.from_answer(a) for a in answers)
    unsure = sum(a.unsure for a in answers)
    note = f"{unsure} of them I'm not sure about." if unsure else None
    return Reply(ReplyKind.SEVERAL, f"I see {len(answers)} cards:", cards=lines, note=note)


def _decklist(answers: tuple[CardAnswer, ...]) -> Reply:
    deck = Decklist.of(answers)
    names = len(deck.entries)
    headline = f"I see {deck.cards} cards" + (f", {names} different:" if names < deck.cards else ":")
    lines = tuple(CardLine.from_answer(a) for a in answers)
    return Reply(ReplyKind.DECKLIST, headline, cards=lines, note=unsure_note(deck), decklist=deck)


def unsure_note(deck: Decklist) -> str | None:
    """Which names to check before importing: the list itself must stay plain import text."""
    doubtful = [f"{e.name} ({e.unsure} of {e.count})" if e.count > 1 else e.name for e in deck.entries if e.unsure]
    return f"Not sure about: {', '.join(doubtful)}. Check those before importing." if doubtful else None


def fitting_lines(lines: list[str], limit: int) -> tuple[list[str], int]:
    """The leading `lines` whose newline-joined length stays within `limit`, and how many are left.

    A reply that cannot hold a whole decklist shows its first lines and attaches the rest.
    """
    shown: list[str] = []
    used = 0
    for line in lines:
        cost = len(line) + (1 if shown else 0)
        if used + cost > limit:
            break
        shown.append(line)
        used += cost
    return shown, len(lines) - len(shown)


def from_lookup(query: str | LookupQuery, matches: list[CardMatch], max_alternatives: int = 4) -> Reply:
    """A name lookup's answer; `query` carries the modifiers of ``[[...]]`` (image only,
    prices, legality, a set's printing)."""
    lookup = query if isinstance(query, LookupQuery) else LookupQuery(query)
    if not matches:
        where = f" in set {lookup.set_code.upper()}" if lookup.set_code else ""
        return Reply(ReplyKind.NOT_FOUND, f"No card named like “{lookup.name}”{where} in my catalog.")
    best, rest = matches[0], _distinct(matches[1:], exclude=matches[0].card_id)[:max_alternatives]
    choices = () if lookup.show is Show.IMAGE else tuple(Choice(m.card_id, choice_label(m), m.name) for m in rest)
    return Reply(ReplyKind.LOOKUP, best.name, cards=(CardLine.from_match(best),), choices=choices, show=lookup.show)


def from_choice(match: CardMatch | None, show: Show = Show.CARD) -> Reply:
    if match is None:
        return Reply(ReplyKind.NOT_FOUND, "That card is no longer in my catalog.")
    return Reply(ReplyKind.LOOKUP, match.name, cards=(CardLine.from_match(match),), show=show)


def from_error(exc: RecognizerError) -> Reply:
    return Reply(ReplyKind.ERROR, exc.user_message)


def rate_limited(retry_after: float) -> Reply:
    seconds = max(1, math.ceil(retry_after))
    return Reply(ReplyKind.LIMITED, f"Slow down a little: try again in {seconds} s.")


def _distinct(matches: tuple[CardMatch, ...] | list[CardMatch], exclude: str | None = None) -> list[CardMatch]:
    """Alternatives can repeat a printing (several faces/crops); show each card_id once."""
    seen = {exclude} if exclude else set()
    out = []
    for m in matches:
        if m.card_id not in seen:
            seen.add(m.card_id)
            out.append(m)
    return out
