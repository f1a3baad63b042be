"""The life of one `cardsight serve` process: listen, load, start bots, reload, stop.

The HTTP server comes up before the engine so ``/health`` can tell a load balancer "still
loading" (503) instead of refusing connections; it answers 200 once the first artifact set is
live. Signals: SIGHUP reloads the artifacts (the old set keeps serving until the new one is
ready, and stays if it fails), SIGTERM/SIGINT stop gracefully.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import signal
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Protocol

from aiohttp import web

from engine.protocol import AsyncRecognizer
from service.app import create_app
from service.routes import WEBHOOKS
from service.holder import EngineHolder, Loader
from service.settings import ServiceConfig

log = logging.getLogger(__name__)

REMOTE_RETRY_MAX_S = 30.0


class BotGroup(Protocol):
    async def stop(self) -> None: ...


BotStarter = Callable[[AsyncRecognizer, dict[str, Any]], Awaitable[BotGroup] | BotGroup]
"""Starts the bots on an engine, with the app's webhook receivers (`service.routes.WEBHOOKS`)."""


@dataclass
class ServePlan:
    """What `serve` needs, resolved and validated by the CLI before anything starts."""

    config: ServiceConfig
    loader: Loader
    retry_first_load: bool = False
    """Keep retrying the first load (a remote engine that is not up yet) instead of failing."""
    start_bots: BotStarter | None = None
    telegram_webhook_path: str | None = None
    """The route Telegram posts the bot's updates to, in webhook mode."""


async def _first_load(holder: EngineHolder, plan: ServePlan) -> bool:
    delay = 1.0
    while True:
        result = await holder.reload()
        if result.ok or not plan.retry_first_load:
            return result.ok
        log.warning("engine not reachable yet (%s); retrying in %.0fs", result.error, delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, REMOTE_RETRY_MAX_S)


async def serve(plan: ServePlan) -> int:
    """Run until SIGTERM/SIGINT; returns the process exit status."""
    settings = plan.config.settings
    holder = EngineHolder(plan.loader, drain_timeout_s=settings.drain_timeout_s)
    app = create_app(holder, settings, plan.config.api_token, telegram_webhook_path=plan.telegram_webhook_path)
    runner = web.AppRunner(app, access_log=log if settings.access_log else None,
                           handle_signals=False)
    await runner.setup()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    reloads: set[asyncio.Task[Any]] = set()

    def on_sighup() -> None:
        log.info("SIGHUP: reloading artifacts")
        task = loop.create_task(holder.reload())
        reloads.add(task)
        task.add_done_callback(reloads.discard)

    bots: BotGroup | None = None
    try:
        site = web.TCPSite(runner, settings.host, settings.port)
        await site.start()
        for address in runner.addresses:
            log.info("listening on http://%s:%s", *address[:2])
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        loop.add_signal_handler(signal.SIGHUP, on_sighup)

        loading = asyncio.ensure_future(_first_load(holder, plan))
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait({loading, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not loading.done():
            loading.cancel()
            return 0
        stopping.cancel()
        if not loading.result():
            log.error("could not load the engine: %s", holder.last_error)
            return 2
        if plan.start_bots is not None:
            started = plan.start_bots(holder, app[WEBHOOKS])
            bots = await started if inspect.isawaitable(started) else started
        await stop.wait()
        log.info("stopping")
        return 0
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.remove_signal_handler(sig)
        if bots is not None:
            await bots.stop()
        await runner.cleanup()
        for task in reloads:
            task.cancel()
        await holder.close()
