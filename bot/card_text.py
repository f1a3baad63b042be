"""A card's details as short plain-text lines, shared by the Discord and Telegram layouts.

Both platforms show the same prices, legality and rules text; only the markup around these
lines differs. Lengths are capped here so neither an embed field (1,024 characters) nor a
Telegram message (4,096) can be overrun by a long rules text.
"""

from __future__ import annotations

from engine.types import MAIN_FORMATS, CardDetails

RULES_MAX_CHARS = 1000
"""Room for the longest oracle texts (sagas, planeswalkers) within an embed field."""

_PRICE_FORMS = (("usd", "${}"), ("usd_foil", "${} foil"), ("eur", "€{}"), ("tix", "{} TIX"))
_LEGALITY_WORDS = (("legal", "Legal"), ("restricted", "Restricted"), ("banned", "Banned"),
                   ("not_legal", "Not legal"))


def prices_text(details: CardDetails | None) -> str | None:
    """``$1.20 · $3.50 foil · €0.95 · 0.02 TIX (prices of 2024-05-01)``; None without prices."""
    if details is None:
        return None
    parts = [form.format(details.prices[key]) for key, form in _PRICE_FORMS if key in details.prices]
    if not parts:
        return None
    when = f" (prices of {details.prices_date})" if details.prices_date else ""
    return " · ".join(parts) + when


def legality_text(details: CardDetails | None) -> str | None:
    """``Legal: Modern, Vintage · Banned: Legacy · Not legal: Standard``, main formats only."""
    if details is None:
        return None
    groups: dict[str, list[str]] = {}
    for fmt in MAIN_FORMATS:
        status = details.legalities.get(fmt)
        if status:
            groups.setdefault(status, []).append(fmt.title())
    parts = [f"{word}: {', '.join(groups[status])}" for status, word in _LEGALITY_WORDS if status in groups]
    return " · ".join(parts) or None


def rules_text(details: CardDetails | None) -> str | None:
    """Type line (with mana cost) and oracle text, cut to RULES_MAX_CHARS."""
    if details is None:
        return None
    head = " — ".join(p for p in (details.mana_cost, details.type_line) if p)
    text = "\n".join(p for p in (head, details.oracle_text) if p)
    if len(text) > RULES_MAX_CHARS:
        text = text[: RULES_MAX_CHARS - 1].rstrip() + "…"
    return text or None
