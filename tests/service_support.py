"""Support for the service tests: a small in-memory engine, loopback servers and processes.

The fake engine really decodes its input (so bad bytes give `ImageError` like the real one)
and answers from a tiny catalog, which lets the HTTP layer be tested in milliseconds; the real
engine is exercised in `test_service_real.py`.
"""

from __future__ import annotations

import asyncio
import io
import os
import socket
import subprocess
import sys
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Callable

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from PIL import Image, UnidentifiedImageError

from engine.errors import ImageError, RecognizerError
from engine.types import CardAnswer, CardDetails, CardMatch, Identification

BOLT_DETAILS = CardDetails(
    type_line="Instant", mana_cost="{R}", oracle_text="Lightning Bolt deals 3 damage to any target.",
    prices={"usd": "420.00", "eur": "380.50"}, prices_date="2024-05-01",
    legalities={"modern": "legal", "standard": "not_legal", "vintage": "legal"},
)
"""Only the first card has details: the others stand for a catalog built without them."""

CATALOG = tuple(
    CardMatch(
        card_id=f"id-{i}",
        name=name,
        set=set_code,
        set_name=None,
        collector_number=str(10 + i),
        scryfall_uri=f"https://scryfall.com/card/{set_code}/{10 + i}/x",
        image_uri=None,
        score=0.0,
        details=BOLT_DETAILS if i == 0 else None,
    )
    for i, (name, set_code) in enumerate(
        [("Lightning Bolt", "lea"), ("Llanowar Elves", "lea"), ("Counterspell", "ice"),
         ("Lightning Helix", "rav")]
    )
)


def png_bytes(width: int = 320, height: int = 240, color: tuple[int, int, int] = (40, 90, 160)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buf, format="PNG")
    return buf.getvalue()


class FakeRecognizer:
    """Answers every image with one card outlined in its middle half: ``CATALOG[answer]``."""

    def __init__(self, version: str = "fake-1", *, delay_s: float = 0.0, answer: int = 0, cards: int = 1) -> None:
        self.version = version
        self.delay_s = delay_s
        self.answer = answer
        self.cards = cards
        """More than one: a grid of that many, named ``CATALOG[(answer + i) % 3]`` (a deck spread)."""
        self.fail_with: RecognizerError | None = None
        self.in_flight = 0
        self.calls = 0
        self.closed = False
        self.in_flight_at_close: int | None = None

    async def identify_async(self, data: bytes) -> Identification:
        if self.closed:
            raise AssertionError("identify on a closed engine")
        self.in_flight += 1
        self.calls += 1
        try:
            await asyncio.sleep(self.delay_s)
            if self.fail_with is not None:
                raise self.fail_with
            try:
                width, height = Image.open(io.BytesIO(data)).size
            except (UnidentifiedImageError, OSError) as exc:
                raise ImageError(f"cannot decode: {exc}") from exc
            timings = {"decode": 1.0, "detect": 2.0, "embed": 3.0, "search": 0.5, "total": 6.5}
            if self.cards > 1:
                return Identification(cards=self._spread(width, height), image_size=(width, height), timings_ms=timings)
            quad = ((width * 0.25, height * 0.25), (width * 0.75, height * 0.25),
                    (width * 0.75, height * 0.75), (width * 0.25, height * 0.75))
            match = CATALOG[self.answer]
            answer = CardAnswer(match=match, confidence=0.93, unsure=False, quad=quad,
                                alternatives=tuple(m for m in CATALOG[:3] if m != match))
            return Identification(cards=(answer,), image_size=(width, height), timings_ms=timings)
        finally:
            self.in_flight -= 1

    def _spread(self, width: int, height: int) -> tuple[CardAnswer, ...]:
        cols = 8
        rows = -(-self.cards // cols)
        w, h = width / cols, height / rows
        answers = []
        for i in range(self.cards):
            x, y = (i % cols) * w, (i // cols) * h
            quad = ((x + 2, y + 2), (x + w - 2, y + 2), (x + w - 2, y + h - 2), (x + 2, y + h - 2))
            match = CATALOG[(self.answer + i) % 3]
            unsure = i == self.cards - 1
            answers.append(CardAnswer(match=match, confidence=0.4 if unsure else 0.9, unsure=unsure, quad=quad))
        return tuple(answers)

    async def lookup_async(self, query: str, limit: int = 5, set_code: str | None = None) -> list[CardMatch]:
        return [m for m in CATALOG if query.lower() in m.name.lower()
                and (set_code is None or m.set == set_code)][:limit]

    async def card_async(self, card_id: str) -> CardMatch | None:
        return next((m for m in CATALOG if m.card_id == card_id), None)

    async def explain_async(self, data: bytes, card_id: str) -> bytes:
        """A plain 160×224 PNG, white, for the card ids of CATALOG (the page swaps it in)."""
        if not any(m.card_id == card_id for m in CATALOG):
            raise RecognizerError(f"no card matched {card_id}", user_message="No card in this photo matched that card.")
        return png_bytes(160, 224, (255, 255, 255))

    def info(self) -> dict[str, Any]:
        return {"model_version": self.version, "index_version": f"{self.version}-index",
                "gallery_size": len(CATALOG), "queue_depth": self.in_flight}

    def close(self) -> None:
        self.in_flight_at_close = self.in_flight
        self.closed = True


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[TestClient]:
    """The app on a loopback port for the duration of the block, with a client for it."""
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


REPO = Path(__file__).resolve().parent.parent
# The real CLI entry point, restricted to `serve` so this test does not depend on the other
# sub-commands being importable.
CLI = "import sys, cardsight.cli as cli; cli.COMMANDS = ('serve',); sys.exit(cli.main(sys.argv[1:]))"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def spawn_cli(args: list[str], tmp_path: Path, **env: str) -> subprocess.Popen[str]:
    """A `cardsight` process that sees only the CARDSIGHT_* variables given here and no
    cardsight.toml (it runs in ``tmp_path``), so the developer's own setup cannot leak in."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CARDSIGHT_")}
    clean.update(PYTHONPATH=str(REPO), CARDSIGHT_SERVICE_ACCESS_LOG="false", **env)
    return subprocess.Popen([sys.executable, "-c", CLI, *args], cwd=tmp_path, env=clean,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


async def wait_for(
    session: aiohttp.ClientSession, url: str, predicate: Callable[[int, dict], bool], timeout: float = 30.0
) -> dict:
    """Poll ``url`` until ``predicate(status, json)`` holds; the body that satisfied it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            async with session.get(url) as resp:
                body = await resp.json()
                if predicate(resp.status, body):
                    return body
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError(f"{url} never satisfied the condition within {timeout}s")
