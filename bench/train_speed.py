"""Seconds per training step of the default config, and what each of the speed-ups gives.

training.train.train_step (frozen blocks without gradients, then the rest with them,
Circle Loss, AdamW) timed on real batches from the gallery, four ways: as it ran
before 2026-12-02's change (torch on one thread, as importing engine.search left it; frozen
blocks in float32; references through them every step), then with each speed-up added in
turn. Batches come from the same PairDataset in this process, so only the model's time is
counted. Run from the repo root with nothing else running:

    .venv/bin/python -m bench.train_speed [--gallery ../shared/data] [--steps 12]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from contextlib import nullcontext
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from bench.paths import SHARED, shared_help
from training.config import load_run_config
from training.frozen import ReferenceFeatures, freeze_leading_blocks, frozen_precision, train_mode
from training.gallery import read_gallery
from training.losses import make_loss
from training.model import CardEmbedder
from training.pairs import PairDataset
from training.train import train_step

REPO = Path(__file__).resolve().parents[1]
VARIANTS = (  # (name, all cores, bfloat16 frozen blocks, cached references)
    ("before: 1 thread, float32, references every step", False, False, False),
    ("+ every core", True, False, False),
    ("+ bfloat16 frozen blocks", True, True, False),
    ("+ references' frozen features kept (as trained now)", True, True, True),
)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gallery", type=Path, default=SHARED, help=shared_help("real scans"))
    p.add_argument("--config", type=Path, default=REPO / "training" / "default.toml")
    p.add_argument("--steps", type=int, default=12, help="timed steps per variant (after 2 warm-up steps)")
    args = p.parse_args()
    cfg = load_run_config(args.config)
    tc, device = cfg.train, torch.device("cpu")
    images = [item.image_path for item in read_gallery(args.gallery)]
    data = PairDataset(images, (cfg.model.input_width, cfg.model.input_height), batch=tc.batch_pairs,
                       seed=tc.seed, hardness=tc.hardness, steps=args.steps + 2)
    batches = [data[step] for step in range(args.steps + 2)]
    cores = len(os.sched_getaffinity(0))
    print(f"# bench/train_speed.py, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.machine()}, "
          f"{cores} cores; {len(images)} gallery images, {tc.batch_pairs} pairs a step, "
          f"{cfg.model.input_width}x{cfg.model.input_height} px, frozen_blocks {tc.frozen_blocks}")
    for name, every_core, bf16, cached in VARIANTS:
        torch.set_num_threads(cores if every_core else 1)
        torch.manual_seed(tc.seed)
        model = CardEmbedder(cfg.model)
        freeze_leading_blocks(model, tc.frozen_blocks)
        model.to(memory_format=torch.channels_last)
        optimiser = torch.optim.AdamW([q for q in model.parameters() if q.requires_grad], lr=tc.lr)
        loss_fn = make_loss(tc)
        train_mode(model)
        refs_cached = ReferenceFeatures(model, data, tc.frozen_blocks, device) if cached else None
        times = []
        for step, batch in enumerate(batches):
            started = time.perf_counter()
            precision = frozen_precision(device) if bf16 else nullcontext()
            train_step(model, optimiser, loss_fn, batch, tc.frozen_blocks, refs_cached, precision)
            if step >= 2:
                times.append(time.perf_counter() - started)
        per_step = float(np.median(times))
        print(f"{name}: {per_step:.2f} s/step median of {len(times)}, "
              f"1000 steps ~{per_step * 1000 / 60:.0f} min")


if __name__ == "__main__":
    main()
