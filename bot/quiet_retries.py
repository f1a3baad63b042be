"""One log line per outage: repeats of the same message are held back for a while.

During a platform outage discord.py logs every reconnect attempt (with a traceback) and every
429, and python-telegram-bot every failed poll; an hour-long Discord or Telegram outage would
bury the admin's log. Both libraries already retry with backoff, so only the first line of a
kind is news: this filter lets it through, drops the same message template for `window_s`,
and notes how many were dropped on the next one it lets through.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

OUTAGE_LOGGER = "cardsight.bot.outage"
"""Our own retry messages (Telegram polling failures) go here, under the same filter."""

RETRY_LOGGERS = (
    OUTAGE_LOGGER,
    "discord.client",
    "discord.shard",
    "discord.gateway",
    "discord.http",
    "discord.webhook.async_",
    "telegram.ext.Updater",
    "telegram.ext._utils.networkloop",
    "telegram.ext.AIORateLimiter",
)
"""Where the libraries log reconnects, 429s and failed polls."""

WINDOW_S = 600.0


class OncePerWindow(logging.Filter):
    """Passes the first record of each (logger, message template) per `window_s` seconds."""

    def __init__(self, window_s: float = WINDOW_S, *, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.window_s = window_s
        self._clock = clock
        self._seen: dict[tuple[str, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, str(record.msg))
        now = self._clock()
        shown_at, held = self._seen.get(key, (None, 0))
        if shown_at is not None and now - shown_at < self.window_s:
            self._seen[key] = (shown_at, held + 1)
            return False
        if held:
            record.msg = f"{record.msg} [{held} more like this in the last {now - shown_at:.0f} s]"  # type: ignore[operator]
        self._seen[key] = (now, 0)
        return True

    def clear(self) -> None:
        """Forget what was shown: the next failure of every kind is logged again."""
        self._seen.clear()


def quiet_retry_logs(window_s: float = WINDOW_S) -> OncePerWindow:
    """Install one shared filter on every retry logger (once per process; later calls reuse it)."""
    for name in RETRY_LOGGERS:
        for existing in logging.getLogger(name).filters:
            if isinstance(existing, OncePerWindow):
                return existing
    once = OncePerWindow(window_s)
    for name in RETRY_LOGGERS:
        logging.getLogger(name).addFilter(once)
    return once
