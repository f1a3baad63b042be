"""The platform stand-ins with outages on demand: 5xx and 429 answers, dropped gateways.

Faults are queued per call: ``fail("sendMessage", 500, 429)`` makes the next two
``sendMessage`` calls fail with those statuses, after which the stand-in answers normally
again, which is what a short platform outage looks like to the bot.
"""

from __future__ import annotations

from collections import defaultdict, deque
from typing import Any

from aiohttp import web

from tests.discord_standin import DiscordStandin, _json
from tests.telegram_standin import TelegramStandin

RETRY_AFTER_S = 0.2


class _Faults:
    def __init__(self) -> None:
        self._queued: dict[str, deque[int]] = defaultdict(deque)
        self.served: list[tuple[str, int]] = []

    def fail(self, key: str, *statuses: int) -> None:
        self._queued[key].extend(statuses)

    def pending(self) -> list[str]:
        return [key for key, queued in self._queued.items() if queued]

    def next_for(self, key: str) -> int | None:
        queued = self._queued.get(key)
        if not queued:
            return None
        status = queued.popleft()
        self.served.append((key, status))
        return status


class FlakyTelegram(TelegramStandin):
    """Fail a Bot API method with a status (429 carries Telegram's ``retry_after``)."""

    def __init__(self) -> None:
        super().__init__()
        self.faults = _Faults()

    def fail(self, method: str, *statuses: int) -> None:
        self.faults.fail(method, *statuses)

    async def _method(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        status = self.faults.next_for(method)
        if status is None:
            return await super()._method(request)
        await self.log.add(f"{method} failed", {"status": status})
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": f"Injected {status}"}
        if status == 429:
            body["parameters"] = {"retry_after": 1}
        return web.json_response(body, status=status)


class FlakyDiscord(DiscordStandin):
    """Fail REST calls by route prefix (429s as Discord sends them), refuse gateway connects."""

    def __init__(self) -> None:
        super().__init__()
        self.faults = _Faults()
        self.refused_connects = 0
        self.connects = 0

    def fail(self, route_prefix: str, *statuses: int) -> None:
        self.faults.fail(route_prefix, *statuses)

    def refuse_connects(self, count: int) -> None:
        self.faults.fail("gateway", *([502] * count))

    async def drop_gateway(self) -> None:
        """Close every gateway connection the way a Discord restart does (1001 going away)."""
        for ws in list(self.sockets):
            await ws.close(code=1001, message=b"going away")

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        self.connects += 1
        status = self.faults.next_for("gateway")
        if status is not None:
            self.refused_connects += 1
            return _json({"message": "gateway unavailable", "code": 0}, status)
        return await super()._gateway(request)

    async def _rest(self, request: web.Request) -> web.Response:
        route = f"{request.method} /{request.match_info['path']}"
        for prefix in self.faults.pending():
            if prefix != "gateway" and route.startswith(prefix) and (status := self.faults.next_for(prefix)):
                await self.log.add(f"{route} failed", {"status": status})
                if status == 429:
                    body = {"message": "You are being rate limited.", "retry_after": RETRY_AFTER_S, "global": False}
                    response = _json(body, 429)
                    response.headers["Via"] = "1.1 google"  # discord.py treats a 429 without it as a ban
                    return response
                return _json({"message": "injected", "code": 0}, status)
        return await super()._rest(request)
