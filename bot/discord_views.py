"""How a `Reply` looks on Discord: an embed, plus alternative buttons that switch the answer.

The buttons are discord.py `DynamicItem`s: the card id lives in the button's custom_id, so a
click is understood even after the bot restarts, and no per-message view is kept in memory.
"""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING, Any

import discord

from bot.replies import DECKLIST_FILE, DECKLIST_HINT, CardLine, Reply, ReplyKind, fitting_lines

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
    if card.image_uri and card.image_uri.startswith(("http://", "https://")):
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
            await interaction.response.edit_message(embed=reply_embed(reply))


def choices_view(reply: Reply) -> discord.ui.View | None:
    if not reply.choices:
        return None
    view = discord.ui.View(timeout=None)
    for choice in reply.choices:
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
