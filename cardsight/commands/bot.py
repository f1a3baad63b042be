"""`cardsight bot [discord|telegram|all]`: run the chat bots without the HTTP API.

The engine is either loaded in this process (`--artifacts`) or another machine's service
(`--engine-url`), which lets several bot processes share one model server.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiohttp import web

    from bot.settings import BotSettings

log = logging.getLogger("cardsight.bot")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bot",
        help="run the Discord and/or Telegram bot",
        description="Run the chat bots whose tokens are set (DISCORD_TOKEN, TELEGRAM_TOKEN).",
    )
    parser.add_argument("platform", nargs="?", choices=("discord", "telegram", "all"), default="all",
                        help="which bot to run (those without a token are skipped)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--artifacts", type=Path, help="load the model and catalog from this directory")
    source.add_argument(
        "--engine-url",
        help="use a running cardsight service instead, e.g. http://engine:8080 "
        "(its token from $CARDSIGHT_ENGINE_TOKEN or $CARDSIGHT_API_TOKEN)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from engine.runtime import configure

    configure()  # before the engine's libraries load: see engine/runtime.py
    return asyncio.run(_run(args))


async def _run(args: argparse.Namespace) -> int:
    from bot.runner import PLATFORMS, start_bots
    from bot.feedback import FeedbackStore
    from bot.settings import load_bot_settings, load_feedback_settings, load_tokens
    from configuration import ConfigError, load_section, read_secret
    from engine.errors import RecognizerError
    from service.holder import close_engine
    from service.routes import WEBHOOKS

    settings = load_bot_settings()
    feedback_settings = load_feedback_settings()
    feedback = FeedbackStore(feedback_settings) if feedback_settings.anywhere else None
    tokens = load_tokens()
    platforms = PLATFORMS if args.platform == "all" else (args.platform,)
    if not any(getattr(tokens, p) for p in platforms):
        names = " or ".join(f"{p.upper()}_TOKEN" for p in platforms)
        raise ConfigError(f"no bot to run: set {names} (or {names.replace('TOKEN', 'TOKEN_FILE')})")

    if args.engine_url:
        from service.client import RemoteRecognizer
        from service.settings import API_TOKEN_SECRET, ENGINE_TOKEN_SECRET

        token = read_secret(ENGINE_TOKEN_SECRET) or read_secret(API_TOKEN_SECRET)
        engine = RemoteRecognizer(args.engine_url, token=token)
        try:  # learn which catalog it serves, so the start-up line can name it (or warn: demo)
            await engine.health()
        except RecognizerError as exc:
            log.warning("engine at %s not answering yet (%s); the bots will retry per photo",
                        args.engine_url, exc)
    else:
        from engine.process_pool import load_engine
        from engine.settings import EngineSettings

        engine_settings = load_section("engine", EngineSettings, artifacts=args.artifacts)
        engine = load_engine(Path(engine_settings.artifacts), engine_settings)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    hooks: web.AppRunner | None = None
    try:
        webhooks = None
        if "telegram" in platforms and tokens.telegram and settings.telegram_mode == "webhook":
            hooks = await _serve_webhook(settings)
            webhooks = hooks.app[WEBHOOKS]
        group = await start_bots(engine, settings, tokens=tokens, platforms=platforms, feedback=feedback,
                                 webhooks=webhooks)
        log.info("running: %s (Ctrl-C to stop)", ", ".join(group.names))
        await stop.wait()
        log.info("stopping: finishing %d request(s) in flight", group.answerer.in_flight)
        await group.stop()
    finally:
        if hooks is not None:
            await hooks.cleanup()
        await close_engine(engine)
    return 0


async def _serve_webhook(settings: BotSettings) -> web.AppRunner:
    """The one route Telegram posts updates to, on `[bot]` telegram_webhook_listen/port: with
    no HTTP API in this process, the route is the whole app (`cardsight serve` adds it to its own)."""
    from aiohttp import web

    from service.app import webhook_app

    runner = web.AppRunner(webhook_app(settings.telegram_webhook_path), handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, settings.telegram_webhook_listen, settings.telegram_webhook_port).start()
    return runner
