"""Hot swapping of engines: in-flight work finishes on the old one, failures keep it."""

from __future__ import annotations

import asyncio
import threading
import time

from engine.protocol import AsyncRecognizer
from service.app import create_app
from service.holder import EngineHolder, EngineNotReady
from service.settings import ServiceSettings
from tests.service_support import FakeRecognizer, png_bytes, serving


class CountingLoader:
    """Hands out fresh fake engines v1, v2, ...; can be told to fail; records overlap."""

    def __init__(self, load_s: float = 0.0, delay_s: float = 0.0) -> None:
        self.load_s, self.delay_s = load_s, delay_s
        self.made: list[FakeRecognizer] = []
        self.fail = False
        self._active = 0
        self.max_active = 0
        self._lock = threading.Lock()

    def __call__(self) -> FakeRecognizer:
        with self._lock:
            self._active += 1
            self.max_active = max(self.max_active, self._active)
        try:
            time.sleep(self.load_s)
            if self.fail:
                raise RuntimeError("index file truncated")
            engine = FakeRecognizer(f"v{len(self.made) + 1}", delay_s=self.delay_s)
            self.made.append(engine)
            return engine
        finally:
            with self._lock:
                self._active -= 1


async def test_holder_is_an_async_recognizer_and_refuses_before_loading() -> None:
    holder = EngineHolder(CountingLoader())
    assert isinstance(holder, AsyncRecognizer)
    assert not holder.ready and holder.info()["ready"] is False
    try:
        await holder.identify_async(png_bytes())
    except EngineNotReady as exc:
        assert exc.http_status == 503
    else:
        raise AssertionError("identify before load must raise EngineNotReady")


async def test_in_flight_requests_finish_on_the_old_engine_before_it_closes() -> None:
    loader = CountingLoader(delay_s=0.3)
    holder = EngineHolder(loader)
    await holder.reload()
    slow = asyncio.create_task(holder.identify_async(png_bytes()))
    await asyncio.sleep(0.05)  # the request is now inside engine v1
    assert (await holder.reload()).generation == 2
    old, new = loader.made
    assert not old.closed  # still answering the slow request
    result = await slow
    assert result.cards[0].match.name == "Lightning Bolt"
    await asyncio.sleep(0.05)
    assert old.closed and old.in_flight_at_close == 0
    assert holder.info()["model_version"] == "v2"
    await holder.identify_async(png_bytes())
    assert (old.calls, new.calls) == (1, 1)
    await holder.close()
    assert new.closed


async def test_failed_reload_keeps_serving_with_the_old_engine() -> None:
    loader = CountingLoader()
    holder = EngineHolder(loader)
    await holder.reload()
    loader.fail = True
    result = await holder.reload()
    assert not result.ok and result.generation == 1
    assert "index file truncated" in (result.error or "")
    (only,) = loader.made
    assert not only.closed
    assert (await holder.identify_async(png_bytes())).cards
    info = holder.info()
    assert (info["reloads_ok"], info["reloads_failed"]) == (1, 1)
    await holder.close()


async def test_stuck_request_does_not_keep_the_old_engine_open_forever() -> None:
    loader = CountingLoader(delay_s=2.0)
    holder = EngineHolder(loader, drain_timeout_s=0.1)
    await holder.reload()
    stuck = asyncio.create_task(holder.identify_async(png_bytes()))
    await asyncio.sleep(0.05)
    await holder.reload()
    await asyncio.sleep(0.3)
    assert loader.made[0].closed and loader.made[0].in_flight_at_close == 1
    stuck.cancel()
    await holder.close()


async def test_concurrent_reloads_load_one_set_at_a_time() -> None:
    loader = CountingLoader(load_s=0.05)
    holder = EngineHolder(loader)
    results = await asyncio.gather(*(holder.reload() for _ in range(3)))
    assert sorted(r.generation for r in results) == [1, 2, 3]
    assert loader.max_active == 1
    await holder.close()
    assert all(engine.closed for engine in loader.made)


async def test_hot_reload_under_load_drops_no_request() -> None:
    """Eight clients post photos non-stop while the artifacts are reloaded five times
    (one of them failing): every request must succeed."""
    loader = CountingLoader(load_s=0.05, delay_s=0.005)
    holder = EngineHolder(loader)
    await holder.reload()
    auth = {"Authorization": "Bearer t"}
    statuses: list[int] = []
    generations: set[int] = set()
    stop = asyncio.Event()
    photo = png_bytes(64, 64)

    async with serving(create_app(holder, ServiceSettings(), "t")) as client:

        async def hammer() -> None:
            while not stop.is_set():
                resp = await client.post("/identify", data=photo, headers=auth)
                statuses.append(resp.status)
                if resp.status == 200:
                    generations.add((await resp.json())["engine"]["generation"])
                else:
                    await resp.read()

        workers = [asyncio.create_task(hammer()) for _ in range(8)]
        outcomes = []
        for attempt in range(5):
            await asyncio.sleep(0.1)
            loader.fail = attempt == 2
            resp = await client.post("/admin/reload", headers=auth)
            outcomes.append(resp.status)
        await asyncio.sleep(0.1)
        stop.set()
        await asyncio.gather(*workers)

    assert outcomes == [200, 200, 500, 200, 200]
    assert len(statuses) > 100
    assert set(statuses) == {200}, {s: statuses.count(s) for s in set(statuses)}
    assert generations >= {1, 5}
    retired = loader.made[:-1]
    await asyncio.sleep(0.05)
    assert all(e.closed and e.in_flight_at_close == 0 for e in retired)
    await holder.close()
