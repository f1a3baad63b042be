"""`cardsight train-segmenter`: train the card segmenter the detector uses and export its ONNX."""

from __future__ import annotations

import argparse
from pathlib import Path

from cardsight.commands import positive_int


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train-segmenter",
        help="train the learned card segmenter (CPU, generated scenes)",
        description=(
            "Train the small segmentation network that proposes card outlines to the detector, "
            "from generated cards in simulated photos (no data or network needed), and write it as "
            "ONNX. Re-running with the same --out resumes from the checkpoint beside it. The engine "
            "loads engine/models/card_segmenter.onnx."
        ),
    )
    parser.add_argument("--out", type=Path, required=True, help="ONNX file to write (checkpoint: same name, .ckpt)")
    parser.add_argument("--steps", type=positive_int, default=4000, help="optimiser steps (default 4000)")
    parser.add_argument("--batch-size", type=positive_int, default=12, help="scenes per step (default 12)")
    parser.add_argument("--seed", type=int, default=0, help="random seed; same seed, same model")
    parser.add_argument("--scans", type=Path, help="folder of real card scans to mix in (optional)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from training.segmenter_train import SegmenterTrainConfig, train_segmenter

    if args.scans is not None and not args.scans.is_dir():
        raise FileNotFoundError(f"--scans {args.scans} is not a folder")
    config = SegmenterTrainConfig(steps=args.steps, batch_size=args.batch_size, seed=args.seed, scans=args.scans)
    train_segmenter(args.out, config)
    return 0
