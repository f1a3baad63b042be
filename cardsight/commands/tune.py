"""`cardsight tune`: search the training config with short, pruned runs (training/tune.py)."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from cardsight.commands import positive_int


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "tune", help="search training hyper-parameters with short, pruned runs (optuna)",
        description="Trials train the recipe (--config) with the fields of --search changed, on a "
        "random subset of the gallery, scored on simulated photos of it (top-1, MRR@5). The study "
        "is kept in --storage: the same command again resumes it with the trials it still owes.",
    )
    p.add_argument("--gallery", type=Path, required=True, help="folder with cards.jsonl and images")
    p.add_argument("--config", type=Path, default=Path(__file__).parents[2] / "training" / "shipped.toml",
                   help="recipe the trials start from (default: training/shipped.toml)")
    p.add_argument("--search", type=Path, help="search space and budget (default: training/search.toml)")
    p.add_argument("--out", type=Path, default=Path("var/tune"), help="folder for the trials' runs and the results")
    p.add_argument("--storage", help="optuna storage URL (default: sqlite:///OUT/study.db)")
    p.add_argument("--study", default="cardsight", help="study name within the storage")
    p.add_argument("--trials", type=positive_int, help="override [study].trials (in all, finished ones included)")
    p.add_argument("--steps", type=positive_int, help="override [study].steps per trial")
    p.add_argument("--cards", type=int, help="override [study].cards (0: the whole gallery)")
    p.add_argument("--photos", type=positive_int, help="override [study].photos")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from training.config import load_run_config
    from training.gallery import GalleryError, read_gallery
    from training.tune import SEARCH_FILE, load_search_space, table, tune

    base = load_run_config(args.config)
    space = load_search_space(args.search or SEARCH_FILE)
    overrides = {k: getattr(args, k) for k in ("trials", "steps", "cards", "photos") if getattr(args, k) is not None}
    space = dataclasses.replace(space, **overrides)
    if "steps" in overrides:
        space = dataclasses.replace(space, eval_every=min(space.eval_every, space.steps),
                                    warmup_steps=min(space.warmup_steps, space.steps))
    try:
        items = read_gallery(args.gallery)
    except GalleryError as exc:
        print(f"cardsight tune: {exc}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    storage = args.storage or f"sqlite:///{(args.out / 'study.db').resolve()}"
    rows, best = tune(items, base, space, args.out, storage=storage, study_name=args.study)
    text = table(rows, space)
    (args.out / "results.txt").write_text(text + "\n", encoding="utf-8")
    best.save(args.out / "best.toml")
    print(text)
    print(f"results: {args.out / 'results.txt'}, best config: {args.out / 'best.toml'}")
    return 0
