"""The Telegram bot end to end: real python-telegram-bot against a loopback Bot API stand-in."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot import replies
from bot.runner import BotGroup, start_bots
from bot.settings import BotSettings, BotTokens
from engine.errors import EngineBusy, ImageError, ImageTooLarge
from service.app import create_app
from service.holder import EngineHolder
from service.routes import WEBHOOKS
from service.settings import ServiceSettings
from tests.bot_engine import (
    CATALOG,
    FakeEngine,
    DECK_TEXT,
    answer,
    card_photo,
    deck_answers,
    long_deck_answers,
)
from tests.service_support import serving
from tests.standin_log import Call
from tests.telegram_standin import BOT_USER, TOKEN, TelegramStandin

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.timeout(60)]

BOLT, BOLT_M10, HELIX, COUNTERSPELL = CATALOG[:4]


def settings_for(standin: TelegramStandin, **overrides: object) -> BotSettings:
    values: dict[str, object] = {
        "telegram_api_base": standin.base_url,
        "telegram_file_base": standin.file_url,
        "telegram_poll_timeout_seconds": 1,
        "cooldown_seconds": 0,
    }
    return BotSettings(**{**values, **overrides})  # type: ignore[arg-type]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def standin() -> AsyncIterator[TelegramStandin]:
    server = TelegramStandin()
    await server.start()
    yield server
    await server.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def engine() -> FakeEngine:
    return FakeEngine()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def group(standin: TelegramStandin, engine: FakeEngine) -> AsyncIterator[BotGroup]:
    running = await start_bots(
        engine, settings_for(standin, max_attachment_bytes=2_000_000),
        tokens=BotTokens(telegram=TOKEN), platforms=("telegram",),
    )
    yield running
    await running.stop(grace_seconds=5)


def reply_to(chat_id: int, method: str = "sendMessage"):
    return lambda c: c.name == method and c.params.get("chat_id") == chat_id


async def test_bot_registers_its_command(standin: TelegramStandin, group: BotGroup) -> None:
    assert group.names == ["telegram"]
    (call,) = await standin.log.wait_for(lambda c: c.name == "setMyCommands")
    assert call.params["commands"][0]["command"] == "card"


async def test_photo_gets_name_link_and_confidence(standin: TelegramStandin, engine: FakeEngine, group: BotGroup) -> None:
    photo = engine.teach(card_photo("Lightning Bolt", seed=1), answer(BOLT, 0.934, BOLT_M10, HELIX))
    standin.push({"message": standin.message(1001, 501, photo=standin.photo(photo))})
    (call,) = await standin.log.wait_for(reply_to(1001))
    text = call.params["text"]
    assert "Lightning Bolt" in text
    assert 'href="https://scryfall.com/card/lea/161/lightning-bolt"' in text
    assert "confidence 93%" in text
    assert "(LEA) #161" in text
    assert "<b>Prices</b>: $420.00 · €380.50 · 1.02 TIX (prices of 2024-05-01)" in text
    assert "<b>Legality</b>: Legal: Modern, Legacy, Vintage, Commander, Pauper · Not legal: Standard, Pioneer" in text
    assert "deals 3 damage" not in text  # the rules text is behind "Details"
    buttons = [row[0] for row in call.params["reply_markup"]["inline_keyboard"]]
    assert [b["callback_data"] for b in buttons] == [
        f"det:{BOLT.card_id}", buttons[1]["callback_data"], f"card:{BOLT_M10.card_id}", f"card:{HELIX.card_id}",
    ]
    assert re.fullmatch(rf"ex:[0-9a-f]{{16}}:{BOLT.card_id}", buttons[1]["callback_data"])
    assert call.params["link_preview_options"]["url"] == BOLT.image_uri


def keyboard(*data: str) -> dict:
    return {"inline_keyboard": [[{"text": d, "callback_data": d}] for d in data]}


async def test_details_button_unfolds_rules_text_and_less_folds_it(standin: TelegramStandin, group: BotGroup) -> None:
    sent = standin.message(1010, BOT_USER["id"], text="Lightning Bolt",
                           reply_markup=keyboard(f"det:{BOLT.card_id}", f"card:{HELIX.card_id}"))
    standin.push({"callback_query": {
        "id": "cq-det", "chat_instance": "ci", "data": f"det:{BOLT.card_id}",
        "from": {"id": 510, "is_bot": False, "first_name": "T"}, "message": sent,
    }})
    (edit,) = await standin.log.wait_for(lambda c: c.name == "editMessageText" and c.params.get("chat_id") == 1010)
    assert "<b>Rules</b>\n{R} — Instant\nLightning Bolt deals 3 damage to any target." in edit.params["text"]
    assert "<b>Prices</b>" in edit.params["text"]
    rows = [row[0]["callback_data"] for row in edit.params["reply_markup"]["inline_keyboard"]]
    assert rows == [f"less:{BOLT.card_id}", f"card:{HELIX.card_id}"]  # the alternatives stay


async def test_bracket_modifiers_each_get_their_answer(standin: TelegramStandin, group: BotGroup) -> None:
    standin.push({"message": standin.message(1011, 511, text="[[!Lightning Bolt]] [[#counterspell]] [[$bolt|m10]]")})
    image, legality, prices = await standin.log.wait_for(reply_to(1011), count=3)
    assert image.params["link_preview_options"]["prefer_large_media"] is True
    assert "<b>" not in image.params["text"].split("\n", 1)[1] and "reply_markup" not in image.params
    assert "<b>Legality</b>: Legal: Legacy, Vintage, Pauper" in legality.params["text"]
    assert "Prices" not in legality.params["text"]
    assert "<b>Prices</b>: $2.10 · $15.00 foil (prices of 2024-05-01)" in prices.params["text"]
    assert "(M10) #146" in prices.params["text"] and "Legality" not in prices.params["text"]


async def test_alternative_button_switches_the_answer(standin: TelegramStandin, group: BotGroup) -> None:
    sent = standin.message(1002, BOT_USER["id"], text="Lightning Bolt")
    standin.push({"callback_query": {
        "id": "cq-1", "chat_instance": "ci", "data": f"card:{HELIX.card_id}",
        "from": {"id": 502, "is_bot": False, "first_name": "T"}, "message": sent,
    }})
    (edit,) = await standin.log.wait_for(lambda c: c.name == "editMessageText" and c.params.get("chat_id") == 1002)
    assert "Lightning Helix" in edit.params["text"] and "(RAV) #213" in edit.params["text"]
    await standin.log.wait_for(lambda c: c.name == "answerCallbackQuery" and c.params["callback_query_id"] == "cq-1")


def callback_query(query_id: str, data: str, user_id: int, message: dict) -> dict:
    return {"callback_query": {"id": query_id, "chat_instance": "ci", "data": data,
                               "from": {"id": user_id, "is_bot": False, "first_name": "T"}, "message": message}}


def answered(query_id: str):
    return lambda c: c.name == "answerCallbackQuery" and c.params["callback_query_id"] == query_id


async def test_explain_button_replies_with_the_overlay(
    standin: TelegramStandin, engine: FakeEngine, group: BotGroup
) -> None:
    photo = engine.teach(card_photo("Lightning Bolt", seed=6), answer(BOLT, 0.9, BOLT_M10))
    standin.push({"message": standin.message(1012, 512, photo=standin.photo(photo))})
    (call,) = await standin.log.wait_for(reply_to(1012))
    markup = call.params["reply_markup"]
    explain = next(row[0]["callback_data"] for row in markup["inline_keyboard"] if row[0]["text"] == "Explain")
    sent = standin.message(1012, BOT_USER["id"], text="Lightning Bolt", reply_markup=markup)
    standin.push(callback_query("cq-ex", explain, 512, sent))
    (shown,) = await standin.log.wait_for(reply_to(1012, "sendPhoto"))
    assert shown.params["photo"]["data"].startswith(b"\x89PNG\r\n")
    assert shown.params["caption"].startswith("Green: where the photo agrees with Lightning Bolt.")
    assert engine.explained[-1] == (photo, BOLT.card_id)

    # Flipping to the alternative points "Explain" at that card, with the same held photo.
    standin.push(callback_query("cq-flip", f"card:{BOLT_M10.card_id}", 512, sent))
    (edit,) = await standin.log.wait_for(lambda c: c.name == "editMessageText" and c.params.get("chat_id") == 1012)
    rows = [row[0]["callback_data"] for row in edit.params["reply_markup"]["inline_keyboard"]]
    token = explain.split(":")[1]
    assert f"ex:{token}:{BOLT_M10.card_id}" in rows and explain not in rows


async def test_explain_button_after_the_photo_was_let_go(standin: TelegramStandin, group: BotGroup) -> None:
    sent = standin.message(1013, BOT_USER["id"], text="Lightning Bolt")
    standin.push(callback_query("cq-gone", f"ex:{'0' * 16}:{BOLT.card_id}", 513, sent))
    (note,) = await standin.log.wait_for(answered("cq-gone"))
    assert note.params["text"] == replies.EXPLAIN_EXPIRED
    assert not [c for c in standin.log.calls if reply_to(1013, "sendPhoto")(c)]


async def test_card_command_as_reply_to_photo(standin: TelegramStandin, engine: FakeEngine, group: BotGroup) -> None:
    photo = engine.teach(card_photo("Counterspell", seed=2), answer(COUNTERSPELL, 0.88))
    original = standin.message(1003, 503, photo=standin.photo(photo))
    standin.push({"message": standin.message(1003, 503, reply_to_message=original, **standin.command("/card"))})
    (call,) = await standin.log.wait_for(reply_to(1003))
    assert "Counterspell" in call.params["text"] and "confidence 88%" in call.params["text"]


async def test_card_command_looks_up_a_name(standin: TelegramStandin, group: BotGroup) -> None:
    standin.push({"message": standin.message(1004, 504, **standin.command("/card lightnin bolt"))})
    (call,) = await standin.log.wait_for(reply_to(1004))
    assert 'href="https://scryfall.com/card/lea/161/lightning-bolt"' in call.params["text"]
    assert "confidence" not in call.params["text"]  # a lookup is not a guess


async def test_bracket_lookup_in_text(standin: TelegramStandin, group: BotGroup) -> None:
    standin.push({"message": standin.message(1005, 505, text="is [[Llanowar Elves]] any good?")})
    (call,) = await standin.log.wait_for(reply_to(1005))
    assert "Llanowar Elves" in call.params["text"]


async def test_unsure_answer_says_so_and_offers_candidates(
    standin: TelegramStandin, engine: FakeEngine, group: BotGroup
) -> None:
    photo = engine.teach(card_photo("Blurry", seed=3), answer(BOLT, 0.41, HELIX, unsure=True))
    standin.push({"message": standin.message(1006, 506, photo=standin.photo(photo))})
    (call,) = await standin.log.wait_for(reply_to(1006))
    assert call.params["text"].startswith(replies.NOT_SURE)
    assert "not sure 41%" in call.params["text"]
    labels = [row[0]["text"] for row in call.params["reply_markup"]["inline_keyboard"]]
    assert labels == ["Explain", "Lightning Bolt (LEA #161)", "Lightning Helix (RAV #213)"]


async def test_several_cards_in_one_photo(standin: TelegramStandin, engine: FakeEngine, group: BotGroup) -> None:
    photo = engine.teach(card_photo("Two", seed=4), answer(BOLT, 0.9), answer(COUNTERSPELL, 0.8))
    standin.push({"message": standin.message(1007, 507, photo=standin.photo(photo))})
    (call,) = await standin.log.wait_for(reply_to(1007))
    text = call.params["text"]
    assert text.startswith("I see 2 cards:")
    assert text.index("Lightning Bolt") < text.index("Counterspell")


@pytest.mark.parametrize(
    "kind, expected",
    [
        ("text document", ImageError.user_message),
        ("corrupt image", ImageError.user_message),
        ("no card", replies.NO_CARD),
        ("engine busy", EngineBusy.user_message),
        ("too large", ImageTooLarge.user_message),
    ],
)
async def test_bad_input_gets_a_friendly_reply(
    standin: TelegramStandin, engine: FakeEngine, group: BotGroup, kind: str, expected: str
) -> None:
    chat = 1100 + len(standin.log.calls)
    fields: dict[str, object]
    if kind == "text document":
        fields = {"document": standin.document(b"hello", "text/plain", "notes.txt")}
    elif kind == "corrupt image":
        fields = {"document": standin.document(b"\xff\xd8 not really a jpeg", "image/jpeg", "card.jpg")}
    elif kind == "no card":
        fields = {"photo": standin.photo(card_photo("nothing taught", seed=5))}
    elif kind == "engine busy":
        fields = {"photo": standin.photo(engine.fail_on(card_photo("busy", seed=6), EngineBusy("queue full")))}
    else:
        fields = {"photo": standin.photo(card_photo("huge", seed=7), size=50_000_000)}
    standin.push({"message": standin.message(chat, chat, **fields)})
    (call,) = await standin.log.wait_for(reply_to(chat))
    assert call.params["text"] == expected
    if kind == "too large":  # refused before download
        big_file = fields["photo"][-1]["file_id"]  # type: ignore[index]
        assert not [c for c in standin.log.named("getFile") if c.params["file_id"] == big_file]


async def test_cooldown_per_user() -> None:
    standin = TelegramStandin()
    await standin.start()
    engine = FakeEngine()
    photo = engine.teach(card_photo("Bolt", seed=8), answer(BOLT, 0.9))
    group = await start_bots(
        engine, settings_for(standin, cooldown_seconds=60), tokens=BotTokens(telegram=TOKEN), platforms=("telegram",)
    )
    try:
        for _ in range(2):
            standin.push({"message": standin.message(1201, 601, photo=standin.photo(photo))})
        first, second = await standin.log.wait_for(reply_to(1201), count=2)
        texts = sorted([first.params["text"], second.params["text"]])
        assert "Lightning Bolt" in texts[0]
        assert texts[1].startswith("Slow down a little")
        assert engine.calls == 1
    finally:
        await group.stop(grace_seconds=5)
        await standin.stop()


async def test_stop_finishes_in_flight_photos() -> None:
    standin = TelegramStandin()
    await standin.start()
    engine = FakeEngine(delay=1.0)
    photo = engine.teach(card_photo("Slow", seed=9), answer(COUNTERSPELL, 0.95))
    group = await start_bots(engine, settings_for(standin), tokens=BotTokens(telegram=TOKEN), platforms=("telegram",))
    try:
        standin.push({"message": standin.message(1301, 701, photo=standin.photo(photo))})
        await standin.log.wait_for(lambda c: c.name == "download")
        assert group.answerer.in_flight == 1
    finally:
        await group.stop(grace_seconds=10)
        await standin.stop()
    replies_sent: list[Call] = standin.log.named("sendMessage")
    assert [c.params["chat_id"] for c in replies_sent] == [1301]
    assert "Counterspell" in replies_sent[0].params["text"]


async def test_real_recognizer_names_a_generated_card(recognizer: object, demo_photos: list[tuple[bytes, str]]) -> None:
    standin = TelegramStandin()
    await standin.start()
    group = await start_bots(recognizer, settings_for(standin), tokens=BotTokens(telegram=TOKEN), platforms=("telegram",))  # type: ignore[arg-type]
    try:
        sent = demo_photos[:3]
        for i, (photo, _) in enumerate(sent):
            standin.push({"message": standin.message(1401 + i, 801 + i, photo=standin.photo(photo))})
        texts = [(await standin.log.wait_for(reply_to(1401 + i), timeout=60))[0].params["text"] for i in range(len(sent))]
    finally:
        await group.stop(grace_seconds=5)
        await standin.stop()
    named_right = 0
    for text, (_, expected) in zip(texts, sent, strict=True):
        assert re.search(r'<a href="https?://[^"]+">', text), text
        assert re.search(r"(confidence|not sure) \d{1,2}%", text), text
        named_right += f">{html.escape(expected, quote=False)}</a>" in text
    assert named_right >= len(sent) - 1, texts


async def test_webhook_updates_arrive_through_a_route_of_the_service_app() -> None:
    # `cardsight serve` runs one web server: Telegram posts to a route of the API's app.
    standin = TelegramStandin()
    await standin.start()
    engine = FakeEngine()
    photo = engine.teach(card_photo("Hooked", seed=10), answer(HELIX, 0.91))
    settings = settings_for(standin, telegram_mode="webhook", telegram_webhook_url="https://bot.example.org/tg",
                            telegram_webhook_path="tg")
    holder = EngineHolder(lambda: engine)  # type: ignore[arg-type, return-value]
    assert (await holder.reload()).ok
    app = create_app(holder, ServiceSettings(), telegram_webhook_path=settings.telegram_webhook_path)
    tokens = BotTokens(telegram=TOKEN, telegram_webhook_token="hook-secret")
    update = {"update_id": 1, "message": standin.message(1501, 901, photo=standin.photo(photo))}
    secret = {"X-Telegram-Bot-Api-Secret-Token": "hook-secret"}
    async with serving(app) as client:
        assert (await client.post("/tg", json=update, headers=secret)).status == 503  # no bot yet
        group = await start_bots(holder, settings, tokens=tokens, platforms=("telegram",), webhooks=app[WEBHOOKS])
        try:
            (hook,) = await standin.log.wait_for(lambda c: c.name == "setWebhook")
            assert hook.params["url"] == "https://bot.example.org/tg" and hook.params["secret_token"] == "hook-secret"
            assert (await client.post("/tg", json=update)).status == 403  # wrong/missing secret header
            assert (await client.post("/tg", data=b"not json", headers=secret)).status == 400
            assert (await client.post("/tg", json=update, headers=secret)).status == 200
            assert (await client.get("/health")).status == 200  # the same server
            (call,) = await standin.log.wait_for(reply_to(1501))
            assert "Lightning Helix" in call.params["text"]
        finally:
            await group.stop(grace_seconds=5)
            await standin.stop()
        assert (await client.post("/tg", json=update, headers=secret)).status == 503  # Telegram retries later
    assert not standin.log.named("getUpdates")


async def test_binder_page_gets_a_decklist(standin: TelegramStandin, engine: FakeEngine, group: BotGroup) -> None:
    photo = engine.teach(card_photo("Binder", seed=41), *deck_answers())
    standin.push({"message": standin.message(1041, 541, photo=standin.photo(photo))})
    (call,) = await standin.log.wait_for(reply_to(1041))
    text = call.params["text"]
    assert text.startswith("I see 9 cards, 4 different:")
    assert f"<pre>{DECK_TEXT.rstrip()}</pre>" in text  # the list pastes as is into Arena/Moxfield
    assert "Not sure about: Lightning Helix." in text


async def test_long_decklist_goes_as_a_text_file(standin: TelegramStandin, engine: FakeEngine, group: BotGroup) -> None:
    answers = long_deck_answers()
    photo = engine.teach(card_photo("Spread", seed=42), *answers)
    standin.push({"message": standin.message(1042, 542, photo=standin.photo(photo))})
    (call,) = await standin.log.wait_for(reply_to(1042, "sendDocument"))
    document = call.params["document"]
    assert document["filename"] == replies.DECKLIST_FILE
    lines = document["text"].splitlines()
    assert len(lines) == 64 and lines[0] == f"1 {answers[0].match.name}"
    assert call.params["caption"].startswith("I see 64 cards:")
    assert len(call.params["caption"]) <= 1024
    assert not [c for c in standin.log.calls if reply_to(1042)(c)]  # no over-long message attempted


async def test_feedback_in_a_consenting_group_only(tmp_path: Path) -> None:
    from bot.feedback import FeedbackStore
    from bot.settings import FeedbackSettings
    from bot.telegram_bot import POSTER_ONLY, THANKS

    group_chat, other_group = -1001020, -1001021
    store = FeedbackStore(FeedbackSettings(telegram_chat_ids=(group_chat,), folder=str(tmp_path / "fb")))
    engine = FakeEngine()
    photo = engine.teach(card_photo("Lightning Bolt", seed=31), answer(BOLT, 0.9, HELIX))
    standin = TelegramStandin()  # its own: the module's bot must not take these updates
    await standin.start()
    running = await start_bots(engine, settings_for(standin, guild_requests_per_minute=0),
                               tokens=BotTokens(telegram=TOKEN), platforms=("telegram",), feedback=store)
    try:
        standin.push({"message": standin.message(other_group, 520, "supergroup", photo=standin.photo(photo))})
        standin.push({"message": standin.message(group_chat, 520, "supergroup", photo=standin.photo(photo))})
        (plain,) = await standin.log.wait_for(reply_to(other_group))
        assert not [r for r in plain.params["reply_markup"]["inline_keyboard"] if r[0]["callback_data"].startswith("fb:")]
        (asked,) = await standin.log.wait_for(reply_to(group_chat))
        rows = {r[0]["text"]: r[0]["callback_data"] for r in asked.params["reply_markup"]["inline_keyboard"]}
        token = rows["Right"].split(":")[1]
        assert rows["Right"] == f"fb:{token}:{BOLT.card_id}" and rows["Lightning Helix (RAV #213)"] == f"fb:{token}:{HELIX.card_id}"
        assert all(len(d.encode()) <= 64 for d in rows.values())

        sent = standin.message(group_chat, BOT_USER["id"], "supergroup", text="Lightning Bolt",
                               reply_markup=asked.params["reply_markup"])
        for query_id, user_id in (("cq-fb-1", 521), ("cq-fb-2", 520)):  # a stranger, then the poster
            standin.push({"callback_query": {
                "id": query_id, "chat_instance": "ci", "data": rows["Right"],
                "from": {"id": user_id, "is_bot": False, "first_name": "T"}, "message": sent,
            }})
            (answered,) = await standin.log.wait_for(
                lambda c, q=query_id: c.name == "answerCallbackQuery" and c.params["callback_query_id"] == q)
            assert answered.params["text"] == (POSTER_ONLY if user_id == 521 else THANKS)
        (record,) = store.records()
        assert record["cards"][0]["id"] == BOLT.card_id and record["platform"] == "telegram"

        standin.push({"message": standin.message(group_chat, 520, "supergroup", **standin.command("/forget"))})
        (done,) = await standin.log.wait_for(lambda c: reply_to(group_chat)(c) and "Deleted" in c.params["text"])
        assert done.params["text"].startswith("Deleted 1 ") and store.records() == []
    finally:
        await running.stop(grace_seconds=5)
        await standin.stop()
