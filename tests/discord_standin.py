"""A loopback stand-in for Discord (gateway websocket + REST + CDN), for driving real discord.py.

Gateway: HELLO, IDENTIFY → READY (+ GUILD_CREATE of one server with two text channels),
heartbeat ACKs, then whatever events a test dispatches (MESSAGE_CREATE, INTERACTION_CREATE).
REST: the routes the bot calls (users/@me, application info, gateway/bot, command sync,
interaction callback, follow-ups, channel messages, typing, reactions) and attachment
downloads. Every REST call lands in `log` for the test to assert on. Uncompressed text frames
are sent, which discord.py accepts.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

from aiohttp import WSMsgType, web

from tests.standin_log import CallLog

TOKEN = "standin.discord.token"
APP_ID = 900000000000000001
GUILD_ID = 900000000000000100
PASSIVE_CHANNEL_ID = 900000000000000101
QUIET_CHANNEL_ID = 900000000000000102
BOT_USER = {"id": str(APP_ID), "username": "cardsight", "discriminator": "0", "global_name": None,
            "avatar": None, "bot": True}
TIMESTAMP = "2026-01-01T00:00:00.000000+00:00"
ALL_PERMISSIONS = str((1 << 50) - 1)


def user(user_id: int) -> dict[str, Any]:
    return {"id": str(user_id), "username": f"user{user_id}", "discriminator": "0", "global_name": None, "avatar": None}


def member(user_id: int) -> dict[str, Any]:
    return {"user": user(user_id), "roles": [], "joined_at": TIMESTAMP, "deaf": False, "mute": False,
            "flags": 0, "permissions": ALL_PERMISSIONS}


def _json(data: Any, status: int = 200) -> web.Response:
    """discord.py only parses bodies whose content-type is exactly ``application/json``."""
    return web.Response(body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json"})


def _upload(field: web.FileField) -> dict[str, Any]:
    """An attached file: its name, its bytes, and its text (for text attachments)."""
    data = field.file.read()
    return {"filename": field.filename, "data": data, "text": data.decode("utf-8", "replace")}


class DiscordStandin:
    def __init__(self) -> None:
        self.log = CallLog()
        self.files: dict[str, bytes] = {}
        self.sockets: list[web.WebSocketResponse] = []
        self.identified = asyncio.Event()
        self.intents: int | None = None
        self._ids = itertools.count(910000000000000000)
        self._seq = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    def next_id(self) -> int:
        return next(self._ids)

    async def start(self) -> None:
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/attachments/{name}", self._attachment)
        app.router.add_route("*", "/api/v10/{path:.+}", self._rest)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        for ws in list(self.sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # Building events.

    def attachment(self, data: bytes, filename: str = "card.jpg", content_type: str | None = "image/jpeg",
                   size: int | None = None) -> dict[str, Any]:
        att_id = self.next_id()
        self.files[f"{att_id}-{filename}"] = data
        url = f"http://127.0.0.1:{self.port}/attachments/{att_id}-{filename}"
        payload = {"id": str(att_id), "filename": filename, "size": len(data) if size is None else size,
                   "url": url, "proxy_url": url, "width": 600, "height": 800}
        if content_type is not None:
            payload["content_type"] = content_type
        return payload

    def message(self, author_id: int, channel_id: int = PASSIVE_CHANNEL_ID, content: str = "",
                attachments: tuple[dict[str, Any], ...] = (), **extra: Any) -> dict[str, Any]:
        return {
            "id": str(self.next_id()), "channel_id": str(channel_id), "guild_id": str(GUILD_ID),
            "author": user(author_id), "member": {k: v for k, v in member(author_id).items() if k != "user"},
            "content": content, "timestamp": TIMESTAMP, "edited_timestamp": None, "tts": False,
            "mention_everyone": False, "mentions": [], "mention_roles": [], "attachments": list(attachments),
            "embeds": [], "pinned": False, "type": 0, "flags": 0, "components": [], **extra,
        }

    def interaction(self, user_id: int, itype: int, data: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {
            "id": str(self.next_id()), "application_id": str(APP_ID), "type": itype, "data": data,
            "guild_id": str(GUILD_ID), "channel_id": str(QUIET_CHANNEL_ID),
            "channel": {"id": str(QUIET_CHANNEL_ID), "type": 0, "guild_id": str(GUILD_ID), "name": "general",
                        "position": 1, "permissions": ALL_PERMISSIONS},
            "member": member(user_id), "token": f"itoken-{self.next_id()}", "version": 1,
            "app_permissions": ALL_PERMISSIONS, "locale": "en-US", "guild_locale": "en-US",
            "attachment_size_limit": 10 * 1024 * 1024,
            "entitlements": [], "authorizing_integration_owners": {"0": str(GUILD_ID)}, "context": 0, **extra,
        }

    def slash_card(self, user_id: int, attachment: dict[str, Any] | None = None, name: str | None = None) -> dict[str, Any]:
        options: list[dict[str, Any]] = []
        resolved: dict[str, Any] = {}
        if attachment is not None:
            options.append({"name": "image", "type": 11, "value": attachment["id"]})
            resolved["attachments"] = {attachment["id"]: attachment}
        if name is not None:
            options.append({"name": "name", "type": 3, "value": name})
        data = {"id": str(APP_ID + 1), "name": "card", "type": 1, "options": options, "resolved": resolved}
        return self.interaction(user_id, 2, data)

    def message_command(self, user_id: int, target: dict[str, Any]) -> dict[str, Any]:
        data = {"id": str(APP_ID + 2), "name": "Identify card", "type": 3, "target_id": target["id"],
                "resolved": {"messages": {target["id"]: target}}}
        return self.interaction(user_id, 2, data)

    def button_click(self, user_id: int, custom_id: str, label: str = "Alternative") -> dict[str, Any]:
        """A click on a button of a message the bot sent (the message carries the button)."""
        row = {"type": 1, "components": [{"type": 2, "style": 2, "label": label, "custom_id": custom_id}]}
        message = {**self.message(APP_ID, QUIET_CHANNEL_ID), "author": BOT_USER, "components": [row]}
        return self.interaction(user_id, 3, {"custom_id": custom_id, "component_type": 2}, message=message)

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        frame = json.dumps({"op": 0, "t": event, "s": next(self._seq), "d": data})
        for ws in self.sockets:
            await ws.send_str(frame)

    # Gateway.

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({"op": 10, "d": {"heartbeat_interval": 41250}})
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                break
            payload = json.loads(msg.data)
            if payload["op"] == 1:
                await ws.send_json({"op": 11})
            elif payload["op"] == 2:
                if payload["d"]["token"] != TOKEN:
                    await ws.close(code=4004, message=b"Authentication failed.")
                    break
                self.intents = payload["d"].get("intents")
                shard = payload["d"].get("shard", [0, 1])
                self.sockets.append(ws)
                await ws.send_json({"op": 0, "t": "READY", "s": next(self._seq), "d": {
                    "v": 10, "user": BOT_USER, "guilds": [{"id": str(GUILD_ID), "unavailable": True}],
                    "session_id": "standin-session", "resume_gateway_url": f"ws://127.0.0.1:{self.port}/gateway",
                    "shard": shard, "application": {"id": str(APP_ID), "flags": 0},
                }})
                await self.dispatch("GUILD_CREATE", self._guild())
                self.identified.set()
        if ws in self.sockets:
            self.sockets.remove(ws)
        return ws

    def _guild(self) -> dict[str, Any]:
        channels = [{"id": str(cid), "type": 0, "name": name, "position": i, "permission_overwrites": [],
                     "guild_id": str(GUILD_ID), "nsfw": False}
                    for i, (cid, name) in enumerate(((PASSIVE_CHANNEL_ID, "card-photos"), (QUIET_CHANNEL_ID, "general")))]
        everyone = {"id": str(GUILD_ID), "name": "@everyone", "permissions": ALL_PERMISSIONS, "position": 0,
                    "color": 0, "hoist": False, "managed": False, "mentionable": False, "flags": 0}
        return {
            "id": str(GUILD_ID), "name": "Card club", "icon": None, "owner_id": "1", "roles": [everyone],
            "emojis": [], "stickers": [], "features": [], "channels": channels, "threads": [], "members": [],
            "member_count": 3, "voice_states": [], "presences": [], "stage_instances": [],
            "guild_scheduled_events": [], "unavailable": False, "large": False, "joined_at": TIMESTAMP,
            "premium_tier": 0, "verification_level": 0, "default_message_notifications": 0,
            "explicit_content_filter": 0, "mfa_level": 0, "nsfw_level": 0, "preferred_locale": "en-US",
            "system_channel_flags": 0, "afk_timeout": 300,
        }

    async def _attachment(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in self.files:
            raise web.HTTPNotFound()
        await self.log.add("download", {"name": name})
        return web.Response(body=self.files[name], content_type="application/octet-stream")

    # REST.

    async def _rest(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") not in (f"Bot {TOKEN}", None):
            return _json({"message": "401: Unauthorized", "code": 0}, 401)
        path = "/" + request.match_info["path"]
        body = await self._body(request)
        name = f"{request.method} {path}"
        await self.log.add(name, body)
        parts = path.strip("/").split("/")
        if name == "GET /users/@me":
            return _json(BOT_USER)
        if name == "GET /oauth2/applications/@me":
            return _json({"id": str(APP_ID), "name": "cardsight", "description": "", "icon": None,
                          "bot_public": True, "bot_require_code_grant": False, "owner": user(1),
                          "verify_key": "00", "flags": 0, "team": None})
        if name == "GET /gateway/bot":
            return _json({"url": f"ws://127.0.0.1:{self.port}/gateway", "shards": 1,
                          "session_start_limit": {"total": 1000, "remaining": 1000, "reset_after": 0,
                                                  "max_concurrency": 1}})
        if request.method == "PUT" and parts[0] == "applications" and parts[-1] == "commands":
            return _json([{"description": "", **cmd, "id": str(self.next_id()), "application_id": str(APP_ID),
                           "version": "1"} for cmd in body["json"]])
        if parts[0] == "interactions" and parts[-1] == "callback":
            response_type = body["json"]["type"]
            flags = (body["json"].get("data") or {}).get("flags", 0)
            return _json({"interaction": {"id": parts[1], "type": 2, "response_message_loading": response_type == 5,
                                          "response_message_ephemeral": bool(flags & 64)}})
        if request.method in ("POST", "PATCH") and parts[0] == "webhooks":
            return _json(self._sent(QUIET_CHANNEL_ID, body["json"]))
        if request.method == "POST" and parts[0] == "channels" and parts[2] == "messages":
            return _json(self._sent(int(parts[1]), body["json"]))
        if request.method in ("POST", "PUT") and parts[0] == "channels":  # typing, reactions
            return web.Response(status=204)
        return _json({"message": "404: Not Found", "code": 0}, 404)

    @staticmethod
    async def _body(request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            return {"json": await request.json()}
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            files = [_upload(v) for k, v in form.items() if k.startswith("files[") and isinstance(v, web.FileField)]
            return {"json": json.loads(str(form.get("payload_json", "{}"))), "files": files}
        return {"json": None}

    def _sent(self, channel_id: int, payload: dict[str, Any]) -> dict[str, Any]:
        message = self.message(APP_ID, channel_id, payload.get("content") or "",
                               embeds=payload.get("embeds", []), components=payload.get("components", []))
        message["author"] = BOT_USER
        return message
