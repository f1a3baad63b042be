"""`RemoteRecognizer`: the engine of another machine, behind the same protocol as a local one.

Bots (or a front-end `cardsight serve`) use it to forward photos to engine replicas behind a
load balancer instead of loading the model themselves. HTTP failures come back as the engine's
own typed errors, so callers handle a remote engine exactly like a local one: a bad image is
still `ImageError`, a full queue or an unreachable engine is `EngineBusy`, a slow one
`RequestTimeout`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any
from urllib.parse import quote

import aiohttp

from engine.errors import (
    EngineBusy,
    ImageError,
    ImageTooLarge,
    RecognizerError,
    RequestTimeout,
)
from engine.types import CardMatch, Identification, identification_from_json, match_from_json

log = logging.getLogger(__name__)

ERRORS_BY_CODE: dict[str, type[RecognizerError]] = {
    cls.code: cls for cls in (ImageError, ImageTooLarge, EngineBusy, RequestTimeout)
}
ERRORS_BY_STATUS: dict[int, type[RecognizerError]] = {
    400: ImageError, 413: ImageTooLarge, 502: EngineBusy, 503: EngineBusy, 504: RequestTimeout,
}


class RemoteRecognizer:
    """`engine.protocol.AsyncRecognizer` over another cardsight service's HTTP API.

    The aiohttp session is created on first use, inside the caller's event loop; call
    `close()` when done.
    """

    def __init__(self, base_url: str, token: str | None = None, *, timeout_s: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None
        self._info: dict[str, Any] = {}

    def __repr__(self) -> str:  # never show the token
        return f"RemoteRecognizer({self.base_url!r})"

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(headers=self._headers, timeout=self._timeout)
        return self._session

    async def _request(self, method: str, path: str, *, none_if_missing: bool = False, raw: bool = False,
                       **kwargs: Any) -> Any:
        """JSON body of a 2xx answer (its bytes with `raw`; None for a 404 when allowed), else
        the server's typed error."""
        url = f"{self.base_url}{path}"
        try:
            async with self._client().request(method, url, **kwargs) as response:
                if response.status == 404 and none_if_missing:
                    return None
                if raw and response.status < 400:
                    return await response.read()
                text = await response.text()
        except asyncio.TimeoutError as exc:
            raise RequestTimeout(f"{method} {url}: no answer within {self._timeout.total}s") from exc
        except aiohttp.ClientError as exc:
            raise EngineBusy(f"{method} {url}: engine unreachable ({exc})") from exc
        try:
            body = json.loads(text) if text else None
        except ValueError:
            body = None  # a proxy's HTML error page, say: fall back to the status code
        if response.status >= 400:
            raise self._error(response.status, body, url)
        if not isinstance(body, dict):
            raise EngineBusy(f"{method} {url}: answered {response.status} without a JSON object")
        return body

    @staticmethod
    def _error(status: int, body: Any, url: str) -> RecognizerError:
        error = body.get("error", {}) if isinstance(body, dict) else {}
        code, message = error.get("code"), error.get("message")
        cls = ERRORS_BY_CODE.get(code) or ERRORS_BY_STATUS.get(status)
        if cls is None:  # 401/403/500: an operator problem, not the user's
            log.error("remote engine %s answered %s: %s", url, status, error or body)
            return RecognizerError(f"remote engine {url} answered {status} {code or ''}".strip())
        return cls(f"remote engine {url} answered {status} {code}", user_message=message)

    async def health(self) -> dict[str, Any]:
        """The remote ``/health``; raises `EngineBusy` while it is down or still loading."""
        info = await self._request("GET", "/health")
        self._info = dict(info or {})
        return self._info

    async def identify_async(self, data: bytes) -> Identification:
        body = await self._request(
            "POST", "/identify", data=data, headers={"Content-Type": "application/octet-stream"}
        )
        if isinstance(body.get("engine"), dict):
            self._info.update({k: v for k, v in body["engine"].items() if v is not None})
        return identification_from_json(body)

    async def lookup_async(self, query: str, limit: int = 5, set_code: str | None = None) -> list[CardMatch]:
        params = {"q": query, "limit": str(limit), **({"set": set_code} if set_code else {})}
        body = await self._request("GET", "/cards/search", params=params)
        return [match_from_json(m) for m in body["results"]]

    async def card_async(self, card_id: str) -> CardMatch | None:
        body = await self._request("GET", f"/cards/{quote(card_id, safe='')}", none_if_missing=True)
        return None if body is None else match_from_json(body)

    async def explain_async(self, data: bytes, card_id: str) -> bytes:
        """The remote `/explain` PNG (see `Recognizer.explain`)."""
        return await self._request("POST", "/explain", raw=True, params={"card": card_id}, data=data,
                                   headers={"Content-Type": "application/octet-stream"})

    def info(self) -> dict[str, Any]:
        """What the remote engine last reported about itself, plus where it is."""
        return {**self._info, "remote": self.base_url}

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
