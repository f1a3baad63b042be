"""``cardsight serve``: the one long-running process of a deployment (HTTP API, try-it page,
bots), with the model loaded here or, with ``--engine-url``, on other machines."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the HTTP API, the try-it page and the bots that have tokens",
        description="Load the artifacts once, serve the HTTP API and try-it page, and start "
        "the bots that have tokens. SIGHUP reloads the artifacts without dropping requests. "
        "Settings: [service], [engine] and [bot] in cardsight.toml or CARDSIGHT_* env vars.",
    )
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default 8080)")
    parser.add_argument("--artifacts", type=Path, help="artifact set to load (default var/artifacts)")
    parser.add_argument(
        "--engine-url",
        help="forward to another cardsight service's /identify (e.g. a load balancer in front "
        "of engine replicas) instead of loading the model here",
    )
    parser.add_argument("--no-bots", action="store_true", help="serve HTTP only, even with bot tokens")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from engine.runtime import configure

    configure()  # before the engine's libraries load: see engine/runtime.py
    import asyncio

    from service.server import BotStarter, ServePlan, serve
    from service.settings import load_service_config

    # Every section is read and validated here, before anything starts listening.
    config = load_service_config(host=args.host, port=args.port, engine_url=args.engine_url)
    if config.settings.engine_url:
        from service.loaders import remote_loader

        loader = remote_loader(
            config.settings.engine_url, config.engine_token, config.settings.engine_timeout_s
        )
    else:
        from configuration import load_section
        from engine.settings import EngineSettings
        from service.loaders import LocalLoader

        engine_settings = load_section("engine", EngineSettings, artifacts=args.artifacts)
        loader = LocalLoader(Path(engine_settings.artifacts), engine_settings)
    start_bots: BotStarter | None = None
    webhook_path: str | None = None
    if not args.no_bots:
        from bot.feedback import FeedbackStore
        from bot.runner import start_bots as start_bot_group
        from bot.settings import load_bot_settings, load_feedback_settings, load_tokens

        bot_settings, tokens, feedback_settings = load_bot_settings(), load_tokens(), load_feedback_settings()
        feedback = FeedbackStore(feedback_settings) if feedback_settings.anywhere else None
        start_bots = lambda engine, webhooks: start_bot_group(  # noqa: E731
            engine, bot_settings, tokens=tokens, webhooks=webhooks, feedback=feedback)
        if bot_settings.telegram_mode == "webhook" and tokens.telegram:
            webhook_path = bot_settings.telegram_webhook_path  # a route of this server's app
    plan = ServePlan(
        config=config,
        loader=loader,
        retry_first_load=config.settings.engine_url is not None,
        start_bots=start_bots,
        telegram_webhook_path=webhook_path,
    )
    return asyncio.run(serve(plan))
