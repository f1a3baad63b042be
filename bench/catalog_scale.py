"""The real catalog at its real size: `cardsight index` over 100,000 faces, then new-set day.

Gallery: the team's scans padded with generated cards to `--faces` entries (bench/pad_gallery.py;
the padding stands in for the ~100,000 faces the team has no scans of). With the shipped model
and no training:
1. full build, `cardsight index` run as an admin runs it, in a child process: wall time, peak
   memory, disk of the set and of the embedding cache;
2. accuracy at that size: simulated single-card photos of the real scans at full hardness
   (top-1, exact printing, search latency) and the serving process's memory;
3. new-set day: `--new-cards` generated cards of sets the gallery has not had are added and
   `cardsight index` runs again, re-using the cached embeddings of everything else (and the
   live calibration, as at most 2% of the gallery is new). `--new-set-only` measures this step
   again on the embedding cache a full build left.
From the repo root (~30 min on 2 cores the first time, most of it rendering and embedding):

    .venv/bin/python -m bench.catalog_scale [--faces 100000] [--new-cards 300]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench.pad_gallery import make_padding, padded_gallery
from bench.paths import REPO, SHARED, shared_help
from engine import artifacts
from engine.recognizer import Recognizer
from training.embedding_cache import FOLDER as CACHE_FOLDER
from training.evaluate import evaluate, simulated_queries
from training.gallery import read_gallery
from training.photosim import PhotoSimConfig

INDEX = ("import resource, sys\n"
         "from cardsight.cli import main\n"
         "rc = main(['index', *sys.argv[1:]])\n"
         "print(f'peak_rss_mb {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}')\n"
         "sys.exit(rc)\n")


def du_mb(*paths: Path) -> float:
    return sum(f.stat().st_size for p in paths for f in Path(p).rglob("*") if f.is_file()) / 1e6


def run_index(gallery: Path, out: Path) -> dict:
    """`cardsight index` in a child process: its wall time, peak RSS and the set's manifest."""
    started = time.perf_counter()
    child = subprocess.run([sys.executable, "-c", INDEX, "--gallery", str(gallery), "--out", str(out)],
                           capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if child.returncode != 0:
        raise SystemExit(f"cardsight index failed:\n{child.stderr[-3000:]}")
    peak = next(float(line.split()[1]) for line in child.stdout.splitlines() if line.startswith("peak_rss_mb"))
    return {"seconds": seconds, "peak_rss_mb": peak, "manifest": artifacts.open_set(out, verify=False).manifest}


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) / 1024 for line in fh if line.startswith("VmRSS"))


def measure_full_build(args: argparse.Namespace, items: list, gallery: Path, out: Path) -> None:
    """Steps 1 and 2: the full build from nothing, then the photos on the set it made."""
    print(f"\n## full build: {args.faces} faces, shipped model, `cardsight index`")
    shutil.rmtree(out, ignore_errors=True)
    full = run_index(gallery, out)
    set_dir = artifacts.resolve(out)
    m = full["manifest"]
    print(f"wall {full['seconds']:.0f} s (embedding {m['embed_seconds']:.0f} s of it, "
          f"{m['images_embedded']} images), peak RSS {full['peak_rss_mb']:.0f} MB")
    print(f"disk: set {du_mb(set_dir):.0f} MB, embedding cache {du_mb(out / CACHE_FOLDER):.0f} MB, "
          f"gallery images {du_mb(gallery / 'images'):.0f} MB")

    print(f"\n## {args.photos} single-card photos of the {len(items)} real scans, 1600x1200, hardness 1.0")
    before = rss_mb()
    rec = Recognizer.load(out)
    try:
        loaded = rss_mb()
        result = evaluate(rec, simulated_queries(items, args.photos, seed=args.seed, sim=PhotoSimConfig()),
                          total=args.photos, progress=False)
        s = result.summary(rec.settings.unsure_below)
        serving = rss_mb()
    finally:
        rec.close()
    print(f"top-1 {s['top1']:.1%}  top-5 {s['top5']:.1%}  exact printing {s['exact_printing_top1']:.1%}  "
          f"answered sure {s['answered_sure'] or 0:.1%}, right when sure {s['precision_when_sure']:.1%}")
    print("latency ms (p50/p95): " + "  ".join(
        f"{k} {v['p50']:.1f}/{v['p95']:.1f}" for k, v in s["latency_ms"].items()))
    print(f"serving RSS: {loaded:.0f} MB after loading the set ({loaded - before:+.0f} MB), "
          f"{serving:.0f} MB after the photos")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gallery", type=Path, default=SHARED,
                   help=shared_help("real scans"))
    p.add_argument("--faces", type=int, default=100_000, help="gallery entries after padding")
    p.add_argument("--new-cards", type=int, default=300, help="cards added on new-set day")
    p.add_argument("--photos", type=int, default=300, help="single-card photos of the real scans")
    p.add_argument("--seed", type=int, default=10)
    p.add_argument("--work", type=Path, default=REPO / "var" / "bench",
                   help="galleries, sets and the embedding cache are kept here")
    p.add_argument("--new-set-only", action="store_true",
                   help="skip the full build and the photos: rebuild the base gallery's set from the "
                   "embedding cache a full build left, then measure new-set day again")
    args = p.parse_args()

    print(f"# cardsight catalog-scale benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"# machine: {platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}")
    items = read_gallery(args.gallery)
    gallery = padded_gallery(args.work, args.gallery, items, args.faces)
    base_records = (gallery / "cards.jsonl").read_text()
    out = args.work / f"catalog-{args.faces}"

    if args.new_set_only:
        base = run_index(gallery, out)
        print(f"\n## base set rebuilt from the embedding cache: {base['seconds']:.0f} s, "
              f"{base['manifest']['images_embedded']} images embedded")
    else:
        measure_full_build(args, items, gallery, out)

    print(f"\n## new-set day: {args.new_cards} cards added to {args.faces}")
    new = args.work / f"new-set-{args.new_cards}"
    make_padding(new, args.new_cards, [i.entry.name for i in items], seed=2027)
    lines = []
    for item in read_gallery(new):
        rel = Path("images") / "new" / item.image_path.relative_to(new)
        (gallery / rel).parent.mkdir(parents=True, exist_ok=True)
        if not (gallery / rel).exists():
            os.link(item.image_path, gallery / rel)
        e = item.entry
        lines.append(json.dumps({"id": e.card_id, "name": e.name, "set": f"n{e.set_code}",
                                 "collector_number": e.collector_number, "scryfall_uri": e.scryfall_uri,
                                 "image": str(rel), "variant": e.variant}))
    try:
        (gallery / "cards.jsonl").write_text(base_records + "\n".join(lines) + "\n")
        day = run_index(gallery, out)
    finally:
        (gallery / "cards.jsonl").write_text(base_records)
    m = day["manifest"]
    print(f"wall {day['seconds']:.0f} s for {m['gallery_size']} faces: {m['images_embedded']} images "
          f"embedded, {m['embeddings_cached']} from the cache (embedding stage {m['embed_seconds']:.0f} s), "
          f"peak RSS {day['peak_rss_mb']:.0f} MB; calibration "
          f"{'kept from the live set' if 'kept_from' in m['calibration'] else 'fitted again'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
