"""The platform-independent half of every bot request: admit, download, ask the engine, log.

Both platform adapters funnel through one `Answerer`, which is what makes the limits, the
error wording, the request-id logs and the graceful drain on shutdown identical on Discord
and Telegram.
"""

from __future__ import annotations

import asyncio
import dataclasses
import contextvars
import logging
import secrets
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextlib import asynccontextmanager

from bot import replies
from bot.feedback import FeedbackStore, Scope, crop_card
from bot.lookups import LookupQuery, Show
from bot.ratelimit import RequestLimits
from bot.replies import Explanation, Reply, ReplyKind
from bot.settings import BotSettings
from engine.errors import EngineBusy, ImageError, ImageTooLarge, RecognizerError
from engine.protocol import AsyncRecognizer
from engine.types import Quad

log = logging.getLogger("cardsight.bot")

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("cardsight_request_id", default="-")
"""The current request's id; set by `Answerer.tracked` so every log line of a request carries it."""

DOWNLOAD_FAILED = "I couldn't download that image. Please try sending it again."


def is_image_type(content_type: str | None) -> bool:
    """Unknown types pass (the engine decides); a declared non-image type is refused early."""
    return content_type is None or content_type.split(";")[0].strip().lower().startswith("image/")


class PhotoHold:
    """Photos kept in memory (never on disk) so that the "Explain" button under their answer can
    send them to the engine again: the engine is stateless (`Recognizer.explain` re-analyses the
    photo) and the chat platforms do not hand the photo to a button click.

    Bounded like the feedback crops (`bot.feedback`): by age, by count and, because a full-size
    phone photo is several MB, by total bytes; the oldest go first. Used from the event loop only.
    """

    def __init__(self, minutes: float, max_photos: int, max_bytes: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = minutes * 60
        self.max_photos = max_photos
        self.max_bytes = max_bytes
        self._clock = clock
        self._held: OrderedDict[str, tuple[bytes, float]] = OrderedDict()
        self._bytes = 0

    def hold(self, data: bytes) -> str:
        """Keep `data`; returns the token the button carries."""
        token = secrets.token_hex(8)
        self._held[token] = (data, self._clock())
        self._bytes += len(data)
        self._drop_stale()
        while self._held and (len(self._held) > self.max_photos or self._bytes > self.max_bytes):
            self._drop(next(iter(self._held)))
        return token

    def get(self, token: str) -> bytes | None:
        """The held photo, or None once it expired or was pushed out."""
        self._drop_stale()
        held = self._held.get(token)
        return None if held is None else held[0]

    def _drop_stale(self) -> None:
        oldest = self._clock() - self.seconds
        while self._held and next(iter(self._held.values()))[1] < oldest:
            self._drop(next(iter(self._held)))

    def _drop(self, token: str) -> None:
        data, _ = self._held.pop(token)
        self._bytes -= len(data)


class Answerer:
    def __init__(self, engine: AsyncRecognizer, settings: BotSettings, feedback: FeedbackStore | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self.feedback = feedback
        self.photos: PhotoHold | None = None
        if settings.explain_minutes > 0:
            self.photos = PhotoHold(settings.explain_minutes, settings.explain_max_photos,
                                    int(settings.explain_max_megabytes * 1_000_000))
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

    async def identify(self, download: Callable[[], Awaitable[bytes]], scope: Scope | None = None) -> Reply:
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
            return await self._identify(download, rid, scope)
        finally:
            self._photos -= 1

    async def _identify(self, download: Callable[[], Awaitable[bytes]], rid: str, scope: Scope | None) -> Reply:
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
        reply = replies.from_identification(ident, self.settings.max_alternatives, self.settings.decklist_from_cards)
        if self.photos is not None and reply.kind in (ReplyKind.FOUND, ReplyKind.UNSURE):
            reply = dataclasses.replace(reply, explain=self.photos.hold(data))
        if scope is not None and self.feedback is not None and self.feedback.consented(scope):
            reply = await self._hold_for_feedback(reply, data, ident.cards[0].quad if ident.cards else None, scope)
        return reply

    async def _hold_for_feedback(self, reply: Reply, data: bytes, quad: Quad | None, scope: Scope) -> Reply:
        """Hold the card's crop for its poster's pick; a single card only (a pick under a list
        of several would not say which card it is about)."""
        if self.feedback is None or quad is None or reply.kind not in (ReplyKind.FOUND, ReplyKind.UNSURE):
            return reply
        offered = {c.card_id: c.name for c in reply.cards}
        offered.update({c.card_id: c.name for c in reply.choices})
        try:
            crop = await asyncio.to_thread(crop_card, data, quad)
        except Exception:  # a crop that fails must not cost the user the answer
            log.exception("req=%s feedback crop failed", request_id.get())
            return reply
        return dataclasses.replace(reply, feedback=self.feedback.hold(crop, offered, scope))

    async def pick(self, token: str, card_id: str, platform: str, user_id: int) -> bool:
        """Record a "Right"/alternative click as a label; False when it is not recorded."""
        if self.feedback is None:
            return False
        return await asyncio.to_thread(self.feedback.record, token, card_id, platform, user_id)

    async def forget(self, platform: str, user_id: int) -> str:
        """The `/forget` command: delete the user's records, and say what happened."""
        if self.feedback is None:
            return "I keep no photos here, so there is nothing of yours to delete."
        count = await asyncio.to_thread(self.feedback.forget, platform, user_id)
        log.info("req=%s feedback forget platform=%s records=%d", request_id.get(), platform, count)
        return f"Deleted {count} card photo(s) you helped me learn from." if count else "I keep no card photos of yours."

    async def explain(self, token: str, card_id: str, user_key: Hashable, group_key: Hashable | None) -> Explanation:
        """The "Explain" button: the held photo's overlay against `card_id`, or why not.

        It costs the engine about what an identification costs, so it is admitted like a photo
        (cooldown, group budget, photos in flight)."""
        data = self.photos.get(token) if self.photos is not None else None
        if data is None:
            return Explanation(replies.EXPLAIN_EXPIRED)
        refusal = self.refuse_photo(user_key, group_key)
        if refusal is not None:
            return Explanation(refusal.headline)
        rid = request_id.get()
        if self._photos >= self.settings.max_photos_in_flight:
            return Explanation(EngineBusy.user_message)
        self._photos += 1
        try:
            png = await self.engine.explain_async(data, card_id)
            match = await self.engine.card_async(card_id)
        except RecognizerError as exc:
            log.info("req=%s explain refused code=%s detail=%s", rid, exc.code, exc)
            return Explanation(exc.user_message)
        except Exception:
            log.exception("req=%s explain failed", rid)
            return Explanation(RecognizerError.user_message)
        finally:
            self._photos -= 1
        log.info("req=%s explained card=%s png_bytes=%d", rid, card_id, len(png))
        return replies.explained(png, match.name if match else "that card")

    async def lookup(self, query: str | LookupQuery) -> Reply:
        """A name lookup; a `LookupQuery` from ``[[...]]`` may ask for a set's printing."""
        lookup = query if isinstance(query, LookupQuery) else LookupQuery(query)
        name = " ".join(lookup.name.split())[:120]
        if not name:
            return Reply(ReplyKind.ERROR, "Tell me a card name, e.g. /card Lightning Bolt")
        limit = self.settings.max_alternatives + 1
        try:
            matches = await self.engine.lookup_async(name, limit, set_code=lookup.set_code)
        except RecognizerError as exc:
            return replies.from_error(exc)
        log.info("req=%s lookup query=%r set=%s hits=%d", request_id.get(), name, lookup.set_code, len(matches))
        return replies.from_lookup(lookup, matches, self.settings.max_alternatives)

    async def choice(self, card_id: str, show: Show = Show.CARD) -> Reply:
        """The catalog entry a button names; `Show.DETAILS` for the "Details" button."""
        try:
            return replies.from_choice(await self.engine.card_async(card_id), show)
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
