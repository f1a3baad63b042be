"""Learning from use, with consent: the user's pick under an answer, kept as a labelled photo.

Only in Discord servers and Telegram groups an admin listed in ``[feedback]`` (nowhere by
default). There, an answer's crop of the card (never the whole photo) is held in memory until
the person who posted the photo presses "Right" or one of the alternatives; only then is it
written, as a record of the `cardsight eval --photos` folder format::

    <folder>/truth.jsonl          {"photo": "photos/<id>.jpg", "cards": [{"id", "name", "quad"}], ...}
    <folder>/photos/<id>.jpg      the card's crop, upright
    <folder>/records/<id>.json    the same record, one file each (truth.jsonl is rebuilt from them)

so `cardsight eval --photos <folder>` measures the live model on real photos and
`cardsight train --photos <folder>` learns from them. Records older than ``retention_days``
are deleted, and `/forget` deletes a user's own at once. Users are stored only as a keyed hash
(HMAC with a per-folder random key), which `/forget` can match but a reader cannot reverse.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from engine.decode import decode_image
from engine.quad import warp_quad
from bot.settings import FeedbackSettings
from engine.types import Quad

log = logging.getLogger("cardsight.bot.feedback")

CROP_SIZE = (488, 680)
"""Scryfall's ``normal`` card size: the crop is stored at the size gallery scans have."""
TOKEN_BYTES = 8


@dataclass(frozen=True)
class Scope:
    """Where a photo was posted and by whom: what consent and deletion are decided on."""

    platform: str
    group_id: int | None
    user_id: int


@dataclass(frozen=True)
class _Pending:
    crop_jpeg: bytes
    offered: dict[str, str]  # card_id -> name: only these may be picked
    user: str
    platform: str
    held_at: float


def crop_card(data: bytes, quad: Quad) -> bytes:
    """The card's upright crop as JPEG; `quad` is in original-photo pixels (as answers give it)."""
    decoded = decode_image(data)
    corners = np.asarray(quad, np.float32) * np.float32(decoded.scale)
    crop = warp_quad(decoded.rgb, corners, CROP_SIZE)
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(crop, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92])
    if not ok:
        raise ValueError("could not encode the crop")
    return jpeg.tobytes()


class FeedbackStore:
    """Thread-safe (the bots call it through `asyncio.to_thread`); one per bot process."""

    def __init__(self, settings: FeedbackSettings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.root = Path(settings.folder)
        self._clock = clock
        self._lock = threading.Lock()
        self._pending: OrderedDict[str, _Pending] = OrderedDict()
        for sub in ("photos", "records"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self._key = self._load_key()
        self.prune()

    def _load_key(self) -> bytes:
        path = self.root / ".user-key"
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(secrets.token_bytes(32))
        return path.read_bytes()

    def user_key(self, platform: str, user_id: int) -> str:
        return hmac.new(self._key, f"{platform}:{user_id}".encode(), hashlib.sha256).hexdigest()[:32]

    def consented(self, scope: Scope) -> bool:
        """Only groups an admin listed; a private chat or an unlisted server never records."""
        ids = {"discord": self.settings.discord_guild_ids, "telegram": self.settings.telegram_chat_ids}
        return scope.group_id is not None and scope.group_id in ids.get(scope.platform, ())

    # -- the answer's crop, until its poster picks ---------------------------------------

    def hold(self, crop_jpeg: bytes, offered: dict[str, str], scope: Scope) -> str:
        """Keep a crop in memory for a pick; returns the token the buttons carry."""
        token = secrets.token_hex(TOKEN_BYTES)
        with self._lock:
            self._drop_stale_pending()
            self._pending[token] = _Pending(crop_jpeg, dict(offered), self.user_key(scope.platform, scope.user_id),
                                            scope.platform, self._clock())
            while len(self._pending) > self.settings.max_pending:
                self._pending.popitem(last=False)
        return token

    def record(self, token: str, card_id: str, platform: str, user_id: int) -> bool:
        """Write the poster's pick of an offered card; False (nothing kept) for anyone else,
        an unknown or expired token, or a card that was not offered. A second pick by the
        poster replaces the first."""
        with self._lock:
            self._drop_stale_pending()
            held = self._pending.get(token)
            if held is None or held.user != self.user_key(platform, user_id) or card_id not in held.offered:
                return False
            photo = f"photos/{token}.jpg"
            width, height = CROP_SIZE
            record = {
                "photo": photo,
                "cards": [{"id": card_id, "name": held.offered[card_id],
                           "quad": [[0, 0], [width, 0], [width, height], [0, height]]}],
                "user": held.user, "platform": held.platform, "recorded_at": self._clock(),
            }
            _write_atomic(self.root / photo, held.crop_jpeg)
            _write_atomic(self.root / "records" / f"{token}.json", json.dumps(record).encode())
            self._rebuild_truth()
        log.info("feedback: recorded a pick (%s)", platform)
        self.prune()
        return True

    def _drop_stale_pending(self) -> None:
        oldest = self._clock() - self.settings.pending_minutes * 60
        for token in [t for t, p in self._pending.items() if p.held_at < oldest]:
            del self._pending[token]

    # -- retention and deletion ------------------------------------------------------------

    def records(self) -> list[dict]:
        out = []
        for path in sorted((self.root / "records").glob("*.json")):
            try:
                out.append({**json.loads(path.read_text()), "_id": path.stem})
            except (OSError, ValueError):
                log.warning("feedback: unreadable record %s", path.name)
        return out

    def prune(self) -> int:
        """Delete records past `retention_days`; returns how many."""
        cutoff = self._clock() - self.settings.retention_days * 86400
        return self._delete(lambda r: float(r.get("recorded_at", 0)) < cutoff)

    def forget(self, platform: str, user_id: int) -> int:
        """Delete every record and held crop of one user; returns how many records."""
        user = self.user_key(platform, user_id)
        with self._lock:
            for token in [t for t, p in self._pending.items() if p.user == user]:
                del self._pending[token]
        return self._delete(lambda r: r.get("user") == user)

    def _delete(self, doomed: Callable[[dict], bool]) -> int:
        with self._lock:
            gone = [r for r in self.records() if doomed(r)]
            for r in gone:
                (self.root / "photos" / f"{r['_id']}.jpg").unlink(missing_ok=True)
                (self.root / "records" / f"{r['_id']}.json").unlink(missing_ok=True)
            if gone:
                self._rebuild_truth()
        return len(gone)

    def _rebuild_truth(self) -> None:
        lines = [json.dumps({k: v for k, v in r.items() if k != "_id"}) for r in self.records()]
        _write_atomic(self.root / "truth.jsonl", ("\n".join(lines) + "\n" if lines else "").encode())


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
