"""The service over the real engine: `/identify` end to end, hot reload under load, and the
`cardsight serve` process itself. Uses the lead's session fixtures (a small generated artifact
set and photos of its cards) and skips, saying so, while they are not available."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from engine.recognizer import Recognizer
from engine.settings import EngineSettings
from service.app import create_app
from service.holder import EngineHolder
from service.loaders import LocalLoader
from service.settings import ServiceSettings
from tests.service_support import free_port, serving, spawn_cli, wait_for


def fixture(request: pytest.FixtureRequest, name: str) -> Any:
    try:
        return request.getfixturevalue(name)
    except pytest.FixtureLookupError:
        pytest.skip(f"needs the '{name}' fixture from tests/conftest.py")


async def test_identify_a_real_photo(request: pytest.FixtureRequest) -> None:
    artifacts_dir: Path = fixture(request, "artifacts_dir")
    photos: list[tuple[bytes, str]] = fixture(request, "demo_photos")
    holder = EngineHolder(LocalLoader(artifacts_dir, EngineSettings()))
    assert (await holder.reload()).ok
    try:
        async with serving(create_app(holder, ServiceSettings())) as client:
            hits = 0
            for photo, expected in photos[:4]:
                resp = await client.post("/identify", data=photo, headers={"Content-Type": "image/jpeg"})
                assert resp.status == 200
                body = await resp.json()
                assert body["cards"], f"no card found in the photo of {expected}"
                card = body["cards"][0]
                assert len(card["quad"]) == 4 and 0.0 <= card["confidence"] <= 1.0
                assert card["scryfall_uri"].startswith("http")
                hits += any(c["name"] == expected for c in body["cards"])
            assert hits >= 3, f"only {hits} of 4 demo photos named right"
            search = await (await client.get("/cards/search", params={"q": photos[0][1]})).json()
            assert search["results"][0]["name"] == photos[0][1]
            card_id = search["results"][0]["card_id"]
            assert (await (await client.get(f"/cards/{card_id}")).json())["name"] == photos[0][1]
            metrics = await (await client.get("/metrics")).text()
            assert 'cardsight_stage_seconds_count{stage="embed"} 4.0' in metrics
    finally:
        await holder.close()


async def test_hot_reload_of_real_artifacts_under_load(request: pytest.FixtureRequest) -> None:
    artifacts_dir: Path = fixture(request, "artifacts_dir")
    photos: list[tuple[bytes, str]] = fixture(request, "demo_photos")
    holder = EngineHolder(lambda: Recognizer.load(artifacts_dir))
    await holder.reload()
    statuses: list[int] = []
    generations: set[int] = set()
    stop = asyncio.Event()
    auth = {"Authorization": "Bearer t"}
    try:
        async with serving(create_app(holder, ServiceSettings(), "t")) as client:

            async def hammer(offset: int) -> None:
                n = offset
                while not stop.is_set():
                    photo = photos[n % len(photos)][0]
                    n += 1
                    resp = await client.post("/identify", data=photo, headers=auth)
                    statuses.append(resp.status)
                    body = await resp.json()
                    if resp.status == 200:
                        generations.add(body["engine"]["generation"])

            workers = [asyncio.create_task(hammer(i)) for i in range(4)]
            for _ in range(2):
                await asyncio.sleep(0.5)
                reload = await client.post("/admin/reload", headers=auth)
                assert reload.status == 200, await reload.text()
            await asyncio.sleep(0.5)
            stop.set()
            await asyncio.gather(*workers)
    finally:
        await holder.close()
    assert statuses and set(statuses) == {200}, {s: statuses.count(s) for s in set(statuses)}
    assert {1, 3} <= generations


async def test_cardsight_serve_process_with_real_artifacts(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    artifacts_dir: Path = fixture(request, "artifacts_dir")
    photos: list[tuple[bytes, str]] = fixture(request, "demo_photos")
    port = free_port()
    proc = spawn_cli(["serve", "--no-bots", "--port", str(port), "--artifacts", str(artifacts_dir)], tmp_path)
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            health = await wait_for(session, f"{base}/health", lambda s, b: s == 200, timeout=120)
            assert health["gallery_size"] > 0
            async with session.post(f"{base}/identify", data=photos[0][0]) as resp:
                assert resp.status == 200
                assert (await resp.json())["cards"]
            proc.send_signal(signal.SIGHUP)
            await wait_for(session, f"{base}/health", lambda s, b: b.get("generation") == 2, timeout=120)
        proc.send_signal(signal.SIGTERM)
        output, _ = await asyncio.to_thread(proc.communicate, timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, output
