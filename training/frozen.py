"""The leading part of the backbone that fine-tuning keeps at its ImageNet weights.

It cost about half of a CPU training step although nothing in it learns, so it runs without
gradients, in bfloat16 where the hardware does that natively (3x faster on these cores, with
AVX-512 BF16), and the references, the same images every step, go through it once per run
(bench/train_speed.py: 2.33 -> 1.43 s a step of 48 pairs).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from training.model import CardEmbedder
from training.pairs import PairDataset

_CACHE_BATCH = 64


def freeze_leading_blocks(model: CardEmbedder, count: int) -> None:
    """Keep the stem and the first `count` blocks at ImageNet weights and statistics."""
    bb = model.backbone
    if not 0 <= count <= len(bb._blocks):
        raise ValueError(f"[train].frozen_blocks must be within 0..{len(bb._blocks)}, not {count}")
    frozen: list[nn.Module] = [bb._conv_stem, bb._bn0, *bb._blocks[:count]]
    for module in frozen:
        module.requires_grad_(False)
    model.frozen_modules = frozen  # type: ignore[attr-defined]


def train_mode(model: CardEmbedder) -> None:
    """Training mode for the learning part; the frozen part keeps its ImageNet statistics."""
    model.train()
    for module in getattr(model, "frozen_modules", []):
        module.eval()


def frozen_precision(device: torch.device) -> torch.autocast:
    """bfloat16 autocast where the device runs it natively, else a disabled one (float32)."""
    if device.type == "cuda":
        native = torch.cuda.is_bf16_supported()
    else:  # oneDNN also "supports" bfloat16 on plain AVX-512 by emulation, slower than float32
        try:
            native = torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
        except AttributeError:  # no such probes in this torch: assume the common case, no
            native = False
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=bool(native))


class ReferenceFeatures:
    """Every reference's frozen-part output, upright and half-turned, computed once.

    ~60 KB a card in bfloat16 at the default input size, so only for preloaded galleries.
    """

    def __init__(self, model: CardEmbedder, dataset: PairDataset, blocks: int, device: torch.device) -> None:
        upright, turned = [], []
        with torch.no_grad(), frozen_precision(device):
            for start in range(0, len(dataset.paths), _CACHE_BATCH):
                chunk = range(start, min(start + _CACHE_BATCH, len(dataset.paths)))
                images = torch.from_numpy(np.stack([dataset.reference(i) for i in chunk])).to(device)
                upright.append(model.early_features(images, blocks))
                turned.append(model.early_features(images.flip(1, 2), blocks))
        self._features = torch.stack([torch.cat(upright), torch.cat(turned)], dim=1)

    def lookup(self, cards: torch.Tensor, turned: torch.Tensor) -> torch.Tensor:
        device = self._features.device
        return self._features[cards.to(device), turned.to(device).long()]
