"""Search at catalog scale: index layouts side by side on a 100,000-face set (200,000 vectors).

Takes the vectors of an existing exact (flat) set, such as the one `bench.catalog_scale` built,
and builds every layout below from them (cached under `--work`, so a rerun only measures).
Each is then measured as the engine serves it, one Faiss thread:
- search: one query at a time for the re-ranking shortlist, p50/p95 ms, the layouts timed in
  rounds taken in turn so the shared machine's phases hit them alike;
- recall@1 and shortlist recall against exact flat search, on the embeddings of the
  simulated photos' crops;
- top-1 and exact printing on simulated single-card photos of the real scans, through the
  recognizer's own ranking, re-ranking and answer (decode and detection done once, shared);
- index bytes, build seconds (one thread), and the resident memory of a fresh process that
  loads it and searches: anonymous (its own) and file-backed (mapped pages, shared between
  processes and reclaimable).
From the repo root, after `bench.catalog_scale` (or any flat set of that size):

    .venv/bin/python -m bench.search_scale [--artifacts var/bench/catalog-100000] [--photos 300]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from bench.paths import REPO, SHARED, shared_help
from engine import artifacts
from engine.recognizer import Recognizer
from engine.runtime import configure
from engine.search import Searcher, read_index
from engine.settings import EngineSettings
from training.evaluate import Query, evaluate, simulated_queries
from training.gallery import read_gallery
from training.photosim import PhotoSimConfig


@dataclass(frozen=True)
class Layout:
    """One index to measure: a Faiss factory string, a search parameter, a loading mode."""

    name: str
    factory: str
    params: tuple[tuple[str, int], ...] = ()
    mmap: bool = False

    @property
    def file_stem(self) -> str:
        return self.factory.replace(",", "-")


LAYOUTS = (
    Layout("flat fp32 (today)", "Flat"),
    Layout("flat fp32 mmap", "Flat", mmap=True),
    Layout("flat fp16", "SQfp16"),
    Layout("flat fp16 mmap", "SQfp16", mmap=True),
    Layout("flat sq8", "SQ8"),
    *(Layout(f"hnsw32 ef{ef}", "HNSW32,Flat", (("efSearch", ef),)) for ef in (64, 128, 256)),
    *(Layout(f"hnsw32 sq8 ef{ef}", "HNSW32,SQ8", (("efSearch", ef),)) for ef in (128, 256)),
    *(Layout(f"ivf1024 flat np{n}", "IVF1024,Flat", (("nprobe", n),)) for n in (32, 128)),
    *(Layout(f"ivf1024 fp16 np{n}", "IVF1024,SQfp16", (("nprobe", n),)) for n in (32, 64, 128, 256, 512)),
    Layout("ivf1024 fp16 np64 mmap", "IVF1024,SQfp16", (("nprobe", 64),), mmap=True),
    *(Layout(f"ivf1024 sq8 np{n}", "IVF1024,SQ8", (("nprobe", n),)) for n in (64, 128)),
    *(Layout(f"ivf1024 pq64 np{n}", "IVF1024,PQ64", (("nprobe", n),)) for n in (64, 128)),
)

CHILD = """
import json, sys, time, numpy as np
from engine.search import Searcher
def mem():
    f = dict(l.split(':', 1) for l in open('/proc/self/status'))
    return {k: int(f[k].split()[0]) / 1024 for k in ('RssAnon', 'RssFile')}
path, mmap, params, queries, k = sys.argv[1], sys.argv[2] == '1', json.loads(sys.argv[3]), sys.argv[4], int(sys.argv[5])
q = np.load(queries)
before = mem()
searcher = Searcher.load(path, mmap=mmap)
for name, value in params:
    import faiss; faiss.ParameterSpace().set_index_parameter(searcher._index, name, value)
searcher.search(q, k)
after = mem()
print(json.dumps({key: after[key] - before[key] for key in after}))
"""


def flat_vectors(set_dir: Path) -> np.ndarray:
    index = faiss.read_index(str(set_dir / "index.faiss"))
    if not isinstance(index, faiss.IndexFlat):
        raise SystemExit(f"{set_dir}: the bench starts from an exact flat index, this one is {type(index).__name__}")
    return index.reconstruct_n(0, index.ntotal)


def built(layout: Layout, vectors: np.ndarray, folder: Path) -> tuple[Path, float]:
    """The layout's index file (built once, with one thread as `cardsight index` builds) and
    its build seconds."""
    path = folder / f"{layout.file_stem}.faiss"
    meta = path.with_suffix(".json")
    if path.is_file() and meta.is_file():
        return path, float(json.loads(meta.read_text())["build_seconds"])
    started = time.perf_counter()
    index = faiss.index_factory(vectors.shape[1], layout.factory, faiss.METRIC_INNER_PRODUCT)
    if layout.factory.startswith("HNSW"):
        faiss.downcast_index(index).hnsw.efConstruction = 80
    index.train(vectors)
    index.add(vectors)
    seconds = time.perf_counter() - started
    faiss.write_index(index, str(path))
    meta.write_text(json.dumps({"build_seconds": seconds}))
    return path, seconds


def searcher_for(layout: Layout, path: Path) -> Searcher:
    searcher = Searcher(read_index(path, mmap=layout.mmap))
    for name, value in layout.params:
        faiss.ParameterSpace().set_index_parameter(searcher._index, name, value)
    return searcher


def child_memory(layout: Layout, path: Path, queries: Path, k: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), "1" if layout.mmap else "0", json.dumps(layout.params),
         str(queries), str(k)],
        capture_output=True, text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def timed_rounds(searchers: dict[str, Searcher], queries: np.ndarray, k: int, rounds: int) -> dict[str, list[float]]:
    """Per-query ms of each searcher, the layouts taken in turn, a slice of queries per turn."""
    times: dict[str, list[float]] = {name: [] for name in searchers}
    for chunk in np.array_split(queries, rounds):
        for name, searcher in searchers.items():
            for q in chunk:
                t0 = time.perf_counter()
                searcher.search(q[None], k)
                times[name].append((time.perf_counter() - t0) * 1e3)
    return times


def accuracy(rec: Recognizer, queries: list[Query]) -> tuple[float, float]:
    """(top-1, exact printing) of the served ranking and answer."""
    result = evaluate(rec, queries, progress=False)
    s = result.summary(rec.settings.unsure_below)
    return s["top1"], s["exact_printing_top1"]


def memoise_preparation(rec: Recognizer) -> None:
    """Decode and detection of each photo run once; only ranking differs between layouts."""
    prepare, done = rec._prepare, {}

    def cached(data: bytes):  # type: ignore[no-untyped-def]
        if id(data) not in done:
            done[id(data)] = prepare(data)
        return done[id(data)]

    rec._prepare = cached  # type: ignore[method-assign]


def main() -> int:
    configure()  # the serving process's runtime (engine/runtime.py), measured as served
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--artifacts", type=Path, default=REPO / "var" / "bench" / "catalog-100000",
                   help="an exact (flat) set at catalog scale (default: bench.catalog_scale's, under var/bench)")
    p.add_argument("--gallery", type=Path, default=SHARED, help=shared_help("real scans photographed"))
    p.add_argument("--photos", type=int, default=300, help="simulated single-card photos of the real scans")
    p.add_argument("--seed", type=int, default=10)
    p.add_argument("--rounds", type=int, default=10, help="turns in which the layouts' search times are taken")
    p.add_argument("--only", help="comma-separated substrings: measure only layouts whose name has one")
    p.add_argument("--work", type=Path, default=REPO / "var" / "bench" / "search-scale",
                   help="built indexes are kept here")
    args = p.parse_args()
    layouts = [l for l in LAYOUTS if not args.only or any(s in l.name for s in args.only.split(","))]
    if not layouts or layouts[0] != LAYOUTS[0]:
        layouts = [LAYOUTS[0], *[l for l in layouts if l != LAYOUTS[0]]]  # exact flat is the reference

    print(f"# cardsight search-scale benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"# machine: {platform.machine()}, {os.cpu_count()} cores, shared with other jobs; one Faiss thread")
    the_set = artifacts.open_set(args.artifacts, verify=False)
    vectors = flat_vectors(the_set.path)
    work = args.work / the_set.version
    work.mkdir(parents=True, exist_ok=True)
    print(f"# set {the_set.version}: {the_set.manifest['gallery_size']} faces, {len(vectors)} vectors of {vectors.shape[1]}")

    rec = Recognizer(the_set, EngineSettings())
    memoise_preparation(rec)
    items = read_gallery(args.gallery)
    photos = list(simulated_queries(items, args.photos, seed=args.seed, sim=PhotoSimConfig()))
    crops = [c for q in photos for card in rec._prepare(q.data).cards
             for c in (card.crop, *(crop for _, crop in card.readings))]
    queries = rec.embedder.embed(crops)
    np.save(work / "queries.npy", queries)
    k = min(rec.layouts.settings.shortlist if rec.layouts else rec.settings.search_k, rec.searcher.size)
    print(f"# {args.photos} simulated photos at 1600x1200 of {len(items)} real scans; "
          f"{len(queries)} crop embeddings as search queries, shortlist k={k}")

    searchers, rows = {}, {}
    for layout in layouts:
        path, build_s = built(layout, vectors, work)
        searcher = searcher_for(layout, path)
        rec.searcher = searcher
        top1, exact = accuracy(rec, photos)
        _, found = searcher.search(queries, k)
        searchers[layout.name] = searcher
        rows[layout.name] = {"found": found, "top1": top1, "exact": exact, "build_s": build_s,
                             "mb": path.stat().st_size / 1e6, "memory": child_memory(layout, path, work / "queries.npy", k)}
        print(f"  measured {layout.name}", file=sys.stderr)
    times = timed_rounds(searchers, queries, k, args.rounds)
    truth = rows[LAYOUTS[0].name]["found"]

    print(f"\n{'layout':<24} {'p50 ms':>7} {'p95 ms':>7} {'R@1':>6} {'R@sl':>6} {'top-1':>6} {'exact':>6} "
          f"{'file MB':>8} {'anon MB':>8} {'mapped MB':>9} {'build s':>8}")
    for layout in layouts:
        r, t = rows[layout.name], times[layout.name]
        recall1 = float(np.mean(r["found"][:, 0] == truth[:, 0]))
        recall_sl = float(np.mean([len(set(a) & set(b)) / k for a, b in zip(r["found"], truth)]))
        p95 = statistics.quantiles(t, n=20)[-1]
        print(f"{layout.name:<24} {statistics.median(t):>7.2f} {p95:>7.2f} {recall1:>6.1%} {recall_sl:>6.1%} "
              f"{r['top1']:>6.1%} {r['exact']:>6.1%} {r['mb']:>8.0f} {r['memory']['RssAnon']:>8.0f} "
              f"{r['memory']['RssFile']:>9.0f} {r['build_s']:>8.0f}")
    print("\nR@1: the exact search's best row found first; R@sl: share of its shortlist found. top-1 and exact: "
          "the recognizer's answers with that index. anon/mapped MB: a fresh process's resident growth on loading "
          "it and searching every query (mapped pages are shared by processes and reclaimable).")
    rec.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
