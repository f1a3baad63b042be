"""The polite client against the local stand-in: rate limit, Retry-After, retries, timeouts.

Rate limits are checked on the *server's* clock: the stand-in logs when each request arrived.
"""

from __future__ import annotations

import asyncio
import time
from email.utils import formatdate
from pathlib import Path

import pytest

from tests.scryfall_stub import ScryfallStub, sync_settings
from training.sync.errors import HttpFailure
from training.sync.http import PoliteClient, parse_retry_after

# Arrival times carry a few ms of loopback/scheduling jitter; the limit is checked within it.
JITTER_S = 0.02


def assert_rate_at_most(arrivals: list[float], per_second: float) -> None:
    limit = int(per_second)
    for first, last in zip(arrivals, arrivals[limit:]):
        assert last - first >= 1.0 - JITTER_S, f"{limit + 1} API requests within {last - first:.3f}s"
    for earlier, later in zip(arrivals, arrivals[1:]):
        assert later - earlier >= 1.0 / per_second - JITTER_S


def test_rate_check_catches_a_burst() -> None:
    with pytest.raises(AssertionError):
        assert_rate_at_most([i * 0.09 for i in range(12)], 10)


async def test_api_requests_never_exceed_the_configured_rate(tmp_path: Path) -> None:
    async with ScryfallStub([]) as stub:
        settings = sync_settings(stub, tmp_path, api_rate_per_s=10)
        async with PoliteClient(settings) as client:
            url = client.api_url("bulk-data")
            results = await asyncio.gather(*(client.get_json(url) for _ in range(16)))
        arrivals = [r.at for r in stub.requests_to("/api/")]
    assert all(r["object"] == "list" for r in results)
    assert len(arrivals) == 16
    assert_rate_at_most(arrivals, 10)
    assert arrivals[-1] - arrivals[0] >= 1.5 - JITTER_S


async def test_retry_after_pauses_every_api_request(tmp_path: Path) -> None:
    async with ScryfallStub([], retry_after="1") as stub:
        stub.inject("/api/bulk-data", "429")
        settings = sync_settings(stub, tmp_path, api_rate_per_s=10)
        async with PoliteClient(settings) as client:
            url = client.api_url("bulk-data")
            await asyncio.gather(*(client.get_json(url) for _ in range(4)))
        log = stub.requests_to("/api/")
    assert [r.status for r in log] == [429, 200, 200, 200, 200]
    assert log[1].at - log[0].at >= 1.0 - JITTER_S, "the next API request came before Retry-After elapsed"
    assert_rate_at_most([r.at for r in log], 10)


async def test_retry_after_longer_than_allowed_fails_clearly(tmp_path: Path) -> None:
    async with ScryfallStub([], retry_after="3600") as stub:
        stub.inject("/api/bulk-data", "429")
        async with PoliteClient(sync_settings(stub, tmp_path, max_retry_after_s=60)) as client:
            started = time.monotonic()
            with pytest.raises(HttpFailure, match="asked to wait 3600s"):
                await client.get_json(client.api_url("bulk-data"))
    assert time.monotonic() - started < 5


async def test_server_errors_are_retried_then_given_up(tmp_path: Path) -> None:
    async with ScryfallStub([]) as stub:
        stub.inject("/api/bulk-data", "500", "500", "500", "500")
        async with PoliteClient(sync_settings(stub, tmp_path, retries=1)) as client:
            with pytest.raises(HttpFailure, match=r"HTTP 500 \(gave up after 2 attempts\)"):
                await client.get_json(client.api_url("bulk-data"))
        async with PoliteClient(sync_settings(stub, tmp_path, retries=2)) as client:
            assert (await client.get_json(client.api_url("bulk-data")))["object"] == "list"
    assert [r.status for r in stub.requests] == [500, 500, 500, 500, 200]


async def test_not_found_is_not_retried(tmp_path: Path) -> None:
    async with ScryfallStub([]) as stub:
        async with PoliteClient(sync_settings(stub, tmp_path, retries=3)) as client:
            with pytest.raises(HttpFailure, match="HTTP 404"):
                await client.get_json(client.api_url("cards/nothing"))
    assert len(stub.requests) == 1


async def test_slow_answers_time_out_and_are_retried(tmp_path: Path) -> None:
    async with ScryfallStub([], slow_s=1.5) as stub:
        stub.inject("/api/bulk-data", "slow")
        async with PoliteClient(sync_settings(stub, tmp_path, read_timeout_s=0.3)) as client:
            assert (await client.get_json(client.api_url("bulk-data")))["object"] == "list"
    assert len(stub.requests_to("/api/")) == 2


async def test_every_request_carries_user_agent_and_accept(tmp_path: Path) -> None:
    async with ScryfallStub([]) as stub:
        async with PoliteClient(sync_settings(stub, tmp_path, user_agent="TestBot/9.9 (ops@example.org)")) as client:
            await client.get_json(client.api_url("bulk-data"))
    assert [(r.user_agent, r.accept) for r in stub.requests] == [("TestBot/9.9 (ops@example.org)", "application/json")]


def test_retry_after_parses_seconds_and_http_dates() -> None:
    assert parse_retry_after("30") == 30
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    in_ten_seconds = parse_retry_after(formatdate(time.time() + 10, usegmt=True))
    assert in_ten_seconds is not None and 8 <= in_ten_seconds <= 10
    assert parse_retry_after(formatdate(time.time() - 100, usegmt=True)) == 0
