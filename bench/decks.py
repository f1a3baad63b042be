"""Deck, binder and pile benchmark: how many cards of a many-card photo are named, and at what cost.

Gallery: the team's 708 real Scryfall scans. Queries: simulated photos at full hardness of a
binder page (9 cards in pockets under glossy plastic), a deck spread (40 cards in rows of 8),
a fanned hand (5), cascaded deck columns (28 cards, 10-20% of each showing) and the mixed
2-4-card scenes of bench/recognition.py, each at 1600x1200 and at 12 MP. A card counts as
named when the engine answers it (sure or not) with its name first. Prints, per scene and
size: detection and named rates over all cards, over cards in view and over cards whose
title bar shows; precision of sure answers; photo latency and latency per card. Run from
the repo root:

    .venv/bin/python -m bench.decks --artifacts var/decks/artifacts [--photos 10]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import time
from pathlib import Path

import numpy as np

import cv2

from engine.recognizer import Recognizer
from engine.settings import EngineSettings
from engine.title_strips import find_title_strips
from training import scenelayout
from training.evaluate import VISIBLE_ENOUGH, CardOutcome, EvalResult, evaluate, simulated_queries
from training.gallery import load_card_image, read_gallery
from training.photosim import PhotoSimConfig, simulate_photo

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
TITLE_SHOWS = 0.9
"""A card whose title bar shows this much can be named by it, however little of the rest shows."""
SIZES = {"1600x1200": (1600, 1200), "12 MP": (4000, 3000)}
SCENES = (  # (title, PhotoSimConfig.scene, cards per photo)
    ("binder page", "binder", 9),
    ("deck spread", "spread", 40),
    ("fanned hand", "fan", 5),
    ("cascaded columns", "columns", 28),
    ("2-4 cards", "mixed", 4),
)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--artifacts", type=Path, required=True, help="set built from --gallery")
    p.add_argument("--gallery", type=Path, default=SHARED)
    p.add_argument("--photos", type=int, default=10, help="photos per scene and size")
    p.add_argument("--max-cards", type=int, help="override the engine's max_cards")
    p.add_argument("--scenes", nargs="*", help="only these PhotoSimConfig scenes")
    p.add_argument("--sizes", nargs="*", choices=list(SIZES), help="only these sizes")
    p.add_argument("--seed", type=int, default=11)
    args = p.parse_args()

    settings = EngineSettings()
    if args.max_cards:
        settings = dataclasses.replace(settings, max_cards=args.max_cards)
    print(f"# cardsight deck/binder/pile benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"# machine: {platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}, "
          f"{platform.platform()}")
    items = read_gallery(args.gallery)
    rec = Recognizer.load(args.artifacts, settings)
    print(f"# artifact set {rec.info()['index_version']}, {len(items)} gallery scans, "
          f"max_cards {settings.max_cards}, {settings.threads} ONNX threads")
    try:
        for n, (title, scene, cards) in enumerate(SCENES):
            if args.scenes and scene not in args.scenes:
                continue
            for k, (size_name, size) in enumerate(SIZES.items()):
                if args.sizes and size_name not in args.sizes:
                    continue
                sim = PhotoSimConfig(size=size, max_cards=cards, scene=scene)
                run(f"{title}, {cards} cards, {size_name}", rec, items, args.photos,
                    args.seed + 10 * n + k, sim, cards)
                if scene == "columns":
                    strips_located(rec, items, args.photos, args.seed + 10 * n + k, sim)
    finally:
        rec.close()
    return 0


def run(title: str, rec: Recognizer, items, count: int, seed: int, sim: PhotoSimConfig, cards: int) -> None:
    photo_cards: list[int] = []

    def queries():
        for query in simulated_queries(items, count, seed=seed, sim=sim, cards_per_photo=cards):
            photo_cards.append(len(query.cards))
            yield query

    started = time.perf_counter()
    result = evaluate(rec, queries(), total=count, progress=False)
    per_card_ms = [t / max(1, c) for t, c in zip(result.timings["total"], photo_cards)]
    print(f"\n## {title}: {result.photos} photos, {len(result.outcomes)} cards "
          f"({time.perf_counter() - started:.0f} s)")
    print_rates(result, rec.settings.unsure_below)
    total = np.array(result.timings["total"])
    print(f"ms per photo p50 {np.percentile(total, 50):.0f} / p95 {np.percentile(total, 95):.0f}   "
          f"ms per card p50 {np.percentile(per_card_ms, 50):.1f} / p95 {np.percentile(per_card_ms, 95):.1f}   "
          + "  ".join(f"{k} {np.percentile(v, 50):.0f}" for k, v in result.timings.items() if k != "total"))


def strips_located(rec: Recognizer, items, count: int, seed: int, sim: PhotoSimConfig) -> None:
    """Title bars of covered cards that engine.title_strips finds above the cards the engine
    detected (what a title reader would get to read), and above the true outlines of the open
    cards (the strip finder alone, without detection's misses); and what finding them costs."""
    rng = np.random.default_rng(seed)
    covered = 0
    located = {"detected": 0, "true": 0}
    strips = {"detected": 0, "true": 0}
    ms: list[float] = []
    for _ in range(count):
        picks = rng.choice(len(items), sim.max_cards, replace=False)
        images = [load_card_image(items[int(j)].image_path) for j in picks]
        photo = simulate_photo(images, rng, sim)
        found, _ = rec.analyse(cv2.imencode(".jpg", cv2.cvtColor(photo.image, cv2.COLOR_RGB2BGR))[1].tobytes())
        started = time.perf_counter()
        by_source = {"detected": find_title_strips(photo.image, [np.asarray(c.quad, np.float64) for c in found])}
        ms.append((time.perf_counter() - started) * 1e3)
        open_cards = [q for q, v in zip(photo.quads, photo.visible_fraction) if v >= VISIBLE_ENOUGH]
        by_source["true"] = find_title_strips(photo.image, open_cards)
        for quad, index, visible in zip(photo.quads, photo.card_indices, photo.visible_fraction):
            if visible >= VISIBLE_ENOUGH:
                continue
            covered += 1
            centre = scenelayout.title_band(quad, images[index].shape).mean(axis=0)
            for source, found_strips in by_source.items():
                located[source] += any(cv2.pointPolygonTest(s.quad.astype(np.float32), (float(centre[0]), float(centre[1])),
                                                            False) >= 0 for s in found_strips)
        for source, found_strips in by_source.items():
            strips[source] += len(found_strips)
    for source, label in (("detected", "above detected cards"), ("true", "above the open cards' true outlines")):
        print(f"title strips {label}: {located[source]} of {covered} covered cards' title bars located "
              f"({located[source] / max(1, covered):.1%}), {strips[source]} strips cut")
    print(f"finding strips above detected cards: ms p50 {np.percentile(ms, 50):.0f} / p95 {np.percentile(ms, 95):.0f}")


def print_rates(result: EvalResult, unsure_below: float) -> None:
    groups = {
        "all cards": result.outcomes,
        f"in view (>= {VISIBLE_ENOUGH:.0%})": [o for o in result.outcomes if o.truth.visible >= VISIBLE_ENOUGH],
        f"title showing (>= {TITLE_SHOWS:.0%})": [o for o in result.outcomes
                                                  if o.truth.title_visible >= TITLE_SHOWS],
    }
    for label, outcomes in groups.items():
        if outcomes:
            print(f"{label:>22}: {len(outcomes):4d}   detected {_share(outcomes, _found):6.1%}   "
                  f"named {_share(outcomes, _named):6.1%}")
    sure = [o for o in result.outcomes if o.found is not None and (o.confidence or 0) >= unsure_below]
    print(f"answered sure {len(sure)} with precision {_share(sure, _named):.1%}   "
          f"extra detections answered {result.false_positives}")


def _found(o: CardOutcome) -> bool:
    return o.found is not None


def _named(o: CardOutcome) -> bool:
    return o.name_rank() == 1


def _share(outcomes: list[CardOutcome], test) -> float:
    return sum(map(test, outcomes)) / len(outcomes) if outcomes else 0.0


if __name__ == "__main__":
    raise SystemExit(main())
