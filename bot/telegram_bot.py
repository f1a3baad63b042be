"""The Telegram adapter (python-telegram-bot v22): photos, image documents, `/card`, buttons.

Like the Discord adapter it only translates: answers come from `bot.answering`/`bot.replies`.
Prices and legality are part of the message; a "Details" inline button edits the message to
add the type line and rules text (and back), keeping the other buttons.
Updates are processed concurrently (one slow photo does not hold up the chat), outgoing calls go
through PTB's `AIORateLimiter` (Telegram's flood limits), and polling is the default because it
needs no public address; webhook mode is a setting.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hmac
import html
import json
import logging
from collections.abc import Awaitable, Callable, Sequence

from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    Update,
)
from telegram.constants import ChatType, MessageLimit, ParseMode
from telegram.error import BadRequest, NetworkError, TelegramError, TimedOut
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot import replies
from bot.answering import Answerer
from bot.feedback import Scope
from bot.lookups import Show, bracket_lookups, parse_lookup
from bot.quiet_retries import OUTAGE_LOGGER
from bot.redact import TELEGRAM_LOGGERS, redact_in_logs
from bot.replies import DECKLIST_FILE, DECKLIST_HINT, EXPLAIN_FILE, CardLine, Reply, ReplyKind
from bot.settings import BotSettings
from engine.errors import ImageError

log = logging.getLogger("cardsight.bot.telegram")

WebhookReceiver = Callable[[bytes, "str | None"], Awaitable[int]]
"""An update's body and secret-token header in, the HTTP status to answer out."""
outage_log = logging.getLogger(OUTAGE_LOGGER)

SEND_ATTEMPTS = 3
SEND_BACKOFF_S = 0.5
RATE_LIMIT_RETRIES = 3
"""How often `AIORateLimiter` retries a call Telegram answered 429 (after its retry_after)."""

CALLBACK_PREFIX = "card:"
DETAILS_PREFIX = "det:"
LESS_PREFIX = "less:"
PICK_PREFIX = "fb:"
EXPLAIN_PREFIX = "ex:"
THANKS = "Thanks! I'll learn from that photo."
POSTER_ONLY = "Only the person who posted the photo can confirm it."
MESSAGE_MAX_CHARS = 4096
USAGE = (
    "Send me a photo of a Magic card and I'll name it.\n"
    "• /card as a reply to a photo identifies that photo\n"
    "• /card Lightning Bolt looks a card up by name\n"
    "• [[Lightning Bolt]] in a message does the same; [[Bolt|M10]] a set's printing, "
    "[[!Bolt]] the image only, [[$Bolt]] prices, [[#Bolt]] legality"
)
COMMANDS = [
    BotCommand("card", "Identify the photo you reply to, or look up a card: /card Name"),
    BotCommand("forget", "Delete the card photos you helped me learn from"),
]


def _text(value: str) -> str:
    return html.escape(value, quote=False)


def _card_html(card: CardLine, fields: Sequence[tuple[str, str]] = ()) -> str:
    parts = [_text(card.printing)]
    if card.confidence_text:
        parts.append(card.confidence_text)
    lines = [f'<b><a href="{html.escape(card.url)}">{_text(card.name)}</a></b>', " · ".join(parts)]
    lines += [f"<b>{_text(title)}</b>: {_text(text)}" if "\n" not in text else f"<b>{_text(title)}</b>\n{_text(text)}"
              for title, text in fields]
    return "\n".join(lines)


def reply_html(reply: Reply) -> str:
    """The same content as the Discord embed, as Telegram HTML."""
    if reply.is_problem:
        return _text(reply.headline)
    if reply.kind is ReplyKind.DECKLIST:
        assert reply.decklist is not None
        return "\n".join(filter(None, [_text(reply.headline), f"<pre>{_text(reply.decklist.export().rstrip())}</pre>",
                                        _text(reply.note or ""), _text(DECKLIST_HINT)]))
    if reply.kind is ReplyKind.SEVERAL:
        lines = [_text(reply.headline)]
        for i, card in enumerate(reply.cards, 1):
            lines.append(f"{i}. " + _card_html(card).replace("\n", " · ", 1))
        if reply.note:
            lines.append(_text(reply.note))
        return "\n".join(lines)
    text = _card_html(reply.cards[0], reply.fields(reply.cards[0]))
    if reply.kind is ReplyKind.UNSURE:
        text = f"{_text(reply.headline)}\n{text}"
    return text if len(text) <= MESSAGE_MAX_CHARS else _card_html(reply.cards[0])


def _fits(data: str) -> bool:
    return len(data.encode()) <= 64  # Telegram's cap on callback data


def _details_row(reply: Reply) -> list[list[InlineKeyboardButton]]:
    """"Details" under a card with rules text; "Less" under its details, to fold them again."""
    if reply.show is Show.DETAILS and len(reply.cards) == 1 and _fits(LESS_PREFIX + reply.cards[0].card_id):
        return [[InlineKeyboardButton("Less", callback_data=LESS_PREFIX + reply.cards[0].card_id)]]
    if reply.details_of is not None and _fits(DETAILS_PREFIX + reply.details_of):
        return [[InlineKeyboardButton("Details", callback_data=DETAILS_PREFIX + reply.details_of)]]
    return []


def _explain_row(reply: Reply) -> list[list[InlineKeyboardButton]]:
    """"Explain" under a single card while its photo is held (`bot.answering.PhotoHold`)."""
    data = f"{EXPLAIN_PREFIX}{reply.explain}:{reply.explain_of}"
    return [[InlineKeyboardButton("Explain", callback_data=data)]] if reply.explain_of and _fits(data) else []


def switched_markup(old: InlineKeyboardMarkup | None, reply: Reply) -> InlineKeyboardMarkup | None:
    """The buttons after a click: the alternatives as they were (to flip between candidates),
    the details and explain buttons (the same held photo) for the card now shown."""
    rows = [list(row) for row in (old.inline_keyboard if old else ())]
    data = [str(b.callback_data or "") for row in rows for b in row]
    held = next((d.removeprefix(EXPLAIN_PREFIX).partition(":")[0] for d in data if d.startswith(EXPLAIN_PREFIX)), None)
    redone = (DETAILS_PREFIX, LESS_PREFIX, EXPLAIN_PREFIX)
    kept = [row for row in rows if not any(str(b.callback_data or "").startswith(redone) for b in row)]
    rows = _details_row(reply) + _explain_row(dataclasses.replace(reply, explain=held)) + kept
    return InlineKeyboardMarkup(rows) if rows else None


def reply_markup(reply: Reply) -> InlineKeyboardMarkup | None:
    """"Details" (when there is rules text), "Explain" (while the photo is held), and one
    button per alternative."""
    rows = _details_row(reply) + _explain_row(reply)
    prefix = f"{PICK_PREFIX}{reply.feedback}:" if reply.feedback else CALLBACK_PREFIX
    if reply.feedback and reply.kind is ReplyKind.FOUND and _fits(prefix + reply.cards[0].card_id):
        rows.append([InlineKeyboardButton("Right", callback_data=prefix + reply.cards[0].card_id)])
    rows += [
        [InlineKeyboardButton(c.label, callback_data=prefix + c.card_id)]
        for c in reply.choices
        if _fits(prefix + c.card_id)
    ]
    return InlineKeyboardMarkup(rows) if rows else None


def link_preview(reply: Reply) -> LinkPreviewOptions:
    """Show the card image as a small preview (the Discord thumbnail's counterpart); large
    for ``[[!name]]``, which asks for the image."""
    if len(reply.cards) == 1 and reply.cards[0].image_uri and reply.cards[0].image_uri.startswith("http"):
        if reply.show is Show.IMAGE:
            return LinkPreviewOptions(url=reply.cards[0].image_uri, prefer_large_media=True)
        return LinkPreviewOptions(url=reply.cards[0].image_uri, prefer_small_media=True)
    return LinkPreviewOptions(is_disabled=True)


def decklist_caption(reply: Reply) -> str:
    """What goes with a decklist too long for one message: the headline and where the list is
    (plain text: cut to Telegram's caption limit, markup could break)."""
    text = "\n".join(filter(None, [reply.headline, f"The whole list is in {DECKLIST_FILE}. {DECKLIST_HINT}",
                                    reply.note]))
    return text if len(text) <= MessageLimit.CAPTION_LENGTH else text[: MessageLimit.CAPTION_LENGTH - 1] + "…"


async def _send_once(message: Message, reply: Reply) -> None:
    """One reply message; a decklist longer than Telegram's 4096 characters goes as a text file."""
    text = reply_html(reply)
    if reply.decklist is not None and len(text) > MessageLimit.MAX_TEXT_LENGTH:
        await message.reply_document(reply.decklist.export().encode(), filename=DECKLIST_FILE,
                                     caption=decklist_caption(reply))
        return
    await message.reply_text(
        text,
        parse_mode=ParseMode.HTML,
        reply_markup=reply_markup(reply),
        link_preview_options=link_preview(reply),
    )


async def send_reply(message: Message, reply: Reply) -> None:
    """Send, retrying Telegram's 5xx answers; 429s are retried by `AIORateLimiter` already.

    A bad request or a timeout is not retried: the first is final, and after the second the
    message may well have been delivered, so a retry could post it twice.
    """
    for attempt in range(SEND_ATTEMPTS):
        try:
            await _send_once(message, reply)
            return
        except (BadRequest, TimedOut):
            raise
        except NetworkError as exc:
            if attempt == SEND_ATTEMPTS - 1:
                raise
            outage_log.warning("telegram: sending a reply failed (%s); retrying with backoff", exc)
            await asyncio.sleep(SEND_BACKOFF_S * 2**attempt)


def polling_failed(exc: TelegramError) -> None:
    """PTB's own callback logs a traceback per failed poll; one line per outage is enough."""
    outage_log.warning("telegram: getUpdates failed (%s); retrying with backoff", exc)


def _image_of(message: Message | None) -> tuple[str, int | None, str | None] | None:
    """(file_id, size, mime type) of the photo or image document in `message`, if any."""
    if message is None:
        return None
    if message.photo:
        biggest = message.photo[-1]  # Telegram lists sizes smallest first
        return biggest.file_id, biggest.file_size, "image/jpeg"
    doc = message.document
    if doc is not None and doc.mime_type and doc.mime_type.startswith("image/"):
        return doc.file_id, doc.file_size, doc.mime_type
    return None


class TelegramHandlers:
    """PTB callbacks bound to one `Answerer`."""

    def __init__(self, answerer: Answerer, settings: BotSettings) -> None:
        self.answerer = answerer
        self.settings = settings

    def register(self, app: Application) -> None:
        app.add_handler(CommandHandler(["start", "help"], self.on_help))
        app.add_handler(CommandHandler("card", self.on_card))
        app.add_handler(CommandHandler("forget", self.on_forget))
        app.add_handler(CallbackQueryHandler(self.on_pick, pattern=f"^{PICK_PREFIX}"))
        app.add_handler(CallbackQueryHandler(self.on_explain, pattern=f"^{EXPLAIN_PREFIX}"))
        app.add_handler(MessageHandler(filters.PHOTO | filters.Document.IMAGE, self.on_photo))
        app.add_handler(
            MessageHandler(filters.Document.ALL & ~filters.Document.IMAGE & filters.ChatType.PRIVATE, self.on_not_image)
        )
        if self.settings.telegram_bracket_lookups:
            app.add_handler(MessageHandler(filters.TEXT & filters.Regex(r"\[\[.+?\]\]"), self.on_brackets))
        app.add_handler(
            CallbackQueryHandler(self.on_choice, pattern=f"^({CALLBACK_PREFIX}|{DETAILS_PREFIX}|{LESS_PREFIX})")
        )
        app.add_error_handler(self.on_error)

    async def on_help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_message:
            await update.effective_message.reply_text(USAGE)

    async def on_photo(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._identify(update, context, update.effective_message, asked=False)

    async def on_card(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None:
            return
        if context.args:
            async with self.answerer.tracked("telegram", "lookup"):
                text = " ".join(context.args)
                await send_reply(message, await self.answerer.lookup(parse_lookup(text) or text))
        elif _image_of(message.reply_to_message) is not None:
            await self._identify(update, context, message.reply_to_message, asked=True)
        else:
            await message.reply_text(USAGE)

    async def on_forget(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_message is None or update.effective_user is None:
            return
        async with self.answerer.tracked("telegram", "forget"):
            await update.effective_message.reply_text(await self.answerer.forget("telegram", update.effective_user.id))

    async def on_pick(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """"Right" or an alternative where feedback is on: show that card and record the
        poster's pick (`bot.feedback`); the popup says whether it was recorded."""
        query = update.callback_query
        if query is None or not query.data or query.from_user is None:
            return
        token, _, card_id = query.data.removeprefix(PICK_PREFIX).partition(":")
        async with self.answerer.tracked("telegram", "pick"):
            recorded = await self.answerer.pick(token, card_id, "telegram", query.from_user.id)
            reply = await self.answerer.choice(card_id)
            await query.answer(THANKS if recorded else POSTER_ONLY)
            if isinstance(query.message, Message):
                try:
                    await query.edit_message_text(
                        reply_html(reply), parse_mode=ParseMode.HTML,
                        reply_markup=switched_markup(query.message.reply_markup, reply),
                        link_preview_options=link_preview(reply),
                    )
                except BadRequest as exc:  # "Right" on the answer shown: nothing to change
                    if "not modified" not in str(exc).lower():
                        raise

    async def on_explain(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """"Explain": the overlay as a photo replying to the answer; when there is none (the photo
        is no longer held, a limit, an engine refusal) the button's popup says why."""
        query = update.callback_query
        if query is None or not query.data or query.from_user is None:
            return
        token, _, card_id = query.data.removeprefix(EXPLAIN_PREFIX).partition(":")
        chat = update.effective_chat
        group = ("telegram", chat.id) if chat is not None and chat.type != ChatType.PRIVATE else None
        async with self.answerer.tracked("telegram", "explain"):
            explanation = await self.answerer.explain(token, card_id, ("telegram", query.from_user.id), group)
            if explanation.png is None or not isinstance(query.message, Message):
                await query.answer(explanation.text)
                return
            await query.answer()
            await query.message.reply_photo(explanation.png, caption=explanation.text, filename=EXPLAIN_FILE)

    async def on_not_image(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_message is not None:
            await send_reply(update.effective_message, replies.from_error(ImageError("document is not an image")))

    async def on_brackets(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or not message.text:
            return
        async with self.answerer.tracked("telegram", "brackets"):
            for query in bracket_lookups(message.text, self.settings.max_lookups_per_message):
                await send_reply(message, await self.answerer.lookup(query))

    async def on_choice(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None or not query.data:
            return
        prefix, _, card_id = query.data.partition(":")
        details = f"{prefix}:" == DETAILS_PREFIX
        async with self.answerer.tracked("telegram", "details" if details else "choice"):
            reply = await self.answerer.choice(card_id, Show.DETAILS if details else Show.CARD)
            await query.answer()
            if query.message is not None and isinstance(query.message, Message):
                await query.edit_message_text(
                    reply_html(reply),
                    parse_mode=ParseMode.HTML,
                    reply_markup=switched_markup(query.message.reply_markup, reply),
                    link_preview_options=link_preview(reply),
                )

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("telegram handler failed: %r", context.error, exc_info=context.error)

    async def _identify(
        self, update: Update, context: ContextTypes.DEFAULT_TYPE, source: Message | None, *, asked: bool
    ) -> None:
        message, image = update.effective_message, _image_of(source)
        if message is None or image is None:
            return
        file_id, size, mime = image
        chat = update.effective_chat
        in_group = chat is not None and chat.type != ChatType.PRIVATE
        async with self.answerer.tracked("telegram", "photo"):
            refusal = self.answerer.refuse_photo(
                ("telegram", update.effective_user.id if update.effective_user else 0),
                ("telegram", chat.id) if in_group and chat else None,
                size=size,
                content_type=mime,
            )
            if refusal is not None:
                if asked or not in_group:  # photos merely posted in a group get no refusal spam
                    await send_reply(message, refusal)
                return

            async def download() -> bytes:
                file = await context.bot.get_file(file_id)
                return bytes(await file.download_as_bytearray())

            poster = source.from_user.id if source is not None and source.from_user else 0
            scope = Scope("telegram", chat.id if in_group and chat else None, poster)
            await message.reply_chat_action("typing")
            await send_reply(message, await self.answerer.identify(download, scope))


def build_application(answerer: Answerer, settings: BotSettings, token: str) -> Application:
    app = (
        Application.builder()
        .token(token)
        .base_url(settings.telegram_api_base)
        .base_file_url(settings.telegram_file_base)
        .concurrent_updates(True)
        .rate_limiter(AIORateLimiter(max_retries=RATE_LIMIT_RETRIES))
        .get_updates_read_timeout(settings.telegram_poll_timeout_seconds + 10)
        .connect_timeout(settings.telegram_timeout_seconds)
        .read_timeout(settings.telegram_timeout_seconds)
        .write_timeout(settings.telegram_timeout_seconds)
        .pool_timeout(settings.telegram_timeout_seconds)
        .build()
    )
    TelegramHandlers(answerer, settings).register(app)
    return app


class TelegramBot:
    """Start/stop of one PTB `Application` without `run_polling` (which would own the loop)."""

    def __init__(self, answerer: Answerer, settings: BotSettings, token: str, webhook_secret: str | None = None,
                 webhooks: dict[str, WebhookReceiver] | None = None) -> None:
        """`webhooks`: where webhook mode puts `receive` for the HTTP app's route to find."""
        if settings.telegram_mode == "webhook" and webhooks is None:
            raise ValueError("webhook mode needs the HTTP app's webhooks to receive updates through")
        # httpx logs every request URL at INFO, and Bot API URLs contain the token; PTB logs
        # its base URLs at DEBUG.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        self._redact = redact_in_logs(token, "<TELEGRAM_TOKEN>", TELEGRAM_LOGGERS)
        self.settings = settings
        self.webhook_secret = webhook_secret
        self._webhooks = webhooks if settings.telegram_mode == "webhook" else None
        self.app = build_application(answerer, settings, token)

    async def start(self) -> None:
        s = self.settings
        await self.app.initialize()
        await self.app.bot.set_my_commands(COMMANDS)
        await self.app.start()
        if self._webhooks is not None:  # webhook mode (checked in __init__)
            self._webhooks["telegram"] = self.receive
            await self.app.bot.set_webhook(s.telegram_webhook_url, secret_token=self.webhook_secret,
                                           allowed_updates=Update.ALL_TYPES)
        else:
            assert self.app.updater is not None
            await self.app.updater.start_polling(
                timeout=s.telegram_poll_timeout_seconds, allowed_updates=Update.ALL_TYPES,
                error_callback=polling_failed,
            )
        log.info("telegram: started as @%s (%s)", self.app.bot.username, s.telegram_mode)

    async def receive(self, body: bytes, secret: str | None) -> int:
        """One update posted to the webhook route; returns the HTTP status to answer with.

        Updates without the secret Telegram was given are refused (403), as PTB's own
        webhook server did; a body that is no update is a 400.
        """
        if self.webhook_secret is not None and not hmac.compare_digest(
                (secret or "").encode(), self.webhook_secret.encode()):
            return 403
        try:
            update = Update.de_json(json.loads(body), self.app.bot)
        except (ValueError, TypeError, KeyError):
            return 400
        if update is None:
            return 400
        await self.app.update_queue.put(update)
        return 200

    async def stop_intake(self) -> None:
        """Stop fetching updates; handlers already running carry on. A webhook update posted
        from now on is answered 503, and Telegram sends it again later."""
        if self._webhooks is not None and self._webhooks.get("telegram") == self.receive:
            del self._webhooks["telegram"]
        if self.app.updater is not None and self.app.updater.running:
            await self.app.updater.stop()

    async def close(self) -> None:
        if self.app.running:
            await self.app.stop()
        await self.app.shutdown()
        for name in TELEGRAM_LOGGERS:
            logging.getLogger(name).removeFilter(self._redact)
