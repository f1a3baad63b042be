"""An aiohttp client that keeps to Scryfall's published etiquette.

Scryfall asks for an accurate User-Agent and an Accept header on every request, at most
10 requests a second to api.scryfall.com, and a pause whenever it answers 429 (ignoring 429s
gets an application banned). Its file hosts (bulk files, images) have no rate limit. So each
request goes through a *lane*: the API lane spaces request starts by ``1/api_rate_per_s``;
the file lane only bounds concurrency (the caller's worker count). Either lane pauses as a
whole when the server answers 429, for as long as Retry-After says.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Any, TypeVar

import aiohttp

from training.sync.errors import HttpFailure
from training.sync.settings import SyncSettings

log = logging.getLogger(__name__)

T = TypeVar("T")

ACCEPT_JSON = "application/json"
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class BadBody(Exception):
    """Raised by a body consumer when the bytes are unusable (truncated, not an image): retried."""


class Lane:
    """Serialises request starts: a minimum spacing, and a shared pause after a 429."""

    def __init__(self, name: str, min_interval_s: float) -> None:
        self.name = name
        self._interval = min_interval_s
        self._next_start = 0.0
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    async def turn(self) -> None:
        """Wait until this lane may start one more request, and book that start."""
        async with self._lock:
            while (wait := max(self._next_start, self._paused_until) - time.monotonic()) > 0:
                await asyncio.sleep(wait)
            self._next_start = time.monotonic() + self._interval


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


class PoliteClient:
    """One aiohttp session for a whole sync; use as ``async with PoliteClient(settings)``."""

    def __init__(self, settings: SyncSettings) -> None:
        self._settings = settings
        self._api_prefix = settings.api_base_url.rstrip("/") + "/"
        self.api_lane = Lane("api", 1.0 / settings.api_rate_per_s)
        self.file_lane = Lane("files", 0.0)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> PoliteClient:
        s = self._settings
        self._session = aiohttp.ClientSession(
            headers={"User-Agent": s.user_agent},
            timeout=aiohttp.ClientTimeout(
                total=None, connect=s.connect_timeout_s, sock_connect=s.connect_timeout_s,
                sock_read=s.read_timeout_s,
            ),
            connector=aiohttp.TCPConnector(limit=s.image_concurrency + 2),
            raise_for_status=False,
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def lane_for(self, url: str) -> Lane:
        return self.api_lane if (url.rstrip("/") + "/").startswith(self._api_prefix) else self.file_lane

    def api_url(self, path: str) -> str:
        return self._api_prefix + path.lstrip("/")

    async def get_json(self, url: str) -> Any:
        async def consume(resp: aiohttp.ClientResponse) -> Any:
            try:
                return await resp.json(content_type=None)
            except ValueError as exc:
                raise BadBody(f"not JSON: {exc}") from None

        return await self.fetch(url, accept=ACCEPT_JSON, consume=consume)

    async def fetch(
        self,
        url: str,
        *,
        accept: str,
        consume: Callable[[aiohttp.ClientResponse], Awaitable[T]],
        headers: dict[str, str] | None = None,
        auto_decompress: bool = True,
    ) -> T:
        """GET `url` and hand a 200 response to `consume`, retrying what is worth retrying.

        Retried: connection errors, timeouts, bodies cut short, `BadBody` from `consume`, and
        statuses 408/429/5xx. A 429's Retry-After pauses the whole lane; other retries back off
        exponentially with jitter. Any other status fails at once with `HttpFailure`.
        """
        assert self._session is not None, "use PoliteClient as an async context manager"
        s = self._settings
        lane = self.lane_for(url)
        request_headers = {"Accept": accept, **(headers or {})}
        last_reason = "no attempt made"
        for attempt in range(s.retries + 1):
            await lane.turn()
            try:
                async with self._session.get(
                    url, headers=request_headers, auto_decompress=auto_decompress, allow_redirects=True
                ) as resp:
                    if resp.status == 200:
                        return await consume(resp)
                    last_reason = f"HTTP {resp.status}"
                    if resp.status not in RETRY_STATUSES:
                        raise HttpFailure(url, last_reason)
                    if resp.status == 429:
                        self._honour_retry_after(url, lane, resp.headers.get("Retry-After"), attempt)
                        continue
            except (aiohttp.ClientError, asyncio.TimeoutError, BadBody) as exc:
                last_reason = f"{type(exc).__name__}: {exc}".rstrip(": ")
            if attempt < s.retries:
                delay = min(s.backoff_max_s, s.backoff_base_s * 2**attempt) * random.uniform(0.5, 1.0)
                log.debug("%s: %s; retry %d/%d in %.2fs", url, last_reason, attempt + 1, s.retries, delay)
                await asyncio.sleep(delay)
        raise HttpFailure(url, f"{last_reason} (gave up after {s.retries + 1} attempts)")

    def _honour_retry_after(self, url: str, lane: Lane, header: str | None, attempt: int) -> None:
        s = self._settings
        wait = parse_retry_after(header)
        if wait is None:
            wait = min(s.backoff_max_s, s.backoff_base_s * 2**attempt)
        if wait > s.max_retry_after_s:
            raise HttpFailure(url, f"HTTP 429: asked to wait {wait:.0f}s, over sync.max_retry_after_s; try later")
        log.warning("%s answered 429 Too Many Requests; pausing the %s lane for %.1fs", url, lane.name, wait)
        lane.pause(wait)
