"""`cardsight serve` as a real process: start-up, readiness, SIGHUP reload, clean stop.

The process runs in front-end mode (``--engine-url``) against a fake engine served by the
test, so it needs no model; the local-model path is covered in `test_service_real.py`.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import aiohttp

from service.app import create_app
from service.holder import EngineHolder
from service.settings import ServiceSettings
from tests.service_support import (
    FakeRecognizer, free_port, png_bytes, serving, spawn_cli, wait_for,
)

async def test_serve_forwards_to_a_remote_engine_reloads_on_sighup_and_stops(tmp_path: Path) -> None:
    engines = iter(FakeRecognizer(f"e{i}") for i in range(1, 10))
    holder = EngineHolder(lambda: next(engines))
    await holder.reload()
    async with serving(create_app(holder, ServiceSettings(), "engine-token")) as engine_client:
        port = free_port()
        proc = spawn_cli(["serve", "--no-bots", "--port", str(port),
                      "--engine-url", str(engine_client.make_url("/"))],
                     tmp_path, CARDSIGHT_ENGINE_TOKEN="engine-token")
        base = f"http://127.0.0.1:{port}"
        try:
            async with aiohttp.ClientSession() as session:
                health = await wait_for(session, f"{base}/health", lambda s, b: s == 200)
                assert health["model_version"] == "e1" and health["generation"] == 1
                async with session.post(f"{base}/identify", data=png_bytes()) as resp:
                    assert resp.status == 200
                    assert (await resp.json())["cards"][0]["name"] == "Lightning Bolt"
                async with session.post(f"{base}/identify", data=b"junk") as resp:
                    assert resp.status == 400
                    assert (await resp.json())["error"]["code"] == "bad_image"
                proc.send_signal(signal.SIGHUP)
                await wait_for(session, f"{base}/health", lambda s, b: b.get("generation") == 2)
            proc.send_signal(signal.SIGTERM)
            output, _ = await asyncio.to_thread(proc.communicate, timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == 0, output
    assert f"listening on http://127.0.0.1:{port}" in output
    assert "engine-token" not in output


def test_serve_refuses_bad_config_before_starting(tmp_path: Path) -> None:
    proc = spawn_cli(["serve", "--no-bots"], tmp_path, CARDSIGHT_SERVICE_ENGINE_URL="ftp://x")
    output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert "engine_url must be an http(s) URL" in output
