"""The engine the service is using right now, swappable while requests are in flight.

A new artifact set (after ``sync`` + ``index``) must go live without a restart: loading takes
seconds and doubles memory for a moment, so it happens in a worker thread while the old engine
keeps answering. The swap itself is one attribute assignment on the event loop, so every
request sees either the old or the new engine, never a half-loaded one. Requests that started
on the old engine finish on it; it is closed once they are done (or after a grace period).
If the new set fails to load, the old engine simply stays.

`EngineHolder` also satisfies `engine.protocol.AsyncRecognizer`, so the bots can be handed the
holder and follow reloads without knowing about them.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Awaitable, Callable, Union

from engine.demo_set import DEMO_WARNING
from engine.errors import ArtifactError, EngineBusy, RecognizerError
from engine.protocol import AsyncRecognizer
from engine.types import CardMatch, Identification

log = logging.getLogger(__name__)

Loader = Callable[[], Union[AsyncRecognizer, Awaitable[AsyncRecognizer]]]
"""Builds a fresh engine: a blocking function (run in a worker thread) or a coroutine function."""


class EngineNotReady(EngineBusy):
    """No engine is loaded yet (the process is still starting)."""

    code = "not_ready"
    user_message = "I'm still starting up. Please try again in a minute."
    http_status = 503


@dataclass
class EngineSlot:
    """One loaded engine and the requests currently using it."""

    engine: AsyncRecognizer
    generation: int
    info: dict[str, Any]
    loaded_at: float
    in_flight: int = 0
    retired: bool = False
    drained: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(frozen=True)
class ReloadResult:
    ok: bool
    generation: int
    seconds: float
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "generation": self.generation,
            "seconds": round(self.seconds, 3),
            "error": self.error,
        }


async def close_engine(engine: object) -> None:
    """Close an engine whichever way it closes (sync `close` may block, so off the loop)."""
    close = getattr(engine, "close", None)
    if close is None:
        return
    if inspect.iscoroutinefunction(close):
        await close()
    else:
        await asyncio.to_thread(close)


class EngineHolder:
    def __init__(self, loader: Loader, *, drain_timeout_s: float = 60.0) -> None:
        self._loader = loader
        self._drain_timeout_s = drain_timeout_s
        self._slot: EngineSlot | None = None
        self._generation = 0
        self._reload_lock = asyncio.Lock()
        self._retiring: set[asyncio.Task[None]] = set()
        self.reloads_ok = 0
        self.reloads_failed = 0
        self.last_error: str | None = None

    @property
    def ready(self) -> bool:
        return self._slot is not None

    @property
    def generation(self) -> int:
        return self._slot.generation if self._slot else 0

    async def _load(self) -> AsyncRecognizer:
        if inspect.iscoroutinefunction(self._loader):
            return await self._loader()
        engine = await asyncio.to_thread(self._loader)
        if inspect.isawaitable(engine):
            engine = await engine
        return engine  # type: ignore[return-value]

    async def reload(self) -> ReloadResult:
        """Load a fresh engine and swap it in; on any failure keep serving with the old one.

        The first call is the initial load. Concurrent calls queue up rather than loading two
        sets at once, which would triple memory.
        """
        async with self._reload_lock:
            started = time.monotonic()
            try:
                engine = await self._load()
                info = dict(engine.info())
            except Exception as exc:  # noqa: BLE001 - any load failure must leave the old engine
                self.reloads_failed += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                # A bad artifact set is an operator's problem with a complete message; only
                # unexpected failures deserve a traceback.
                log.error("engine load failed, keeping generation %d: %s",
                          self.generation, self.last_error,
                          exc_info=not isinstance(exc, (ArtifactError, RecognizerError)))
                return ReloadResult(False, self.generation, time.monotonic() - started,
                                    self.last_error)
            self._generation += 1
            old, self._slot = self._slot, EngineSlot(
                engine, self._generation, info, time.time()
            )
            self.reloads_ok += 1
            self.last_error = None
            seconds = time.monotonic() - started
            log.info("engine generation %d live after %.1fs: %s (model %s, index %s)",
                     self._generation, seconds, info.get("catalog", "catalog"),
                     info.get("model_version"), info.get("index_version"))
            if info.get("demo"):
                log.warning("%s", DEMO_WARNING)
            if old is not None:
                self._retire(old)
            return ReloadResult(True, self._generation, seconds)

    def _retire(self, slot: EngineSlot) -> None:
        slot.retired = True
        if slot.in_flight == 0:
            slot.drained.set()
        task = asyncio.get_running_loop().create_task(self._close_when_drained(slot))
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def _close_when_drained(self, slot: EngineSlot) -> None:
        try:
            await asyncio.wait_for(slot.drained.wait(), self._drain_timeout_s)
        except asyncio.TimeoutError:
            log.warning("generation %d still had %d requests after %.0fs; closing it anyway",
                        slot.generation, slot.in_flight, self._drain_timeout_s)
        try:
            await close_engine(slot.engine)
        except Exception:  # noqa: BLE001 - a failing close must not take the service down
            log.exception("closing engine generation %d failed", slot.generation)

    @asynccontextmanager
    async def use(self) -> AsyncIterator[EngineSlot]:
        """The current engine, pinned for the duration of one request."""
        slot = self._slot
        if slot is None:
            raise EngineNotReady("no engine loaded yet")
        slot.in_flight += 1
        try:
            yield slot
        finally:
            slot.in_flight -= 1
            if slot.retired and slot.in_flight == 0:
                slot.drained.set()

    async def close(self) -> None:
        """Close the current engine and wait for retired ones to finish closing."""
        slot, self._slot = self._slot, None
        if slot is not None:
            self._retire(slot)
        if self._retiring:
            await asyncio.gather(*self._retiring, return_exceptions=True)

    # engine.protocol.AsyncRecognizer, so bots follow reloads.

    async def identify_async(self, data: bytes) -> Identification:
        async with self.use() as slot:
            return await slot.engine.identify_async(data)

    async def lookup_async(self, query: str, limit: int = 5, set_code: str | None = None) -> list[CardMatch]:
        async with self.use() as slot:
            return await slot.engine.lookup_async(query, limit, set_code=set_code)

    async def card_async(self, card_id: str) -> CardMatch | None:
        async with self.use() as slot:
            return await slot.engine.card_async(card_id)

    async def explain_async(self, data: bytes, card_id: str) -> bytes:
        async with self.use() as slot:
            return await slot.engine.explain_async(data, card_id)

    def info(self) -> dict[str, Any]:
        """Live engine info plus reload bookkeeping; ``ready`` is false until the first load."""
        slot = self._slot
        base: dict[str, Any] = dict(slot.engine.info()) if slot else {}
        base.update(
            ready=slot is not None,
            generation=self.generation,
            loaded_at=slot.loaded_at if slot else None,
            reloads_ok=self.reloads_ok,
            reloads_failed=self.reloads_failed,
            last_reload_error=self.last_error,
        )
        return base
