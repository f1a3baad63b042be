"""Settings for the chat bots: config section ``[bot]`` / env ``CARDSIGHT_BOT_<FIELD>``, and
``[feedback]`` (learning from users' picks, off by default: see bot/feedback.py).

Tokens are deliberately not fields here: they come from `read_secret` (``$DISCORD_TOKEN`` /
``$DISCORD_TOKEN_FILE``, ``$TELEGRAM_TOKEN`` / ``$TELEGRAM_TOKEN_FILE``) so that a config file
checked into a repository can never carry one, and so that a settings object is safe to log.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

from configuration import ConfigError, load_section, read_secret

DISCORD_TOKEN = "DISCORD_TOKEN"
TELEGRAM_TOKEN = "TELEGRAM_TOKEN"
TELEGRAM_WEBHOOK_SECRET = "TELEGRAM_WEBHOOK_SECRET"


@dataclass(frozen=True)
class BotSettings:
    """Behaviour shared by both platforms, then the per-platform knobs."""

    # Shared: abuse limits and input limits.
    cooldown_seconds: float = 3.0
    """Minimum gap between two photo identifications by the same user."""
    guild_requests_per_minute: int = 30
    """Photos identified per minute per Discord server / Telegram group; 0 disables the limit."""
    max_attachment_bytes: int = 15_000_000
    """Larger attachments are refused before download (Telegram bots can fetch at most 20 MB)."""
    max_alternatives: int = 4
    """Alternatives offered as buttons under an answer."""
    decklist_from_cards: int = 6
    """Photos with at least this many cards (a binder page, a deck spread) are answered with a
    decklist: counts per name, in the text Arena, MTGO and Moxfield import."""
    max_lookups_per_message: int = 3
    """``[[Name]]`` lookups answered from one message; the rest are ignored."""
    max_photos_in_flight: int = 32
    """Photos downloaded or being identified at once, over every chat; past it a photo is
    answered "busy, try again" before it is downloaded, so a burst costs neither bandwidth
    nor memory. Keep it at or under the engine's ``max_queue``."""
    shutdown_grace_seconds: float = 30.0
    """How long a stop waits for in-flight photos to be answered."""
    explain_minutes: float = 30.0
    """How long a photo's bytes stay in memory (never on disk) for the "Explain" button under
    its answer; 0 offers no button and holds nothing."""
    explain_max_photos: int = 100
    """Photos held for "Explain" at once; the oldest is dropped past it."""
    explain_max_megabytes: float = 200.0
    """And their total size: one full-size phone photo is several MB, so a count alone would
    not bound the memory."""

    # Discord.
    discord_passive_guild_ids: tuple[int, ...] = ()
    """Servers where every photo posted in any channel is identified (needs message content)."""
    discord_passive_channel_ids: tuple[int, ...] = ()
    """Channels where every photo posted is identified (needs the message-content intent)."""
    discord_bracket_lookups: bool = True
    """Answer ``[[Card Name]]`` in passive servers/channels."""
    discord_sync_commands: bool = True
    """Register the slash and context-menu commands with Discord at start-up."""
    discord_shard_count: int | None = None
    """None lets Discord choose (AutoShardedClient asks ``/gateway/bot``)."""
    discord_api_base: str = "https://discord.com/api/v10"
    """REST base URL; change only to point at a proxy or a test stand-in."""

    # Telegram.
    telegram_mode: str = "polling"
    """``polling`` (no public address needed) or ``webhook``."""
    telegram_webhook_url: str | None = None
    """Public HTTPS URL Telegram posts updates to (webhook mode)."""
    telegram_webhook_listen: str = "0.0.0.0"
    """Where `cardsight bot` listens for updates; `cardsight serve` takes them on its own
    address (``[service]`` host and port), as one more route of the HTTP API."""
    telegram_webhook_port: int = 8443
    telegram_webhook_path: str = "telegram"
    """Path of the route updates are posted to (the webhook URL's path, behind a proxy)."""
    telegram_poll_timeout_seconds: int = 30
    """Long-poll duration of one ``getUpdates`` call."""
    telegram_bracket_lookups: bool = True
    """Answer ``[[Card Name]]`` in Telegram text messages."""
    telegram_timeout_seconds: float = 20.0
    """Connect/read/write/pool timeout of Bot API calls and file downloads (PTB's 5 s default
    times out on big photos and on a busy two-core machine)."""
    telegram_api_base: str = "https://api.telegram.org/bot"
    telegram_file_base: str = "https://api.telegram.org/file/bot"

    def __post_init__(self) -> None:
        if self.telegram_mode not in ("polling", "webhook"):
            raise ValueError(f"telegram_mode must be 'polling' or 'webhook', not {self.telegram_mode!r}")
        if self.telegram_mode == "webhook" and not self.telegram_webhook_url:
            raise ValueError("telegram_mode = 'webhook' needs telegram_webhook_url")
        if self.cooldown_seconds < 0 or self.guild_requests_per_minute < 0:
            raise ValueError("cooldown_seconds and guild_requests_per_minute must be >= 0")
        if self.max_attachment_bytes <= 0:
            raise ValueError("max_attachment_bytes must be > 0")
        if self.max_photos_in_flight < 1 or self.telegram_timeout_seconds <= 0:
            raise ValueError("max_photos_in_flight must be >= 1 and telegram_timeout_seconds > 0")
        if self.explain_minutes < 0 or self.explain_max_photos < 1 or self.explain_max_megabytes <= 0:
            raise ValueError("explain_minutes must be >= 0, explain_max_photos >= 1, explain_max_megabytes > 0")
        if self.decklist_from_cards < 2:
            raise ValueError("decklist_from_cards must be at least 2")
        if not 0 <= self.max_alternatives <= 5:
            raise ValueError("max_alternatives must be between 0 and 5 (one button row)")

    @property
    def discord_passive(self) -> bool:
        """Passive mode needs the privileged message-content intent, so only ask when used."""
        return bool(self.discord_passive_guild_ids or self.discord_passive_channel_ids)


@dataclass(frozen=True)
class FeedbackSettings:
    """Settings of section ``[feedback]``: where users may teach the model, and for how long."""

    discord_guild_ids: tuple[int, ...] = ()
    """Discord servers whose admin turned learning from picks on; empty: nowhere (the default)."""
    telegram_chat_ids: tuple[int, ...] = ()
    """Telegram groups whose admin turned it on (private chats never record)."""
    folder: str = "var/feedback"
    """Where the labelled crops are kept (the `cardsight eval --photos` folder format)."""
    retention_days: float = 90.0
    """Records older than this are deleted (checked at start-up and on every new record)."""
    pending_minutes: float = 60.0
    """How long an answer's crop waits in memory for its poster's pick before it is dropped."""
    max_pending: int = 200
    """Crops held in memory at once (~50 KB each); the oldest is dropped past it."""

    def __post_init__(self) -> None:
        if self.retention_days <= 0 or self.pending_minutes <= 0 or self.max_pending < 1:
            raise ValueError("retention_days and pending_minutes must be > 0, max_pending >= 1")

    @property
    def anywhere(self) -> bool:
        return bool(self.discord_guild_ids or self.telegram_chat_ids)


@dataclass(frozen=True)
class BotTokens:
    """The secrets, kept apart from `BotSettings`; `repr` never shows them."""

    discord: str | None = None
    telegram: str | None = None
    telegram_webhook_token: str | None = None
    """Telegram sends it with every webhook update, so updates from anyone else are refused."""

    def __repr__(self) -> str:
        shown = ", ".join(f"{f.name}={'set' if getattr(self, f.name) else 'unset'}" for f in fields(self))
        return f"BotTokens({shown})"


def load_bot_settings(env: Mapping[str, str] | None = None, **overrides: object) -> BotSettings:
    return load_section("bot", BotSettings, env=env, **overrides)


def load_feedback_settings(env: Mapping[str, str] | None = None, **overrides: object) -> FeedbackSettings:
    return load_section("feedback", FeedbackSettings, env=env, **overrides)


def load_tokens(env: Mapping[str, str] | None = None) -> BotTokens:
    """The bots' secrets, for the command layer to read once and hand to `start_bots`."""
    tokens = BotTokens(discord=read_secret(DISCORD_TOKEN, env), telegram=read_secret(TELEGRAM_TOKEN, env),
                       telegram_webhook_token=read_secret(TELEGRAM_WEBHOOK_SECRET, env))
    if tokens.telegram is not None and ":" not in tokens.telegram:
        raise ConfigError(f"{TELEGRAM_TOKEN} does not look like a BotFather token (expected 'digits:letters')")
    return tokens
