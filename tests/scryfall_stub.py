"""A local stand-in for the parts of Scryfall that `cardsight sync` uses, with faults on demand.

It serves ``/api/bulk-data``, the bulk file in both published forms (the JSON array sent with
``Content-Encoding: gzip``, and gzipped JSON Lines), and card images, from an in-memory card
list that tests mutate between runs (`publish` a new bulk file, `bump_image`, add/remove
cards). Every request is logged with its server-side arrival time and headers, so tests can
check rate limits and etiquette from the server's point of view.

Faults: `inject(path, *kinds)` queues faults for the next requests to a path ("429", "500",
"drop" = connection closed half-way through the body, "slow" = answer after `slow_s`);
`corrupt` holds image paths that always serve broken bytes; `image_delay_s` slows every image.

Run as ``python -m tests.scryfall_stub --cards 10000`` for the benchmark: it prints
``READY <api base url>`` and serves until killed.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import hashlib
import io
import json
import random
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web
from PIL import Image

from training.sync.settings import SyncSettings

IMAGE_SIZES = ("small", "normal", "large", "png", "art_crop", "border_crop")
DROP = web.RequestKey("drop", bool)


@dataclass
class StubCard:
    id: str
    name: str
    set: str
    collector_number: str
    face_names: tuple[str, ...] = ()  # two or more: a double-faced card, one image per face
    lang: str = "en"
    layout: str = "normal"
    set_type: str = "expansion"
    digital: bool = False
    image_status: str = "highres_scan"
    versions: dict[int, int] = field(default_factory=dict)  # face -> image version


@dataclass(frozen=True)
class LoggedRequest:
    at: float  # time.monotonic() when the server saw the request
    path: str
    query: str
    user_agent: str | None
    accept: str | None
    status: int


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def generate_cards(count: int, *, seed: int = 0, double_faced_every: int = 5) -> list[StubCard]:
    """`count` made-up cards over a few sets; every `double_faced_every`-th one is a transform DFC."""
    rng = random.Random(seed)
    cards = []
    for index in range(count):
        set_code = f"s{index // 100:02d}"
        if double_faced_every and index % double_faced_every == double_faced_every - 1:
            front, back = f"Card {index} Front", f"Card {index} Back"
            cards.append(StubCard(_uuid(rng), f"{front} // {back}", set_code, str(index % 100 + 1),
                                  face_names=(front, back), layout="transform"))
        else:
            cards.append(StubCard(_uuid(rng), f"Card {index}", set_code, str(index % 100 + 1)))
    return cards


def render_image(key: str, size: tuple[int, int] = (63, 88)) -> bytes:
    """A small JPEG whose colours depend on `key`, so each face and version has its own bytes."""
    digest = hashlib.sha1(key.encode()).digest()
    image = Image.new("RGB", size, tuple(digest[:3]))
    image.paste(tuple(digest[3:6]), (size[0] // 4, size[1] // 4, size[0] * 3 // 4, size[1] * 3 // 4))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80)
    return out.getvalue()


class ScryfallStub:
    def __init__(
        self,
        cards: list[StubCard],
        *,
        image_source: Callable[[StubCard, int, int], bytes] | None = None,
        retry_after: str = "1",
        slow_s: float = 2.0,
    ) -> None:
        self.cards = cards
        self.image_source = image_source or (lambda card, face, version: render_image(f"{card.id}/{face}/{version}"))
        self.retry_after = retry_after
        self.slow_s = slow_s
        self.image_delay_s = 0.0
        self.extra_records: list[object] = []  # appended verbatim to the bulk file (malformed records)
        self.extra_lines: list[str] = []  # raw lines appended to the JSON Lines form only
        self.corrupt: set[str] = set()
        self.requests: list[LoggedRequest] = []
        self.stamp = 1
        self.offer_jsonl = True
        self._faults: dict[str, deque[str]] = defaultdict(deque)
        self._bulk_cache: dict[tuple[int, str], bytes] = {}
        self._by_id: dict[str, StubCard] = {}
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    # -- control -------------------------------------------------------------------------

    @property
    def api_base_url(self) -> str:
        return f"{self.base_url}/api"

    def publish(self) -> None:
        """A new daily bulk file: new ``updated_at`` and download URLs, as Scryfall does."""
        self.stamp += 1
        self._bulk_cache.clear()

    def bump_image(self, card: StubCard, face: int = 0) -> None:
        """Scryfall replaced the scan: new bytes and a new ``?`` timestamp in the image URL."""
        card.versions[face] = card.versions.get(face, 0) + 1

    def inject(self, path: str, *kinds: str) -> None:
        self._faults[path].extend(kinds)

    def image_path(self, card: StubCard, face: int, size: str = "normal") -> str:
        return f"/img/{size}/{card.id}-{face}.{'png' if size == 'png' else 'jpg'}"

    def requests_to(self, prefix: str) -> list[LoggedRequest]:
        return [r for r in self.requests if r.path.startswith(prefix)]

    # -- Scryfall-shaped data ------------------------------------------------------------

    def _image_uris(self, card: StubCard, face: int) -> dict[str, str]:
        version = card.versions.get(face, 0)
        return {s: f"{self.base_url}{self.image_path(card, face, s)}?{1700000000 + version}" for s in IMAGE_SIZES}

    def card_json(self, card: StubCard) -> dict[str, object]:
        slug = card.name.lower().replace(" ", "-").replace("/", "")
        record: dict[str, object] = {
            "object": "card", "id": card.id, "oracle_id": str(uuid.uuid5(uuid.NAMESPACE_URL, card.name)),
            "name": card.name, "lang": card.lang, "released_at": "2024-01-01",
            "uri": f"{self.api_base_url}/cards/{card.id}",
            "scryfall_uri": f"https://scryfall.com/card/{card.set}/{card.collector_number}/{slug}?utm_source=api",
            "layout": card.layout, "highres_image": True, "image_status": card.image_status,
            "set": card.set, "set_name": f"Set {card.set.upper()}", "set_type": card.set_type,
            "collector_number": card.collector_number, "digital": card.digital, "rarity": "common",
            "prices": {"usd": "0.10", "eur": None, "tix": None},
            "legalities": {"standard": "not_legal", "vintage": "legal"},
        }
        rules = {"type_line": "Instant", "mana_cost": "{R}", "oracle_text": f"{card.name} deals 3 damage to any target."}
        if card.face_names:
            record["card_faces"] = [
                {"object": "card_face", "name": name, "illustration_id": str(uuid.uuid5(uuid.NAMESPACE_OID, f"{card.id}{i}")),
                 "image_uris": self._image_uris(card, i), "type_line": f"Creature — Face {i}",
                 "mana_cost": "{U}" if i == 0 else "", "oracle_text": f"{name} rules."}
                for i, name in enumerate(card.face_names)
            ]
        else:
            record.update(rules)
            record["illustration_id"] = str(uuid.uuid5(uuid.NAMESPACE_OID, card.id))
            record["image_uris"] = self._image_uris(card, 0)
        return record

    def _bulk_body(self, form: str) -> bytes:
        key = (self.stamp, form)
        if key not in self._bulk_cache:
            records = [self.card_json(c) for c in self.cards] + list(self.extra_records)
            if form == "json":
                text = json.dumps(records)
            else:
                text = "\n".join([json.dumps(r) for r in records] + self.extra_lines) + "\n"
            self._bulk_cache[key] = gzip.compress(text.encode(), compresslevel=1)
        return self._bulk_cache[key]

    def _bulk_object(self, bulk_type: str) -> dict[str, object]:
        stem = f"{self.base_url}/bulk/{bulk_type}-{self.stamp:08d}"
        item: dict[str, object] = {
            "object": "bulk_data", "id": str(uuid.uuid5(uuid.NAMESPACE_URL, bulk_type)), "type": bulk_type,
            "updated_at": f"2024-05-{self.stamp % 28 + 1:02d}T09:{self.stamp // 28 % 60:02d}:00.000+00:00",
            "uri": f"{self.api_base_url}/bulk-data/{bulk_type}", "name": bulk_type.replace("_", " ").title(),
            "description": "stand-in", "size": len(self._bulk_body("json")) * 6,
            "download_uri": f"{stem}.json", "content_type": "application/json", "content_encoding": "gzip",
        }
        if self.offer_jsonl:
            item["jsonl_download_uri"] = f"{stem}.jsonl.gz"
        return item

    # -- HTTP ----------------------------------------------------------------------------

    @web.middleware
    async def _log_and_fault(self, request: web.Request, handler: Callable) -> web.StreamResponse:
        arrived, status = time.monotonic(), 200
        try:
            fault = self._faults[request.path].popleft() if self._faults.get(request.path) else None
            if fault == "429":
                status = 429
                return web.Response(status=429, headers={"Retry-After": self.retry_after}, text="slow down")
            if fault == "500":
                status = 500
                return web.Response(status=500, text="oops")
            if fault == "slow":
                await asyncio.sleep(self.slow_s)
            request[DROP] = fault == "drop"
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        except asyncio.CancelledError:
            status = 499  # the client went away (e.g. gave up on a "slow" answer)
            raise
        finally:
            if request.get(DROP):
                status = 0  # body cut off half-way
            self.requests.append(LoggedRequest(
                arrived, request.path, request.query_string,
                request.headers.get("User-Agent"), request.headers.get("Accept"), status,
            ))

    async def _send(self, request: web.Request, body: bytes, content_type: str, **headers: str) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": content_type, **headers})
        response.content_length = len(body)
        await response.prepare(request)
        if request.get(DROP):
            await response.write(body[: len(body) // 2])
            assert request.transport is not None
            request.transport.close()
            return response
        if self.image_delay_s and request.path.startswith("/img/"):
            half = len(body) // 2
            await response.write(body[:half])
            await asyncio.sleep(self.image_delay_s)
            await response.write(body[half:])
        else:
            await response.write(body)
        await response.write_eof()
        return response

    async def _bulk_data(self, request: web.Request) -> web.Response:
        types = ("oracle_cards", "unique_artwork", "default_cards", "all_cards")
        return web.json_response({"object": "list", "has_more": False, "data": [self._bulk_object(t) for t in types]})

    async def _bulk_file(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name.endswith(f"-{self.stamp:08d}.json"):
            # Scryfall sends the JSON array gzip-encoded on the wire.
            return await self._send(request, self._bulk_body("json"), "application/json", **{"Content-Encoding": "gzip"})
        if name.endswith(f"-{self.stamp:08d}.jsonl.gz") and self.offer_jsonl:
            return await self._send(request, self._bulk_body("jsonl"), "application/gzip")
        raise web.HTTPNotFound()

    async def _image(self, request: web.Request) -> web.StreamResponse:
        stem = request.match_info["stem"]
        card_id, _, face_text = stem.rpartition("-")
        card = self._by_id.get(card_id)
        if card is None:  # cards were added since the index was built
            self._by_id = {c.id: c for c in self.cards}
            card = self._by_id.get(card_id)
        if card is None or not face_text.isdigit():
            raise web.HTTPNotFound()
        face = int(face_text)
        if request.path in self.corrupt:
            body = b"\xff\xd8\xff\xe0 this is not really a JPEG" + bytes(200)
        else:
            body = self.image_source(card, face, card.versions.get(face, 0))
        size = request.match_info["size"]
        return await self._send(request, body, "image/png" if size == "png" else "image/jpeg")

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> ScryfallStub:
        app = web.Application(middlewares=[self._log_and_fault])
        app.router.add_get("/api/bulk-data", self._bulk_data)
        app.router.add_get("/bulk/{name}", self._bulk_file)
        app.router.add_get("/img/{size}/{stem}.{ext}", self._image)
        # handler_cancellation: a client that gave up on a "slow" answer just ends its handler.
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_port = self._runner.addresses[0][1]
        self.base_url = f"http://{host}:{bound_port}"
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> ScryfallStub:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def sync_settings(stub: ScryfallStub, gallery: Path, **overrides: object) -> SyncSettings:
    """Sync settings aimed at `stub`, with retries and timeouts short enough for tests."""
    values: dict[str, object] = dict(
        api_base_url=stub.api_base_url, gallery_dir=gallery, retries=2, backoff_base_s=0.01,
        backoff_max_s=0.05, read_timeout_s=2.0, connect_timeout_s=2.0, image_concurrency=4,
    )
    values.update(overrides)
    return SyncSettings(**values)  # type: ignore[arg-type]


def cards_from_shared_data(data_dir: Path, count: int) -> tuple[list[StubCard], Callable[[StubCard, int, int], bytes]]:
    """`count` cards named after the real cards in `data_dir`, each image a real scan.

    Real ids are kept for the first pass over the list; repeats and rows without one get fresh ids.
    """
    rows = [json.loads(line) for line in (data_dir / "cards.jsonl").read_text().splitlines() if line.strip()]
    rng = random.Random(0)
    cards, scans = [], {}
    for index in range(count):
        row = rows[index % len(rows)]
        card_id = row.get("id") if index < len(rows) else None
        card_id = card_id or _uuid(rng)
        cards.append(StubCard(card_id, row["name"], row["set"], row["collector_number"]))
        scans[card_id] = data_dir / row["image"]
    return cards, lambda card, face, version: scans[card.id].read_bytes()


async def _serve(count: int, data_dir: Path | None, port: int) -> None:
    if data_dir is not None and (data_dir / "cards.jsonl").is_file():
        cards, source = cards_from_shared_data(data_dir, count)
        stub = ScryfallStub(cards, image_source=source)
    else:
        stub = ScryfallStub(generate_cards(count), image_source=lambda c, f, v: render_image(f"{c.id}/{f}/{v}", (488, 680)))
    await stub.start(port=port)
    stub._bulk_body("json")  # build the bulk file before announcing readiness
    print(f"READY {stub.api_base_url}", flush=True)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve a local Scryfall stand-in until killed.")
    parser.add_argument("--cards", type=int, default=1000)
    parser.add_argument("--data", type=Path, help="real data folder (cards.jsonl + scans/) to build cards from")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    asyncio.run(_serve(args.cards, args.data, args.port))


if __name__ == "__main__":
    main()
