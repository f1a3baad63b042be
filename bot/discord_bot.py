"""The Discord adapter: `/card`, the "Identify card" message command, and passive channels.

Everything that decides an answer lives in `bot.answering` / `bot.replies`; this module only
maps Discord events to those calls and the replies back to embeds. Interactions are deferred
before the model runs (Discord wants a response within 3 s), and the engine's async API keeps
the model off the event loop, so heartbeats and other users are never held up.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord
from discord import app_commands

from bot.answering import Answerer, is_image_type
from bot.discord_views import (
    AlternativeButton,
    DetailsButton,
    ExplainButton,
    PickButton,
    reply_embed,
    send_kwargs,
)
from bot.feedback import Scope
from bot.lookups import LookupQuery, bracket_lookups, parse_lookup
from bot.replies import Reply
from bot.settings import BotSettings

log = logging.getLogger("cardsight.bot.discord")

NO_IMAGE = "That message has no image attached. Use it on a message with a photo of a card."
MAX_EMBEDS = 10
"""Discord's limit on embeds in one message."""
CARD_USAGE = "Attach a photo (`image`) or give a card `name`, e.g. `/card name: Lightning Bolt`."


def bot_intents(settings: BotSettings) -> discord.Intents:
    """Only passive mode needs the privileged message-content intent, so only then ask for it."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = settings.discord_passive
    intents.message_content = settings.discord_passive
    return intents


def first_image(message: discord.Message) -> discord.Attachment | None:
    for attachment in message.attachments:
        if attachment.content_type and is_image_type(attachment.content_type):
            return attachment
    return None


class CardsightDiscord(discord.AutoShardedClient):
    """Auto-sharded from the start, so a bot that grows past 2,500 servers needs no rewrite."""

    def __init__(self, answerer: Answerer, settings: BotSettings, **options: Any) -> None:
        super().__init__(intents=bot_intents(settings), shard_count=settings.discord_shard_count, **options)
        self.answerer = answerer
        self.settings = settings
        self.tree = app_commands.CommandTree(self)
        self.ready_event = asyncio.Event()
        self._add_commands()

    def _add_commands(self) -> None:
        @self.tree.command(name="card", description="Name the Magic card in a photo, or look a card up by name")
        @app_commands.describe(image="A photo of one or more Magic cards", name="Look a card up by name instead")
        async def card(
            interaction: discord.Interaction,
            image: discord.Attachment | None = None,
            name: app_commands.Range[str, 1, 120] | None = None,
        ) -> None:
            if image is not None:
                await self._answer_photo(interaction, image, "slash", poster_id=interaction.user.id)
            elif name:
                await self._answer_lookup(interaction, name)
            else:
                await interaction.response.send_message(CARD_USAGE, ephemeral=True)

        @self.tree.command(name="forget", description="Delete the card photos you helped me learn from")
        async def forget(interaction: discord.Interaction) -> None:
            async with self.answerer.tracked("discord", "forget"):
                text = await self.answerer.forget("discord", interaction.user.id)
                await interaction.response.send_message(text, ephemeral=True)

        @self.tree.context_menu(name="Identify card")
        async def identify_card(interaction: discord.Interaction, message: discord.Message) -> None:
            image = first_image(message)
            if image is None:
                await interaction.response.send_message(NO_IMAGE, ephemeral=True)
                return
            await self._answer_photo(interaction, image, "context_menu", poster_id=message.author.id)

    async def setup_hook(self) -> None:
        self.add_dynamic_items(AlternativeButton, DetailsButton, ExplainButton, PickButton)
        if self.settings.discord_sync_commands:
            synced = await self.tree.sync()
            log.info("registered %d application command(s)", len(synced))

    async def on_ready(self) -> None:
        self.ready_event.set()
        log.info("discord: logged in as %s (%s shard(s), %d server(s))", self.user, self.shard_count, len(self.guilds))

    async def _answer_photo(
        self, interaction: discord.Interaction, image: discord.Attachment, what: str, *, poster_id: int
    ) -> None:
        """`poster_id`: whose photo it is, the one user whose pick may label it (bot.feedback)."""
        async with self.answerer.tracked("discord", what):
            refusal = self.answerer.refuse_photo(
                ("discord", interaction.user.id),
                ("discord", interaction.guild_id) if interaction.guild_id else None,
                size=image.size,
                content_type=image.content_type,
            )
            if refusal is not None:
                await interaction.response.send_message(embed=reply_embed(refusal), ephemeral=True)
                return
            await interaction.response.defer(thinking=True)
            scope = Scope("discord", interaction.guild_id, poster_id)
            reply = await self.answerer.identify(image.read, scope)
            await interaction.followup.send(**send_kwargs(reply))

    async def _answer_lookup(self, interaction: discord.Interaction, name: str) -> None:
        async with self.answerer.tracked("discord", "lookup"):
            reply = await self.answerer.lookup(parse_lookup(name) or name)
            await interaction.response.send_message(**send_kwargs(reply), ephemeral=reply.is_problem)

    def is_passive(self, message: discord.Message) -> bool:
        s = self.settings
        if message.guild is None:
            return False
        channel_ids = {message.channel.id, getattr(message.channel, "parent_id", None)}
        return message.guild.id in s.discord_passive_guild_ids or bool(channel_ids & set(s.discord_passive_channel_ids))

    async def on_message(self, message: discord.Message) -> None:
        """Passive mode: photos and ``[[Card Name]]`` in opted-in servers/channels."""
        if message.author.bot or not self.is_passive(message):
            return
        image = first_image(message)
        if image is not None:
            await self._answer_passive_photo(message, image)
        if self.settings.discord_bracket_lookups:
            queries = bracket_lookups(message.content, self.settings.max_lookups_per_message)
            if queries:
                await self._answer_brackets(message, queries)

    async def _answer_passive_photo(self, message: discord.Message, image: discord.Attachment) -> None:
        async with self.answerer.tracked("discord", "passive"):
            refusal = self.answerer.refuse_photo(
                ("discord", message.author.id), ("discord", message.guild.id if message.guild else None),
                size=image.size, content_type=image.content_type,
            )
            if refusal is not None:
                # Unasked-for answers stay quiet: a refusal only shows as a reaction.
                await _react(message, "⏳")
                return
            scope = Scope("discord", message.guild.id if message.guild else None, message.author.id)
            async with message.channel.typing():
                reply = await self.answerer.identify(image.read, scope)
            await message.reply(**send_kwargs(reply), mention_author=False)

    async def _answer_brackets(self, message: discord.Message, queries: list[LookupQuery]) -> None:
        """One message for all of them (up to 10 embeds), with the "Details" button of a single
        card; several cards' rules text is one `[[name]]` click away instead."""
        async with self.answerer.tracked("discord", "brackets"):
            found: list[Reply] = list(await asyncio.gather(*(self.answerer.lookup(q) for q in queries)))
            if len(found) == 1:
                await message.reply(**send_kwargs(found[0]), mention_author=False)
                return
            embeds = [reply_embed(r) for r in found[:MAX_EMBEDS]]
            await message.reply(embeds=embeds, mention_author=False)


async def _react(message: discord.Message, emoji: str) -> None:
    try:
        await message.add_reaction(emoji)
    except discord.HTTPException as exc:  # no Add Reactions permission: nothing else to do
        log.debug("could not react: %s", exc)


def configure_api_base(settings: BotSettings) -> None:
    """discord.py reads its REST base from `Route.BASE` (a class attribute, process-wide)."""
    discord.http.Route.BASE = settings.discord_api_base.rstrip("/")
