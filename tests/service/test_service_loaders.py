"""Where the engine comes from: the demo set only on the very first load; remote readiness."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

import engine.artifacts
import engine.recognizer
from engine.errors import ArtifactError, EngineBusy
from service.app import create_app
from service.holder import EngineHolder
from service.loaders import LocalLoader, remote_loader
from service.settings import ServiceSettings, load_service_config
from tests.service_support import FakeRecognizer, serving


def test_first_load_builds_the_demo_set_later_loads_never_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[Path] = []
    loaded: list[Path] = []

    def ensure_demo_artifacts(dest: Path) -> Path:
        built.append(dest)
        return dest / "demo"

    live = {tmp_path / "live"}

    def load(path: Path, settings: object = None) -> FakeRecognizer:
        loaded.append(path)
        if path.name != "demo" and path not in live:
            raise ArtifactError(f"{path}: no artifact set")
        return FakeRecognizer()

    monkeypatch.setitem(sys.modules, "training.demo",
                        types.SimpleNamespace(ensure_demo_artifacts=ensure_demo_artifacts))
    monkeypatch.setattr(engine.recognizer.Recognizer, "load", staticmethod(load))
    monkeypatch.setattr(engine.artifacts, "exists", lambda path: path in live)
    root = tmp_path / "artifacts"
    loader = LocalLoader(root, None)
    assert isinstance(loader(), FakeRecognizer)
    assert built == [root] and loaded == [root / "demo"]
    loader()  # a reload reuses what the first load resolved
    assert built == [root] and loaded[-1] == root / "demo"

    serving_set = LocalLoader(tmp_path / "live", None)
    serving_set()
    live.clear()  # the set vanished after start-up: a reload must fail, not fall back to the demo
    with pytest.raises(ArtifactError):
        serving_set()
    assert built == [root]


async def test_remote_loader_checks_readiness_before_swapping_in() -> None:
    not_ready = EngineHolder(lambda: FakeRecognizer())  # never loaded: /health says 503
    async with serving(create_app(not_ready, ServiceSettings())) as client:
        with pytest.raises(EngineBusy):
            await remote_loader(str(client.make_url("/")), None, 5.0)()
        await not_ready.reload()
        remote = await remote_loader(str(client.make_url("/")), None, 5.0)()
        try:
            assert remote.info()["model_version"] == "fake-1"
        finally:
            await remote.close()


def test_engine_token_defaults_to_the_api_token() -> None:
    assert load_service_config(env={"CARDSIGHT_API_TOKEN": "one"}, file_values={}).engine_token == "one"
    both = {"CARDSIGHT_API_TOKEN": "one", "CARDSIGHT_ENGINE_TOKEN": "two"}
    assert load_service_config(env=both, file_values={}).engine_token == "two"
