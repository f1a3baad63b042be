"""The feedback store: consent off by default, crops only, poster-only picks, retention, deletion,
and records `cardsight eval --photos` reads."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bot.answering import Answerer
from bot.feedback import CROP_SIZE, FeedbackStore, Scope, crop_card
from bot.replies import ReplyKind
from bot.settings import BotSettings, FeedbackSettings, load_feedback_settings
from tests.bot_engine import CATALOG, FakeEngine, answer

BOLT, BOLT_M10, HELIX = CATALOG[:3]
GUILD, CHAT = 4242, -100777


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def store_at(tmp_path: Path, clock: Clock | None = None, **settings: object) -> FeedbackStore:
    values: dict[str, object] = {"discord_guild_ids": (GUILD,), "telegram_chat_ids": (CHAT,),
                                 "folder": str(tmp_path / "feedback"), **settings}
    return FeedbackStore(FeedbackSettings(**values), clock or Clock())  # type: ignore[arg-type]


def photo_with_card() -> tuple[bytes, tuple]:
    """A 640x480 photo: grey table, a red card in a known quad, a blue title strip on top."""
    image = Image.new("RGB", (640, 480), (128, 128, 128))
    pixels = np.asarray(image).copy()
    pixels[100:380, 200:400] = (200, 40, 40)
    pixels[100:130, 200:400] = (40, 40, 200)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=95)
    return out.getvalue(), ((200.0, 100.0), (400.0, 100.0), (400.0, 380.0), (200.0, 380.0))


def test_consent_is_off_by_default_everywhere() -> None:
    defaults = load_feedback_settings(env={}, file_values={})
    assert defaults == FeedbackSettings() and not defaults.anywhere


def test_only_listed_groups_record_never_private_chats(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    assert store.consented(Scope("discord", GUILD, 1))
    assert store.consented(Scope("telegram", CHAT, 1))
    assert not store.consented(Scope("discord", 999, 1))
    assert not store.consented(Scope("telegram", GUILD, 1))  # a Discord id does not count on Telegram
    assert not store.consented(Scope("telegram", None, 1))  # private chat


def test_crop_is_the_card_only_upright_at_gallery_size() -> None:
    data, quad = photo_with_card()
    crop = np.asarray(Image.open(io.BytesIO(crop_card(data, quad))).convert("RGB")).astype(int)
    assert crop.shape == (CROP_SIZE[1], CROP_SIZE[0], 3)
    assert abs(crop[CROP_SIZE[1] // 2, CROP_SIZE[0] // 2] - (200, 40, 40)).max() < 30  # card body
    assert abs(crop[20, CROP_SIZE[0] // 2] - (40, 40, 200)).max() < 30  # title strip at the top
    assert abs(crop - (128, 128, 128)).sum(axis=2).min() > 60  # no table in it


def test_only_the_poster_may_label_and_only_an_offered_card(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    token = store.hold(b"jpeg", {BOLT.card_id: BOLT.name, HELIX.card_id: HELIX.name}, Scope("discord", GUILD, 7))
    assert not store.record(token, BOLT.card_id, "discord", 8)  # someone else
    assert not store.record(token, BOLT.card_id, "telegram", 7)  # same number, other platform
    assert not store.record(token, BOLT_M10.card_id, "discord", 7)  # not offered
    assert not store.record("0" * 16, BOLT.card_id, "discord", 7)
    assert store.records() == []
    assert store.record(token, HELIX.card_id, "discord", 7)
    assert store.record(token, BOLT.card_id, "discord", 7)  # a change of mind replaces the label
    (record,) = store.records()
    assert record["cards"][0]["id"] == BOLT.card_id and record["cards"][0]["name"] == "Lightning Bolt"
    assert len(record["user"]) == 32 and record["user"] != "7"  # a keyed hash, not the id


def test_a_held_crop_expires_unpicked_and_nothing_is_written(tmp_path: Path) -> None:
    clock = Clock()
    store = store_at(tmp_path, clock, pending_minutes=10)
    token = store.hold(b"jpeg", {BOLT.card_id: BOLT.name}, Scope("discord", GUILD, 7))
    clock.now += 11 * 60
    assert not store.record(token, BOLT.card_id, "discord", 7)
    assert not list((tmp_path / "feedback" / "photos").iterdir())


def test_retention_deletes_old_records_and_their_crops(tmp_path: Path) -> None:
    clock = Clock()
    store = store_at(tmp_path, clock, retention_days=30)
    old = store.hold(b"old", {BOLT.card_id: BOLT.name}, Scope("discord", GUILD, 1))
    store.record(old, BOLT.card_id, "discord", 1)
    clock.now += 20 * 86400
    new = store.hold(b"new", {HELIX.card_id: HELIX.name}, Scope("discord", GUILD, 1))
    store.record(new, HELIX.card_id, "discord", 1)
    clock.now += 11 * 86400  # the first is now 31 days old
    assert store.prune() == 1
    assert [r["cards"][0]["name"] for r in store.records()] == ["Lightning Helix"]
    assert sorted(p.name for p in (tmp_path / "feedback" / "photos").iterdir()) == [f"{new}.jpg"]
    # A restart prunes too: a store opened later finds nothing past retention.
    clock.now += 31 * 86400
    assert store_at(tmp_path, clock, retention_days=30).records() == []
    assert (tmp_path / "feedback" / "truth.jsonl").read_text() == ""


def test_forget_deletes_one_users_records_and_held_crops(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    mine = [store.hold(b"a", {BOLT.card_id: BOLT.name}, Scope("telegram", CHAT, 5)) for _ in range(2)]
    theirs = store.hold(b"b", {BOLT.card_id: BOLT.name}, Scope("telegram", CHAT, 6))
    store.record(mine[0], BOLT.card_id, "telegram", 5)
    store.record(theirs, BOLT.card_id, "telegram", 6)
    assert store.forget("telegram", 5) == 1
    assert not store.record(mine[1], BOLT.card_id, "telegram", 5)  # the held crop went too
    assert len(store.records()) == 1 and store.forget("telegram", 5) == 0
    assert len((tmp_path / "feedback" / "truth.jsonl").read_text().splitlines()) == 1


def test_records_are_an_eval_photos_folder(tmp_path: Path) -> None:
    from training.evaluate import folder_queries

    store = store_at(tmp_path)
    data, quad = photo_with_card()
    token = store.hold(crop_card(data, quad), {BOLT.card_id: BOLT.name}, Scope("discord", GUILD, 3))
    store.record(token, BOLT.card_id, "discord", 3)
    (query,) = list(folder_queries(tmp_path / "feedback"))
    (truth,) = query.cards
    assert (truth.card_id, truth.name) == (BOLT.card_id, "Lightning Bolt")
    assert truth.quad.tolist() == [[0, 0], [488, 0], [488, 680], [0, 680]]
    assert Image.open(io.BytesIO(query.data)).size == CROP_SIZE


@pytest.mark.asyncio
async def test_answerer_holds_a_crop_only_where_consented(tmp_path: Path) -> None:
    data, quad = photo_with_card()
    engine = FakeEngine()
    engine.teach(data, answer(BOLT, 0.95, HELIX))
    store = store_at(tmp_path)
    answerer = Answerer(engine, BotSettings(cooldown_seconds=0), store)

    async def download() -> bytes:
        return data

    consented = await answerer.identify(download, Scope("discord", GUILD, 11))
    assert consented.kind is ReplyKind.FOUND and consented.feedback is not None
    elsewhere = await answerer.identify(download, Scope("discord", 1, 11))
    private = await answerer.identify(download, Scope("telegram", None, 11))
    assert elsewhere.feedback is None and private.feedback is None
    assert await answerer.pick(consented.feedback, HELIX.card_id, "discord", 11)
    (record,) = store.records()
    assert record["cards"][0]["name"] == "Lightning Helix"
    assert "Deleted 1" in await answerer.forget("discord", 11)
    no_store = Answerer(engine, BotSettings(cooldown_seconds=0))
    assert (await no_store.identify(download, Scope("discord", GUILD, 11))).feedback is None
