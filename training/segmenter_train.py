"""Train the card segmenter on generated scenes and write the ONNX graph the engine ships.

Everything comes from one seed: the generated card pool, the scene stream and the
initial weights (the encoder starts from ImageNet). Training checkpoints every
`checkpoint_every` steps next to the output, so an interrupted run resumes where it
stopped (the scene stream is re-seeded from the step it resumes at, so no scene repeats).
Scenes are made in a DataLoader worker so generation overlaps the optimiser step. Torch
runs single-threaded: on a shared two-core machine two intra-op threads made each step
ten times slower, not faster.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, IterableDataset

from training.segmenter_data import SegmenterDataConfig, stream
from training.segmenter_model import CardSegmenter, export_segmenter

log = logging.getLogger(__name__)

CLASS_WEIGHTS = (1.0, 1.0, 3.0)  # the thin boundary band is what separates cards: weigh it up


@dataclass(frozen=True)
class SegmenterTrainConfig:
    steps: int = 4000
    batch_size: int = 12
    learning_rate: float = 3e-3
    warmup_steps: int = 100
    seed: int = 0
    checkpoint_every: int = 100
    workers: int = 1
    scans: Path | None = None  # real scans to mix with generated cards (development only)
    pretrained: bool = True


class _Scenes(IterableDataset):
    def __init__(self, seed: int, scans: Path | None, data: SegmenterDataConfig) -> None:
        super().__init__()
        self.seed, self.scans, self.data = seed, scans, data

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        cv2.setNumThreads(1)
        torch.set_num_threads(1)
        info = torch.utils.data.get_worker_info()
        worker = info.id if info is not None else 0
        return stream(self.seed * 1000 + worker, self.scans, self.data)


def _batches(config: SegmenterTrainConfig, seed: int, data: SegmenterDataConfig) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    loader = DataLoader(_Scenes(seed, config.scans, data), batch_size=config.batch_size,
                        num_workers=config.workers, persistent_workers=config.workers > 0)
    for images, labels in loader:
        yield images, labels.long()


def _learning_rate(config: SegmenterTrainConfig, step: int) -> float:
    """Linear warm-up, then cosine decay to 2% of the peak."""
    if step < config.warmup_steps:
        return config.learning_rate * (step + 1) / config.warmup_steps
    progress = (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps)
    # A plain float: numpy scalars in the optimiser state would not load with weights_only=True.
    return config.learning_rate * (0.02 + 0.98 * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress))))


def train_segmenter(out: Path, config: SegmenterTrainConfig = SegmenterTrainConfig(),
                    data: SegmenterDataConfig = SegmenterDataConfig()) -> Path:
    """Train (resuming from `out`.ckpt when present) and export the ONNX model to `out`."""
    torch.manual_seed(config.seed)
    torch.set_num_threads(1)
    model = CardSegmenter(pretrained=config.pretrained)
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=1e-4)
    checkpoint = out.with_suffix(".ckpt")
    step = 0
    if checkpoint.exists():
        state = torch.load(checkpoint, map_location="cpu", weights_only=True)
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        step = int(state["step"])
        log.info("resuming from %s at step %d", checkpoint, step)
    weights = torch.tensor(CLASS_WEIGHTS)
    model.train()
    started, running = time.monotonic(), []
    batches = _batches(config, config.seed + step, data)
    while step < config.steps:
        images, labels = next(batches)
        for group in optimiser.param_groups:
            group["lr"] = _learning_rate(config, step)
        loss = F.cross_entropy(model(images), labels, weight=weights)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        step += 1
        running.append(loss.item())
        if step % config.checkpoint_every == 0 or step == config.steps:
            out.parent.mkdir(parents=True, exist_ok=True)
            torch.save({"model": model.state_dict(), "optimiser": optimiser.state_dict(), "step": step},
                       checkpoint)
            log.info("step %d/%d loss %.4f (%.2f s/step)", step, config.steps, float(np.mean(running)),
                     (time.monotonic() - started) / len(running))
            started, running = time.monotonic(), []
    export_segmenter(model, out)
    log.info("wrote %s", out)
    return out
