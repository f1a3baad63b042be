"""What a platform stand-in received, and a bounded wait for the call a test expects."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Call:
    """One API call the bot made: e.g. ("sendMessage", {...}) or ("POST /channels/1/messages", {...})."""

    name: str
    params: dict[str, Any]


class CallLog:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._changed = asyncio.Condition()

    async def add(self, name: str, params: dict[str, Any]) -> None:
        async with self._changed:
            self.calls.append(Call(name, params))
            self._changed.notify_all()

    def named(self, name: str) -> list[Call]:
        return [c for c in self.calls if c.name == name]

    async def wait_for(
        self, predicate: Callable[[Call], bool], *, count: int = 1, timeout: float = 10.0
    ) -> list[Call]:
        """The first `count` calls matching `predicate`; fails the test after `timeout` seconds."""

        def matching() -> list[Call]:
            return [c for c in self.calls if predicate(c)]

        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: len(matching()) >= count), timeout)
            except TimeoutError:
                seen = [c.name for c in self.calls[-20:]]
                raise AssertionError(f"expected {count} matching call(s) within {timeout} s; last calls: {seen}") from None
            return matching()[:count]
