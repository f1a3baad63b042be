"""The platform-independent half of every bot request: admit, download, ask the engine, log.

Both platform adapters funnel through one `Answerer`, which is what makes the limits, the
error wording, the request-id logs and the graceful drain on shutdown identical on Discord
and Telegram.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextlib import asynccontextmanager

from bot import replies
from bot.ratelimit import RequestLimits
from bot.replies import Reply, ReplyKind
from bot.settings import BotSettings
from engine.errors import EngineBusy, ImageError, ImageTooLarge, RecognizerError
from engine.protocol import AsyncRecognizer

log = logging.getLogger("cardsight.bot")

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("cardsight_request_id", default="-")
"""The current request's id; set by `Answerer.tracked` so every log line of a request carries it."""

_BRACKETS = re.compile(r"\[\[([^\[\]\n]{1,120})\]\]")
DOWNLOAD_FAILED = "I couldn't download that image. Please try sending it again."


def bracket_queries(text: str, limit: int) -> list[str]:
    """The distinct ``[[Card Name]]`` queries in `text`, in order, at most `limit`."""
    out: list[str] = []
    for raw in _BRACKETS.findall(text or ""):
        name = " ".join(raw.split())
        if name and name.casefold() not in (q.casefold() for q in out):
            out.append(name)
    return out[:limit]


def is_image_type(content_type: str | None) -> bool:
    """Unknown types pass (the engine decides); a declared non-image type is refused early."""
    return content_type is None or content_type.split(";")[0].strip().lower().startswith("image/")


class Answerer:
    def __init__(self, engine: AsyncRecognizer, settings: BotSettings) -> None:
        self.engine = engine
        self.settings = settings
        self.limits = RequestLimits(settings.cooldown_seconds, settings.guild_requests_per_minute)
        self.closing = False
        self._photos = 0
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @asynccontextmanager
    async def tracked(self, platform: str, what: str) -> AsyncIterator[str]:
        """Scope of one request, reply included: `drain` waits for every open scope."""
        rid = uuid.uuid4().hex[:12]
        token = request_id.set(rid)
        self._in_flight += 1
        self._idle.clear()
        started = time.perf_counter()
        try:
            yield rid
        except Exception:
            log.exception("req=%s platform=%s what=%s failed", rid, platform, what)
            raise
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()
            log.info(
                "req=%s platform=%s what=%s done ms=%.0f",
                rid, platform, what, (time.perf_counter() - started) * 1000,
            )
            request_id.reset(token)

    def refuse_photo(
        self,
        user_key: Hashable,
        group_key: Hashable | None,
        *,
        size: int | None = None,
        content_type: str | None = None,
    ) -> Reply | None:
        """A reply explaining why this photo will not be read, or None to go ahead.

        Checked before any download, so oversized files and rate-limited users cost nothing.
        Only an admitted photo counts against the limits.
        """
        if self.closing:
            return Reply(ReplyKind.ERROR, replies.SHUTTING_DOWN)
        if not is_image_type(content_type):
            return replies.from_error(ImageError(f"content type {content_type}"))
        if size is not None and size > self.settings.max_attachment_bytes:
            return replies.from_error(ImageTooLarge(f"{size} bytes"))
        wait = self.limits.acquire(user_key, group_key)
        if wait > 0:
            log.info("req=%s limited user=%s group=%s wait=%.1f", request_id.get(), user_key, group_key, wait)
            return replies.rate_limited(wait)
        return None

    async def identify(self, download: Callable[[], Awaitable[bytes]]) -> Reply:
        """Download and identify one photo; every failure becomes a friendly reply.

        At most `max_photos_in_flight` photos are downloaded or identified at once: the rest
        get "busy" before their download, the same answer the engine's full queue gives.
        """
        rid = request_id.get()
        if self._photos >= self.settings.max_photos_in_flight:
            log.info("req=%s busy: %d photos in flight", rid, self._photos)
            return replies.from_error(EngineBusy(f"{self._photos} photos in flight"))
        self._photos += 1
        try:
            return await self._identify(download, rid)
        finally:
            self._photos -= 1

    async def _identify(self, download: Callable[[], Awaitable[bytes]], rid: str) -> Reply:
        try:
            data = bytes(await download())
        except Exception as exc:  # the platform library's network/API errors
            log.warning("req=%s download failed: %s", rid, type(exc).__name__)
            return Reply(ReplyKind.ERROR, DOWNLOAD_FAILED)
        if len(data) > self.settings.max_attachment_bytes:
            return replies.from_error(ImageTooLarge(f"{len(data)} bytes"))
        try:
            ident = await self.engine.identify_async(data)
        except RecognizerError as exc:
            log.info("req=%s identify refused code=%s detail=%s", rid, exc.code, exc)
            return replies.from_error(exc)
        except Exception:
            log.exception("req=%s engine failed", rid)
            return replies.from_error(RecognizerError())
        log.info(
            "req=%s identified bytes=%d cards=%d names=%s",
            rid, len(data), len(ident.cards), [c.match.name for c in ident.cards],
        )
        return replies.from_identification(ident, self.settings.max_alternatives, self.settings.decklist_from_cards)

    async def lookup(self, query: str) -> Reply:
        query = " ".join(query.split())[:120]
        if not query:
            return Reply(ReplyKind.ERROR, "Tell me a card name, e.g. /card Lightning Bolt")
        try:
            matches = await self.engine.lookup_async(query, self.settings.max_alternatives + 1)
        except RecognizerError as exc:
            return replies.from_error(exc)
        log.info("req=%s lookup query=%r hits=%d", request_id.get(), query, len(matches))
        return replies.from_lookup(query, matches, self.settings.max_alternatives)

    async def choice(self, card_id: str) -> Reply:
        try:
            return replies.from_choice(await self.engine.card_async(card_id))
        except RecognizerError as exc:
            return replies.from_error(exc)

    async def drain(self, timeout: float | None = None) -> bool:
        """Refuse new photos and wait for open requests; False if some were still running."""
        self.closing = True
        if self._in_flight == 0:
            return True
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            log.warning("shutdown: %d bot request(s) still running after %.0f s", self._in_flight, timeout)
            return False
        return True
