"""Secrets stay secret and nothing untrusted is unpickled.

Tokens set in the environment are driven through the bots, the HTTP service and a sync,
including their failure paths, with every log record captured at DEBUG; no token may appear
in a log line, a traceback or an error message. The source tree is parsed to prove that no
code can unpickle a file: no pickle-family imports, `torch.load` only with
``weights_only=True``, `numpy.load` never with ``allow_pickle=True``.
"""

from __future__ import annotations

import ast
import logging
from pathlib import Path

import pytest

from bot.runner import start_bots
from bot.settings import BotSettings, load_tokens
from configuration import ConfigError
from service.app import create_app
from service.client import RemoteRecognizer
from service.holder import EngineHolder
from service.settings import ServiceSettings, load_service_config
from tests import discord_standin, telegram_standin
from tests.bot_engine import FakeEngine, card_photo
from tests.discord_standin import DiscordStandin
from tests.scryfall_stub import ScryfallStub, generate_cards, sync_settings
from tests.service_support import FakeRecognizer, serving
from tests.telegram_standin import TelegramStandin
from training.sync.run import run_sync

REPO = Path(__file__).resolve().parents[2]
SOURCE_DIRS = ("engine", "training", "bot", "service", "cardsight", "configuration", "bench", "tests")
UNPICKLERS = {"pickle", "cPickle", "_pickle", "dill", "joblib", "shelve", "marshal", "cloudpickle"}
API_TOKEN = "api-secret-7f3a9c1e"


def leaked(caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str], *secrets: str) -> list[str]:
    """Every captured log line (traceback included) and console output containing a secret.

    The stand-in servers' own access log is left out: they play Telegram and Discord, whose
    URLs carry the token by design.
    """
    formatter = logging.Formatter()
    texts = [formatter.format(r) for r in caplog.records if r.name != "aiohttp.access"]
    captured = capsys.readouterr()
    texts += [captured.out, captured.err]
    return [t[:300] for t in texts for s in secrets if s and s in t]


@pytest.mark.asyncio(loop_scope="session")
async def test_bot_tokens_from_env_never_reach_logs(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("TELEGRAM_TOKEN", telegram_standin.TOKEN)
    monkeypatch.setenv("DISCORD_TOKEN", discord_standin.TOKEN)
    tokens = load_tokens()
    assert telegram_standin.TOKEN not in repr(tokens)
    telegram, discord = TelegramStandin(), DiscordStandin()
    await telegram.start()
    await discord.start()
    settings = BotSettings(telegram_api_base=telegram.base_url, telegram_file_base=telegram.file_url,
                           telegram_poll_timeout_seconds=1, discord_api_base=discord.api_base, cooldown_seconds=0)
    group = await start_bots(FakeEngine(), settings, tokens=tokens)  # as the commands read them
    try:
        assert sorted(group.names) == ["discord", "telegram"]
        telegram.push({"message": telegram.message(4101, 4101, photo=telegram.photo(card_photo("x", seed=41)))})
        gone = telegram.photo(b"never stored")
        telegram.files.clear()  # the download fails: an error path that sees the file URL
        telegram.push({"message": telegram.message(4102, 4102, photo=gone)})
        await discord.dispatch("INTERACTION_CREATE", discord.slash_card(4103, discord.attachment(b"junk", "a.jpg")))
        await telegram.log.wait_for(lambda c: c.name == "sendMessage", count=2, timeout=30)
        await discord.log.wait_for(lambda c: c.name.startswith("POST /webhooks/"), timeout=30)
    finally:
        await group.stop(grace_seconds=5)
        await telegram.stop()
    await discord.stop()

    wrong = "123456:wrong-token-not-for-logs"
    rejected = TelegramStandin()
    await rejected.start()
    try:
        with pytest.raises(ConfigError) as caught:
            await start_bots(FakeEngine(), BotSettings(telegram_api_base=rejected.base_url,
                                                       telegram_file_base=rejected.file_url),
                             tokens=type(tokens)(telegram=wrong), platforms=("telegram",))
    finally:
        await rejected.stop()
    assert wrong not in str(caught.value)
    assert not leaked(caplog, capsys, telegram_standin.TOKEN, discord_standin.TOKEN, wrong)


@pytest.mark.asyncio(loop_scope="session")
async def test_api_tokens_never_reach_logs_or_error_bodies(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("CARDSIGHT_API_TOKEN", API_TOKEN)
    config = load_service_config(env={"CARDSIGHT_API_TOKEN": API_TOKEN})
    assert API_TOKEN not in repr(config.settings)
    holder = EngineHolder(lambda: FakeRecognizer())
    await holder.reload()
    async with serving(create_app(holder, ServiceSettings(), config.api_token)) as client:
        bodies = []
        for headers in ({}, {"Authorization": f"Bearer {API_TOKEN}x"}, {"Authorization": f"Bearer {API_TOKEN}"}):
            resp = await client.post("/identify", data=b"not an image", headers=headers)
            bodies.append(await resp.text())
        assert [b.count('"code"') for b in bodies] == [1, 1, 1]
        assert all(API_TOKEN not in b for b in bodies)
        wrong = RemoteRecognizer(str(client.make_url("/")), "engine-token-wrong-123")
        assert "engine-token-wrong-123" not in repr(wrong)
        with pytest.raises(Exception) as caught:
            await wrong.identify_async(card_photo("x", seed=42))
        await wrong.close()
        assert "engine-token-wrong-123" not in str(caught.value)
    assert not leaked(caplog, capsys, API_TOKEN, "engine-token-wrong-123")


@pytest.mark.asyncio(loop_scope="session")
async def test_sync_with_tokens_in_the_environment_logs_none_of_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("TELEGRAM_TOKEN", "DISCORD_TOKEN", "CARDSIGHT_API_TOKEN"):
        monkeypatch.setenv(name, f"{name.lower()}-secret-9d2")
    async with ScryfallStub(generate_cards(4)) as stub:
        stub.inject("/bulk-data", "500", "429")  # failure paths log URLs and reasons
        summary = await run_sync(sync_settings(stub, tmp_path / "gallery"), progress=False)
    print(summary.render())
    assert summary.gallery_entries and summary.gallery_entries >= 4
    assert not leaked(caplog, capsys, "telegram_token-secret-9d2", "discord_token-secret-9d2",
                      "cardsight_api_token-secret-9d2")


def _python_files() -> list[Path]:
    return [p for d in SOURCE_DIRS for p in (REPO / d).rglob("*.py") if ".venv" not in p.parts]


def _keyword(call: ast.Call, name: str) -> object:
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value.value if isinstance(kw.value, ast.Constant) else kw.value
    return None


def test_no_code_can_unpickle_a_file() -> None:
    problems = []
    files = _python_files()
    assert len(files) > 50  # the walk really covers the tree
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        where = path.relative_to(REPO)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                problems += [f"{where}:{node.lineno} imports {a.name}" for a in node.names
                             if a.name.split(".")[0] in UNPICKLERS]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in UNPICKLERS:
                problems.append(f"{where}:{node.lineno} imports from {node.module}")
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                target = ast.unparse(node.func)
                if target in ("torch.load", "torch.serialization.load") and _keyword(node, "weights_only") is not True:
                    problems.append(f"{where}:{node.lineno} {target} without weights_only=True")
                if target in ("np.load", "numpy.load") and _keyword(node, "allow_pickle") not in (None, False):
                    problems.append(f"{where}:{node.lineno} {target} with allow_pickle")
                if target in ("yaml.load", "yaml.unsafe_load") and "Safe" not in ast.unparse(node):
                    problems.append(f"{where}:{node.lineno} {target} without a safe loader")
    assert not problems, "\n".join(problems)
