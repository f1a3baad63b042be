"""`RemoteRecognizer` against a real loopback service: same answers, same typed errors."""

from __future__ import annotations

import socket

import pytest
from aiohttp import web

from engine.errors import (
    EngineBusy,
    ImageError,
    ImageTooLarge,
    RecognizerError,
    RequestTimeout,
)
from engine.protocol import AsyncRecognizer
from service.app import create_app
from service.client import RemoteRecognizer
from service.holder import EngineHolder
from service.settings import ServiceSettings
from tests.service_support import FakeRecognizer, png_bytes, serving


async def served(engine: FakeRecognizer, token: str | None = None, **settings: object) -> web.Application:
    holder = EngineHolder(lambda: engine)
    await holder.reload()
    return create_app(holder, ServiceSettings(**settings), token)  # type: ignore[arg-type]


async def test_remote_answers_equal_local_answers() -> None:
    engine = FakeRecognizer("r1", answer=2)
    async with serving(await served(engine, token="tok")) as client:
        remote = RemoteRecognizer(str(client.make_url("/")), token="tok")
        try:
            assert isinstance(remote, AsyncRecognizer)
            photo = png_bytes(200, 280)
            assert await remote.identify_async(photo) == await engine.identify_async(photo)
            assert await remote.lookup_async("lightning", 1) == await engine.lookup_async("lightning", 1)
            (bolt,) = await remote.lookup_async("lightning", 1)
            assert bolt.details is not None and bolt.details.prices["usd"] == "420.00"  # details travel too
            in_rav = await remote.lookup_async("lightning", 5, set_code="rav")
            assert [m.name for m in in_rav] == ["Lightning Helix"]
            assert await remote.card_async("id-1") == await engine.card_async("id-1")
            assert await remote.card_async("id/../../etc") is None
            health = await remote.health()
            assert health["model_version"] == "r1"
            assert remote.info()["remote"] == str(client.make_url("")).rstrip("/")
            assert "tok" not in repr(remote)
        finally:
            await remote.close()


@pytest.mark.parametrize(
    "fail_with, expected",
    [(None, ImageError), (EngineBusy("full"), EngineBusy), (RequestTimeout("slow"), RequestTimeout),
     (RuntimeError("bug"), RecognizerError)],
    ids=["bad-image", "busy", "timeout", "internal"],
)
async def test_http_errors_come_back_as_engine_errors(
    fail_with: Exception | None, expected: type[RecognizerError]
) -> None:
    engine = FakeRecognizer()
    engine.fail_with = fail_with  # type: ignore[assignment]
    async with serving(await served(engine)) as client:
        remote = RemoteRecognizer(str(client.make_url("/")))
        try:
            with pytest.raises(expected) as caught:
                await remote.identify_async(b"not an image" if fail_with is None else png_bytes())
        finally:
            await remote.close()
    assert type(caught.value) is expected
    if expected is not RecognizerError:  # the server's user-facing message survives the trip
        assert caught.value.user_message == expected.user_message


async def test_too_large_and_unauthorized() -> None:
    async with serving(await served(FakeRecognizer(), token="right", max_body_bytes=2048)) as client:
        wrong = RemoteRecognizer(str(client.make_url("/")), token="wrong")
        right = RemoteRecognizer(str(client.make_url("/")), token="right")
        try:
            with pytest.raises(RecognizerError) as caught:
                await wrong.identify_async(png_bytes())
            assert type(caught.value) is RecognizerError and "401" in str(caught.value)
            with pytest.raises(ImageTooLarge):
                await right.identify_async(b"\0" * 4096)
        finally:
            await wrong.close()
            await right.close()


async def test_unreachable_or_slow_engine() -> None:
    with socket.socket() as sock:  # a port with nobody listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    down = RemoteRecognizer(f"http://127.0.0.1:{port}")
    try:
        with pytest.raises(EngineBusy, match="unreachable"):
            await down.identify_async(png_bytes())
    finally:
        await down.close()
    async with serving(await served(FakeRecognizer(delay_s=1.0))) as client:
        slow = RemoteRecognizer(str(client.make_url("/")), timeout_s=0.2)
        try:
            with pytest.raises(RequestTimeout):
                await slow.identify_async(png_bytes())
        finally:
            await slow.close()


async def test_non_json_proxy_errors_map_by_status() -> None:
    async def bad_gateway(request: web.Request) -> web.Response:
        return web.Response(status=502, text="<html>Bad Gateway</html>", content_type="text/html")

    proxy = web.Application()
    proxy.router.add_post("/identify", bad_gateway)
    async with serving(proxy) as client:
        remote = RemoteRecognizer(str(client.make_url("/")))
        try:
            with pytest.raises(EngineBusy):
                await remote.identify_async(png_bytes())
        finally:
            await remote.close()
