"""The engine in several processes, one whole `Recognizer` each: a photo per core at once.

On two cores, two engine threads in one process leave part of the second core idle: detection's
contour loops, quad geometry and the glue between the C++ calls run in Python, one thread at a
time under the GIL, while the other waits for it. Processes have a GIL each. A child is spawned,
not forked (ONNX Runtime's and the segmenter's thread pools don't survive a fork), loads the set
itself and answers one photo at a time; the artifacts' large files are memory-mapped, so children
share those pages. `[engine] processes` chooses how many (1: the threads of `Recognizer` alone).

A child that dies (a native crash on some photo) breaks the pool: that photo and those in flight
fail with an internal error, and the next photo gets a fresh pool, so one bad photo never takes
the server down.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Callable, TypeVar

from engine.errors import EngineBusy, RecognizerError, RequestTimeout
from engine.settings import EngineSettings
from engine.types import CardMatch, Identification

log = logging.getLogger(__name__)
T = TypeVar("T")

_engine: Any = None
"""The child's own `Recognizer`, loaded by `_load_engine` when the child starts."""


def _load_engine(root: Path, settings: EngineSettings) -> None:
    global _engine
    from engine import runtime
    from engine.recognizer import Recognizer

    runtime.configure()
    _engine = Recognizer.load(root, settings)


def _identify(data: bytes) -> Identification:
    return _engine.identify(data)


def _explain_png(data: bytes, card_id: str) -> bytes:
    from engine.explain import png

    return png(_engine.explain(data, card_id))


def _lookup(query: str, limit: int, set_code: str | None) -> list[CardMatch]:
    return _engine.lookup(query, limit, set_code)


def _card(card_id: str) -> CardMatch | None:
    return _engine.catalog.by_card_id(card_id)


def _info() -> dict[str, Any]:
    return _engine.info()


class ProcessRecognizer:
    """`engine.protocol.AsyncRecognizer` over `processes` child processes (see the module)."""

    def __init__(self, root: Path, settings: EngineSettings, processes: int) -> None:
        """Start the children and wait until each has loaded the set at `root` (seconds)."""
        if processes < 2:
            raise ValueError("a process pool needs at least 2 processes; use Recognizer for one")
        self.settings = settings
        self._root = Path(root)
        self._processes = processes
        self._lock = threading.Lock()
        self._pending = 0
        self._pool = self._start()
        self._info = self._pool.submit(_info).result()

    def _start(self) -> ProcessPoolExecutor:
        pool = ProcessPoolExecutor(self._processes, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_load_engine, initargs=(self._root, self.settings))
        for started in [pool.submit(_info) for _ in range(self._processes)]:
            started.result()  # a set that fails to load fails here, in the caller, with its reason
        return pool

    @property
    def capacity(self) -> int:
        """Calls held at once before "busy": as many as the engine in one process holds, its
        `max_queue` waiting plus a micro-batch of up to `max_batch` in each of its `workers`.
        Fewer made a burst of 64 clients a storm of refusals, each costing the server a request
        (bench/service_load.py: 5,515 refused of 5,597 at 32 + 2)."""
        return self.settings.max_queue + self.settings.workers * self.settings.max_batch

    async def _run(self, call: Callable[..., T], *args: Any) -> T:
        with self._lock:
            if self._pending >= self.capacity:
                raise EngineBusy(f"engine full ({self._pending} photos held)")
            self._pending += 1
            pool = self._pool
        try:
            future = pool.submit(call, *args)
            return await asyncio.wait_for(asyncio.wrap_future(future), timeout=self.settings.timeout_s)
        except asyncio.TimeoutError:
            raise RequestTimeout(f"no answer within {self.settings.timeout_s:g} s") from None
        except BrokenProcessPool:
            log.error("an engine process died; starting a fresh pool")
            self._replace(pool)
            raise RecognizerError("internal error: the engine process died") from None
        finally:
            with self._lock:
                self._pending -= 1

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        """A fresh pool for the next photos, once per broken pool however many saw it break."""
        with self._lock:
            if self._pool is not broken:
                return
            self._pool = ProcessPoolExecutor(self._processes, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_load_engine, initargs=(self._root, self.settings))
        broken.shutdown(wait=False, cancel_futures=True)

    async def identify_async(self, data: bytes) -> Identification:
        return await self._run(_identify, data)

    async def explain_async(self, data: bytes, card_id: str) -> bytes:
        return await self._run(_explain_png, data, card_id)

    async def lookup_async(self, query: str, limit: int = 5, set_code: str | None = None) -> list[CardMatch]:
        return await self._run(_lookup, query, limit, set_code)

    async def card_async(self, card_id: str) -> CardMatch | None:
        return await self._run(_card, card_id)

    def info(self) -> dict[str, Any]:
        return {**self._info, "queue_depth": max(0, self._pending - self._processes), "processes": self._processes}

    def close(self) -> None:
        """Finish the photos in flight, then stop the children."""
        with self._lock:
            pool = self._pool
        pool.shutdown(wait=True)


def load_engine(root: Path, settings: EngineSettings | None = None) -> Any:
    """The engine for `root` as `settings` ask: a `ProcessRecognizer` for `processes` above 1,
    else a `Recognizer` in this process (both `engine.protocol.AsyncRecognizer`)."""
    settings = settings or EngineSettings()
    if settings.processes > 1:
        return ProcessRecognizer(root, settings, settings.processes)
    from engine.recognizer import Recognizer

    return Recognizer.load(root, settings)
