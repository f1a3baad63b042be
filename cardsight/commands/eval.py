"""`cardsight eval`: measure an artifact set on simulated photos or a labelled photo folder."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "eval", help="measure accuracy, calibration and latency",
        description="Simulated photos of the gallery's cards (--gallery) or a folder of "
        "labelled photos (--photos DIR with truth.jsonl, as `cardsight synth photos` writes).",
    )
    p.add_argument("--artifacts", type=Path, help="artifact set (default: [engine].artifacts)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--gallery", type=Path, help="simulate photos of this gallery's cards")
    src.add_argument("--photos", type=Path, help="labelled photo folder")
    p.add_argument("-n", "--count", type=int, default=200, help="simulated photos")
    p.add_argument("--cards-per-photo", type=int, default=1, help="cards in each simulated photo")
    p.add_argument("--hardness", type=float, default=1.0, help="0 clean .. 1 hardest simulated photos")
    p.add_argument("--seed", type=int, default=7, help="random seed; same seed, same photos")
    p.add_argument("--out", type=Path, default=Path("var/eval"), help="report folder")
    p.add_argument("--projector", type=Path, metavar="DIR",
                   help="with --gallery: write TensorBoard projector files of the query crops and "
                   "their gallery cards here (training/projector.py), and add a 2-D map of them to "
                   "the report PNG")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from engine.runtime import configure

    configure()  # before the engine's libraries load: see engine/runtime.py
    from configuration import load_section
    from engine.recognizer import Recognizer
    from engine.settings import EngineSettings
    from training.evaluate import evaluate, folder_queries, simulated_queries
    from training.gallery import GalleryError, read_gallery
    from training.photosim import PhotoSimConfig
    from training.report import write_report

    if args.projector and not args.gallery:
        print("cardsight eval: --projector needs --gallery (the gallery's images are its cards)", file=sys.stderr)
        return 2
    recognizer = Recognizer.load(args.artifacts, load_section("engine", EngineSettings))
    view = None
    try:
        if args.gallery:
            items = read_gallery(args.gallery)
            sim = PhotoSimConfig(hardness=args.hardness, max_cards=args.cards_per_photo)
            queries = simulated_queries(items, args.count, seed=args.seed,
                                        sim=sim, cards_per_photo=args.cards_per_photo)
            total = args.count
        else:
            queries, total = folder_queries(args.photos), None
        result = evaluate(recognizer, queries, total=total)
        if args.projector:
            from training.projector import embedding_view, write_projector

            view = embedding_view(recognizer, result, items)
            write_projector(view, args.projector)
    except GalleryError as exc:
        print(f"cardsight eval: {exc}", file=sys.stderr)
        return 2
    finally:
        recognizer.close()
    summary = write_report(result, args.out, view=view)
    summary.pop("worst_misses")
    print(json.dumps(summary, indent=2))
    print(f"report: {args.out / 'report.json'}, plot: {args.out / 'report.png'}")
    if args.projector:
        print(f"projector: {args.projector} (open with `tensorboard --logdir {args.projector}`)")
    return 0
