"""Deck, binder and pile benchmark: how many cards of a many-card photo are named, and at what cost.

Gallery: the team's 708 real Scryfall scans. Queries: simulated photos at full hardness of a
binder page (9 cards in pockets under glossy plastic), a deck spread (40 cards in rows of 8),
a fanned hand (5), cascaded deck columns (28 cards, 10-20% of each showing) and the mixed
2-4-card scenes of bench/recognition.py, each at 1600x1200 and at 12 MP. A card counts as
named when the engine answers it (sure or not) with its name first. Prints, per scene and
size: answered and named rates over all cards, over cards in view and over cards whose
title bar shows (what `identify` answers: open cards by their art, covered cards by their
title); answers by art and by title alone with the precision of their sure ones; photo
latency and latency per card. Run from
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

from bench.paths import SHARED, shared_help
from engine.recognizer import Recognizer
from engine.runtime import configure
from engine.settings import EngineSettings
from engine.title_columns import column_strips
from engine.types import CardAnswer
from training import scenelayout
from training.evaluate import VISIBLE_ENOUGH, TrueCard, match_detections, pair_closest, simulated_queries
from training.gallery import load_card_image, read_gallery
from training.photosim import PhotoSimConfig, simulate_photo

TITLE_SHOWS = 0.9
"""A card whose title bar shows this much can be named by it, however little of the rest shows."""
TOP_EDGE_TOLERANCE = 0.1
"""Of a card's height: the least step between two cascaded cards' top edges. An extrapolated
outline's top edge lies up to ~0.08 off (each card of a column drifts and turns a little), and
pairing takes the closest first, so a neighbour is not taken for the card."""
SIZES = {"1600x1200": (1600, 1200), "12 MP": (4000, 3000)}
SCENES = (  # (title, PhotoSimConfig.scene, cards per photo)
    ("binder page", "binder", 9),
    ("deck spread", "spread", 40),
    ("fanned hand", "fan", 5),
    ("cascaded columns", "columns", 28),
    ("2-4 cards", "mixed", 4),
)


def main() -> int:
    configure()  # the serving process's runtime (engine/runtime.py), measured as served
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--artifacts", type=Path, required=True, help="set built from --gallery")
    p.add_argument("--gallery", type=Path, default=SHARED, help=shared_help("real scans"))
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
    """What a user gets: `identify`'s answers (open cards by their art, covered cards by their
    title) paired with the true cards (`pair_answers`)."""
    started = time.perf_counter()
    outcomes: list[tuple[TrueCard, CardAnswer | None]] = []
    extra = 0
    timings: dict[str, list[float]] = {}
    per_card_ms: list[float] = []
    for query in simulated_queries(items, count, seed=seed, sim=sim, cards_per_photo=cards):
        t0 = time.perf_counter()
        ident = rec.identify(query.data)
        total = (time.perf_counter() - t0) * 1e3
        for stage, ms in {**ident.timings_ms, "total": total}.items():
            timings.setdefault(stage, []).append(ms)
        per_card_ms.append(total / max(1, len(query.cards)))
        pairs = pair_answers(ident.cards, query.cards)
        outcomes += [(truth, ident.cards[j] if j is not None else None) for truth, j in zip(query.cards, pairs)]
        extra += len(ident.cards) - sum(j is not None for j in pairs)
    print(f"\n## {title}: {count} photos, {len(outcomes)} cards ({time.perf_counter() - started:.0f} s)")
    print_rates(outcomes, extra)
    total_ms = np.array(timings.pop("total"))
    print(f"ms per photo p50 {np.percentile(total_ms, 50):.0f} / p95 {np.percentile(total_ms, 95):.0f}   "
          f"ms per card p50 {np.percentile(per_card_ms, 50):.1f} / p95 {np.percentile(per_card_ms, 95):.1f}   "
          + "  ".join(f"{k} {np.percentile(v, 50):.0f}" for k, v in timings.items() if k != "total"))


def pair_answers(answers: tuple[CardAnswer, ...], truths: list[TrueCard]) -> list[int | None]:
    """For each true card, the answer that names it, or None.

    Answers by art pair by centre (`match_detections`) with the centroid of what is seen of each
    card: an open card's outline can reach over the strips of the covered cards above it, and the
    whole outline of the card just above then centres nearer than the open card's. A title-only
    answer's outline is its card's extrapolated from the open card below, and in a cascade the
    centres of neighbours lie only 10-20% of a card's height apart, so those pair by the top edge,
    which is what the strip finder locates: the nearest free true card's top edge within
    `TOP_EDGE_TOLERANCE`.
    """
    by_art = [i for i, a in enumerate(answers) if a.printing_known]
    out = [by_art[j] if j is not None else None
           for j in match_detections([answers[i] for i in by_art], [t.quad for t in truths],  # type: ignore[misc]
                                     [t.visible_centre for t in truths])]
    candidates = []
    for i, answer in enumerate(answers):
        if answer.printing_known:
            continue
        top = np.asarray(answer.quad)[:2].mean(axis=0)
        for k, truth in enumerate(truths):
            if out[k] is None:
                height = float(np.linalg.norm(truth.quad[3] - truth.quad[0]))
                d = float(np.linalg.norm(truth.quad[:2].mean(axis=0) - top)) / height
                if d < TOP_EDGE_TOLERANCE:
                    candidates.append((d, k, i))
    return pair_closest(candidates, out)


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
        by_source = {"detected": column_strips(photo.image, [np.asarray(c.quad, np.float64) for c in found])}
        ms.append((time.perf_counter() - started) * 1e3)
        open_cards = [q for q, v in zip(photo.quads, photo.visible_fraction) if v >= VISIBLE_ENOUGH]
        by_source["true"] = column_strips(photo.image, open_cards)
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


def print_rates(outcomes: list[tuple[TrueCard, CardAnswer | None]], extra: int) -> None:
    groups = {
        "all cards": outcomes,
        f"in view (>= {VISIBLE_ENOUGH:.0%})": [o for o in outcomes if o[0].visible >= VISIBLE_ENOUGH],
        f"title showing (>= {TITLE_SHOWS:.0%})": [o for o in outcomes if o[0].title_visible >= TITLE_SHOWS],
    }
    for label, group in groups.items():
        if group:
            print(f"{label:>22}: {len(group):4d}   answered {_share(group, _found):6.1%}   "
                  f"named {_share(group, _named):6.1%}")
    for label, by_title in (("by art", False), ("by title alone", True)):
        answered = [o for o in outcomes if o[1] is not None and (not o[1].printing_known) == by_title]
        sure = [o for o in answered if not o[1].unsure]  # type: ignore[union-attr]
        print(f"{label:>22}: {len(answered):4d} answers, named {_share(answered, _named):6.1%};   "
              f"sure {len(sure)} with precision {_share(sure, _named):.1%}")
    print(f"answers paired with no card {extra}")


def _found(o: tuple[TrueCard, CardAnswer | None]) -> bool:
    return o[1] is not None


def _named(o: tuple[TrueCard, CardAnswer | None]) -> bool:
    return o[1] is not None and o[1].match.name == o[0].name


def _share(outcomes: list, test) -> float:  # type: ignore[type-arg]
    return sum(map(test, outcomes)) / len(outcomes) if outcomes else 0.0


if __name__ == "__main__":
    raise SystemExit(main())
