"""Platform outages: the bots ride out 5xx, 429 and dropped gateways, and say so once.

Real python-telegram-bot and discord.py run against stand-ins that fail on demand
(tests/outage_standins.py). Each test checks three things: the retries happened (the
stand-in saw the failures), the user still got the answer, and the log holds one line for
the outage rather than one per attempt, without a traceback.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import yarl
from discord.gateway import DiscordWebSocket

from bot import telegram_bot
from bot.quiet_retries import OncePerWindow, quiet_retry_logs
from bot.runner import start_bots
from bot.settings import BotSettings, BotTokens
from tests import discord_standin, telegram_standin
from tests.bot_engine import CATALOG, FakeEngine, answer, card_photo
from tests.discord_standin import APP_ID
from tests.outage_standins import FlakyDiscord, FlakyTelegram

pytestmark = pytest.mark.timeout(90)
ASYNC = pytest.mark.asyncio(loop_scope="session")

BOLT = CATALOG[0]


@pytest.fixture(autouse=True)
def fresh_outage_window(caplog: pytest.LogCaptureFixture) -> None:
    """Each test starts a new outage: nothing counts as already shown."""
    quiet_retry_logs().clear()
    caplog.set_level(logging.DEBUG)


def lines(caplog: pytest.LogCaptureFixture, fragment: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if fragment in r.getMessage()]


def test_once_per_window_shows_the_first_and_counts_the_rest() -> None:
    now = [0.0]
    once = OncePerWindow(60, clock=lambda: now[0])
    logger = logging.getLogger("test.once")

    def record(msg: str) -> logging.LogRecord:
        return logger.makeRecord(logger.name, logging.WARNING, __file__, 1, msg, (3.5,), None)

    assert once.filter(record("reconnect in %.1fs"))
    assert not any(once.filter(record("reconnect in %.1fs")) for _ in range(5))
    assert once.filter(record("another problem %s"))  # a different message is news
    now[0] = 61
    later = record("reconnect in %.1fs")
    assert once.filter(later) and "[5 more like this in the last 61 s]" in later.getMessage()


@pytest_asyncio.fixture(loop_scope="session")
async def telegram(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[FlakyTelegram, FakeEngine]]:
    monkeypatch.setattr(telegram_bot, "SEND_BACKOFF_S", 0.05)
    standin = FlakyTelegram()
    await standin.start()
    engine = FakeEngine()
    settings = BotSettings(telegram_api_base=standin.base_url, telegram_file_base=standin.file_url,
                           telegram_poll_timeout_seconds=1, cooldown_seconds=0)
    group = await start_bots(engine, settings, tokens=BotTokens(telegram=telegram_standin.TOKEN),
                             platforms=("telegram",))
    try:
        yield standin, engine
    finally:
        await group.stop(grace_seconds=5)
        await standin.stop()


@ASYNC
async def test_telegram_polling_outage_is_retried_and_logged_once(
    telegram: tuple[FlakyTelegram, FakeEngine], caplog: pytest.LogCaptureFixture
) -> None:
    standin, engine = telegram
    standin.fail("getUpdates", 502, 500, 502)
    photo = engine.teach(card_photo("Bolt", seed=31), answer(BOLT, 0.9))
    standin.push({"message": standin.message(3101, 3101, photo=standin.photo(photo))})
    (reply,) = await standin.log.wait_for(lambda c: c.name == "sendMessage" and c.params["chat_id"] == 3101,
                                          timeout=30)
    assert "Lightning Bolt" in reply.params["text"]  # answered once Telegram was back
    assert len(standin.log.named("getUpdates failed")) == 3
    assert len(lines(caplog, "getUpdates failed")) == 1
    assert not [r for r in caplog.records if r.exc_info and r.name.startswith(("telegram", "cardsight"))]


@ASYNC
async def test_telegram_reply_survives_5xx_and_429(
    telegram: tuple[FlakyTelegram, FakeEngine], caplog: pytest.LogCaptureFixture
) -> None:
    standin, engine = telegram
    standin.fail("sendMessage", 502, 429, 500)
    photo = engine.teach(card_photo("Bolt", seed=32), answer(BOLT, 0.9))
    standin.push({"message": standin.message(3102, 3102, photo=standin.photo(photo))})
    (reply,) = await standin.log.wait_for(lambda c: c.name == "sendMessage" and c.params["chat_id"] == 3102,
                                          timeout=30)
    assert "Lightning Bolt" in reply.params["text"]
    assert len(standin.log.named("sendMessage failed")) == 3
    assert len(lines(caplog, "sending a reply failed")) == 1  # two 5xx, one line


@pytest_asyncio.fixture(loop_scope="session")
async def discord(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[FlakyDiscord, FakeEngine]]:
    standin = FlakyDiscord()
    await standin.start()
    # After a failed resume discord.py reconnects to its public default gateway; point it here.
    monkeypatch.setattr(DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(f"ws://127.0.0.1:{standin.port}/gateway"))
    engine = FakeEngine()
    settings = BotSettings(discord_api_base=standin.api_base, cooldown_seconds=0, guild_requests_per_minute=0)
    group = await start_bots(engine, settings, tokens=BotTokens(discord=discord_standin.TOKEN),
                             platforms=("discord",))
    try:
        yield standin, engine
    finally:
        await group.stop(grace_seconds=5)
        await standin.stop()


async def slash_photo(standin: FlakyDiscord, engine: FakeEngine, user: int, seed: int) -> str:
    photo = engine.teach(card_photo("Bolt", seed=seed), answer(BOLT, 0.9))
    interaction = standin.slash_card(user, standin.attachment(photo))
    await standin.dispatch("INTERACTION_CREATE", interaction)
    followup = f"POST /webhooks/{APP_ID}/{interaction['token']}"
    (sent,) = await standin.log.wait_for(lambda c: c.name == followup, timeout=40)
    return sent.params["json"]["embeds"][0]["title"]


@ASYNC
async def test_discord_gateway_drop_reconnects_and_logs_once(
    discord: tuple[FlakyDiscord, FakeEngine], caplog: pytest.LogCaptureFixture
) -> None:
    standin, engine = discord
    standin.refuse_connects(2)
    standin.identified.clear()
    await standin.drop_gateway()
    await asyncio.wait_for(standin.identified.wait(), 30)
    assert standin.refused_connects == 2
    assert await slash_photo(standin, engine, 3201, seed=33) == "Lightning Bolt"
    reconnects = lines(caplog, "Attempting a reconnect")
    assert len(reconnects) == 1, [r.getMessage() for r in reconnects]


@ASYNC
async def test_discord_reply_survives_5xx_and_429(
    discord: tuple[FlakyDiscord, FakeEngine], caplog: pytest.LogCaptureFixture
) -> None:
    standin, engine = discord
    standin.fail(f"POST /webhooks/{APP_ID}/", 502, 429, 429)
    assert await slash_photo(standin, engine, 3202, seed=34) == "Lightning Bolt"
    assert len(standin.faults.served) == 3
    assert len(lines(caplog, "is rate limited")) == 1  # follow-ups go through discord.py's webhook client
