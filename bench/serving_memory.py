"""Serving memory of an artifact set: what the engine process holds once it answers photos.

Loads the set as `cardsight serve` does (`Recognizer.load`), answers a few real photos, and
prints the process's resident memory split into anonymous pages (private to this process) and
file-backed pages (the memory-mapped index and layouts: shared between processes serving the
same set, and droppable by the kernel under pressure). Run from the repo root:

    .venv/bin/python -m bench.serving_memory --artifacts var/bench/catalog-100000
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

from bench.paths import PHOTOS, shared_help

FIELDS = ("VmRSS", "VmHWM", "RssAnon", "RssFile")


def memory() -> dict[str, int]:
    """This process's resident memory from /proc (Linux), in MiB."""
    out = {}
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if key in FIELDS:
                out[key] = int(value.split()[0]) // 1024
    return out


def line(stage: str, mem: dict[str, int]) -> str:
    return (f"{stage:28s} RSS {mem['VmRSS']:5d} MiB (peak {mem['VmHWM']:5d})  anonymous {mem['RssAnon']:5d}  "
            f"file-backed {mem['RssFile']:5d}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--artifacts", type=Path, required=True, help="artifact root (holding CURRENT)")
    p.add_argument("--photos", type=Path, default=PHOTOS, help=shared_help("folder of real photos", PHOTOS))
    p.add_argument("--count", type=int, default=10, help="photos answered before measuring")
    p.add_argument("--machine", default="", help="how to name this machine in the output")
    args = p.parse_args()

    print(f"# cardsight serving memory, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"# machine: {args.machine or platform.machine()}; {os.cpu_count()} cores seen, "
          f"Python {platform.python_version()}")
    print(line("before the engine import", memory()))
    from engine.runtime import configure

    configure()  # the serving process's runtime (engine/runtime.py), measured as served
    from engine.recognizer import Recognizer  # measured: the import itself costs memory

    print(line("engine imported", memory()))
    started = time.perf_counter()
    recognizer = Recognizer.load(args.artifacts)
    manifest = recognizer.artifact_set.manifest
    print(f"# set {recognizer.artifact_set.version}: {recognizer.searcher.size} gallery rows "
          f"(both turns indexed: {2 * recognizer.searcher.size} vectors), index "
          f"{manifest.get('index_kind', 'flat')}, loaded in {time.perf_counter() - started:.1f} s")
    print(line("set loaded", memory()))
    photos = sorted(q for q in args.photos.iterdir() if q.suffix.lower() in (".jpg", ".jpeg", ".png"))[: args.count]
    for photo in photos:
        recognizer.identify(photo.read_bytes())
    print(line(f"after {len(photos)} photos", memory()))
    recognizer.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
