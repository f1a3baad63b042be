"""How a `Reply` looks on Discord: an embed, plus alternative buttons that switch the answer.

The buttons are discord.py `DynamicItem`s: the card id lives in the button's custom_id, so a
click is understood even after the bot restarts, and no per-message view is kept in memory.
Prices and legality are embed fields; the rules text is behind a "Details" button, answered
only to the user who clicks it, so a busy channel is not filled with rules text.
"""

from __future__ import annotations

import dataclasses
import io
import re
from typing import TYPE_CHECKING, Any

import discord

from bot.lookups import Show
from bot.replies import (
    DECKLIST_FILE,
    DECKLIST_HINT,
    EXPLAIN_FILE,
    CardLine,
    Explanation,
    Reply,
    ReplyKind,
    fitting_lines,
)

if TYPE_CHECKING:
    from bot.answering import Answerer

COLOURS = {
    ReplyKind.FOUND: discord.Colour.green(),
    ReplyKind.LOOKUP: discord.Colour.blurple(),
    ReplyKind.SEVERAL: discord.Colour.green(),
    ReplyKind.DECKLIST: discord.Colour.green(),
    ReplyKind.UNSURE: discord.Colour.orange(),
    ReplyKind.NOT_FOUND: discord.Colour.light_grey(),
    ReplyKind.LIMITED: discord.Colour.light_grey(),
    ReplyKind.ERROR: discord.Colour.red(),
}


EMBED_DESCRIPTION_LIMIT = 4096
"""Discord's cap on an embed description (the whole embed may hold 6000 characters)."""


def _card_text(card: CardLine) -> str:
    parts = [card.printing]
    if card.confidence_text:
        parts.append(card.confidence_text)
    return " · ".join(parts)


FIELD_MAX_CHARS = 1024
"""Discord's limit on one embed field's value."""


def reply_embed(reply: Reply) -> discord.Embed:
    colour = COLOURS[reply.kind]
    if reply.is_problem:
        return discord.Embed(description=reply.headline, colour=colour)
    if reply.kind is ReplyKind.DECKLIST:
        return discord.Embed(title=reply.headline, description=_decklist_description(reply)[0], colour=colour)
    if reply.kind is ReplyKind.SEVERAL:
        lines = [f"{i}. **[{c.name}]({c.url})** · {_card_text(c)}" for i, c in enumerate(reply.cards, 1)]
        if reply.note:
            lines.append(f"\n{reply.note}")
        return discord.Embed(title=reply.headline, description="\n".join(lines), colour=colour)
    card = reply.cards[0]
    title = f"Not sure: {card.name}?" if reply.kind is ReplyKind.UNSURE else card.name
    unsure = reply.kind is ReplyKind.UNSURE
    description = f"{reply.headline}\n{_card_text(card)}" if unsure else _card_text(card)
    embed = discord.Embed(title=title, url=card.url, description=description, colour=colour)
    for name, value in reply.fields(card):
        embed.add_field(name=name, value=value[:FIELD_MAX_CHARS], inline=False)
    if card.image_uri and card.image_uri.startswith(("http://", "https://")):
        if reply.show is Show.IMAGE:
            embed.set_image(url=card.image_uri)
        else:
            embed.set_thumbnail(url=card.image_uri)
    if reply.choices:
        embed.set_footer(text="Pick the right card below." if unsure else "Not this printing? Pick another below.")
    return embed


def _decklist_description(reply: Reply) -> tuple[str, int]:
    """The decklist in a code block (copied whole with one click, ready to import), then what to
    check; and how many lines did not fit, which go to the attached file (`send_kwargs`)."""
    assert reply.decklist is not None
    after = "\n".join(filter(None, [reply.note, DECKLIST_HINT]))
    lines = [e.line for e in reply.decklist.entries]
    room = EMBED_DESCRIPTION_LIMIT - len(after) - len("```\n\n```\n") - 80  # 80: the "more" line
    shown, hidden = fitting_lines(lines, room)
    more = f"\n…and {hidden} more: the whole list is in {DECKLIST_FILE}" if hidden else ""
    return "```\n" + "\n".join(shown) + "\n```" + more + "\n" + after, hidden


def decklist_file(reply: Reply) -> discord.File | None:
    """The decklist as a text attachment, when the embed cannot show all of it."""
    if reply.kind is not ReplyKind.DECKLIST or reply.decklist is None or not _decklist_description(reply)[1]:
        return None
    return discord.File(io.BytesIO(reply.decklist.export().encode()), filename=DECKLIST_FILE)


class AlternativeButton(discord.ui.DynamicItem[discord.ui.Button], template=r"cardsight:card:(?P<card_id>[\w-]{1,80})"):
    """Switch the message to another catalog entry, keeping the buttons to flip back."""

    def __init__(self, card_id: str, label: str = "…") -> None:
        super().__init__(
            discord.ui.Button(label=label, style=discord.ButtonStyle.secondary, custom_id=f"cardsight:card:{card_id}")
        )
        self.card_id = card_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> AlternativeButton:
        return cls(match["card_id"], item.label or "…")

    async def callback(self, interaction: discord.Interaction) -> Any:
        answerer: Answerer = interaction.client.answerer  # type: ignore[attr-defined]
        async with answerer.tracked("discord", "choice"):
            reply = await answerer.choice(self.card_id)
            view = switched_view(interaction.message, reply)
            await interaction.response.edit_message(embed=reply_embed(reply), view=view)


class DetailsButton(discord.ui.DynamicItem[discord.ui.Button], template=r"cardsight:details:(?P<card_id>[\w-]{1,80})"):
    """Type line, rules text and full details of a card, shown only to the user who asks."""

    def __init__(self, card_id: str) -> None:
        super().__init__(
            discord.ui.Button(label="Details", style=discord.ButtonStyle.primary, custom_id=f"cardsight:details:{card_id}")
        )
        self.card_id = card_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> DetailsButton:
        return cls(match["card_id"])

    async def callback(self, interaction: discord.Interaction) -> Any:
        answerer: Answerer = interaction.client.answerer  # type: ignore[attr-defined]
        async with answerer.tracked("discord", "details"):
            reply = await answerer.choice(self.card_id, Show.DETAILS)
            await interaction.response.send_message(embed=reply_embed(reply), ephemeral=True)


EXPLAIN_PREFIX = "cardsight:explain:"


class ExplainButton(
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"cardsight:explain:(?P<token>[0-9a-f]{16}):(?P<card_id>[\w-]{1,80})",
):
    """The held photo's card tinted where it agrees with the card shown (green) and where not
    (red), sent only to the user who asks, like "Details"; the token names the held photo."""

    def __init__(self, token: str, card_id: str) -> None:
        super().__init__(discord.ui.Button(label="Explain", style=discord.ButtonStyle.secondary,
                                           custom_id=f"{EXPLAIN_PREFIX}{token}:{card_id}"))
        self.token, self.card_id = token, card_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> ExplainButton:
        return cls(match["token"], match["card_id"])

    async def callback(self, interaction: discord.Interaction) -> Any:
        answerer: Answerer = interaction.client.answerer  # type: ignore[attr-defined]
        async with answerer.tracked("discord", "explain"):
            await interaction.response.defer(ephemeral=True, thinking=True)  # the engine runs again
            explanation = await answerer.explain(
                self.token, self.card_id, ("discord", interaction.user.id),
                ("discord", interaction.guild_id) if interaction.guild_id else None,
            )
            await interaction.followup.send(**explanation_kwargs(explanation), ephemeral=True)


def explanation_kwargs(explanation: Explanation) -> dict[str, Any]:
    """The overlay as an attachment with its caption, or just the reason there is none."""
    kwargs: dict[str, Any] = {"content": explanation.text}
    if explanation.png is not None:
        kwargs["file"] = discord.File(io.BytesIO(explanation.png), filename=EXPLAIN_FILE)
    return kwargs


THANKS = "Thanks! I'll learn from that photo. (/forget deletes the photos you taught me.)"
POSTER_ONLY = "Only the person who posted the photo can confirm which card it is."


class PickButton(
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"cardsight:fb:(?P<token>[0-9a-f]{16}):(?P<card_id>[\w-]{1,80})",
):
    """"Right" or an alternative under an answer where feedback is on: shows the picked card
    like `AlternativeButton`, and records the poster's pick with the card's crop."""

    def __init__(self, token: str, card_id: str, label: str = "…", right: bool = False) -> None:
        style = discord.ButtonStyle.success if right else discord.ButtonStyle.secondary
        super().__init__(discord.ui.Button(label=label, style=style, custom_id=f"cardsight:fb:{token}:{card_id}"))
        self.token, self.card_id = token, card_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> PickButton:
        return cls(match["token"], match["card_id"], item.label or "…")

    async def callback(self, interaction: discord.Interaction) -> Any:
        answerer: Answerer = interaction.client.answerer  # type: ignore[attr-defined]
        async with answerer.tracked("discord", "pick"):
            recorded = await answerer.pick(self.token, self.card_id, "discord", interaction.user.id)
            reply = await answerer.choice(self.card_id)  # "Right" shows the answer again after a flip
            await interaction.response.edit_message(embed=reply_embed(reply), view=switched_view(interaction.message, reply))
            await interaction.followup.send(THANKS if recorded else POSTER_ONLY, ephemeral=True)


def switched_view(message: discord.Message | None, reply: Reply) -> discord.ui.View | None:
    """The buttons after switching to an alternative: the same alternatives (to flip back),
    and "Details" and "Explain" (the same held photo) for the card now shown."""
    buttons = [c for row in (message.components if message else []) for c in getattr(row, "children", [])
               if isinstance(c, discord.components.Button) and c.custom_id]
    held = next((b.custom_id.split(":")[2] for b in buttons if b.custom_id.startswith(EXPLAIN_PREFIX)), None)
    reply = dataclasses.replace(reply, explain=held)
    kept = [b for b in buttons if not b.custom_id.startswith(("cardsight:details:", EXPLAIN_PREFIX))]
    view = discord.ui.View(timeout=None)
    if reply.details_of is not None:
        view.add_item(DetailsButton(reply.details_of))
    if reply.explain is not None and reply.explain_of is not None:
        view.add_item(ExplainButton(reply.explain, reply.explain_of))
    for button in kept:
        view.add_item(discord.ui.Button.from_component(button))
    return view if view.children else None


def choices_view(reply: Reply) -> discord.ui.View | None:
    """Details, Explain, then "Right" (where feedback is on and the answer is sure), then
    alternatives."""
    details, explained = reply.details_of, reply.explain_of
    right = reply.feedback is not None and reply.kind is ReplyKind.FOUND
    if not reply.choices and details is None and explained is None and not right:
        return None
    view = discord.ui.View(timeout=None)
    if details is not None:
        view.add_item(DetailsButton(details))
    if reply.explain is not None and explained is not None:
        view.add_item(ExplainButton(reply.explain, explained))
    if right and reply.feedback is not None:
        view.add_item(PickButton(reply.feedback, reply.cards[0].card_id, "Right", right=True))
    for choice in reply.choices:
        if reply.feedback is not None:
            view.add_item(PickButton(reply.feedback, choice.card_id, choice.label))
        else:
            view.add_item(AlternativeButton(choice.card_id, choice.label))
    return view


def send_kwargs(reply: Reply) -> dict[str, Any]:
    """Keyword arguments for `send`/`followup.send`; discord.py rejects an explicit `view=None`."""
    kwargs: dict[str, Any] = {"embed": reply_embed(reply)}
    attachment = decklist_file(reply)
    if attachment is not None:
        kwargs["file"] = attachment
    view = choices_view(reply)
    if view is not None:
        kwargs["view"] = view
    return kwargs
