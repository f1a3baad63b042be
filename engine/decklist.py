"""A photo's cards as a decklist: how many of each name, and the text deck sites import.

People photograph a deck spread, a binder page or a pile to learn what is in it, and what they
want back is a list they can paste: Arena, MTGO and Moxfield all import plain lines of
``COUNT NAME`` ("4 Lightning Bolt"). Counting is by name, not printing, as those imports are.
Answers the engine is unsure of are counted (the user can correct a pasted list) and their
number is kept beside each entry so the replies can say which lines to check.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Sequence

from engine.types import CardAnswer


@dataclass(frozen=True)
class DeckEntry:
    count: int
    name: str
    unsure: int = 0
    """How many of `count` were answered "not sure"."""

    @property
    def line(self) -> str:
        """The import line: ``4 Lightning Bolt``."""
        return f"{self.count} {self.name}"


@dataclass(frozen=True)
class Decklist:
    entries: tuple[DeckEntry, ...]

    @classmethod
    def of(cls, answers: Sequence[CardAnswer]) -> Decklist:
        """Counts per name, most copies first, then by name (the order deck sites show)."""
        counts = Counter(a.match.name for a in answers)
        unsure = Counter(a.match.name for a in answers if a.unsure)
        ordered = sorted(counts, key=lambda name: (-counts[name], name.casefold()))
        return cls(tuple(DeckEntry(counts[name], name, unsure[name]) for name in ordered))

    @property
    def cards(self) -> int:
        return sum(e.count for e in self.entries)

    @property
    def unsure(self) -> int:
        return sum(e.unsure for e in self.entries)

    def export(self) -> str:
        """The plain-text list Arena, MTGO and Moxfield import, one ``COUNT NAME`` per line."""
        return "".join(e.line + "\n" for e in self.entries)

    def to_json(self) -> dict[str, Any]:
        return {
            "cards": self.cards,
            "unsure": self.unsure,
            "entries": [{"count": e.count, "name": e.name, "unsure": e.unsure} for e in self.entries],
            "text": self.export(),
        }
