"""Settings of `cardsight sync` (config section ``[sync]``).

Everything that touches Scryfall's etiquette is a setting rather than a constant, so a
self-hoster can slow the sync down, point it at a mirror, or (in tests) at a local stand-in.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from cardsight import __version__

SECTION = "sync"

#: Scryfall bulk files made of card objects (``rulings`` is not: it holds no images).
CARD_BULK_TYPES = ("unique_artwork", "default_cards", "oracle_cards", "all_cards")
#: Keys of a card's ``image_uris`` object.
IMAGE_SIZES = ("small", "normal", "large", "png", "art_crop", "border_crop")
#: ``json``: the ``download_uri`` JSON array; ``jsonl``: the gzipped JSON Lines at
#: ``jsonl_download_uri``; ``auto``: JSON Lines when the bulk object offers it.
BULK_FORMATS = ("auto", "json", "jsonl")

DEFAULT_USER_AGENT = f"cardsight/{__version__} (self-hosted MTG card recognizer; gallery sync)"


@dataclass(frozen=True)
class SyncSettings:
    api_base_url: str = "https://api.scryfall.com"
    bulk_type: str = "unique_artwork"
    bulk_format: str = "auto"
    image_size: str = "normal"
    languages: tuple[str, ...] = ("en",)
    include_digital: bool = False
    include_tokens: bool = False
    include_art_series: bool = False
    sets: tuple[str, ...] = ()
    api_rate_per_s: float = 10.0
    image_concurrency: int = 8
    user_agent: str = DEFAULT_USER_AGENT
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 60.0
    retries: int = 5
    backoff_base_s: float = 1.0
    backoff_max_s: float = 60.0
    max_retry_after_s: float = 300.0
    gallery_dir: Path = Path("var/gallery")

    def __post_init__(self) -> None:
        if self.bulk_type not in CARD_BULK_TYPES:
            raise ValueError(f"bulk_type must be one of {', '.join(CARD_BULK_TYPES)}, not {self.bulk_type!r}")
        if self.bulk_format not in BULK_FORMATS:
            raise ValueError(f"bulk_format must be one of {', '.join(BULK_FORMATS)}, not {self.bulk_format!r}")
        if self.image_size not in IMAGE_SIZES:
            raise ValueError(f"image_size must be one of {', '.join(IMAGE_SIZES)}, not {self.image_size!r}")
        if not self.api_base_url.startswith(("http://", "https://")):
            raise ValueError(f"api_base_url must be an http(s) URL, not {self.api_base_url!r}")
        if not self.user_agent.strip():
            raise ValueError("user_agent must not be empty: Scryfall requires an accurate User-Agent")
        if not 0 < self.api_rate_per_s <= 10:
            raise ValueError(f"api_rate_per_s must be in (0, 10] (Scryfall's limit), not {self.api_rate_per_s}")
        if not 1 <= self.image_concurrency <= 64:
            raise ValueError(f"image_concurrency must be 1..64, not {self.image_concurrency}")
        if self.retries < 0:
            raise ValueError(f"retries must be >= 0, not {self.retries}")
        for name in ("connect_timeout_s", "read_timeout_s", "backoff_base_s", "backoff_max_s", "max_retry_after_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, not {getattr(self, name)}")
        # Scryfall's codes are lower case; normalising here keeps every comparison exact.
        object.__setattr__(self, "languages", tuple(v.lower() for v in self.languages))
        object.__setattr__(self, "sets", tuple(v.lower() for v in self.sets))

    def filters_fingerprint(self) -> str:
        """What decides which cards and images belong in the gallery; a change forces a re-ingest."""
        keys = ("bulk_type", "image_size", "languages", "include_digital", "include_tokens",
                "include_art_series", "sets")
        values = dataclasses.asdict(self)
        return repr([(k, values[k]) for k in keys])
