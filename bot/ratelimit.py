"""Per-key sliding-window limits: the per-user cooldown and the per-server/group budget.

One photo costs real CPU on the admin's machine, so limits are checked before a download,
and both platforms share the same rules. discord.py's cooldown helpers only cover its own
app commands, not passive photos or Telegram, hence this small shared limiter.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Hashable


class SlidingWindowLimiter:
    """At most `rate` hits per `per` seconds for each key; `rate=0` or `per=0` means no limit."""

    def __init__(self, rate: int, per: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.per = per
        self._clock = clock
        self._hits: dict[Hashable, deque[float]] = {}

    @property
    def enabled(self) -> bool:
        return self.rate > 0 and self.per > 0

    def retry_after(self, key: Hashable) -> float:
        """Seconds until `key` may go again (0 when it may go now); does not count a hit."""
        if not self.enabled:
            return 0.0
        hits = self._live_hits(key)
        if hits is None or len(hits) < self.rate:
            return 0.0
        return max(0.0, hits[0] + self.per - self._clock())

    def hit(self, key: Hashable) -> None:
        """Count one use by `key`."""
        if not self.enabled:
            return
        now = self._clock()
        self._hits.setdefault(key, deque()).append(now)
        if len(self._hits) > 10_000:
            self._forget_idle(now)

    def _live_hits(self, key: Hashable) -> deque[float] | None:
        hits = self._hits.get(key)
        if hits is None:
            return None
        horizon = self._clock() - self.per
        while hits and hits[0] <= horizon:
            hits.popleft()
        return hits

    def _forget_idle(self, now: float) -> None:
        """Bound memory on busy bots: drop keys with no hit inside the window."""
        horizon = now - self.per
        for key in [k for k, hits in self._hits.items() if not hits or hits[-1] <= horizon]:
            del self._hits[key]


class RequestLimits:
    """The two limits a photo passes: the user's cooldown, then the server/group budget."""

    def __init__(
        self,
        cooldown_seconds: float,
        group_requests_per_minute: int,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.user = SlidingWindowLimiter(1, cooldown_seconds, clock=clock)
        self.group = SlidingWindowLimiter(group_requests_per_minute, 60.0, clock=clock)

    def acquire(self, user_key: Hashable, group_key: Hashable | None) -> float:
        """0 and count the request when allowed; otherwise the seconds to wait (nothing counted)."""
        wait = self.user.retry_after(user_key)
        if group_key is not None:
            wait = max(wait, self.group.retry_after(group_key))
        if wait > 0:
            return wait
        self.user.hit(user_key)
        if group_key is not None:
            self.group.hit(group_key)
        return 0.0
