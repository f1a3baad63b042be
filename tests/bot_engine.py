"""A small stand-in `AsyncRecognizer` for the bot tests, plus generated card photos.

The bots depend only on `engine.protocol.AsyncRecognizer`. This engine decodes photos with
Pillow in a worker thread (so bad bytes fail the way the real engine fails, off the loop),
answers from a table of photos it was taught, and does fuzzy name lookups over a tiny catalog.
"""

from __future__ import annotations

import asyncio
import difflib
import hashlib
import io
from typing import Any

from PIL import Image, ImageDraw, UnidentifiedImageError

from engine.errors import ImageError, RecognizerError
from engine.types import CardAnswer, CardDetails, CardMatch, Identification


BOLT_LEGALITY = {"standard": "not_legal", "pioneer": "not_legal", "modern": "legal", "legacy": "legal",
                 "vintage": "legal", "commander": "legal", "pauper": "legal", "oathbreaker": "legal"}
BOLT_RULES = {"type_line": "Instant", "mana_cost": "{R}", "oracle_text": "Lightning Bolt deals 3 damage to any target."}
BOLT_DETAILS = CardDetails(**BOLT_RULES, prices={"usd": "420.00", "eur": "380.50", "tix": "1.02"},
                           prices_date="2024-05-01", legalities=BOLT_LEGALITY)
"""Lightning Bolt (LEA) has every detail; Counterspell only legality, the others none."""


def catalog_entry(card_id: str, name: str, set_code: str, number: str, score: float = 0.9,
                  details: CardDetails | None = None) -> CardMatch:
    slug = name.lower().replace(" ", "-")
    return CardMatch(
        card_id=card_id,
        name=name,
        set=set_code,
        set_name=f"Set {set_code.upper()}",
        collector_number=number,
        scryfall_uri=f"https://scryfall.com/card/{set_code}/{number}/{slug}",
        image_uri=f"https://cards.scryfall.io/normal/front/{card_id}.jpg",
        score=score,
        details=details,
    )


CATALOG = (
    catalog_entry("0a1b2c3d-0000-4000-8000-000000000001", "Lightning Bolt", "lea", "161", details=BOLT_DETAILS),
    catalog_entry("0a1b2c3d-0000-4000-8000-000000000002", "Lightning Bolt", "m10", "146",
                  details=CardDetails(**BOLT_RULES, prices={"usd": "2.10", "usd_foil": "15.00"},
                                      prices_date="2024-05-01", legalities=BOLT_LEGALITY)),
    catalog_entry("0a1b2c3d-0000-4000-8000-000000000003", "Lightning Helix", "rav", "213"),
    catalog_entry("0a1b2c3d-0000-4000-8000-000000000004", "Counterspell", "lea", "54",
                  details=CardDetails(legalities={"standard": "not_legal", "modern": "not_legal",
                                                  "legacy": "legal", "vintage": "legal", "pauper": "legal"})),
    catalog_entry("0a1b2c3d-0000-4000-8000-000000000005", "Llanowar Elves", "lea", "210"),
)


def card_photo(name: str, seed: int = 0, size: tuple[int, int] = (300, 400)) -> bytes:
    """A JPEG of a plain generated card (frame colour from `seed`, the name in the title bar)."""
    frame = ((seed * 67) % 200 + 40, (seed * 131) % 200 + 40, (seed * 29) % 200 + 40)
    image = Image.new("RGB", size, (120, 110, 100))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((30, 30, size[0] - 30, size[1] - 30), radius=12, fill=(15, 15, 15))
    draw.rectangle((42, 42, size[0] - 42, size[1] - 42), fill=frame)
    draw.rectangle((50, 50, size[0] - 50, 75), fill=(230, 225, 210))
    draw.text((56, 56), name, fill=(0, 0, 0))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def _key(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class FakeEngine:
    """Answers photos it was taught; `delay` simulates model time spent off the event loop.

    While `gate` is set to an unset event, every call waits on it: a test can then see how many
    photos the bot has in flight at once (`in_flight`) before letting them finish.
    """

    def __init__(self, catalog: tuple[CardMatch, ...] = CATALOG, delay: float = 0.0) -> None:
        self.catalog = catalog
        self.delay = delay
        self.calls = 0
        self.in_flight = 0
        self.gate: asyncio.Event | None = None
        self._answers: dict[str, tuple[CardAnswer, ...]] = {}
        self._errors: dict[str, RecognizerError] = {}
        self.explained: list[tuple[bytes, str]] = []

    def teach(self, photo: bytes, *answers: CardAnswer) -> bytes:
        self._answers[_key(photo)] = answers
        return photo

    def fail_on(self, photo: bytes, error: RecognizerError) -> bytes:
        self._errors[_key(photo)] = error
        return photo

    async def identify_async(self, data: bytes) -> Identification:
        self.calls += 1
        self.in_flight += 1
        try:
            size = await asyncio.to_thread(_decode_size, data)
            if self.delay:
                await asyncio.sleep(self.delay)
            if self.gate is not None:
                await self.gate.wait()
        finally:
            self.in_flight -= 1
        key = _key(data)
        if key in self._errors:
            raise self._errors[key]
        return Identification(cards=self._answers.get(key, ()), image_size=size)

    async def lookup_async(self, query: str, limit: int = 5, set_code: str | None = None) -> list[CardMatch]:
        names = sorted({m.name for m in self.catalog})
        close = difflib.get_close_matches(query, names, n=limit, cutoff=0.5)
        close += [n for n in names if query.lower() in n.lower() and n not in close]
        found = [m for name in close for m in self.catalog if m.name == name]
        if set_code is not None:  # the best name's printing in that set, as the catalog does
            found = [m for m in found if m.name == found[0].name and m.set == set_code]
        return found[:limit]

    async def card_async(self, card_id: str) -> CardMatch | None:
        return next((m for m in self.catalog if m.card_id == card_id), None)

    async def explain_async(self, data: bytes, card_id: str) -> bytes:
        """A small green PNG for a card the photo was taught to match (as best or alternative),
        the real engine's refusal otherwise; `explained` records what it was asked."""
        self.explained.append((data, card_id))
        answers = self._answers.get(_key(data), ())
        if not any(m.card_id == card_id for a in answers for m in (a.match, *a.alternatives)):
            raise RecognizerError(f"no card matched {card_id}", user_message="No card in this photo matched that card.")
        return await asyncio.to_thread(_png, (40, 200, 70))

    def info(self) -> dict[str, Any]:
        return {"engine": "fake", "gallery_size": len(self.catalog)}


def _png(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (61, 85), colour).save(out, "PNG")
    return out.getvalue()


def _decode_size(data: bytes) -> tuple[int, int]:
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            return image.size
    except (UnidentifiedImageError, OSError) as exc:
        raise ImageError(f"not an image: {exc}") from None


def answer(match: CardMatch, confidence: float, *alternatives: CardMatch, unsure: bool = False) -> CardAnswer:
    quad = ((0.0, 0.0), (300.0, 0.0), (300.0, 400.0), (0.0, 400.0))
    return CardAnswer(match=match, confidence=confidence, unsure=unsure, quad=quad, alternatives=alternatives)


def deck_answers() -> tuple[CardAnswer, ...]:
    """Nine cards of a binder page: 4 Lightning Bolt (two printings), 2 Counterspell,
    2 Llanowar Elves and a Lightning Helix the engine is unsure of."""
    bolt, bolt_m10, helix, counterspell, elves = CATALOG
    matches = (bolt, elves, bolt_m10, counterspell, bolt, helix, elves, bolt_m10, counterspell)
    return tuple(answer(m, 0.45 if m is helix else 0.9, unsure=m is helix) for m in matches)


DECK_TEXT = "4 Lightning Bolt\n2 Counterspell\n2 Llanowar Elves\n1 Lightning Helix\n"


def long_deck_answers(count: int = 64) -> tuple[CardAnswer, ...]:
    """`count` cards of distinct, very long names: a decklist too long for one message."""
    return tuple(
        answer(catalog_entry(f"0a1b2c3d-0000-4000-8000-{i:012d}", f"Card {i:02d} " + "with a very long name " * 3,
                             "tst", str(i)), 0.9)
        for i in range(count)
    )
