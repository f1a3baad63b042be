"""Open-set benchmark: is "sure" right even when the photographed card is not in the gallery?

A share of the team's real scans (by name, seeded) is left out of the index; the set is built
and calibrated as `cardsight index` builds it. Then, through the real engine:

- in the gallery: simulated photos of the indexed cards, single and 2-4 cards (cards in view);
- absent, real: simulated photos of the left-out scans (same sets, same frames: the hard case);
- absent, generated: photos of generated cards named from the real-names list;
- not a card: other games' cards, card backs, hands, empty tables, screenshots, memes
  (training/noncards.py);
- the team's real photos (`photos.csv`), whose cards are mostly in no gallery: a sure answer
  whose name is not among the photo's `card_names` is wrong.

Prints the share answered sure and the precision of sure answers at the engine's threshold,
the trade-off over thresholds (and a plot with `--plot`), and what each signal costs a crop.
Run from the repo root:

    .venv/bin/python -m bench.open_set --scans ../shared/data [--model RUN] --plot out.png
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import os
import platform
import shutil
import time
from pathlib import Path

import numpy as np

from bench.paths import REPO, SHARED, shared_help
from engine.errors import RecognizerError
from engine.recognizer import Candidates, Recognizer
from engine.runtime import configure
from engine.art_edges import edge_agreement, edge_lead
from engine.verify import art_agreement, crop_lab
from training.calibration import paper_name
from training.cardgen import generate_gallery
from training.evaluate import VISIBLE_ENOUGH, EvalResult, evaluate, simulated_queries
from training.gallery import GalleryItem, read_gallery
from training.index_build import build_artifacts
from training.noncards import non_card_photos
from training.photosim import PhotoSimConfig


THRESHOLDS = np.round(np.arange(0.30, 0.991, 0.05), 2)


def split_gallery(scans: Path, out: Path, leave_out: float, seed: int) -> tuple[Path, list[GalleryItem]]:
    """A gallery folder of the scans whose names were kept (images linked), and the left-out items.

    A card and its Arena rebalancing ("A-" name, same art) leave together: a synced gallery never
    holds the twin without the paper card, and a photo of one answered with the other counted as
    a sure wrong answer (3 of the 4 absent scans answered sure at seed 7, 2026-12-07)."""
    items = read_gallery(scans)
    names = sorted({paper_name(it.entry.name) for it in items})
    rng = np.random.default_rng(seed)
    absent_names = set(rng.choice(names, size=round(leave_out * len(names)), replace=False).tolist())
    if out.exists():
        shutil.rmtree(out)  # the split is a function of the seed: rebuilt the same every time
    out.mkdir(parents=True)
    with (scans / "cards.jsonl").open(encoding="utf-8") as src, (out / "cards.jsonl").open("w", encoding="utf-8") as dst:
        for line in src:
            if not line.strip():
                continue
            record = json.loads(line)
            if paper_name(record["name"]) in absent_names:
                continue
            target = out / record["image"]
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(scans / record["image"], target)
            except OSError:
                shutil.copyfile(scans / record["image"], target)
            dst.write(line if line.endswith("\n") else line + "\n")
    return out, [it for it in items if paper_name(it.entry.name) in absent_names]


@dataclasses.dataclass
class Group:
    """Answered cards of one kind: confidence and whether the top name is right."""

    name: str
    confidence: list[float] = dataclasses.field(default_factory=list)
    right: list[bool] = dataclasses.field(default_factory=list)
    unanswered: int = 0

    def add_result(self, result: EvalResult, in_view_only: bool = False) -> None:
        for o in result.outcomes:
            if in_view_only and o.truth.visible < VISIBLE_ENOUGH:
                continue
            if o.found is None:
                self.unanswered += 1
            else:
                self.confidence.append(float(o.confidence))
                self.right.append(o.name_rank() == 1)

    def sure(self, threshold: float) -> np.ndarray:
        return np.asarray(self.confidence) >= threshold

    def line(self, threshold: float) -> str:
        sure = self.sure(threshold)
        right = np.asarray(self.right, bool)
        n = len(sure)
        precision = f"{right[sure].mean():.2%}" if sure.any() else "—"
        return (f"{self.name:34s} answered {n:5d} (no card {self.unanswered:4d})  top-1 {right.mean() if n else 0:6.1%}  "
                f"sure {sure.mean() if n else 0:6.2%} ({int(sure.sum())})  right when sure {precision}"
                f"  wrong & sure {int((sure & ~right).sum())}")


def non_card_group(recognizer: Recognizer, count: int, seed: int, size: tuple[int, int]) -> tuple[Group, dict]:
    """Per photo with no card: every answer given is wrong; counts by kind."""
    group, by_kind = Group("not a card (answers)"), {}
    for kind, data in non_card_photos(count, seed, size):
        stats = by_kind.setdefault(kind, {"photos": 0, "with_a_name": 0, "with_a_sure_name": 0, "errors": 0})
        stats["photos"] += 1
        try:
            ident = recognizer.identify(data)
        except RecognizerError:
            stats["errors"] += 1
            continue
        stats["with_a_name"] += bool(ident.cards)
        stats["with_a_sure_name"] += any(not c.unsure for c in ident.cards)
        for card in ident.cards:
            group.confidence.append(card.confidence)
            group.right.append(False)
    return group, by_kind


def real_photos(recognizer: Recognizer, scans: Path) -> tuple[Group, list[str]]:
    """The team's real photos: a sure name not among the photo's cards is wrong."""
    group, notes = Group("real photos (answers)"), []
    with (scans / "photos.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            truth = {n.strip() for n in row["card_names"].split(";") if n.strip()}
            try:
                ident = recognizer.identify((scans / row["photo"]).read_bytes())
            except RecognizerError as exc:
                notes.append(f"{row['photo']}: error {exc}")
                continue
            for card in ident.cards:
                group.confidence.append(card.confidence)
                group.right.append(card.match.name in truth)
                if not card.unsure and card.match.name not in truth:
                    notes.append(f"{row['photo']}: sure {card.match.name!r} at {card.confidence:.2f}")
    return group, notes


def shown_reply(recognizer: Recognizer, photos: list[bytes]) -> str:
    """What the bots send for the first of `photos` answered with one unsure card (Telegram's
    text and buttons; Discord shows the same wording, bot/replies.py), or a note if none was."""
    from bot import replies
    from bot.telegram_bot import reply_html

    for data in photos:
        reply = replies.from_identification(recognizer.identify(data))
        if reply.kind is replies.ReplyKind.UNSURE:
            buttons = " | ".join(c.label for c in reply.choices)
            return f"{reply_html(reply)}\n[buttons] {buttons}"
    return "(no photo was answered with one unsure card)"


def signal_costs(recognizer: Recognizer, found: list[Candidates], repeats: int = 3) -> dict[str, float]:
    """Median milliseconds a card of each stage of the answer, measured here on these cards."""
    layouts = recognizer.layouts
    rows = np.arange(min(40, recognizer.searcher.size))
    edges = recognizer.edges
    costs: dict[str, list[float]] = {"embed": [], "colour-layout re-rank (40)": [], "art agreement": [],
                                     "art edges": [], "edge lead (4 rivals)": [],
                                     "title read (when it can decide)": [],
                                     "second look (unsure answers: 4 crops)": []}
    for card in found:
        crop = card.crop
        for _ in range(repeats):
            t0 = time.perf_counter()
            recognizer.embedder.embed([crop])
            t1 = time.perf_counter()
            if layouts is not None:
                layouts.rerank(crop, np.zeros(len(rows), np.float32), rows, 32)
            t2 = time.perf_counter()
            art_agreement(crop_lab(crop), layouts.signature(0)) if layouts is not None else None
            t3 = time.perf_counter()
            edge_agreement(crop, edges.edge_map(0)) if edges is not None else None
            t4 = time.perf_counter()
            edge_lead(crop, edges.edge_map(0), [edges.edge_map(r) for r in range(1, 5)]) if edges is not None else None
            t4b = time.perf_counter()
            card.titles_read.clear()
            recognizer.title_vote(card)
            t5 = time.perf_counter()
            recognizer.retry_outline(card)
            t6 = time.perf_counter()
            costs["embed"].append(t1 - t0)
            costs["colour-layout re-rank (40)"].append(t2 - t1)
            costs["art agreement"].append(t3 - t2)
            costs["art edges"].append(t4 - t3)
            costs["edge lead (4 rivals)"].append(t4b - t4)
            costs["title read (when it can decide)"].append(t5 - t4b)
            costs["second look (unsure answers: 4 crops)"].append(t6 - t5)
    return {k: 1e3 * float(np.median(v)) for k, v in costs.items()}


def trade_off(present: Group, absent: list[Group]) -> list[dict]:
    rows = []
    right = np.asarray(present.right, bool)
    for t in THRESHOLDS:
        sure = present.sure(t)
        rows.append({
            "threshold": float(t),
            "in_gallery_sure": float(sure.mean()) if len(sure) else 0.0,
            "in_gallery_precision": float(right[sure].mean()) if sure.any() else 1.0,
            **{f"{g.name}_sure": float(g.sure(t).mean()) if g.confidence else 0.0 for g in absent},
        })
    return rows


def plot(rows: list[dict], absent_keys: list[str], threshold: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    share = [r["in_gallery_sure"] for r in rows]
    left.plot(share, [r["in_gallery_precision"] for r in rows], "o-")
    for r in rows:
        left.annotate(f"{r['threshold']:.2f}", (r["in_gallery_sure"], r["in_gallery_precision"]), fontsize=7)
    left.axhline(0.995, color="grey", ls=":", label="goal: 99.5% right")
    left.axvline(0.95, color="grey", ls="--", label="goal: 95% sure")
    left.set_xlabel("in gallery: share answered sure")
    left.set_ylabel("in gallery: precision of sure answers")
    left.legend(fontsize=8)
    for key in absent_keys:
        right.plot([r["threshold"] for r in rows], [r[key] for r in rows], "o-", label=key.removesuffix("_sure"))
    right.axhline(0.005, color="grey", ls=":", label="goal: ≤ 0.5%")
    right.axvline(threshold, color="black", lw=0.8, label=f"engine threshold {threshold}")
    right.set_yscale("symlog", linthresh=0.01)
    right.set_xlabel("confidence threshold for 'sure'")
    right.set_ylabel("share answered sure (all wrong)")
    right.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> int:
    configure()  # the serving process's runtime (engine/runtime.py), measured as served
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scans", type=Path, default=SHARED, help=shared_help("real scans and photos"))
    p.add_argument("--model", type=Path, help="training run or .onnx file; default: the shipped model")
    p.add_argument("--leave-out", type=float, default=0.2, help="share of the scans' names left out of the index")
    p.add_argument("--photos", type=int, default=400, help="single-card photos of indexed cards")
    p.add_argument("--multi-photos", type=int, default=60, help="photos of 2-4 indexed cards")
    p.add_argument("--absent-photos", type=int, default=300, help="photos of left-out scans")
    p.add_argument("--generated-photos", type=int, default=200)
    p.add_argument("--non-card-photos", type=int, default=120)
    p.add_argument("--work", type=Path, default=REPO / "var" / "bench-open-set")
    p.add_argument("--seed", type=int, default=19)
    p.add_argument("--plot", type=Path)
    p.add_argument("--json", type=Path)
    p.add_argument("--machine", default="", help="how to name this machine in the output")
    p.add_argument("--reuse-set", action="store_true",
                   help="measure the set an earlier run built in --work (same split) instead of building one")
    args = p.parse_args()

    print(f"# cardsight open-set benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"# machine: {args.machine or platform.machine()}; {os.cpu_count()} cores seen, "
          f"Python {platform.python_version()}")
    started = time.perf_counter()
    gallery, left_out = split_gallery(args.scans, args.work / "gallery", args.leave_out, args.seed)
    kept = read_gallery(gallery)
    print(f"# gallery: {len(kept)} scans indexed, {len(left_out)} scans of "
          f"{len({i.entry.name for i in left_out})} names left out; model: {args.model or 'shipped (engine/models/card_embedder.onnx)'}")
    if args.reuse_set and (args.work / "artifacts" / "CURRENT").is_file():
        print(f"# set reused from {args.work / 'artifacts'} (built by an earlier run of this bench)")
    else:
        built = build_artifacts(gallery, args.work / "artifacts", model=args.model, progress=False)
        print(f"# set built and calibrated in {time.perf_counter() - started:.0f} s: {built.path}")
    recognizer = Recognizer.load(args.work / "artifacts")
    cal = recognizer.calibrator
    print(f"# calibrator: w_top {cal.w_top:.2f}, w_margin {cal.w_margin:.2f}, w_art {cal.w_art:.2f}, "
          f"w_title {cal.w_title:.2f}, w_edges {cal.w_edges:.2f}, w_edge_lead {cal.w_edge_lead:.2f}, "
          f"bias {cal.bias:.2f}, card floor {cal.card_floor}, absent share {cal.absent_share}, "
          f"fitted on {cal.fitted_on}, ECE {cal.expected_calibration_error}")
    threshold = recognizer.settings.unsure_below
    sim = PhotoSimConfig(size=(1280, 960), hardness=1.0)

    single, multi = Group("in gallery, 1 card"), Group("in gallery, 2-4 cards (in view)")
    single.add_result(evaluate(recognizer, simulated_queries(kept, args.photos, seed=args.seed + 1, sim=sim),
                               progress=False))
    crowded = dataclasses.replace(sim, max_cards=4)
    multi.add_result(evaluate(recognizer, simulated_queries(kept, args.multi_photos, seed=args.seed + 2, sim=crowded,
                                                            cards_per_photo=4), progress=False), in_view_only=True)
    print(single.line(threshold), flush=True)
    print(multi.line(threshold), flush=True)
    present = Group("in gallery, all", single.confidence + multi.confidence, single.right + multi.right,
                    single.unanswered + multi.unanswered)
    absent_real = Group("absent: real scans left out")
    absent_real.add_result(evaluate(recognizer, simulated_queries(left_out, args.absent_photos, seed=args.seed + 3,
                                                                  sim=sim), progress=False))
    print(absent_real.line(threshold), flush=True)
    names = [n.strip() for n in (args.scans / "card-names.txt").read_text(encoding="utf-8").splitlines()]
    scanned = {i.entry.name for i in read_gallery(args.scans)}
    generate_gallery(args.work / "generated", 150, seed=args.seed + 4,
                     names=[n for n in names if n and n not in scanned], hard_negative_fraction=0.0)
    absent_gen = Group("absent: generated cards")
    absent_gen.add_result(evaluate(recognizer, simulated_queries(read_gallery(args.work / "generated"),
                                                                 args.generated_photos, seed=args.seed + 5, sim=sim),
                                   progress=False))
    print(absent_gen.line(threshold), flush=True)
    non_cards, by_kind = non_card_group(recognizer, args.non_card_photos, args.seed + 6, sim.size)
    real, real_notes = real_photos(recognizer, args.scans) if (args.scans / "photos.csv").is_file() else (None, [])

    print(non_cards.line(threshold), flush=True)
    print(f"\n## At the engine's threshold (sure: confidence >= {threshold})")
    for g in (single, multi, present, absent_real, absent_gen, non_cards) + ((real,) if real else ()):
        print(g.line(threshold))
    print("\nnot a card, photos answered with any name / with a sure name:")
    for kind, s in by_kind.items():
        print(f"  {kind:16s} {s['with_a_name']:3d} / {s['with_a_sure_name']:3d} of {s['photos']}"
              + (f" ({s['errors']} raised an error)" if s["errors"] else ""))
    if real:
        print("real photos, sure and wrong:", "; ".join(real_notes) or "none")

    absent = [absent_real, absent_gen, non_cards]
    rows = trade_off(present, absent)
    print("\n## Trade-off: threshold, in gallery share sure and precision, absent shares sure")
    print("thr   in-sure  in-prec  " + "  ".join(g.name.split(":")[-1].strip()[:18] for g in absent))
    for r in rows:
        print(f"{r['threshold']:.2f}  {r['in_gallery_sure']:7.2%}  {r['in_gallery_precision']:7.2%}  "
              + "  ".join(f"{r[f'{g.name}_sure']:18.2%}" for g in absent))

    print("\n## What the bots say for a photo of an absent card (Telegram text; Discord shows the same)")
    print(shown_reply(recognizer, _sample_photos(left_out, 5, args.seed + 3, sim)))

    found = [c for data in _sample_photos(kept, 20, args.seed + 7, sim) for c in recognizer.analyse(data)[0]]
    print("\n## Cost a card (median ms, this machine, now)")
    for name, ms in signal_costs(recognizer, found).items():
        print(f"  {name:28s} {ms:.3f}")
    print(f"\n# total {time.perf_counter() - started:.0f} s")
    if args.plot:
        plot(rows, [f"{g.name}_sure" for g in absent], threshold, args.plot)
    if args.json:
        args.json.write_text(json.dumps({"trade_off": rows, "non_cards": by_kind}, indent=1))
    recognizer.close()
    return 0


def _sample_photos(items: list[GalleryItem], count: int, seed: int, sim: PhotoSimConfig) -> list[bytes]:
    return [q.data for q in simulated_queries(items, count, seed=seed, sim=sim)]


if __name__ == "__main__":
    raise SystemExit(main())
