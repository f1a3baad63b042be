"""Engine settings (config section ``[engine]``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class EngineSettings:
    artifacts: Path = Path("var/artifacts")
    max_bytes: int = 25_000_000
    """Largest upload accepted; Discord's own attachment cap for bots is 25 MB."""
    max_pixels: int = 120_000_000
    """Header-declared pixel count above which an image is refused before decoding."""
    decode_long_side: int = 1600
    """Photos longer than this that no JPEG DCT reduction shrank are area-resized down to it."""
    decode_min_long_side: int = 1000
    """JPEGs decode at the cheapest DCT scale that keeps this long side (a 12 MP photo: 1000 px;
    bench/results/decode-scale-2026-12-01.txt: same top-1 as 2000 px, 8 ms faster)."""
    max_cards: int = 64
    """Cards read per photo, the clearest first: a binder page is 9, a deck laid out 60 and
    more (bench/results/decks-2026-12-07.txt: ms per card at 9 and at 40)."""
    unsure_below: float = 0.6
    """Answers with calibrated confidence under this are flagged unsure ("not sure")."""
    read_titles: bool = True
    """Read a card's printed title (OCR, ~10 ms a card) when it could decide between sure and
    not sure (sets calibrated without the title check never do), and the title bars of cards
    covered by others (deck columns), which only their title can name."""
    alternatives: int = 5
    search_k: int = 32
    threads: int = 2
    """ONNX Runtime intra-op threads."""
    workers: int = 2
    """Engine threads taking photos off the queue, each its own micro-batch end to end. One
    left a two-core box half idle under a burst: a photo's decode, classical detection and
    Python glue run one at a time; two overlap (bench/results/throughput-2026-12-06.txt)."""
    processes: int = 1
    """Engine processes, each a whole engine with its own `workers` (`engine/process_pool.py`):
    2 puts a photo on each core at once where Python's one-thread-at-a-time lock holds two
    threads back, at the memory of a second engine (the set's large files are shared). On two
    cores under 16 clients: 32.6 answers/s, p95 0.59 s, against 29.9 and 0.90 s; RSS 583 against
    268 MB (bench/results/throughput-latency-2026-12-07e.txt). One by default: a bot answering a
    few photos a minute gains nothing from it and starts faster."""
    max_batch: int = 16
    """Crops embedded in one model call when requests arrive together."""
    batch_wait_ms: float = 2.0
    max_queue: int = 32
    """Requests waiting beyond this are refused with EngineBusy instead of queueing forever."""
    timeout_s: float = 30.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.unsure_below <= 1.0:
            raise ValueError("unsure_below must be within 0..1")
        for name in ("max_bytes", "max_pixels", "decode_long_side", "decode_min_long_side", "max_cards",
                     "search_k", "threads", "workers", "processes", "max_batch", "max_queue"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.alternatives < 0 or self.batch_wait_ms < 0:
            raise ValueError("alternatives and batch_wait_ms must not be negative")
        if not self.timeout_s > 0:
            raise ValueError("timeout_s must be positive")
