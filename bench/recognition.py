"""Recognition benchmark: accuracy, calibration and latency on simulated photos of real cards.

Gallery: the team's 708 real Scryfall scans (every Duskmourn printing variant included, so
exact-printing accuracy is measured separately from card-name accuracy). Queries: simulated
phone photos at the simulator's full hardness. Prints, for the learned model and for a pHash
baseline on the same crops: detection rate, top-1/top-5/MRR@5, exact-printing top-1; the
engine's calibration; per-stage latency p50/p95 on 1600×1200 and on 12 MP photos; then the
same on a gallery padded to 30,000 entries with generated cards. Run from the repo root:

    .venv/bin/python -m bench.recognition --artifacts var/artifacts-scans [--model var/runs/bench-scans708]
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import platform
import time
from pathlib import Path

from bench.pad_gallery import padded_gallery
from bench.paths import REPO, SHARED, shared_help
from bench.phash import PhashIndex
from engine import artifacts
from engine.recognizer import Recognizer
from engine.runtime import configure
from training import networks
from training.evaluate import VISIBLE_ENOUGH, CardOutcome, evaluate, simulated_queries
from training.gallery import read_gallery
from training.index_build import build_artifacts
from training.photosim import PhotoSimConfig




def main() -> int:
    configure()  # the serving process's runtime (engine/runtime.py), measured as served
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--artifacts", type=Path, required=True, help="set built from --gallery")
    p.add_argument("--gallery", type=Path, default=SHARED, help=shared_help("real scans"))
    p.add_argument("--model", type=Path,
                   help="training run the --artifacts set was built from (default: the shipped model)")
    p.add_argument("--photos", type=int, default=1000)
    p.add_argument("--multi-photos", type=int, default=150, help="photos of 2-4 cards")
    p.add_argument("--latency-photos", type=int, default=100, help="12 MP photos")
    p.add_argument("--pad-to", type=int, default=30000, help="0 skips the padded run")
    p.add_argument("--pad-photos", type=int, default=300)
    p.add_argument("--work", type=Path, default=REPO / "var" / "bench")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--json", type=Path, help="also write all figures here")
    args = p.parse_args()

    print(f"# cardsight recognition benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"# machine: {platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}, "
          f"{platform.platform()}")
    items = read_gallery(args.gallery)
    report: dict = {"gallery_size": len(items)}
    rec = Recognizer.load(args.artifacts)
    print(f"# artifact set {rec.info()['index_version']} ({rec.artifact_set.manifest.get('model_source')})")
    try:
        phash = PhashIndex(items, rec.embedder.input_size)
        single = PhotoSimConfig()
        report["single"] = run_accuracy(
            "single card, 1600x1200, hardness 1.0", rec, items, phash, args.photos, args.seed, single, 1)
        report["multi"] = run_accuracy(
            "2-4 cards, 1600x1200, hardness 1.0", rec, items, phash, args.multi_photos, args.seed + 1,
            PhotoSimConfig(max_cards=4), 4)
        report["12mp"] = run_accuracy(
            "single card, 4000x3000 (12 MP), hardness 1.0", rec, items, None, args.latency_photos,
            args.seed + 2, PhotoSimConfig(size=(4000, 3000)), 1)
    finally:
        rec.close()
    if args.pad_to > len(items):
        report["padded"] = run_padded(args, items)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


def run_accuracy(title: str, rec: Recognizer, items, phash: PhashIndex | None, count: int,
                 seed: int, sim: PhotoSimConfig, cards: int) -> dict:
    ranks: list[int | None] = []

    def on_card(o: CardOutcome) -> None:
        if phash is not None:
            ranks.append(phash.name_rank(o.found.crop, o.truth.name) if o.found else None)

    started = time.perf_counter()
    result = evaluate(rec, simulated_queries(items, count, seed=seed, sim=sim, cards_per_photo=cards),
                      total=count, progress=False, on_card=on_card)
    summary = result.summary(rec.settings.unsure_below)
    print(f"\n## {title}: {summary['photos']} photos, {summary['cards']} cards "
          f"({time.perf_counter() - started:.0f} s)")
    print_summary(summary)
    if phash is not None and ranks:
        n = len(ranks)
        p1 = sum(1 for r in ranks if r == 1) / n
        p5 = sum(1 for r in ranks if r is not None) / n
        summary["phash"] = {"top1": p1, "top5": p5}
        print(f"pHash baseline on the same crops:  top-1 {p1:.1%}  top-5 {p5:.1%}")
    return summary


def print_summary(s: dict) -> None:
    print(f"detection {s['detection_rate']:.1%}   top-1 {s['top1']:.1%}   top-5 {s['top5']:.1%}   "
          f"MRR@5 {s['mrr5']:.3f}   exact printing top-1 {s['exact_printing_top1']:.1%}")
    print(f"top-1 of detected {s['top1_of_detected']:.1%}   ECE {s['ece'] or 0:.3f}   "
          f"answered sure {s['answered_sure'] or 0:.1%} with precision {s['precision_when_sure']:.1%}   "
          f"extra detections {s['false_positive_cards']}")
    if s["cards_in_view"] < s["cards"]:
        print(f"cards at least {VISIBLE_ENOUGH:.0%} in view: {s['cards_in_view']}, detection "
              f"{s['detection_rate_in_view']:.1%}, top-1 {s['top1_in_view']:.1%}, "
              f"right when sure {s['precision_when_sure_in_view']:.1%}")
    lat = s["latency_ms"]
    print("latency ms (p50/p95): " + "  ".join(
        f"{k} {v['p50']:.1f}/{v['p95']:.1f}" for k, v in lat.items()))


def run_padded(args: argparse.Namespace, items) -> dict:
    """The same engine over the real scans plus generated cards up to `pad_to` entries."""
    combined = padded_gallery(args.work, args.gallery, items, args.pad_to)
    # One set per network and index recipe: a set left by other weights or another re-ranking
    # would measure those instead.
    recipe = hashlib.sha256(networks.weights_file(args.model).read_bytes())
    recipe.update(json.dumps(dataclasses.asdict(networks.run_config(args.model).index)).encode())
    out = args.work / f"artifacts-{args.pad_to}-{recipe.hexdigest()[:12]}"
    if not artifacts.exists(out):
        started = time.perf_counter()
        # calibrated on photos of the real scans: the generated padding is only there to be searched
        build_artifacts(combined, out, model=args.model, progress=False, calibrate_on=items)
        print(f"# padded set built in {time.perf_counter() - started:.0f} s")
    rec = Recognizer.load(out)
    try:
        print(f"\n# padded gallery: {rec.info()['gallery_size']} entries")
        return run_accuracy("single card on the padded gallery", rec, items, None,
                            args.pad_photos, args.seed + 3, PhotoSimConfig(), 1)
    finally:
        rec.close()


if __name__ == "__main__":
    raise SystemExit(main())
