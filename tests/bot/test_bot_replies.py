"""What the bots say and when they refuse: the platform-neutral parts, without any network."""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from bot import replies
from bot.answering import Answerer, PhotoHold
from bot.lookups import LookupQuery, Show, bracket_lookups
from bot.discord_bot import bot_intents
from bot.discord_views import reply_embed
from bot.ratelimit import RequestLimits, SlidingWindowLimiter
from bot.replies import ReplyKind
from bot import runner as bot_runner
from bot.runner import start_bots
from bot.settings import BotSettings, BotTokens, load_bot_settings, load_tokens
from bot.telegram_bot import reply_html, reply_markup
from cardsight.commands import bot as bot_command
from configuration import ConfigError
from engine.errors import EngineBusy, ImageError, ImageTooLarge, RequestTimeout
from engine.recognizer import Recognizer
from engine.settings import EngineSettings
from engine.types import CardDetails, Identification
from tests.bot_engine import CATALOG, FakeEngine, answer, card_photo

on_session_loop = pytest.mark.asyncio(loop_scope="session")

BOLT, BOLT_M10, HELIX, COUNTERSPELL, ELVES = CATALOG


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def identification(*answers: object) -> Identification:
    return Identification(cards=tuple(answers), image_size=(300, 400))  # type: ignore[arg-type]


# Replies.


def test_sure_answer_offers_distinct_alternatives() -> None:
    reply = replies.from_identification(identification(answer(BOLT, 0.97, BOLT, BOLT_M10, BOLT_M10, HELIX)), 4)
    assert reply.kind is ReplyKind.FOUND and reply.headline == "Lightning Bolt"
    (card,) = reply.cards
    assert card.confidence_text == "confidence 97%" and card.printing == "Set LEA (LEA) #161"
    assert [c.card_id for c in reply.choices] == [BOLT_M10.card_id, HELIX.card_id]


def test_unsure_answer_lists_the_best_guess_among_candidates() -> None:
    reply = replies.from_identification(identification(answer(BOLT, 0.35, HELIX, COUNTERSPELL, unsure=True)), 1)
    assert reply.kind is ReplyKind.UNSURE and reply.headline == replies.NOT_SURE
    assert reply.cards[0].confidence_text == "not sure 35%"
    assert [c.card_id for c in reply.choices] == [BOLT.card_id, HELIX.card_id]  # guess + max_alternatives


def test_several_cards_get_one_compact_reply() -> None:
    reply = replies.from_identification(
        identification(answer(BOLT, 0.9), answer(ELVES, 0.3, unsure=True), answer(HELIX, 0.8))
    )
    assert reply.kind is ReplyKind.SEVERAL and reply.headline == "I see 3 cards:"
    assert [c.name for c in reply.cards] == ["Lightning Bolt", "Llanowar Elves", "Lightning Helix"]
    assert reply.note == "1 of them I'm not sure about." and not reply.choices


def test_a_card_named_by_its_title_shows_no_printing() -> None:
    by_title = dataclasses.replace(answer(ELVES, 0.9), printing_known=False)
    reply = replies.from_identification(identification(answer(BOLT, 0.9), by_title))
    bolt, elves = reply.cards
    assert bolt.printing == "Set LEA (LEA) #161"
    assert elves.printing == replies.TITLE_ONLY and f"#{ELVES.collector_number}" not in reply_html(reply)
    assert by_title.to_json()["printing_known"] is False


def test_no_card_and_errors_use_the_engine_wording() -> None:
    assert replies.from_identification(identification()).headline == replies.NO_CARD
    for error in (ImageError(), ImageTooLarge(), EngineBusy(), RequestTimeout()):
        reply = replies.from_error(error)
        assert reply.kind is ReplyKind.ERROR and reply.headline == error.user_message and reply.is_problem


def test_confidence_is_never_shown_as_certain() -> None:
    assert replies.format_percent(0.9999) == "99%"
    assert replies.format_percent(0.505) == "50%"
    assert replies.format_percent(-0.1) == "0%"


def test_lookup_reply_has_no_confidence() -> None:
    reply = replies.from_lookup("bolt", [BOLT, BOLT_M10])
    assert reply.kind is ReplyKind.LOOKUP and reply.cards[0].confidence_text is None
    assert [c.card_id for c in reply.choices] == [BOLT_M10.card_id]
    assert replies.from_lookup("zzz", []).kind is ReplyKind.NOT_FOUND


def test_long_button_labels_are_cut() -> None:
    long = CATALOG[0].__class__(**{**BOLT.to_json(), "name": "X" * 120})
    assert len(replies.choice_label(long)) == 80


def test_both_platforms_show_the_same_answer() -> None:
    reply = replies.from_identification(identification(answer(HELIX, 0.86, BOLT)))
    embed = reply_embed(reply)
    text = reply_html(reply)
    assert embed.title == "Lightning Helix" and embed.url == HELIX.scryfall_uri
    assert f'<a href="{HELIX.scryfall_uri}">Lightning Helix</a>' in text
    assert embed.description is not None and "confidence 86%" in embed.description and "confidence 86%" in text
    markup = reply_markup(reply)
    assert markup is not None and markup.inline_keyboard[0][0].text == replies.choice_label(BOLT)


def test_discord_embeds_for_unsure_and_several() -> None:
    unsure = reply_embed(replies.from_identification(identification(answer(BOLT, 0.4, HELIX, unsure=True))))
    assert unsure.title == "Not sure: Lightning Bolt?" and unsure.description is not None
    assert unsure.description.startswith(replies.NOT_SURE) and "not sure 40%" in unsure.description
    several = reply_embed(replies.from_identification(identification(answer(BOLT, 0.9), answer(ELVES, 0.8))))
    assert several.title == "I see 2 cards:" and several.description is not None
    assert several.description.splitlines() == [
        f"1. **[Lightning Bolt]({BOLT.scryfall_uri})** · Set LEA (LEA) #161 · confidence 90%",
        f"2. **[Llanowar Elves]({ELVES.scryfall_uri})** · Set LEA (LEA) #210 · confidence 80%",
    ]


def test_message_content_intent_only_for_passive_mode() -> None:
    assert not bot_intents(BotSettings()).message_content
    passive = bot_intents(BotSettings(discord_passive_guild_ids=(1,)))
    assert passive.message_content and passive.guild_messages


def test_telegram_text_is_escaped() -> None:
    reply = replies.from_lookup("x", [dataclasses.replace(BOLT, name="Fire <b> & Ice")])
    assert "Fire &lt;b&gt; &amp; Ice" in reply_html(reply)


# Card details: prices, legality, rules text.


def test_card_reply_shows_prices_with_their_date_and_main_format_legality() -> None:
    reply = replies.from_identification(identification(answer(BOLT, 0.97)))
    fields = dict(reply.fields(reply.cards[0]))
    assert fields == {
        "Prices": "$420.00 · €380.50 · 1.02 TIX (prices of 2024-05-01)",
        "Legality": "Legal: Modern, Legacy, Vintage, Commander, Pauper · Not legal: Standard, Pioneer",
    }
    assert reply.details_of == BOLT.card_id  # the rules text is behind "Details"
    details = replies.from_choice(BOLT, Show.DETAILS)
    assert dict(details.fields(details.cards[0]))["Rules"] == "{R} — Instant\nLightning Bolt deals 3 damage to any target."
    assert details.details_of is None  # the details view has no second "Details" button


def test_foil_price_restricted_and_banned_are_named() -> None:
    details = CardDetails(prices={"usd_foil": "15.00"},
                          legalities={"vintage": "restricted", "legacy": "banned", "modern": "legal"})
    card = replies.CardLine.from_match(dataclasses.replace(HELIX, details=details))
    assert card.prices == "$15.00 foil"  # no date known: none claimed
    assert card.legality == "Legal: Modern · Restricted: Vintage · Banned: Legacy"


def test_a_card_without_details_simply_omits_them() -> None:
    reply = replies.from_lookup("helix", [HELIX])
    assert reply.fields(reply.cards[0]) == [] and reply.details_of is None
    assert "Prices" not in reply_html(reply) and reply_markup(reply) is None
    assert reply_embed(reply).fields == []


def test_long_rules_text_stays_within_embed_and_message_limits() -> None:
    wordy = dataclasses.replace(BOLT, details=CardDetails(type_line="Legendary Planeswalker — Jace",
                                                          oracle_text="Draw a card. " * 400))
    reply = replies.from_choice(wordy, Show.DETAILS)
    embed = reply_embed(reply)
    assert all(len(f.value or "") <= 1024 for f in embed.fields) and len(embed) <= 6000
    assert len(reply_html(reply)) <= 4096
    assert reply.cards[0].rules is not None and reply.cards[0].rules.endswith("…")


@pytest.mark.parametrize(
    ("show", "fields"),
    [(Show.CARD, ["Prices", "Legality"]), (Show.PRICES, ["Prices"]), (Show.LEGALITY, ["Legality"]), (Show.IMAGE, [])],
)
def test_lookup_modifiers_choose_what_is_shown(show: Show, fields: list[str]) -> None:
    reply = replies.from_lookup(LookupQuery("bolt", show=show), [BOLT, BOLT_M10])
    assert [title for title, _ in reply.fields(reply.cards[0])] == fields
    assert [f.name for f in reply_embed(reply).fields] == fields
    image = reply_embed(reply).image.url
    assert image == (BOLT.image_uri if show is Show.IMAGE else None)
    assert (reply.choices == ()) is (show is Show.IMAGE)  # the image alone, as Scryfall's bot does


def test_set_lookup_that_finds_nothing_names_the_set() -> None:
    reply = replies.from_lookup(LookupQuery("Lightning Bolt", "rav"), [])
    assert reply.kind is ReplyKind.NOT_FOUND and "in set RAV" in reply.headline


# Limits.


def test_sliding_window_limits_per_key() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(2, 60, clock=clock)
    for _ in range(2):
        assert limiter.retry_after("a") == 0
        limiter.hit("a")
    assert limiter.retry_after("a") == pytest.approx(60)
    assert limiter.retry_after("b") == 0
    clock.now += 30
    assert limiter.retry_after("a") == pytest.approx(30)
    clock.now += 30.5
    assert limiter.retry_after("a") == 0


def test_user_cooldown_and_group_budget() -> None:
    clock = FakeClock()
    limits = RequestLimits(cooldown_seconds=5, group_requests_per_minute=2, clock=clock)
    assert limits.acquire("u1", "g") == 0
    assert limits.acquire("u1", "g") == pytest.approx(5)  # cooldown
    assert limits.acquire("u2", "g") == 0
    assert limits.acquire("u3", "g") == pytest.approx(60)  # server budget used up
    assert limits.acquire("u3", None) == 0  # a private chat has no server budget
    disabled = RequestLimits(0, 0, clock=clock)
    assert all(disabled.acquire("u", "g") == 0 for _ in range(10))


# The shared answering path.


def test_bracket_queries() -> None:
    text = "[[Lightning  Bolt]] and [[lightning bolt]], [[Counterspell]] [[a]] [[b]] [[]]"
    assert [q.name for q in bracket_lookups(text, 3)] == ["Lightning Bolt", "Counterspell", "a"]
    assert bracket_lookups("no brackets [here]", 3) == []


def test_bracket_modifiers_follow_scryfall() -> None:
    text = "[[!Bolt]] [[$ Lightning Bolt]] [[#counterspell]] [[Lightning Bolt | M10]] [[Bolt|not a set!]] [[$]] [[!|lea]]"
    assert bracket_lookups(text, 10) == [
        LookupQuery("Bolt", None, Show.IMAGE),
        LookupQuery("Lightning Bolt", None, Show.PRICES),
        LookupQuery("counterspell", None, Show.LEGALITY),
        LookupQuery("Lightning Bolt", "m10", Show.CARD),
        LookupQuery("Bolt", None, Show.CARD),
    ]
    # The same name with another modifier is another question; the same question once.
    assert len(bracket_lookups("[[Bolt]] [[$Bolt]] [[$bolt]] [[Bolt|M10]]", 10)) == 3


def test_refusals_come_before_any_work() -> None:
    answerer = Answerer(FakeEngine(), BotSettings(cooldown_seconds=10, max_attachment_bytes=1000))
    assert answerer.refuse_photo("u", None, content_type="text/plain").headline == ImageError.user_message  # type: ignore[union-attr]
    assert answerer.refuse_photo("u", None, size=5000).headline == ImageTooLarge.user_message  # type: ignore[union-attr]
    assert answerer.refuse_photo("u", None, size=10, content_type="image/png") is None
    limited = answerer.refuse_photo("u", None, size=10)
    assert limited is not None and limited.kind is ReplyKind.LIMITED and "10 s" in limited.headline


@on_session_loop
async def test_identify_turns_every_failure_into_a_reply() -> None:
    engine = FakeEngine()
    answerer = Answerer(engine, BotSettings(max_attachment_bytes=100_000))
    good = engine.teach(card_photo("Bolt"), answer(BOLT, 0.9))

    def give(data: bytes) -> Callable[[], Awaitable[bytes]]:
        async def download() -> bytes:
            return data

        return download

    assert (await answerer.identify(give(good))).headline == "Lightning Bolt"
    assert (await answerer.identify(give(b"not an image"))).headline == ImageError.user_message
    busy = engine.fail_on(card_photo("busy", seed=3), EngineBusy())
    assert (await answerer.identify(give(busy))).headline == EngineBusy.user_message

    async def broken_download() -> bytes:
        raise ConnectionResetError("peer went away")

    assert (await answerer.identify(broken_download)).headline.startswith("I couldn't download")


def test_photos_held_for_explain_go_by_age_count_and_bytes() -> None:
    clock = FakeClock()
    hold = PhotoHold(minutes=10, max_photos=3, max_bytes=1000, clock=clock)
    first = hold.hold(b"a" * 100)
    clock.now += 9 * 60
    second = hold.hold(b"b" * 100)
    assert hold.get(first) == b"a" * 100
    clock.now += 2 * 60  # the first is now 11 minutes old, the second 2
    assert hold.get(first) is None and hold.get(second) == b"b" * 100
    third, fourth, fifth = (hold.hold(bytes(10)) for _ in range(3))
    assert hold.get(second) is None and hold.get(fifth) is not None  # a fourth photo pushed the oldest out
    big = hold.hold(b"c" * 995)  # the count alone would drop only the third; the bytes drop all three
    assert [hold.get(t) is not None for t in (third, fourth, fifth, big)] == [False, False, False, True]
    assert hold.get("0" * 16) is None


@on_session_loop
async def test_explain_holds_a_single_answers_photo_and_refuses_kindly() -> None:
    engine = FakeEngine()
    answerer = Answerer(engine, BotSettings(cooldown_seconds=10))
    photo = engine.teach(card_photo("Bolt", seed=4), answer(BOLT, 0.9, BOLT_M10))
    several = engine.teach(card_photo("Two", seed=5), answer(BOLT, 0.9), answer(HELIX, 0.9))

    async def download(data: bytes) -> bytes:
        return data

    reply = await answerer.identify(lambda: download(photo))
    assert reply.explain is not None and reply.explain_of == BOLT.card_id
    assert (await answerer.identify(lambda: download(several))).explain is None  # which card would it explain?
    done = await answerer.explain(reply.explain, BOLT.card_id, "u", None)
    assert done.png is not None and done.png.startswith(b"\x89PNG") and "Lightning Bolt" in done.text
    again = await answerer.explain(reply.explain, BOLT.card_id, "u", None)
    assert again.png is None and "10 s" in again.text  # costs like a photo: the cooldown applies
    wrong = await answerer.explain(reply.explain, HELIX.card_id, "v", None)
    assert wrong.png is None and wrong.text == "No card in this photo matched that card."
    assert (await answerer.explain("0" * 16, BOLT.card_id, "w", None)).text == replies.EXPLAIN_EXPIRED

    off = Answerer(engine, BotSettings(explain_minutes=0))
    assert (await off.identify(lambda: download(photo))).explain is None


@on_session_loop
async def test_drain_waits_for_requests_in_flight() -> None:
    answerer = Answerer(FakeEngine(), BotSettings())
    async with answerer.tracked("test", "photo"):
        assert answerer.in_flight == 1
        assert await answerer.drain(timeout=0.05) is False
        assert answerer.refuse_photo("u", None) is not None  # closing: new photos are declined
    assert answerer.in_flight == 0 and await answerer.drain(timeout=0.05) is True


# Settings, tokens and start-up.


def test_settings_from_environment() -> None:
    env = {
        "CARDSIGHT_BOT_DISCORD_PASSIVE_CHANNEL_IDS": "11, 12",
        "CARDSIGHT_BOT_COOLDOWN_SECONDS": "1.5",
        "CARDSIGHT_BOT_TELEGRAM_MODE": "webhook",
        "CARDSIGHT_BOT_TELEGRAM_WEBHOOK_URL": "https://bot.example.org/telegram",
    }
    settings = load_bot_settings(env, file_values={})
    assert settings.discord_passive_channel_ids == (11, 12) and settings.discord_passive
    assert settings.cooldown_seconds == 1.5 and settings.telegram_mode == "webhook"
    with pytest.raises(ConfigError, match="webhook_url"):
        load_bot_settings({"CARDSIGHT_BOT_TELEGRAM_MODE": "webhook"}, file_values={})


def test_tokens_come_from_env_or_file_and_never_show(tmp_path) -> None:
    secret = tmp_path / "tg"
    secret.write_text("42:very-secret\n")
    tokens = load_tokens({"DISCORD_TOKEN": "disc-secret", "TELEGRAM_TOKEN_FILE": str(secret),
                          "TELEGRAM_WEBHOOK_SECRET": "hook-secret"})
    assert tokens.discord == "disc-secret" and tokens.telegram == "42:very-secret"
    assert tokens.telegram_webhook_token == "hook-secret"
    assert "secret" not in repr(tokens) and "set" in repr(tokens)
    with pytest.raises(ConfigError, match="BotFather"):
        load_tokens({"TELEGRAM_TOKEN": "not-a-token"})


@on_session_loop
async def test_no_tokens_starts_no_bot() -> None:
    group = await start_bots(FakeEngine(), BotSettings(), tokens=BotTokens())
    assert group.names == []
    await group.stop()


def test_bot_command_needs_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DISCORD_TOKEN", "DISCORD_TOKEN_FILE", "TELEGRAM_TOKEN", "TELEGRAM_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    parser = argparse.ArgumentParser()
    bot_command.register(parser.add_subparsers())
    args = parser.parse_args(["bot", "telegram", "--engine-url", "http://127.0.0.1:9"])
    assert args.platform == "telegram"
    with pytest.raises(ConfigError, match="TELEGRAM_TOKEN"):
        bot_command.run(args)


def test_bot_command_builds_its_recognizer_from_the_engine_section(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, artifacts_dir: Path) -> None:
    # `cardsight bot` once ignored [engine]; every command builds the recognizer it describes.
    config = tmp_path / "cardsight.toml"
    config.write_text(f"[engine]\nartifacts = {json.dumps(str(artifacts_dir))}\nmax_cards = 7\nread_titles = false\n")
    monkeypatch.setenv("CARDSIGHT_CONFIG", str(config))
    monkeypatch.setenv("TELEGRAM_TOKEN", "42:stand-in")
    seen: list[EngineSettings] = []

    class Started(Exception):
        pass

    async def start_bots(engine: Recognizer, *args: object, **kwargs: object) -> None:
        seen.append(engine.settings)
        raise Started

    monkeypatch.setattr(bot_runner, "start_bots", start_bots)
    parser = argparse.ArgumentParser()
    bot_command.register(parser.add_subparsers())
    with pytest.raises(Started):
        bot_command.run(parser.parse_args(["bot", "telegram"]))
    assert seen and seen[0].max_cards == 7 and not seen[0].read_titles
    assert seen[0].artifacts == artifacts_dir


def test_serve_hands_the_feedback_section_to_the_bots_it_starts(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # `cardsight serve` once started its bots without [feedback]: picks were never recorded there.
    import service.server
    from cardsight.commands import serve as serve_command

    config = tmp_path / "cardsight.toml"
    config.write_text(f"[feedback]\ntelegram_chat_ids = [-100]\nfolder = {json.dumps(str(tmp_path / 'fb'))}\n")
    monkeypatch.setenv("CARDSIGHT_CONFIG", str(config))
    monkeypatch.setenv("TELEGRAM_TOKEN", "42:stand-in")
    passed: list[object] = []

    async def start_bots(engine: Recognizer, *args: object, **kwargs: object) -> None:
        passed.append(kwargs.get("feedback"))

    async def serve(plan: service.server.ServePlan) -> int:
        assert plan.start_bots is not None
        await plan.start_bots(FakeEngine(), {})  # type: ignore[arg-type]
        return 0

    monkeypatch.setattr(bot_runner, "start_bots", start_bots)
    monkeypatch.setattr(service.server, "serve", serve)
    parser = argparse.ArgumentParser()
    serve_command.register(parser.add_subparsers())
    assert serve_command.run(parser.parse_args(["serve"])) == 0
    assert passed and passed[0] is not None and passed[0].settings.telegram_chat_ids == (-100,)  # type: ignore[attr-defined]
