"""`cardsight train`: fine-tune the embedding model on a gallery, then (optionally) index it."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "train", help="fine-tune the embedding model on a gallery",
        description="Fine-tune with Circle Loss on (reference, simulated photo) pairs. "
        "A killed run resumes from its last checkpoint when started again with the same --out.",
    )
    p.add_argument("--gallery", type=Path, required=True, help="folder with cards.jsonl and images")
    p.add_argument("--out", type=Path, default=Path("var/runs/default"), help="run folder")
    p.add_argument("--config", type=Path, help="run config TOML (see training/default.toml)")
    p.add_argument("--steps", type=int, help="override [train].steps")
    p.add_argument("--restart", action="store_true", help="discard an existing checkpoint")
    p.add_argument("--photos", type=Path, metavar="DIR",
                   help="labelled real photos (truth.jsonl, as `eval --photos` reads, e.g. the bots' "
                   "[feedback] folder): their crops become extra positive pairs")
    p.add_argument("--init", type=Path, metavar="WEIGHTS",
                   help="start from these weights (a run's model.safetensors) instead of the "
                   "pretrained backbone: a short fine-tune")
    p.add_argument("--index", type=Path, metavar="ARTIFACTS",
                   help="after training, build an artifact set here from the same gallery")
    p.add_argument("--export", type=Path, metavar="FILE.onnx",
                   help="after training, write the network as ONNX with its config beside it "
                   "(FILE.toml): how engine/models/card_embedder.onnx is made")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from training.config import load_run_config
    from training.gallery import GalleryError, read_gallery
    from training.index_build import build_artifacts
    from training.train import train

    cfg = load_run_config(args.config)
    if args.steps is not None:
        cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, steps=args.steps))
    try:
        items = read_gallery(args.gallery)
    except GalleryError as exc:
        print(f"cardsight train: {exc}", file=sys.stderr)
        return 2
    real = None
    if args.photos:
        from training.real_photos import real_photo_pairs

        real = real_photo_pairs(args.photos, items)
        print(f"real photos: {sum(len(v) for v in real.values())} of {len(real)} gallery cards")
    weights = train([i.image_path for i in items], args.out, cfg, restart=args.restart, real=real, init=args.init)
    print(f"weights: {weights}")
    if args.export:
        from training.export import export_run

        print(f"network: {export_run(args.out, args.export)}")
    if args.index:
        published = build_artifacts(args.gallery, args.index, model=args.out)
        print(f"artifact set: {published.path}")
    return 0
