"""The answers the engine gives: plain frozen dataclasses that serialise to JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

Quad = tuple[tuple[float, float], tuple[float, float], tuple[float, float], tuple[float, float]]
"""Corners of a card in original-image pixels, clockwise from the card's top-left."""


MAIN_FORMATS = ("standard", "pioneer", "modern", "legacy", "vintage", "commander", "pauper")
"""The formats a reply shows legality in: what the Scryfall and Penny Dreadful bots show."""

PRICE_KEYS = ("usd", "usd_foil", "eur", "tix")


@dataclass(frozen=True)
class CardDetails:
    """What players ask after the name: prices, legality, type line and rules text.

    Taken from Scryfall's bulk data by `cardsight sync`; a catalog built from a gallery without
    them (the team's scans, generated cards) has no details, and replies simply omit them.
    `prices` maps ``usd``/``usd_foil``/``eur``/``tix`` to Scryfall's decimal strings (absent
    when Scryfall has none); `prices_date` is the day of the bulk file they come from.
    """

    type_line: str | None = None
    mana_cost: str | None = None
    oracle_text: str | None = None
    prices: dict[str, str] = field(default_factory=dict)
    prices_date: str | None = None
    legalities: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> CardDetails | None:
        """Tolerant of missing or malformed fields: details are never worth failing a reply."""
        if not isinstance(data, dict):
            return None

        def text(key: str) -> str | None:
            value = data.get(key)
            return value if isinstance(value, str) and value else None

        def strings(key: str, keys: tuple[str, ...] | None = None) -> dict[str, str]:
            value = data.get(key)
            if not isinstance(value, dict):
                return {}
            return {k: v for k, v in value.items()
                    if isinstance(v, str) and v and (keys is None or k in keys)}

        details = cls(
            type_line=text("type_line"), mana_cost=text("mana_cost"), oracle_text=text("oracle_text"),
            prices=strings("prices", PRICE_KEYS), prices_date=text("prices_date"),
            legalities=strings("legalities"),
        )
        return None if details == cls() else details


@dataclass(frozen=True)
class CardMatch:
    """One gallery entry (a printing's face image) and how close the query came to it."""

    card_id: str
    name: str
    set: str
    set_name: str | None
    collector_number: str
    scryfall_uri: str
    image_uri: str | None
    score: float
    oracle_id: str | None = None
    face: int = 0
    details: CardDetails | None = field(default=None, hash=False)
    """Left out of the hash: its price and legality dicts are not hashable."""

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        if self.details is None:
            del out["details"]
        return out


@dataclass(frozen=True)
class CardAnswer:
    """One card found in a photo.

    `confidence` is calibrated: among answers with confidence c, about c are right.
    `unsure` is true when confidence is under the configured threshold; the caller should
    say "not sure" and show `alternatives` instead of asserting `match`.
    """

    match: CardMatch
    confidence: float
    unsure: bool
    quad: Quad
    alternatives: tuple[CardMatch, ...] = ()
    printing_known: bool = True
    """False for a card named by its title alone (covered by others, `engine.title_answers`):
    `match` is then a representative printing of the name, not a claim about the set."""

    def to_json(self) -> dict[str, Any]:
        m = self.match
        return {
            "name": m.name,
            "scryfall_uri": m.scryfall_uri,
            "set": m.set,
            "set_name": m.set_name,
            "collector_number": m.collector_number,
            "card_id": m.card_id,
            "image_uri": m.image_uri,
            **({"details": m.details.to_json()} if m.details is not None else {}),
            "score": round(m.score, 4),
            "confidence": round(self.confidence, 4),
            "unsure": self.unsure,
            "printing_known": self.printing_known,
            "quad": [[round(x, 1), round(y, 1)] for x, y in self.quad],
            "alternatives": [
                {**a.to_json(), "score": round(a.score, 4)} for a in self.alternatives
            ],
        }


@dataclass(frozen=True)
class Identification:
    """Everything found in one photo. An empty `cards` means no card was found."""

    cards: tuple[CardAnswer, ...]
    image_size: tuple[int, int]
    timings_ms: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "cards": [c.to_json() for c in self.cards],
            "image_size": list(self.image_size),
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }


def match_from_json(data: dict[str, Any]) -> CardMatch:
    """Inverse of `CardMatch.to_json`, for clients of a remote engine."""
    names = CardMatch.__dataclass_fields__
    fields = {k: v for k, v in data.items() if k in names}
    fields["details"] = CardDetails.from_json(data.get("details"))
    return CardMatch(**fields)


def identification_from_json(data: dict[str, Any]) -> Identification:
    """Inverse of `Identification.to_json`, for clients of a remote engine."""
    cards = []
    for c in data["cards"]:
        fields = {k: c.get(k) for k in CardMatch.__dataclass_fields__ if k in c}
        fields["details"] = CardDetails.from_json(c.get("details"))
        cards.append(
            CardAnswer(
                match=CardMatch(**fields),
                confidence=float(c["confidence"]),
                unsure=bool(c["unsure"]),
                quad=tuple(tuple(p) for p in c["quad"]),  # type: ignore[arg-type]
                alternatives=tuple(match_from_json(a) for a in c.get("alternatives", [])),
                printing_known=bool(c.get("printing_known", True)),
            )
        )
    return Identification(
        cards=tuple(cards),
        image_size=tuple(data.get("image_size", (0, 0))),  # type: ignore[arg-type]
        timings_ms=dict(data.get("timings_ms", {})),
    )
