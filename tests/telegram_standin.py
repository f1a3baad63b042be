"""A loopback stand-in for the Telegram Bot API, for driving the real python-telegram-bot.

Implements the methods the bot calls (getMe, getUpdates long-poll, getFile and file download,
sendMessage, sendDocument, sendPhoto, sendChatAction, editMessageText, answerCallbackQuery, setMyCommands, webhook
calls) with the Bot API's JSON shapes. Tests push updates in and read the calls the bot made.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import Any

from aiohttp import web

from tests.standin_log import CallLog

TOKEN = "123456789:standin-token_ABCdef"
BOT_USER = {"id": 123456789, "is_bot": True, "first_name": "cardsight", "username": "cardsight_test_bot"}


def _decode(value: str) -> Any:
    """PTB sends every parameter as a form field, JSON-encoding the non-string ones."""
    try:
        return json.loads(value)
    except ValueError:
        return value


def _upload(field: web.FileField) -> dict[str, Any]:
    """An uploaded document or photo: its name, its bytes, and its text (for text files)."""
    data = field.file.read()
    return {"filename": field.filename, "data": data, "text": data.decode("utf-8", "replace")}


class TelegramStandin:
    def __init__(self) -> None:
        self.log = CallLog()
        self.files: dict[str, bytes] = {}
        self._updates: list[dict[str, Any]] = []
        self._new_update = asyncio.Event()
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    async def start(self) -> None:
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # What tests use.

    def add_file(self, data: bytes) -> str:
        file_id = f"file{next(self._ids)}"
        self.files[file_id] = data
        return file_id

    def push(self, update: dict[str, Any]) -> int:
        update = {"update_id": next(self._ids), **update}
        self._updates.append(update)
        self._new_update.set()
        return update["update_id"]

    def message(self, chat_id: int, user_id: int, chat_type: str = "private", **fields: Any) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
        chat.update({"first_name": "Tester"} if chat_type == "private" else {"title": "Card club"})
        return {
            "message_id": next(self._ids),
            "date": int(time.time()),
            "chat": chat,
            "from": {"id": user_id, "is_bot": False, "first_name": "Tester"},
            **fields,
        }

    def photo(self, data: bytes, size: int | None = None) -> list[dict[str, Any]]:
        """A `photo` array as Telegram sends it: the sizes it made, smallest first."""
        file_id = self.add_file(data)
        return [
            {"file_id": file_id + "-thumb", "file_unique_id": file_id + "t", "width": 90, "height": 120, "file_size": 900},
            {"file_id": file_id, "file_unique_id": file_id + "u", "width": 600, "height": 800,
             "file_size": len(data) if size is None else size},
        ]

    def document(self, data: bytes, mime_type: str, file_name: str) -> dict[str, Any]:
        file_id = self.add_file(data)
        return {"file_id": file_id, "file_unique_id": file_id + "u", "file_name": file_name,
                "mime_type": mime_type, "file_size": len(data)}

    @staticmethod
    def command(text: str) -> dict[str, Any]:
        return {"text": text, "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]}

    # The Bot API.

    async def _method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != TOKEN:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        form = await request.post()
        params = {k: _decode(v) for k, v in form.items() if isinstance(v, str)}
        params.update({k: _upload(v) for k, v in form.items() if isinstance(v, web.FileField)})
        await self.log.add(method, params)
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return web.json_response({"ok": False, "error_code": 404, "description": f"Not Found: {method}"}, status=404)
        return web.json_response({"ok": True, "result": await handler(params)})

    async def _api_getMe(self, params: dict[str, Any]) -> Any:
        return {**BOT_USER, "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False}

    async def _api_getUpdates(self, params: dict[str, Any]) -> Any:
        offset = int(params.get("offset") or 0)
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), 2.0)
        while True:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            if self._updates or time.monotonic() >= deadline:
                return list(self._updates)
            self._new_update.clear()
            try:
                await asyncio.wait_for(self._new_update.wait(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                pass

    async def _api_getFile(self, params: dict[str, Any]) -> Any:
        file_id = str(params["file_id"])
        if file_id not in self.files:
            body = {"ok": False, "error_code": 400, "description": "Bad Request: invalid file_id"}
            raise web.HTTPBadRequest(text=json.dumps(body), content_type="application/json")
        return {"file_id": file_id, "file_unique_id": file_id + "u", "file_size": len(self.files[file_id]),
                "file_path": f"photos/{file_id}.jpg"}

    async def _file(self, request: web.Request) -> web.Response:
        name = request.match_info["path"].removeprefix("photos/").removesuffix(".jpg")
        if request.match_info["token"] != TOKEN or name not in self.files:
            raise web.HTTPNotFound()
        await self.log.add("download", {"file_id": name})
        return web.Response(body=self.files[name], content_type="application/octet-stream")

    def _sent_message(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self.message(int(params["chat_id"]), BOT_USER["id"], text=params.get("text", ""))
        message["from"] = BOT_USER
        if "reply_markup" in params:
            message["reply_markup"] = params["reply_markup"]
        return message

    async def _api_sendMessage(self, params: dict[str, Any]) -> Any:
        return self._sent_message(params)

    async def _api_sendDocument(self, params: dict[str, Any]) -> Any:
        message = self._sent_message(params)
        message["document"] = {"file_id": "doc-" + str(message["message_id"]), "file_unique_id": "u",
                               "file_name": params["document"]["filename"]}
        message["caption"] = params.get("caption", "")
        return message

    async def _api_sendPhoto(self, params: dict[str, Any]) -> Any:
        message = self._sent_message(params)
        message["photo"] = [{"file_id": "photo-" + str(message["message_id"]), "file_unique_id": "u",
                             "width": 61, "height": 85}]
        message["caption"] = params.get("caption", "")
        return message

    async def _api_editMessageText(self, params: dict[str, Any]) -> Any:
        return self._sent_message(params)

    async def _api_sendChatAction(self, params: dict[str, Any]) -> Any:
        return True

    async def _api_answerCallbackQuery(self, params: dict[str, Any]) -> Any:
        return True

    async def _api_setMyCommands(self, params: dict[str, Any]) -> Any:
        return True

    async def _api_deleteWebhook(self, params: dict[str, Any]) -> Any:
        return True

    async def _api_setWebhook(self, params: dict[str, Any]) -> Any:
        return True
