"""Learning from feedback, end to end: do users' corrections teach the model (issue 22)?

1. An artifact set of the gallery (the team's 708 scans) is built with the shipped run's
   weights: the "before" model.
2. Simulated photos of the scans at the simulator's full hardness are read by it; every card it
   detects but names wrongly is a correction a user would make. Its crop (cut along the
   detected quad, as the bots do) is written with the feedback store's own writer
   (bot/feedback.py), so the records are exactly what `[feedback]` collects.
3. The corrected cards are split in two halves BY CARD (every photo of a card on one side):
   half A is trained on, half B is held out, so B says whether the model learned something
   general about the photos it failed on rather than those cards' crops.
4. `cardsight train --photos <half A> --init <shipped weights>` fine-tunes for a few dozen
   steps with the shipped config, the set is rebuilt with the new weights, and
   `cardsight eval --photos` figures of both halves, plus top-1 on fresh simulated photos of
   all scans (did anything else break?), are printed before and after.

Sets, the fine-tuned run and the two feedback folders are kept under --work and reused. The
shipped run is `var/runs/shipped` of the main checkout (pass --shipped from a worktree). From
the repo root, ~15-20 min on 2 shared cores:

    nice -n 5 .venv/bin/python -m bench.feedback_loop --shipped ../main/var/runs/shipped
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from bench.new_set import artifact_set
from bench.paths import REPO, SHARED, shared_help
from bot.feedback import FeedbackStore, Scope, crop_card
from bot.settings import FeedbackSettings
from engine.recognizer import Recognizer
from training import networks
from training.evaluate import Query, evaluate, folder_queries, match_detections, simulated_queries
from training.gallery import GalleryItem, read_gallery
from training.photosim import PhotoSimConfig

GROUP = 1
"""The simulated server that consented to feedback, and its one simulated user."""


@dataclass(frozen=True)
class Correction:
    """A card the model named wrongly, with the crop the bot would have held for the pick."""

    card_id: str
    name: str
    crop_jpeg: bytes


def find_corrections(
    set_dir: Path, items: Sequence[GalleryItem], count: int, seed: int,
) -> tuple[list[Correction], int]:
    """Corrections from `count` simulated single-card photos at full hardness; also returns
    how many cards were detected and answered at all (a card with no answer gets no buttons,
    so no pick)."""
    rec = Recognizer.load(set_dir)
    out: list[Correction] = []
    answered = 0
    try:
        for query in simulated_queries(items, count, seed=seed, sim=PhotoSimConfig()):
            found, _ = rec.analyse(query.data)
            truth = query.cards[0]
            (j,) = match_detections(found, [truth.quad])
            if j is None or rec.answer(found[j]) is None:
                continue
            answered += 1
            if found[j].matches[0].name != truth.name:
                out.append(Correction(truth.card_id, truth.name, crop_card(query.data, found[j].quad)))
    finally:
        rec.close()
    return out, answered


def split_by_card(corrections: Sequence[Correction], seed: int) -> tuple[list[Correction], list[Correction]]:
    """Two halves with no card in both: the cards, shuffled by `seed`, are dealt half and half."""
    cards = sorted({c.card_id for c in corrections})
    np.random.default_rng(seed).shuffle(cards)
    half_a = set(cards[: (len(cards) + 1) // 2])
    return ([c for c in corrections if c.card_id in half_a], [c for c in corrections if c.card_id not in half_a])


def write_feedback(folder: Path, corrections: Sequence[Correction]) -> Path:
    """Record the corrections through the bots' store, as the poster's pick of the right card."""
    shutil.rmtree(folder, ignore_errors=True)
    store = FeedbackStore(FeedbackSettings(discord_guild_ids=(GROUP,), folder=str(folder)))
    for c in corrections:
        token = store.hold(c.crop_jpeg, {c.card_id: c.name}, Scope("discord", GROUP, GROUP))
        if not store.record(token, c.card_id, "discord", GROUP):
            raise RuntimeError(f"the store refused the pick of {c.name}")
    return folder


def fine_tune(gallery: Path, shipped: Path, photos: Path, run: Path, steps: int) -> float:
    """`cardsight train --photos --init` from the shipped weights and config; seconds taken."""
    started = time.perf_counter()
    subprocess.run(
        [str(Path(sys.executable).with_name("cardsight")), "train", "--gallery", str(gallery),
         "--out", str(run), "--config", str(shipped / networks.RUN_CONFIG),
         "--init", str(networks.weights_file(shipped)), "--photos", str(photos),
         "--steps", str(steps), "--restart"],
        check=True,
    )
    return time.perf_counter() - started


def top1(set_dir: Path, queries: Iterable[Query], total: int | None = None) -> tuple[float, int]:
    """Top-1 (name) and the number of cards, as `cardsight eval` counts them."""
    rec = Recognizer.load(set_dir)
    try:
        s = evaluate(rec, queries, total=total, progress=False).summary(rec.settings.unsure_below)
    finally:
        rec.close()
    return s["top1"], s["cards"]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gallery", type=Path, default=SHARED,
                   help=shared_help("gallery folder (the team's scans)"))
    p.add_argument("--shipped", type=Path, default=REPO / "var" / "runs" / "shipped",
                   help="the shipped training run (model.safetensors + config.toml) to start from")
    p.add_argument("--photos", type=int, default=1000, help="simulated photos searched for corrections")
    p.add_argument("--check", type=int, default=300, help="fresh simulated photos of all scans, before/after")
    p.add_argument("--steps", type=int, default=40, help="fine-tuning steps")
    p.add_argument("--seed", type=int, default=22, help="seed of the correction photos and the split")
    p.add_argument("--work", type=Path, default=REPO / "var" / "bench" / "feedback-loop",
                   help="sets, run and feedback folders are kept here")
    args = p.parse_args()

    began = time.perf_counter()
    print(f"# cardsight feedback-loop benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"# machine: {platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}")
    items = read_gallery(args.gallery)
    args.work.mkdir(parents=True, exist_ok=True)
    before = artifact_set(args.gallery, args.shipped, args.work, "shipped")

    started = time.perf_counter()
    corrections, answered = find_corrections(before, items, args.photos, args.seed)
    half_a, half_b = split_by_card(corrections, args.seed)
    folder_a = write_feedback(args.work / "feedback-a", half_a)
    folder_b = write_feedback(args.work / "feedback-b", half_b)
    print(f"# corrections: {len(corrections)} wrong names among {answered} answered cards of "
          f"{args.photos} photos (hardness 1.0, seed {args.seed}), {time.perf_counter() - started:.0f} s; "
          f"half A (trained on): {len(half_a)} crops of {len({c.card_id for c in half_a})} cards, "
          f"half B (held out): {len(half_b)} crops of {len({c.card_id for c in half_b})} cards")

    run = args.work / "run-feedback"
    print(f"# fine-tuned {args.steps} steps from {args.shipped} on half A in "
          f"{fine_tune(args.gallery, args.shipped, folder_a, run, args.steps):.0f} s", flush=True)
    after = artifact_set(args.gallery, run, args.work, "feedback")

    print(f"\n{'top-1 (name)':<44} {'before':>7} {'after':>7}")
    rows = [
        ("half A, trained on (eval --photos)", lambda: folder_queries(folder_a), None),
        ("half B, held out (eval --photos)", lambda: folder_queries(folder_b), None),
        (f"all scans, {args.check} fresh simulated photos", lambda: simulated_queries(
            items, args.check, seed=args.seed + 1, sim=PhotoSimConfig()), args.check),
    ]
    for title, queries, total in rows:
        (was, n), (now, _) = top1(before, queries(), total), top1(after, queries(), total)
        print(f"{title + f' ({n} cards)':<44} {was:7.1%} {now:7.1%}", flush=True)
    print(f"\n# whole benchmark: {time.perf_counter() - began:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
