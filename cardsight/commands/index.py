"""`cardsight index`: build the artifact set the engine loads from a gallery folder."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from engine.index_layout import EXACT_UP_TO, KINDS, LARGE
from training.config import PRECISIONS


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "index", help="build an artifact set (model, index, catalog, calibration) from a gallery",
        description="DIR holds cards.jsonl (Scryfall-shaped records whose `image` is a path "
        "relative to DIR) and the images: the output of `cardsight sync` or `cardsight synth cards`.",
    )
    p.add_argument("--gallery", type=Path, required=True, metavar="DIR", help="gallery folder (cards.jsonl + images)")
    p.add_argument("--out", type=Path, default=Path("var/artifacts"), metavar="ARTIFACTS",
                   help="artifacts folder; the new set is published there atomically")
    p.add_argument("--model", metavar="RUN|FILE.onnx|imagenet",
                   help="the embedding network: a `cardsight train` run folder, an exported .onnx "
                   "file, or `imagenet` (the untrained baseline); default: the shipped model, "
                   "engine/models/card_embedder.onnx (no training and no torch needed)")
    p.add_argument("--kind", choices=KINDS,
                   help="Faiss index layout (default: the model's config, 'auto': exact up to "
                   f"{EXACT_UP_TO // 2} faces, {LARGE} beyond)")
    p.add_argument("--precision", choices=PRECISIONS,
                   help="the served network's numbers: float32, int8, or auto: int8 where the CPU has 8-bit "
                   "dot products (AVX-512 VNNI, AVX-VNNI, Arm dotprod), else float32 (default: the model's "
                   "config; the shipped model's is auto)")
    p.add_argument("--views", type=int, metavar="N",
                   help="simulated photos of each card averaged into its reference beside the scan: more "
                   "names cards of sets the network never trained on, at N+1 times the embedding time "
                   "(default: the model's config, 8; 0: the scan alone)")
    p.add_argument("--calibration-photos", type=int, metavar="N",
                   help="simulated single-card photos used to fit confidence (and N/3 photos of 2-4 cards)")
    p.add_argument("--recalibrate", action="store_true",
                   help="fit the confidence again even when the live set's calibration could be kept "
                   "(it is kept when the network and settings are the same and at most 2%% of the "
                   "gallery is new or gone)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from engine.runtime import configure

    configure()  # before the engine's libraries load: see engine/runtime.py
    from configuration import ConfigError
    from training import networks
    from training.gallery import GalleryError
    from training.index_build import build_artifacts

    model = args.model if args.model in (None, networks.IMAGENET) else Path(args.model)
    try:
        cfg = networks.run_config(model)
    except (OSError, ConfigError) as exc:
        print(f"cardsight index: --model {args.model}: {exc}", file=sys.stderr)
        return 2
    if args.kind:
        cfg = dataclasses.replace(cfg, index=dataclasses.replace(cfg.index, kind=args.kind))
    if args.precision:
        cfg = dataclasses.replace(cfg, index=dataclasses.replace(cfg.index, precision=args.precision))
    if args.views is not None:
        if args.views < 0:
            print("cardsight index: --views must not be negative", file=sys.stderr)
            return 2
        cfg = dataclasses.replace(cfg, index=dataclasses.replace(cfg.index, views=args.views))
    if args.calibration_photos is not None:
        cfg = dataclasses.replace(
            cfg, calibration=dataclasses.replace(cfg.calibration, photos=args.calibration_photos,
                                                 multi_card_photos=args.calibration_photos // 3,
                                                 generated_photos=args.calibration_photos // 3)  # absent cards
        )
    try:
        published = build_artifacts(args.gallery, args.out, model=model, cfg=cfg,
                                    recalibrate=args.recalibrate)
    except (GalleryError, FileNotFoundError) as exc:
        print(f"cardsight index: {exc}", file=sys.stderr)
        return 2
    m = published.manifest
    print(f"artifact set {m['version']}: {m['gallery_size']} entries at {published.path}")
    return 0
