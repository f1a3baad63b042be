"""``[[...]]`` text lookups with Scryfall's bot modifiers, parsed once for both platforms.

The forms players already know from Scryfall's own bot: ``[[name]]`` (the card),
``[[name|SET]]`` (that set's printing), ``[[!name]]`` (the image only), ``[[$name]]`` (prices),
``[[#name]]`` (format legality). Several may be in one message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

_BRACKETS = re.compile(r"\[\[([^\[\]\n]{1,120})\]\]")
_SET_CODE = re.compile(r"[A-Za-z0-9]{2,6}")


class Show(StrEnum):
    """Which part of a card a reply shows."""

    CARD = "card"  # name, printing, prices, legality; rules text behind "Details"
    IMAGE = "image"  # [[!name]]
    PRICES = "prices"  # [[$name]]
    LEGALITY = "legality"  # [[#name]]
    DETAILS = "details"  # everything, rules text included: the "Details" button


MODIFIERS = {"!": Show.IMAGE, "$": Show.PRICES, "#": Show.LEGALITY}


@dataclass(frozen=True)
class LookupQuery:
    name: str
    set_code: str | None = None
    show: Show = Show.CARD

    @property
    def key(self) -> tuple[str, str, Show]:
        return (self.name.casefold(), (self.set_code or "").casefold(), self.show)


def parse_lookup(raw: str) -> LookupQuery | None:
    """One bracket's content; None when nothing but modifiers is left of the name.

    A ``|`` part that is not a plausible set code (2-6 letters or digits) is ignored rather
    than turned into a lookup that cannot match.
    """
    text = " ".join(raw.split())
    show = Show.CARD
    if text[:1] in MODIFIERS:
        show, text = MODIFIERS[text[0]], text[1:].strip()
    name, _, set_part = text.partition("|")
    name, set_part = name.strip(), set_part.strip()
    if not name:
        return None
    set_code = set_part.lower() if _SET_CODE.fullmatch(set_part) else None
    return LookupQuery(name, set_code, show)


def bracket_lookups(text: str, limit: int) -> list[LookupQuery]:
    """The distinct ``[[...]]`` lookups in `text`, in order, at most `limit`."""
    out: list[LookupQuery] = []
    for raw in _BRACKETS.findall(text or ""):
        query = parse_lookup(raw)
        if query is not None and query.key not in {q.key for q in out}:
            out.append(query)
    return out[:limit]
