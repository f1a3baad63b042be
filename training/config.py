"""One TOML file drives a training run; it is stored with the artifacts it produced.

Sections: [model] (architecture and input size), [train] (steps, batch, loss, optimiser),
[index] (Faiss index kind, colour-layout re-ranking), [calibration] (simulated photos used to fit confidence).
Missing keys take the defaults below; unknown keys are an error, so typos don't pass silently.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from configuration import ConfigError, load_section
from engine.index_layout import KINDS


@dataclass(frozen=True)
class ModelConfig:
    """The network's shape (training/model.py builds it); kept here, free of torch, so that
    reading a run's config needs no training stack."""

    backbone: str = "efficientnet-lite0"
    embedding_dim: int = 256
    input_width: int = 160
    input_height: int = 224
    pretrained: bool = True


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 1500
    batch_pairs: int = 48
    """Cards per batch: each is one (reference, simulated photo) pair; the rest are negatives."""
    loss: str = "circle"
    """"circle" (CircleLoss in SelfSupervisedLoss) or "triplet" (with online hard mining)."""
    circle_m: float = 0.4
    circle_gamma: float = 80.0
    triplet_margin: float = 0.1
    lr: float = 6e-4
    """Peak learning rate of the head (warm-up, then cosine decay over `steps`). For the
    default 1000 steps on the 708 scans 6e-4 read 97.7% on 600 tuning photos, 3e-4 96.8%."""
    backbone_lr_scale: float = 0.3
    weight_decay: float = 1e-4
    frozen_blocks: int = 10
    """Leading EfficientNet blocks kept at their ImageNet weights: most of the speed on CPU."""
    hardness: float = 1.0
    generated_cards: int = 0
    """Generated cards (every frame style, look-alike families included) trained on beside the
    gallery's scans, rendered from `seed` into the run folder; they are not indexed."""
    checkpoint_every: int = 100
    seed: int = 0
    workers: int = 1
    device: str = "auto"


PRECISIONS = ("float32", "int8", "auto")


@dataclass(frozen=True)
class IndexConfig:
    kind: str = "auto"
    """Faiss layout (engine.search.KINDS); "auto" is exact below engine.search.EXACT_UP_TO
    vectors and engine.search.LARGE above. The set's manifest records the one built."""
    batch: int = 32
    layout_weight: float = 1.5
    """Weight of the colour-layout score beside the embedding's when re-ranking (0: embedding only).
    See engine/colour_layout.py; 1–2 did best on simulated single-card photos, more lost
    multi-card ones, where neighbours cover parts of a card."""
    shortlist: int = 40
    """Embedding matches re-ranked per crop: on 400 tuning photos the right card was among the
    first 40 for 96% of the detector's crops; 80 gained 2 of those photos and nothing on the
    benchmark's 30,000-entry gallery."""

    views: int = 8
    """Simulated photo crops averaged into each reference's vector beside its clean scan
    (training.index_build.reference_vectors): 2, 4, 8 and 16 views took raw top-1 on photos of a
    set the network never saw from 81.0% to 84.7, 85.7, 87.3 and 88.3%, at 2, 3, 5 and 10
    times the embedding time of the clean scan alone (0)."""

    precision: str = "float32"
    """"float32"; "int8": the served network quantized statically (training/quantize.py);
    "auto": int8 on a CPU with 8-bit dot products, float32 elsewhere (`quantize.served_precision`).
    The set's manifest records the precision served."""

    def __post_init__(self) -> None:
        if self.layout_weight < 0 or self.shortlist < 1 or self.views < 0:
            raise ValueError("layout_weight and views must not be negative and shortlist must be at least 1")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {self.precision!r}")
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {self.kind!r}")


@dataclass(frozen=True)
class CalibrationConfig:
    photos: int = 300
    multi_card_photos: int = 100
    """Photos of 2-4 cards besides the single-card ones; their cards in view join the fit."""
    photo_size: tuple[int, int] = (1280, 960)
    hardness: float = 1.0
    seed: int = 1234
    generated_photos: int = 100
    """Photos of generated cards, absent from any gallery, beside the gallery's own cards read
    as an index without their name would read them (training/calibration.py)."""
    generated_cards: int = 60
    absent_share: float = 0.5
    """Weight of absent cards in the fit: the confidence is the probability that the name is
    right when this share of photographed cards is missing from the gallery."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.absent_share < 1.0:
            raise ValueError("absent_share must be within [0, 1)")
        if self.generated_photos < 0 or self.generated_cards < 1:
            raise ValueError("generated_photos must not be negative and generated_cards must be at least 1")


@dataclass(frozen=True)
class RunConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    index: IndexConfig = field(default_factory=IndexConfig)
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def save(self, path: Path) -> None:
        path.write_bytes(tomli_w.dumps(self.to_dict()).encode())


def from_dict(data: dict[str, Any]) -> RunConfig:
    """Sections go through the same coercion as `cardsight.toml` (environment not consulted),
    so a wrong type or a misspelt key is a ConfigError naming it, not a crash mid-run."""
    sections = {"model": ModelConfig, "train": TrainConfig, "index": IndexConfig,
                "calibration": CalibrationConfig}
    unknown = set(data) - set(sections)
    if unknown:
        raise ConfigError(f"unknown sections: {', '.join(sorted(unknown))}")
    return RunConfig(**{
        name: load_section(name, cls, env={}, file_values=data.get(name, {}))
        for name, cls in sections.items()
    })


def load_run_config(path: Path | None) -> RunConfig:
    if path is None:
        return RunConfig()
    try:
        with Path(path).open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    try:
        return from_dict(data)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
