"""Every HTTP endpoint, with good and bad input, over a real loopback server and a fake engine."""

from __future__ import annotations

import json
from typing import AsyncIterator

import aiohttp
import pytest

from engine.errors import EngineBusy, RequestTimeout
from service.app import create_app
from service.holder import EngineHolder
from service.settings import ServiceSettings
from tests.service_support import FakeRecognizer, png_bytes, serving


async def loaded_holder(engine: FakeRecognizer) -> EngineHolder:
    holder = EngineHolder(lambda: engine)
    assert (await holder.reload()).ok
    return holder


async def app_for(engine: FakeRecognizer | None = None, token: str | None = None, **settings: object):
    holder = await loaded_holder(engine or FakeRecognizer())
    return create_app(holder, ServiceSettings(**settings), token)  # type: ignore[arg-type]


async def test_identify_raw_body_returns_every_card_with_links_and_quads() -> None:
    async with serving(await app_for()) as client:
        resp = await client.post("/identify", data=png_bytes(320, 240),
                                 headers={"Content-Type": "image/png"})
        assert resp.status == 200
        body = await resp.json()
    (card,) = body["cards"]
    assert card["name"] == "Lightning Bolt"
    assert card["scryfall_uri"].startswith("https://scryfall.com/card/lea/")
    assert (card["set"], card["collector_number"]) == ("lea", "10")
    assert card["confidence"] == pytest.approx(0.93)
    assert card["quad"] == [[80.0, 60.0], [240.0, 60.0], [240.0, 180.0], [80.0, 180.0]]
    assert [a["name"] for a in card["alternatives"]] == ["Llanowar Elves", "Counterspell"]
    assert card["details"]["prices"]["usd"] == "420.00" and card["details"]["legalities"]["vintage"] == "legal"
    assert body["image_size"] == [320, 240]
    assert body["engine"] == {"generation": 1, "model_version": "fake-1", "index_version": "fake-1-index"}


async def test_identify_returns_the_decklist_of_a_spread() -> None:
    async with serving(await app_for(FakeRecognizer(cards=40))) as client:
        resp = await client.post("/identify", data=png_bytes(640, 480), headers={"Content-Type": "image/png"})
        body = await resp.json()
    assert len(body["cards"]) == 40
    deck = body["decklist"]
    assert deck["text"] == "14 Lightning Bolt\n13 Counterspell\n13 Llanowar Elves\n"
    assert deck["cards"] == 40 and deck["unsure"] == 1
    assert deck["entries"][0] == {"count": 14, "name": "Lightning Bolt", "unsure": 1}


async def test_identify_multipart_form_field() -> None:
    async with serving(await app_for()) as client:
        form = aiohttp.FormData()
        form.add_field("note", "ignored")
        form.add_field("image", png_bytes(100, 140), filename="photo.png", content_type="image/png")
        resp = await client.post("/identify", data=form)
        assert resp.status == 200
        assert (await resp.json())["image_size"] == [100, 140]


@pytest.mark.parametrize(
    "data, code",
    [
        (b"", "bad_image"),
        (b"definitely not a photo", "bad_image"),
        (png_bytes()[:40], "bad_image"),
    ],
    ids=["empty", "text", "truncated-png"],
)
async def test_identify_rejects_unusable_bodies(data: bytes, code: str) -> None:
    async with serving(await app_for()) as client:
        resp = await client.post("/identify", data=data, headers={"Content-Type": "image/jpeg"})
        assert resp.status == 400
        error = (await resp.json())["error"]
    assert error["code"] == code
    assert error["message"]


async def test_identify_multipart_without_image_field_is_a_bad_request() -> None:
    async with serving(await app_for()) as client:
        form = aiohttp.FormData(default_to_multipart=True)
        form.add_field("caption", "where is the file?")
        form.add_field("other", "x")
        resp = await client.post("/identify", data=form)
        assert resp.status == 400
        assert "'image'" in (await resp.json())["error"]["message"]


async def test_identify_refuses_oversized_uploads_declared_or_streamed() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(8):
            yield b"\xff" * 1024

    async with serving(await app_for(max_body_bytes=4096)) as client:
        declared = await client.post("/identify", data=b"\xff" * 5000)
        streamed = await client.post("/identify", data=chunks())  # chunked: no Content-Length
        form = aiohttp.FormData()
        form.add_field("image", b"\xff" * 5000, filename="big.jpg")
        multipart = await client.post("/identify", data=form)
        for resp in (declared, streamed, multipart):
            assert resp.status == 413
            assert (await resp.json())["error"]["code"] == "too_large"


@pytest.mark.parametrize(
    "error, status, code",
    [(EngineBusy("queue full"), 503, "busy"), (RequestTimeout("slow"), 504, "timeout"),
     (RuntimeError("bug"), 500, "internal")],
)
async def test_engine_failures_map_to_status_and_service_keeps_serving(
    error: Exception, status: int, code: str
) -> None:
    engine = FakeRecognizer()
    async with serving(await app_for(engine)) as client:
        engine.fail_with = error  # type: ignore[assignment]
        resp = await client.post("/identify", data=png_bytes())
        assert resp.status == status
        assert (await resp.json())["error"]["code"] == code
        engine.fail_with = None
        assert (await client.post("/identify", data=png_bytes())).status == 200


async def test_health_is_503_until_the_first_load_then_200() -> None:
    holder = EngineHolder(lambda: FakeRecognizer("v7"))
    async with serving(create_app(holder, ServiceSettings())) as client:
        resp = await client.get("/health")
        assert resp.status == 503
        assert (await resp.json())["status"] == "loading"
        identify = await client.post("/identify", data=png_bytes())
        assert identify.status == 503
        assert (await identify.json())["error"]["code"] == "not_ready"
        await holder.reload()
        resp = await client.get("/health")
        assert resp.status == 200
        body = await resp.json()
    assert body["status"] == "ok"
    assert body["model_version"] == "v7"
    assert body["generation"] == 1


async def test_card_search_and_lookup() -> None:
    async with serving(await app_for()) as client:
        resp = await client.get("/cards/search", params={"q": "lightning"})
        assert resp.status == 200
        names = [m["name"] for m in (await resp.json())["results"]]
        assert names == ["Lightning Bolt", "Lightning Helix"]
        limited = await (await client.get("/cards/search", params={"q": "l", "limit": "1"})).json()
        assert len(limited["results"]) == 1
        card = await client.get("/cards/id-2")
        assert card.status == 200
        assert "details" not in (await card.json())  # a card without details simply omits them
        assert (await card.json())["name"] == "Counterspell"
        bolt = await (await client.get("/cards/id-0")).json()
        assert bolt["details"]["prices"] == {"usd": "420.00", "eur": "380.50"}
        assert bolt["details"]["prices_date"] == "2024-05-01"
        assert bolt["details"]["legalities"]["modern"] == "legal"
        assert bolt["details"]["type_line"] == "Instant" and "3 damage" in bolt["details"]["oracle_text"]
        in_set = await (await client.get("/cards/search", params={"q": "lightning", "set": "RAV"})).json()
        assert in_set["set"] == "rav" and [m["name"] for m in in_set["results"]] == ["Lightning Helix"]
        missing = await client.get("/cards/no-such-id")
        assert missing.status == 404
        assert (await missing.json())["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    "params",
    [{}, {"q": "   "}, {"q": "x" * 201}, {"q": "bolt", "limit": "0"},
     {"q": "bolt", "limit": "many"}, {"q": "bolt", "limit": "51"}, {"q": "bolt", "set": "m10; drop"}],
    ids=["no-q", "blank-q", "long-q", "limit-0", "limit-text", "limit-over-max", "bad-set"],
)
async def test_card_search_rejects_bad_queries(params: dict[str, str]) -> None:
    async with serving(await app_for()) as client:
        resp = await client.get("/cards/search", params=params)
        assert resp.status == 400
        assert (await resp.json())["error"]["code"] == "bad_query"


async def test_bearer_token_guards_the_api_but_not_probes_or_page() -> None:
    async with serving(await app_for(token="s3cret")) as client:
        anonymous = await client.post("/identify", data=png_bytes())
        assert anonymous.status == 401
        assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
        wrong = await client.get("/cards/search?q=bolt", headers={"Authorization": "Bearer nope"})
        assert wrong.status == 401
        good = await client.post("/identify", data=png_bytes(),
                                 headers={"Authorization": "Bearer s3cret"})
        assert good.status == 200
        for path in ("/health", "/metrics", "/openapi.json", "/"):
            assert (await client.get(path)).status == 200, path


async def test_admin_reload_needs_a_configured_token() -> None:
    async with serving(await app_for()) as client:
        resp = await client.post("/admin/reload")
        assert resp.status == 403
        assert "SIGHUP" in (await resp.json())["error"]["message"]


async def test_admin_reload_swaps_generation_and_keeps_old_engine_on_failure() -> None:
    engines = iter([FakeRecognizer("v1"), FakeRecognizer("v2")])

    def loader() -> FakeRecognizer:
        engine = next(engines, None)
        if engine is None:
            raise OSError("artifact set missing")
        return engine

    holder = EngineHolder(loader)
    await holder.reload()
    auth = {"Authorization": "Bearer adm"}
    async with serving(create_app(holder, ServiceSettings(), "adm")) as client:
        ok = await client.post("/admin/reload", headers=auth)
        assert ok.status == 200
        assert (await ok.json())["generation"] == 2
        failed = await client.post("/admin/reload", headers=auth)
        assert failed.status == 500
        body = await failed.json()
        assert body["ok"] is False and "artifact set missing" in body["error"]
        health = await (await client.get("/health")).json()
        assert (health["model_version"], health["generation"]) == ("v2", 2)
        assert health["last_reload_error"].startswith("OSError")
        assert (await client.post("/identify", data=png_bytes(), headers=auth)).status == 200


async def test_metrics_count_requests_stages_errors_and_engine_state() -> None:
    app = await app_for(FakeRecognizer("m1"))
    other = await app_for(FakeRecognizer("m2"))  # a second app must not collide in one process
    async with serving(app) as client, serving(other):
        await client.post("/identify", data=png_bytes())
        await client.post("/identify", data=b"junk")
        await client.get("/cards/search")
        resp = await client.get("/metrics")
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain")
        text = await resp.text()
    expected = [
        'cardsight_http_requests_total{method="POST",route="/identify",status="200"} 1.0',
        'cardsight_http_requests_total{method="POST",route="/identify",status="400"} 1.0',
        'cardsight_http_request_seconds_count{route="/identify"} 2.0',
        'cardsight_stage_seconds_count{stage="embed"} 1.0',
        'cardsight_stage_seconds_sum{stage="embed"} 0.003',
        'cardsight_errors_total{code="bad_image"} 1.0',
        'cardsight_errors_total{code="bad_query"} 1.0',
        'cardsight_cards_per_image_count 1.0',
        "cardsight_queue_depth 0.0",
        "cardsight_engine_ready 1.0",
        "cardsight_gallery_size 4.0",
        'cardsight_reloads_total{outcome="ok"} 1.0',
        'cardsight_artifacts_info{index_version="m1-index",model_version="m1"} 1.0',
    ]
    for line in expected:
        assert line in text, line


async def test_openapi_describes_every_route() -> None:
    app = await app_for()
    async with serving(app) as client:
        resp = await client.get("/openapi.json")
        assert resp.status == 200
        spec = json.loads(await resp.text())
    assert spec["openapi"].startswith("3.")
    for route in app.router.routes():
        path = route.resource.canonical if route.resource else ""
        if route.method == "HEAD" or path.startswith("/static"):
            continue
        assert route.method.lower() in spec["paths"].get(path, {}), f"{route.method} {path} undocumented"


async def test_try_it_page_and_assets_are_served() -> None:
    async with serving(await app_for()) as client:
        page = await client.get("/")
        assert page.status == 200
        assert "default-src 'self'" in page.headers["Content-Security-Policy"]
        html = await page.text()
        assert 'src="static/app.js"' in html
        script = await client.get("/static/app.js")
        assert script.status == 200
        assert "fetch(\"identify\"" in await script.text()
        assert (await client.get("/static/style.css")).status == 200


async def test_unknown_paths_answer_json_404() -> None:
    async with serving(await app_for()) as client:
        resp = await client.get("/nope")
        assert resp.status == 404
        assert (await resp.json())["error"]["code"] == "not_found"
        wrong_method = await client.get("/identify")
        assert wrong_method.status == 405
        assert wrong_method.headers["Allow"] == "POST"
