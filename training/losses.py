"""The metric-learning objective, chosen by `[train].loss`.

"circle": pytorch-metric-learning's CircleLoss wrapped in SelfSupervisedLoss — each reference
and its simulated photo are the positive pair, every other card in the batch a negative.
"triplet": TripletMarginLoss over the same pairs with online hard-triplet mining.
"""

from __future__ import annotations

from typing import Callable

import torch
from pytorch_metric_learning import losses, miners

from training.config import TrainConfig

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def make_loss(cfg: TrainConfig) -> LossFn:
    if cfg.loss == "circle":
        wrapped = losses.SelfSupervisedLoss(
            losses.CircleLoss(m=cfg.circle_m, gamma=cfg.circle_gamma), symmetric=True
        )
        return lambda photos, refs: wrapped(photos, refs)
    if cfg.loss == "triplet":
        loss = losses.TripletMarginLoss(margin=cfg.triplet_margin)
        miner = miners.TripletMarginMiner(margin=cfg.triplet_margin, type_of_triplets="hard")

        def triplet(photos: torch.Tensor, refs: torch.Tensor) -> torch.Tensor:
            embeddings = torch.cat([photos, refs])
            labels = torch.arange(len(photos), device=photos.device).repeat(2)
            return loss(embeddings, labels, miner(embeddings, labels))

        return triplet
    raise ValueError(f"[train].loss must be 'circle' or 'triplet', not {cfg.loss!r}")
