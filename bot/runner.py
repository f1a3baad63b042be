"""Start the bots whose tokens are set, inside an already running event loop.

`cardsight serve` runs them next to the HTTP API and `cardsight bot` runs them alone; both call
`start_bots` and later `BotGroup.stop`, which stops taking new work, lets in-flight photos get
their answers, then disconnects.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from bot.answering import Answerer
from bot.quiet_retries import quiet_retry_logs
from bot.feedback import FeedbackStore
from bot.settings import BotSettings, BotTokens
from configuration import ConfigError
from engine.demo_set import DEMO_WARNING
from engine.protocol import AsyncRecognizer

if TYPE_CHECKING:
    from bot.telegram_bot import WebhookReceiver

log = logging.getLogger("cardsight.bot")

PLATFORMS = ("discord", "telegram")
DISCORD_READY_TIMEOUT = 60.0


class ChatBot(Protocol):
    name: str

    async def start(self) -> None: ...
    async def stop_intake(self) -> None: ...
    async def close(self) -> None: ...


class DiscordRunner:
    """Owns the `client.start()` task: discord.py runs its gateway loop inside it."""

    name = "discord"

    def __init__(self, answerer: Answerer, settings: BotSettings, tokens: BotTokens,
                 webhooks: dict[str, WebhookReceiver] | None) -> None:
        from bot.discord_bot import CardsightDiscord, configure_api_base

        assert tokens.discord is not None
        configure_api_base(settings)
        self.client = CardsightDiscord(answerer, settings)
        self._token = tokens.discord
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        import discord

        self._task = asyncio.create_task(self.client.start(self._token), name="discord-client")
        ready = asyncio.create_task(self.client.ready_event.wait())
        done, _ = await asyncio.wait({self._task, ready}, timeout=DISCORD_READY_TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()
        if self._task in done:
            exc = self._task.exception()
            if isinstance(exc, discord.LoginFailure):
                raise ConfigError("DISCORD_TOKEN was rejected by Discord; copy it again from the developer portal")
            if isinstance(exc, discord.PrivilegedIntentsRequired):
                raise ConfigError(
                    "passive mode needs the Message Content intent: enable it under Bot → Privileged Gateway "
                    "Intents in the Discord developer portal, or clear the passive channel/guild settings"
                )
            raise RuntimeError(f"discord client stopped during start-up: {exc!r}") from exc
        if not done:
            log.warning("discord: not ready after %.0f s; still connecting in the background", DISCORD_READY_TIMEOUT)

    async def stop_intake(self) -> None:
        """Nothing to pause on Discord: the `Answerer` already refuses new photos while closing."""

    async def close(self) -> None:
        await self.client.close()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)


class TelegramRunner:
    name = "telegram"

    def __init__(self, answerer: Answerer, settings: BotSettings, tokens: BotTokens,
                 webhooks: dict[str, WebhookReceiver] | None) -> None:
        from bot.telegram_bot import TelegramBot

        assert tokens.telegram is not None
        self.bot = TelegramBot(answerer, settings, tokens.telegram, webhook_secret=tokens.telegram_webhook_token,
                               webhooks=webhooks)

    async def start(self) -> None:
        from telegram.error import InvalidToken

        try:
            await self.bot.start()
        except InvalidToken:
            raise ConfigError("TELEGRAM_TOKEN was rejected by Telegram; ask @BotFather for it again") from None

    async def stop_intake(self) -> None:
        await self.bot.stop_intake()

    async def close(self) -> None:
        await self.bot.close()


@dataclass
class BotGroup:
    """The running bots and the `Answerer` they share."""

    answerer: Answerer
    bots: list[ChatBot] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [b.name for b in self.bots]

    async def stop(self, grace_seconds: float | None = None) -> None:
        """Stop taking work, wait up to the grace period for in-flight answers, disconnect."""
        grace = self.answerer.settings.shutdown_grace_seconds if grace_seconds is None else grace_seconds
        for bot in self.bots:
            await bot.stop_intake()
        await self.answerer.drain(grace)
        for bot in reversed(self.bots):
            try:
                await bot.close()
            except Exception:
                log.exception("%s: error while closing", bot.name)
        log.info("bots stopped: %s", ", ".join(self.names) or "none")


async def start_bots(
    engine: AsyncRecognizer,
    settings: BotSettings,
    *,
    tokens: BotTokens,
    platforms: tuple[str, ...] = PLATFORMS,
    feedback: FeedbackStore | None = None,
    webhooks: dict[str, WebhookReceiver] | None = None,
) -> BotGroup:
    """Start every bot in `platforms` whose token is set; a bot without a token is skipped.
    `tokens`: the secrets the command layer read (`bot.settings.load_tokens`). `feedback`
    records users' picks where `[feedback]` allows it (None: nowhere). `webhooks`: the HTTP
    app's receivers (`service.routes.WEBHOOKS`), needed by Telegram's webhook mode."""
    quiet_retry_logs()
    group = BotGroup(Answerer(engine, settings, feedback))
    wanted: list[tuple[type[DiscordRunner] | type[TelegramRunner], str | None]] = []
    if "discord" in platforms:
        wanted.append((DiscordRunner, tokens.discord))
    if "telegram" in platforms:
        wanted.append((TelegramRunner, tokens.telegram))
    for runner_cls, token in wanted:
        if not token:
            log.info("%s: no token set, not starting", runner_cls.name)
            continue
        bot = runner_cls(group.answerer, settings, tokens, webhooks)
        try:
            await bot.start()
        except BaseException:
            await bot.close()
            await group.stop(grace_seconds=0)
            raise
        group.bots.append(bot)
    if not group.bots:
        log.warning("no chat bot started: set DISCORD_TOKEN and/or TELEGRAM_TOKEN (see README)")
    else:
        _announce_catalog(engine, group.names)
    return group


def _announce_catalog(engine: AsyncRecognizer, names: list[str]) -> None:
    """Say which catalog the bots answer from, and shout when it is the demo: a fresh clone
    with tokens set would otherwise answer real users from 100 invented cards."""
    info = engine.info()
    catalog = info.get("catalog", "catalog")
    if info.get("demo"):
        banner = "!" * 78
        log.warning("%s\n%s are answering real users from the %s:\n%s\n%s",
                    banner, " and ".join(names), catalog, DEMO_WARNING, banner)
    else:
        log.info("%s answering from the %s", " and ".join(names), catalog)
