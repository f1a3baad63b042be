"""Request handlers of the HTTP API; app wiring and cross-cutting concerns live in `app.py`."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from engine.decklist import Decklist
from service.demo_images import demo_images, point_at_demo_images
from service.holder import EngineHolder
from service.metrics import ServiceMetrics
from service.settings import ServiceSettings
from service.upload import read_image

STATIC_DIR = Path(__file__).parent / "static"
OPENAPI_FILE = Path(__file__).parent / "openapi.json"
MAX_QUERY_CHARS = 200

HOLDER = web.AppKey("holder", EngineHolder)
SETTINGS = web.AppKey("settings", ServiceSettings)
METRICS = web.AppKey("metrics", ServiceMetrics)
WEBHOOKS = web.AppKey("webhooks", dict)
"""Chat bots' update receivers by name ("telegram"), filled while the bots run: the app
exists before they start, and a stopped bot's updates answer 503 (Telegram retries)."""
TELEGRAM_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class ApiError(Exception):
    """A request the API refuses for reasons of its own (bad query, unknown id, auth)."""

    def __init__(self, status: int, code: str, message: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


def error_response(status: int, code: str, message: str,
                   headers: dict[str, str] | None = None) -> web.Response:
    """The one error shape of the API, which `service.client` maps back to typed errors."""
    return web.json_response({"error": {"code": code, "message": message}}, status=status,
                             headers=headers)


async def identify(request: web.Request) -> web.Response:
    settings, holder = request.app[SETTINGS], request.app[HOLDER]
    data = await read_image(request, settings.max_body_bytes)
    async with holder.use() as slot:
        result = await slot.engine.identify_async(data)
    request.app[METRICS].observe_identification(result.timings_ms, len(result.cards))
    body = result.to_json()
    body["decklist"] = Decklist.of(result.cards).to_json()
    images = demo_images(slot.engine)
    if images:
        point_at_demo_images(body, images)
    body["engine"] = {
        "generation": slot.generation,
        "model_version": slot.info.get("model_version"),
        "index_version": slot.info.get("index_version"),
    }
    return web.json_response(body)


async def explain(request: web.Request) -> web.Response:
    """PNG of the photo's card matched to `?card=ID`, tinted where it agrees with that card
    (green) and where not (red): `engine.explain`. The photo is sent again, as to identify."""
    card_id = request.query.get("card", "").strip()
    if not card_id or len(card_id) > MAX_QUERY_CHARS:
        raise ApiError(400, "bad_query", "Say which card to explain: /explain?card=CARD_ID")
    data = await read_image(request, request.app[SETTINGS].max_body_bytes)
    async with request.app[HOLDER].use() as slot:
        picture = await slot.engine.explain_async(data, card_id)
    return web.Response(body=picture, content_type="image/png")


async def demo_card_image(request: web.Request) -> web.FileResponse:
    """A demo catalog card's generated image (only while a demo set is loaded here)."""
    card_id = request.match_info["card_id"]
    async with request.app[HOLDER].use() as slot:
        path = demo_images(slot.engine).get(card_id)
    if path is None:
        raise ApiError(404, "not_found", f"No demo card image for {card_id}.")
    return web.FileResponse(path, headers={"Cache-Control": "public, max-age=86400"})


async def search_cards(request: web.Request) -> web.Response:
    query = request.query.get("q", "").strip()
    if not query:
        raise ApiError(400, "bad_query", "Give a card name to look up: /cards/search?q=NAME")
    if len(query) > MAX_QUERY_CHARS:
        raise ApiError(400, "bad_query", f"Queries are limited to {MAX_QUERY_CHARS} characters.")
    limit_max = request.app[SETTINGS].search_limit_max
    try:
        limit = int(request.query.get("limit", "5"))
    except ValueError:
        limit = 0
    if not 1 <= limit <= limit_max:
        raise ApiError(400, "bad_query", f"limit must be a whole number from 1 to {limit_max}.")
    set_code = request.query.get("set", "").strip().lower() or None
    if set_code is not None and not (set_code.isalnum() and len(set_code) <= 8):
        raise ApiError(400, "bad_query", "set must be a set code such as M10.")
    matches = await request.app[HOLDER].lookup_async(query, limit, set_code=set_code)
    return web.json_response({"query": query, "set": set_code, "results": [m.to_json() for m in matches]})


async def get_card(request: web.Request) -> web.Response:
    card_id = request.match_info["card_id"]
    match = await request.app[HOLDER].card_async(card_id)
    if match is None:
        raise ApiError(404, "not_found", f"No card with id {card_id} in the catalog.")
    return web.json_response(match.to_json())


async def health(request: web.Request) -> web.Response:
    info = request.app[HOLDER].info()
    ready = bool(info["ready"])
    return web.json_response({"status": "ok" if ready else "loading", **info},
                             status=200 if ready else 503)


async def metrics(request: web.Request) -> web.Response:
    return web.Response(body=request.app[METRICS].render(),
                        headers={"Content-Type": CONTENT_TYPE_LATEST})


async def reload(request: web.Request) -> web.Response:
    result = await request.app[HOLDER].reload()
    return web.json_response(result.to_json(), status=200 if result.ok else 500)


async def openapi(request: web.Request) -> web.FileResponse:
    return web.FileResponse(OPENAPI_FILE, headers={"Content-Type": "application/json"})


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "index.html")


async def telegram_webhook(request: web.Request) -> web.Response:
    """One Telegram update, handed to the running bot, which answers with the status."""
    receive = request.app[WEBHOOKS].get("telegram")
    if receive is None:
        return web.Response(status=503, headers={"Retry-After": "5"})
    status = await receive(await request.read(), request.headers.get(TELEGRAM_SECRET_HEADER))
    return web.Response(status=status)
