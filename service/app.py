"""Assembles the aiohttp application: routes, auth, error mapping and request metrics.

Errors are mapped in one middleware so every endpoint answers failures with the same JSON
shape and status codes the engine's typed errors declare; `service.client` relies on that.
"""

from __future__ import annotations

import hmac
import logging
import time
from typing import Awaitable, Callable

from aiohttp import web

from engine.errors import RecognizerError
from service import routes
from service.holder import EngineHolder
from service.metrics import ServiceMetrics
from service.routes import HOLDER, METRICS, SETTINGS, STATIC_DIR, WEBHOOKS, ApiError, error_response
from service.settings import ServiceSettings

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PROTECTED = frozenset({"identify", "explain", "search", "card", "reload"})
"""Route names that need the bearer token when one is configured; health, metrics, the
OpenAPI document and the try-it page stay open so probes and browsers can reach them."""

PAGE_CSP = (
    "default-src 'self'; img-src 'self' blob: data: https:; style-src 'self'; "
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'"
)


def _route_label(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


def _metrics_middleware(metrics: ServiceMetrics) -> Callable[..., Awaitable[web.StreamResponse]]:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            route = _route_label(request)
            metrics.requests.labels(route, request.method, str(status)).inc()
            metrics.latency.labels(route).observe(time.perf_counter() - started)

    return middleware


def _errors_middleware(metrics: ServiceMetrics) -> Callable[..., Awaitable[web.StreamResponse]]:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except RecognizerError as exc:
            metrics.errors.labels(exc.code).inc()
            log.info("%s %s -> %s: %s", request.method, request.path, exc.code, exc)
            return error_response(exc.http_status, exc.code, exc.user_message)
        except ApiError as exc:
            metrics.errors.labels(exc.code).inc()
            return error_response(exc.status, exc.code, exc.message, exc.headers)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            code = "not_found" if exc.status == 404 else f"http_{exc.status}"
            metrics.errors.labels(code).inc()
            allow = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
            return error_response(exc.status, code, exc.reason, allow)
        except Exception:  # noqa: BLE001 - answer 500 in the API's shape, keep serving
            metrics.errors.labels("internal").inc()
            log.exception("unhandled error on %s %s", request.method, request.path)
            return error_response(500, "internal", "Internal error; the operator can find it in the log.")
        return response

    return middleware


def _auth_middleware(token: str | None) -> Callable[..., Awaitable[web.StreamResponse]]:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        name = request.match_info.route.name
        if name == "reload" and token is None:
            raise ApiError(
                403, "forbidden",
                "POST /admin/reload is disabled until CARDSIGHT_API_TOKEN is set; send SIGHUP instead.",
            )
        if token is not None and name in PROTECTED:
            scheme, _, value = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), token.encode()):
                raise ApiError(401, "unauthorized", "Send 'Authorization: Bearer <token>'.",
                               {"WWW-Authenticate": 'Bearer realm="cardsight"'})
        return await handler(request)

    return middleware


@web.middleware
async def _page_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    if request.match_info.route.name == "index" or request.path.startswith("/static/"):
        response.headers["Content-Security-Policy"] = PAGE_CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def create_app(
    holder: EngineHolder, settings: ServiceSettings, api_token: str | None = None, *,
    telegram_webhook_path: str | None = None,
) -> web.Application:
    """The API, the try-it page and, with `telegram_webhook_path`, the route Telegram posts
    the bot's updates to (its receiver goes in `app[WEBHOOKS]` while the bot runs)."""
    metrics = ServiceMetrics(holder.info)
    app = web.Application(
        middlewares=[
            _metrics_middleware(metrics),
            _errors_middleware(metrics),
            _auth_middleware(api_token),
            _page_headers,
        ],
    )
    app[HOLDER] = holder
    app[SETTINGS] = settings
    app[METRICS] = metrics
    app.router.add_post("/identify", routes.identify, name="identify")
    app.router.add_post("/explain", routes.explain, name="explain")
    app.router.add_get("/cards/search", routes.search_cards, name="search")
    app.router.add_get("/cards/{card_id}", routes.get_card, name="card")
    app.router.add_get("/health", routes.health, name="health")
    app.router.add_get("/metrics", routes.metrics, name="metrics")
    app.router.add_post("/admin/reload", routes.reload, name="reload")
    app.router.add_get("/openapi.json", routes.openapi, name="openapi")
    app.router.add_get("/", routes.index, name="index")
    app.router.add_get("/demo-gallery/{card_id}", routes.demo_card_image, name="demo_image")
    app.router.add_static("/static/", STATIC_DIR, name="static")
    app[WEBHOOKS] = {}
    if telegram_webhook_path is not None:
        app.router.add_post(f"/{telegram_webhook_path.strip('/')}", routes.telegram_webhook, name="telegram_webhook")
    return app


def webhook_app(telegram_webhook_path: str) -> web.Application:
    """Only the Telegram webhook route: what `cardsight bot` serves, which has no API."""
    app = web.Application()
    app[WEBHOOKS] = {}
    app.router.add_post(f"/{telegram_webhook_path.strip('/')}", routes.telegram_webhook, name="telegram_webhook")
    return app
