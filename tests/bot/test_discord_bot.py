"""The Discord bot end to end: real discord.py against a loopback gateway + REST stand-in."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import pytest_asyncio

from bot.discord_bot import CARD_USAGE, NO_IMAGE
from bot.discord_views import POSTER_ONLY, THANKS
from bot.replies import EXPLAIN_EXPIRED, EXPLAIN_FILE
from bot.runner import BotGroup, start_bots
from bot.settings import BotSettings, BotTokens
from engine import recognizer as recognizer_module
from engine.decode import decode_image
from engine.errors import ImageError
from tests.bot_engine import (
    CATALOG,
    FakeEngine,
    DECK_TEXT,
    answer,
    card_photo,
    deck_answers,
    long_deck_answers,
)
from tests.discord_standin import (
    APP_ID,
    PASSIVE_CHANNEL_ID,
    QUIET_CHANNEL_ID,
    TOKEN,
    DiscordStandin,
)
from tests.standin_log import Call

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.timeout(60)]

BOLT, BOLT_M10, HELIX, COUNTERSPELL = CATALOG[:4]
EPHEMERAL = 64


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def standin() -> AsyncIterator[DiscordStandin]:
    server = DiscordStandin()
    await server.start()
    yield server
    await server.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def engine() -> FakeEngine:
    return FakeEngine(delay=0.05)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def group(standin: DiscordStandin, engine: FakeEngine) -> AsyncIterator[BotGroup]:
    settings = BotSettings(
        discord_api_base=standin.api_base,
        discord_passive_channel_ids=(PASSIVE_CHANNEL_ID,),
        cooldown_seconds=0,
        guild_requests_per_minute=0,
    )
    running = await start_bots(engine, settings, tokens=BotTokens(discord=TOKEN), platforms=("discord",))
    yield running
    await running.stop(grace_seconds=5)


def callback_of(interaction: dict) -> Callable[[Call], bool]:
    return lambda c: c.name == f"POST /interactions/{interaction['id']}/{interaction['token']}/callback"


def followup_of(interaction: dict) -> Callable[[Call], bool]:
    return lambda c: c.name == f"POST /webhooks/{APP_ID}/{interaction['token']}"


def reply_in(channel_id: int, to_message: dict) -> Callable[[Call], bool]:
    return lambda c: (
        c.name == f"POST /channels/{channel_id}/messages"
        and (c.params["json"].get("message_reference") or {}).get("message_id") == int(to_message["id"])
    )


async def test_startup_syncs_commands_and_asks_for_message_content(standin: DiscordStandin, group: BotGroup) -> None:
    assert group.names == ["discord"]
    (sync,) = standin.log.named(f"PUT /applications/{APP_ID}/commands")
    assert {(c["name"], c["type"]) for c in sync.params["json"]} == {("card", 1), ("forget", 1), ("Identify card", 3)}
    message_content = 1 << 15
    assert standin.intents is not None and standin.intents & message_content  # passive mode is on here


async def test_slash_card_with_attachment(standin: DiscordStandin, engine: FakeEngine, group: BotGroup) -> None:
    photo = engine.teach(card_photo("Lightning Bolt", seed=11), answer(BOLT, 0.934, BOLT_M10, HELIX))
    interaction = standin.slash_card(301, standin.attachment(photo))
    await standin.dispatch("INTERACTION_CREATE", interaction)
    (defer,) = await standin.log.wait_for(callback_of(interaction))
    assert defer.params["json"]["type"] == 5  # deferred: "cardsight is thinking…"
    (followup,) = await standin.log.wait_for(followup_of(interaction))
    (embed,) = followup.params["json"]["embeds"]
    assert embed["title"] == "Lightning Bolt"
    assert embed["url"] == "https://scryfall.com/card/lea/161/lightning-bolt"
    assert "confidence 93%" in embed["description"] and "(LEA) #161" in embed["description"]
    assert embed["thumbnail"]["url"] == BOLT.image_uri
    assert [(f["name"], f["value"]) for f in embed["fields"]] == [
        ("Prices", "$420.00 · €380.50 · 1.02 TIX (prices of 2024-05-01)"),
        ("Legality", "Legal: Modern, Legacy, Vintage, Commander, Pauper · Not legal: Standard, Pioneer"),
    ]
    buttons = [b for row in followup.params["json"]["components"] for b in row["components"]]
    assert [b["custom_id"] for b in buttons] == [
        f"cardsight:details:{BOLT.card_id}", buttons[1]["custom_id"],
        f"cardsight:card:{BOLT_M10.card_id}", f"cardsight:card:{HELIX.card_id}",
    ]
    assert re.fullmatch(rf"cardsight:explain:[0-9a-f]{{16}}:{BOLT.card_id}", buttons[1]["custom_id"])
    assert [buttons[0]["label"], buttons[1]["label"]] == ["Details", "Explain"]


async def test_details_button_shows_rules_text_to_the_asker_only(standin: DiscordStandin, group: BotGroup) -> None:
    click = standin.button_click(310, f"cardsight:details:{BOLT.card_id}", label="Details")
    await standin.dispatch("INTERACTION_CREATE", click)
    (answer_,) = await standin.log.wait_for(callback_of(click))
    assert answer_.params["json"]["type"] == 4 and answer_.params["json"]["data"]["flags"] & EPHEMERAL
    (embed,) = answer_.params["json"]["data"]["embeds"]
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Rules"] == "{R} — Instant\nLightning Bolt deals 3 damage to any target."
    assert "Prices" in fields and "Legality" in fields


async def test_switching_to_an_alternative_moves_the_details_button(standin: DiscordStandin, group: BotGroup) -> None:
    click = standin.button_click(311, f"cardsight:card:{BOLT_M10.card_id}")
    await standin.dispatch("INTERACTION_CREATE", click)
    (update,) = await standin.log.wait_for(callback_of(click))
    data = update.params["json"]["data"]
    assert "(M10) #146" in data["embeds"][0]["description"]
    assert data["embeds"][0]["fields"][0]["value"].startswith("$2.10 · $15.00 foil")
    buttons = [b["custom_id"] for row in data["components"] for b in row["components"]]
    assert buttons == [f"cardsight:details:{BOLT_M10.card_id}", f"cardsight:card:{BOLT_M10.card_id}"]


async def test_alternative_button_switches_the_answer(standin: DiscordStandin, group: BotGroup) -> None:
    click = standin.button_click(302, f"cardsight:card:{HELIX.card_id}")
    await standin.dispatch("INTERACTION_CREATE", click)
    (update,) = await standin.log.wait_for(callback_of(click))
    assert update.params["json"]["type"] == 7  # update the message in place
    assert update.params["json"]["data"]["embeds"][0]["title"] == "Lightning Helix"


async def test_slash_card_name_lookup(standin: DiscordStandin, group: BotGroup) -> None:
    interaction = standin.slash_card(303, name="counterspel")
    await standin.dispatch("INTERACTION_CREATE", interaction)
    (reply,) = await standin.log.wait_for(callback_of(interaction))
    assert reply.params["json"]["type"] == 4
    assert reply.params["json"]["data"]["embeds"][0]["title"] == "Counterspell"


async def test_slash_card_without_arguments_explains_usage(standin: DiscordStandin, group: BotGroup) -> None:
    interaction = standin.slash_card(304)
    await standin.dispatch("INTERACTION_CREATE", interaction)
    (reply,) = await standin.log.wait_for(callback_of(interaction))
    assert reply.params["json"]["data"]["content"] == CARD_USAGE
    assert reply.params["json"]["data"]["flags"] & EPHEMERAL


async def test_context_menu_identifies_the_message_photo(
    standin: DiscordStandin, engine: FakeEngine, group: BotGroup
) -> None:
    photo = engine.teach(card_photo("Counterspell", seed=12), answer(COUNTERSPELL, 0.81))
    target = standin.message(401, QUIET_CHANNEL_ID, attachments=(standin.attachment(photo),))
    interaction = standin.message_command(305, target)
    await standin.dispatch("INTERACTION_CREATE", interaction)
    (followup,) = await standin.log.wait_for(followup_of(interaction))
    assert followup.params["json"]["embeds"][0]["title"] == "Counterspell"


async def test_context_menu_on_message_without_image(standin: DiscordStandin, group: BotGroup) -> None:
    interaction = standin.message_command(306, standin.message(402, QUIET_CHANNEL_ID, content="hi"))
    await standin.dispatch("INTERACTION_CREATE", interaction)
    (reply,) = await standin.log.wait_for(callback_of(interaction))
    assert reply.params["json"]["data"]["content"] == NO_IMAGE
    assert reply.params["json"]["data"]["flags"] & EPHEMERAL


async def test_passive_photo_in_opted_in_channel_only(
    standin: DiscordStandin, engine: FakeEngine, group: BotGroup
) -> None:
    photo = engine.teach(card_photo("Helix", seed=13), answer(HELIX, 0.77))
    quiet = standin.message(403, QUIET_CHANNEL_ID, attachments=(standin.attachment(photo),))
    passive = standin.message(403, PASSIVE_CHANNEL_ID, attachments=(standin.attachment(photo),))
    await standin.dispatch("MESSAGE_CREATE", quiet)
    await standin.dispatch("MESSAGE_CREATE", passive)
    (reply,) = await standin.log.wait_for(reply_in(PASSIVE_CHANNEL_ID, passive))
    assert reply.params["json"]["embeds"][0]["title"] == "Lightning Helix"
    assert not [c for c in standin.log.calls if reply_in(QUIET_CHANNEL_ID, quiet)(c)]


async def test_bracket_lookup_in_passive_channel(standin: DiscordStandin, group: BotGroup) -> None:
    message = standin.message(404, PASSIVE_CHANNEL_ID, content="[[Llanowar Elves]] or [[lightning helix]]?")
    await standin.dispatch("MESSAGE_CREATE", message)
    (reply,) = await standin.log.wait_for(reply_in(PASSIVE_CHANNEL_ID, message))
    assert [e["title"] for e in reply.params["json"]["embeds"]] == ["Llanowar Elves", "Lightning Helix"]


async def test_bracket_modifiers_and_several_per_message(standin: DiscordStandin, group: BotGroup) -> None:
    message = standin.message(405, PASSIVE_CHANNEL_ID,
                              content="[[$lightnin bolt]] vs [[#Counterspell]] and [[Lightning Bolt|M10]]")
    await standin.dispatch("MESSAGE_CREATE", message)
    (reply,) = await standin.log.wait_for(reply_in(PASSIVE_CHANNEL_ID, message))
    prices, legality, printing = reply.params["json"]["embeds"]
    assert prices["title"] == "Lightning Bolt" and [f["name"] for f in prices["fields"]] == ["Prices"]
    assert prices["fields"][0]["value"].startswith("$420.00")
    assert legality["title"] == "Counterspell" and [f["name"] for f in legality["fields"]] == ["Legality"]
    assert legality["fields"][0]["value"] == "Legal: Legacy, Vintage, Pauper · Not legal: Standard, Modern"
    assert "(M10) #146" in printing["description"]


async def test_bracket_image_only_and_unknown_printing(standin: DiscordStandin, group: BotGroup) -> None:
    image = standin.message(406, PASSIVE_CHANNEL_ID, content="[[!Lightning Bolt]]")
    await standin.dispatch("MESSAGE_CREATE", image)
    (reply,) = await standin.log.wait_for(reply_in(PASSIVE_CHANNEL_ID, image))
    (embed,) = reply.params["json"]["embeds"]
    assert embed["image"]["url"] == BOLT.image_uri and "fields" not in embed and "thumbnail" not in embed
    assert not reply.params["json"].get("components")
    missing = standin.message(407, PASSIVE_CHANNEL_ID, content="[[Lightning Bolt|RAV]]")
    await standin.dispatch("MESSAGE_CREATE", missing)
    (reply,) = await standin.log.wait_for(reply_in(PASSIVE_CHANNEL_ID, missing))
    assert "in set RAV" in reply.params["json"]["embeds"][0]["description"]


async def test_slash_card_name_takes_the_same_modifiers(standin: DiscordStandin, group: BotGroup) -> None:
    interaction = standin.slash_card(312, name="$Lightning Bolt|m10")
    await standin.dispatch("INTERACTION_CREATE", interaction)
    (reply,) = await standin.log.wait_for(callback_of(interaction))
    (embed,) = reply.params["json"]["data"]["embeds"]
    assert "(M10) #146" in embed["description"] and [f["name"] for f in embed["fields"]] == ["Prices"]


async def test_no_feedback_buttons_without_consent(standin: DiscordStandin, engine: FakeEngine, group: BotGroup) -> None:
    photo = engine.teach(card_photo("Lightning Bolt", seed=22), answer(BOLT, 0.9, BOLT_M10))
    asked = standin.slash_card(332, standin.attachment(photo))
    await standin.dispatch("INTERACTION_CREATE", asked)
    (followup,) = await standin.log.wait_for(followup_of(asked))
    ids = [b["custom_id"] for row in followup.params["json"]["components"] for b in row["components"]]
    assert not [i for i in ids if i.startswith("cardsight:fb:")] and "Right" not in str(followup.params["json"])

async def test_explain_button_attaches_the_overlay_for_the_asker(
    standin: DiscordStandin, engine: FakeEngine, group: BotGroup
) -> None:
    photo = engine.teach(card_photo("Lightning Bolt", seed=23), answer(BOLT, 0.9, BOLT_M10))
    asked = standin.slash_card(333, standin.attachment(photo))
    await standin.dispatch("INTERACTION_CREATE", asked)
    (followup,) = await standin.log.wait_for(followup_of(asked))
    buttons = {b["label"]: b["custom_id"] for row in followup.params["json"]["components"] for b in row["components"]}
    click = standin.button_click(334, buttons["Explain"], label="Explain")
    await standin.dispatch("INTERACTION_CREATE", click)
    (defer,) = await standin.log.wait_for(callback_of(click))
    assert defer.params["json"]["type"] == 5 and defer.params["json"]["data"]["flags"] & EPHEMERAL
    (sent,) = await standin.log.wait_for(followup_of(click))
    (attached,) = sent.params["files"]
    assert attached["filename"] == EXPLAIN_FILE and attached["data"].startswith(b"\x89PNG\r\n")
    assert "Lightning Bolt" in sent.params["json"]["content"] and sent.params["json"]["flags"] & EPHEMERAL
    assert engine.explained[-1] == (photo, BOLT.card_id)  # the held photo, against the card shown

    # Flipping to the alternative points "Explain" at that card, with the same held photo.
    flip = standin.button_click(333, buttons["Lightning Bolt (M10 #146)"])
    flip["message"]["components"] = followup.params["json"]["components"]
    await standin.dispatch("INTERACTION_CREATE", flip)
    (update,) = await standin.log.wait_for(callback_of(flip))
    flipped = [b["custom_id"] for row in update.params["json"]["data"]["components"] for b in row["components"]]
    token = buttons["Explain"].split(":")[2]
    assert f"cardsight:explain:{token}:{BOLT_M10.card_id}" in flipped and buttons["Explain"] not in flipped


async def test_explain_button_after_the_photo_was_let_go(standin: DiscordStandin, group: BotGroup) -> None:
    click = standin.button_click(336, f"cardsight:explain:{'0' * 16}:{BOLT.card_id}", label="Explain")
    await standin.dispatch("INTERACTION_CREATE", click)
    (sent,) = await standin.log.wait_for(followup_of(click))
    assert sent.params["json"]["content"] == EXPLAIN_EXPIRED and not sent.params.get("files")


async def test_bad_input_gets_a_friendly_reply(standin: DiscordStandin, group: BotGroup) -> None:
    text_file = standin.slash_card(307, standin.attachment(b"hello", "notes.txt", "text/plain"))
    corrupt = standin.slash_card(308, standin.attachment(b"\x89PNG broken", "card.png", "image/png"))
    huge = standin.slash_card(309, standin.attachment(b"x", "big.jpg", size=500_000_000))
    for interaction in (text_file, corrupt, huge):
        await standin.dispatch("INTERACTION_CREATE", interaction)
    (refused,) = await standin.log.wait_for(callback_of(text_file))
    assert refused.params["json"]["data"]["embeds"][0]["description"] == ImageError.user_message
    assert refused.params["json"]["data"]["flags"] & EPHEMERAL  # refused before any download
    (too_large,) = await standin.log.wait_for(callback_of(huge))
    assert "too large" in too_large.params["json"]["data"]["embeds"][0]["description"]
    (failed,) = await standin.log.wait_for(followup_of(corrupt))
    assert failed.params["json"]["embeds"][0]["description"] == ImageError.user_message
    assert not [c for c in standin.log.named("download") if c.params["name"].endswith("big.jpg")]


async def burst(standin: DiscordStandin, interactions: list[dict]) -> list[dict]:
    """Dispatch all interactions at once; their follow-up embeds, in order."""
    await asyncio.gather(*(standin.dispatch("INTERACTION_CREATE", i) for i in interactions))
    return [(await standin.log.wait_for(followup_of(i), timeout=60))[0].params["json"]["embeds"][0]
            for i in interactions]


async def test_binder_page_gets_a_decklist(standin: DiscordStandin, engine: FakeEngine, group: BotGroup) -> None:
    photo = engine.teach(card_photo("Binder", seed=51), *deck_answers())
    interaction = standin.slash_card(351, standin.attachment(photo))
    await standin.dispatch("INTERACTION_CREATE", interaction)
    (followup,) = await standin.log.wait_for(followup_of(interaction))
    (embed,) = followup.params["json"]["embeds"]
    assert embed["title"] == "I see 9 cards, 4 different:"
    assert embed["description"].startswith(f"```\n{DECK_TEXT}```")  # one click copies an importable list
    assert "Not sure about: Lightning Helix." in embed["description"]
    assert not followup.params.get("files") and not followup.params["json"].get("components")


async def test_long_decklist_is_attached_as_text(standin: DiscordStandin, engine: FakeEngine, group: BotGroup) -> None:
    answers = long_deck_answers()
    photo = engine.teach(card_photo("Spread", seed=52), *answers)
    interaction = standin.slash_card(352, standin.attachment(photo))
    await standin.dispatch("INTERACTION_CREATE", interaction)
    (followup,) = await standin.log.wait_for(followup_of(interaction))
    (embed,) = followup.params["json"]["embeds"]
    assert len(embed["description"]) <= 4096 and len(embed["title"]) <= 256
    shown = embed["description"].split("```")[1].strip().splitlines()
    assert 10 < len(shown) < 64 and shown[0] == f"1 {answers[0].match.name}"
    assert f"…and {64 - len(shown)} more" in embed["description"]
    (attached,) = followup.params["files"]
    assert attached["filename"] == "decklist.txt"
    assert attached["text"] == "".join(f"1 {a.match.name}\n" for a in answers)


async def test_twenty_photos_at_once_are_all_in_flight_together(
    standin: DiscordStandin, engine: FakeEngine, group: BotGroup
) -> None:
    """The engine holds every photo until all twenty have reached it: a handler that blocked the
    loop or waited for the one before could never get them all there."""
    photos = [engine.teach(card_photo(f"Card {i}", seed=100 + i), answer(CATALOG[i % 5], 0.9)) for i in range(20)]
    interactions = [standin.slash_card(1000 + i, standin.attachment(p)) for i, p in enumerate(photos)]
    engine.gate = asyncio.Event()
    try:
        replies = asyncio.create_task(burst(standin, interactions))
        async with asyncio.timeout(30):
            while engine.in_flight < 20:
                await asyncio.sleep(0.01)
    finally:
        engine.gate.set()
        engine.gate = None
    embeds = await replies
    assert [e["title"] for e in embeds] == [CATALOG[i % 5].name for i in range(20)]


async def test_real_recognizer_names_a_generated_card(recognizer: object, demo_photos: list[tuple[bytes, str]]) -> None:
    standin = DiscordStandin()
    await standin.start()
    settings = BotSettings(discord_api_base=standin.api_base, cooldown_seconds=0)
    group = await start_bots(recognizer, settings, tokens=BotTokens(discord=TOKEN), platforms=("discord",))  # type: ignore[arg-type]
    try:
        sent = demo_photos[:3]
        interactions = [standin.slash_card(1501 + i, standin.attachment(photo)) for i, (photo, _) in enumerate(sent)]
        for interaction in interactions:
            await standin.dispatch("INTERACTION_CREATE", interaction)
        embeds = [(await standin.log.wait_for(followup_of(i), timeout=60))[0].params["json"]["embeds"][0]
                  for i in interactions]
    finally:
        await group.stop(grace_seconds=5)
        await standin.stop()
    named_right = 0
    for embed, (_, expected) in zip(embeds, sent, strict=True):
        assert embed["url"].startswith("http"), embed
        assert re.search(r"(confidence|not sure) \d{1,2}%", embed["description"]), embed
        named_right += embed["title"] in (expected, f"Not sure: {expected}?")
    assert named_right >= len(sent) - 1, embeds


async def test_real_recognizer_twenty_photos_at_once_off_the_loop(
    recognizer: object, demo_photos: list[tuple[bytes, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Twenty photos in one burst are all answered, and every decode ran off the event loop's thread."""
    decoded_on: list[int] = []

    def decode_recording_thread(*args: object, **kwargs: object) -> object:
        decoded_on.append(threading.get_ident())
        return decode_image(*args, **kwargs)

    monkeypatch.setattr(recognizer_module, "decode_image", decode_recording_thread)
    standin = DiscordStandin()
    await standin.start()
    settings = BotSettings(discord_api_base=standin.api_base, cooldown_seconds=0, guild_requests_per_minute=0)
    group = await start_bots(recognizer, settings, tokens=BotTokens(discord=TOKEN), platforms=("discord",))  # type: ignore[arg-type]
    try:
        sent = [demo_photos[i % len(demo_photos)] for i in range(20)]
        interactions = [standin.slash_card(1600 + i, standin.attachment(photo)) for i, (photo, _) in enumerate(sent)]
        embeds = await burst(standin, interactions)
    finally:
        await group.stop(grace_seconds=10)
        await standin.stop()
    named_right = sum(e.get("title") in (name, f"Not sure: {name}?") for e, (_, name) in zip(embeds, sent, strict=True))
    assert named_right >= 15, [e.get("title") or e.get("description") for e in embeds]
    assert len(decoded_on) == 20 and threading.get_ident() not in decoded_on


async def test_feedback_records_the_posters_pick_where_the_admin_turned_it_on(tmp_path: Path) -> None:
    from bot.feedback import FeedbackStore
    from bot.settings import FeedbackSettings
    from tests.discord_standin import GUILD_ID

    engine = FakeEngine()
    store = FeedbackStore(FeedbackSettings(discord_guild_ids=(GUILD_ID,), folder=str(tmp_path / "fb")))
    standin = DiscordStandin()
    await standin.start()
    settings = BotSettings(discord_api_base=standin.api_base, cooldown_seconds=0, guild_requests_per_minute=0)
    group = await start_bots(engine, settings, tokens=BotTokens(discord=TOKEN), platforms=("discord",), feedback=store)
    try:
        photo = engine.teach(card_photo("Lightning Bolt", seed=21), answer(BOLT, 0.9, BOLT_M10))
        asked = standin.slash_card(330, standin.attachment(photo))
        await standin.dispatch("INTERACTION_CREATE", asked)
        (followup,) = await standin.log.wait_for(followup_of(asked))
        buttons = {b["label"]: b["custom_id"] for row in followup.params["json"]["components"] for b in row["components"]}
        token = buttons["Right"].split(":")[2]
        assert buttons["Right"] == f"cardsight:fb:{token}:{BOLT.card_id}"
        assert buttons["Lightning Bolt (M10 #146)"] == f"cardsight:fb:{token}:{BOLT_M10.card_id}"

        stranger = standin.button_click(331, buttons["Right"], label="Right")
        await standin.dispatch("INTERACTION_CREATE", stranger)
        (note,) = await standin.log.wait_for(followup_of(stranger))
        assert note.params["json"]["content"] == POSTER_ONLY and note.params["json"]["flags"] & EPHEMERAL
        assert store.records() == []

        poster = standin.button_click(330, buttons["Lightning Bolt (M10 #146)"])
        await standin.dispatch("INTERACTION_CREATE", poster)
        (update,) = await standin.log.wait_for(callback_of(poster))
        assert "(M10) #146" in update.params["json"]["data"]["embeds"][0]["description"]
        (note,) = await standin.log.wait_for(followup_of(poster))
        assert note.params["json"]["content"] == THANKS
        (record,) = store.records()
        assert record["cards"][0]["id"] == BOLT_M10.card_id
        assert (tmp_path / "fb" / record["photo"]).stat().st_size > 1000  # the crop

        forget = standin.interaction(330, 2, {"id": str(APP_ID + 3), "name": "forget", "type": 1})
        await standin.dispatch("INTERACTION_CREATE", forget)
        (done,) = await standin.log.wait_for(callback_of(forget))
        assert done.params["json"]["data"]["content"].startswith("Deleted 1 ")
        assert store.records() == [] and not list((tmp_path / "fb" / "photos").iterdir())
    finally:
        await group.stop(grace_seconds=5)
        await standin.stop()
