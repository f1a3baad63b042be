"""Fine-tunes the embedding network on a gallery; a killed run resumes where it stopped.

The run folder holds `checkpoint.pt` (weights, optimiser, scheduler, step; replaced
atomically every `checkpoint_every` steps), and at the end `model.safetensors` plus the
`config.toml` that produced it — what `cardsight index --model RUN` loads.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import os
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Callable, Sequence

import torch
from safetensors.torch import load_file, save_file
from torch.utils.data import DataLoader
from tqdm import tqdm

from configuration import ConfigError
from training.config import RunConfig, load_run_config
from training.frozen import ReferenceFeatures, freeze_leading_blocks, frozen_precision, train_mode
from training.generated import generated_references
from training.losses import LossFn, make_loss
from training.model import CardEmbedder
from training.networks import RUN_CONFIG as CONFIG, RUN_WEIGHTS as WEIGHTS
from training.pairs import PairDataset

log = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.pt"


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _usable_cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def train_step(
    model: CardEmbedder, optimiser: torch.optim.Optimizer, loss_fn: LossFn,
    batch: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], frozen: int,
    cached: ReferenceFeatures | None, precision: AbstractContextManager,
) -> torch.Tensor:
    """One optimiser step on a PairDataset batch; the frozen blocks run under `precision`
    without gradients, and the references' come from `cached` when given."""
    refs, photos, cards, turned = batch
    device = next(model.parameters()).device
    train_mode(model)
    with torch.no_grad(), precision:
        photo_x = model.early_features(photos.to(device), frozen)
        ref_x = cached.lookup(cards, turned) if cached else model.early_features(refs.to(device), frozen)
    emb = model.embed_features(torch.cat([ref_x, photo_x]).float(), frozen)
    loss = loss_fn(emb[len(refs):], emb[: len(refs)])
    optimiser.zero_grad(set_to_none=True)
    loss.backward()
    optimiser.step()
    return loss


def _fingerprint(cfg: RunConfig, images: Sequence[Path]) -> str:
    """What a checkpoint must match to be resumed: the model and the recipe, not its pacing.

    Leaving `steps` out lets a run be extended (or cut short) by starting it again with
    another `--steps`; the learning-rate schedule follows the new total from where it is.
    The index and calibration sections act after training, so they may change too.
    """
    pacing = {"steps", "checkpoint_every", "workers", "device"}
    train = {k: v for k, v in dataclasses.asdict(cfg.train).items() if k not in pacing}
    blob = json.dumps(
        {"cfg": {"model": dataclasses.asdict(cfg.model), "train": train}, "images": [str(p) for p in images]},
        sort_keys=True, default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _schedule(total: int) -> "callable":
    warmup = max(1, min(100, total // 10))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total - warmup)
        return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress))

    return factor


def _save_atomic(obj: dict, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def load_trained(run_dir: Path) -> CardEmbedder:
    """The network a finished run produced, from its weights and stored config."""
    run_dir = Path(run_dir)
    weights = run_dir / WEIGHTS if run_dir.is_dir() else run_dir
    cfg = load_run_config(weights.parent / CONFIG)
    model = CardEmbedder(dataclasses.replace(cfg.model, pretrained=False))
    model.load_state_dict(load_file(str(weights)))
    return model.eval()


def train(
    images: Sequence[Path], run_dir: Path, cfg: RunConfig, *, restart: bool = False,
    progress: bool = True, real: dict[int, list[Path]] | None = None, init: Path | None = None,
    report_every: int = 0, on_report: Callable[[int, CardEmbedder], None] | None = None,
) -> Path:
    """Train on the gallery images (and the config's generated cards); returns the path of
    the final weights. `real` pairs gallery indices with real photos of them (extra
    positives, training/real_photos.py); `init` starts from a finished run's weights (a
    short fine-tune of the shipped network on feedback) instead of the pretrained backbone.
    `on_report(step, model)` is called every `report_every` steps and after the last: how
    `cardsight tune` scores a trial as it goes; an exception it raises (a pruned trial) ends
    the run there."""
    run_dir.mkdir(parents=True, exist_ok=True)
    tc = cfg.train
    images = [*images, *generated_references(run_dir, tc.generated_cards, tc.seed)]
    device = pick_device(tc.device)
    # Every core this process may use, whatever a serving runtime set earlier in it
    # (engine.runtime.configure: Faiss and torch share one OpenMP runtime).
    torch.set_num_threads(_usable_cores())
    torch.manual_seed(tc.seed)
    model = CardEmbedder(cfg.model)
    if init is not None:
        model.load_state_dict(load_file(str(init)))
    freeze_leading_blocks(model, tc.frozen_blocks)
    model.to(device, memory_format=torch.channels_last)
    head = [p for n, p in model.named_parameters() if p.requires_grad and not n.startswith("backbone.")]
    body = [p for n, p in model.named_parameters() if p.requires_grad and n.startswith("backbone.")]
    optimiser = torch.optim.AdamW(
        [{"params": head, "lr": tc.lr}, {"params": body, "lr": tc.lr * tc.backbone_lr_scale}],
        weight_decay=tc.weight_decay,
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimiser, _schedule(tc.steps))
    loss_fn = make_loss(tc)
    fingerprint = _fingerprint(cfg, [*images, *(p for v in (real or {}).values() for p in v)])
    checkpoint = run_dir / CHECKPOINT
    start = 0
    if checkpoint.exists() and not restart:
        state = torch.load(checkpoint, map_location=device, weights_only=True)
        if state["fingerprint"] != fingerprint:
            raise ConfigError(
                f"{checkpoint} belongs to a run with another config or gallery; "
                "use --restart to discard it or pick another --out"
            )
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        scheduler.load_state_dict(state["scheduler"])
        start = int(state["step"])
        log.info("resuming %s at step %d of %d", run_dir, start, tc.steps)
        if start >= tc.steps:
            log.warning("checkpoint is at step %d, past --steps %d: writing its weights as they are",
                        start, tc.steps)
    cfg.save(run_dir / CONFIG)

    dataset = PairDataset(
        images, (cfg.model.input_width, cfg.model.input_height), batch=tc.batch_pairs,
        seed=tc.seed, hardness=tc.hardness, steps=tc.steps, real=real,
    )
    loader = DataLoader(
        dataset, batch_size=None, sampler=range(start, tc.steps), num_workers=tc.workers,
        persistent_workers=False, prefetch_factor=2 if tc.workers else None,
    )
    frozen = tc.frozen_blocks
    train_mode(model)
    cached = ReferenceFeatures(model, dataset, frozen, device) if dataset.preloaded and start < tc.steps else None
    bar = tqdm(total=tc.steps, initial=start, desc="train", unit="step", disable=not progress)
    started, last_loss = time.perf_counter(), float("nan")
    for step, batch in zip(range(start, tc.steps), loader):
        loss = train_step(model, optimiser, loss_fn, batch, frozen, cached, frozen_precision(device))
        scheduler.step()
        last_loss = float(loss.detach())
        bar.set_postfix(loss=f"{last_loss:.3f}")
        bar.update()
        done = step + 1
        if on_report is not None and report_every and (done % report_every == 0 or done == tc.steps):
            on_report(done, model)
        if done % tc.checkpoint_every == 0 or done == tc.steps:
            _save_atomic(
                {"model": model.state_dict(), "optimiser": optimiser.state_dict(),
                 "scheduler": scheduler.state_dict(), "step": done, "fingerprint": fingerprint},
                checkpoint,
            )
    bar.close()
    weights = run_dir / WEIGHTS
    tmp = run_dir / (WEIGHTS + ".tmp")
    save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, str(tmp))
    os.replace(tmp, weights)
    log.info("trained steps %d-%d in %.0f s, last loss %.4f", start, max(start, tc.steps),
             time.perf_counter() - started, last_loss)
    return weights
