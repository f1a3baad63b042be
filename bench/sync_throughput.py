"""Sync throughput against the local Scryfall stand-in: images/s, MB/s, peak memory.

The stand-in runs in its own process (so its work does not count against the sync) and
serves N card records; with ../shared/data present beside the repository each image is a real 488×680 Scryfall
scan, otherwise a generated JPEG of the same size. The sync runs in this process, so the
peak RSS printed is the sync's own (plus the interpreter and its imports).

    .venv/bin/python bench/sync_throughput.py [--records 10000] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.paths import SHARED  # noqa: E402
from training.sync.run import run_sync  # noqa: E402
from training.sync.settings import SyncSettings  # noqa: E402



def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def start_stub(records: int) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "tests.scryfall_stub", "--cards", str(records)]
    if (SHARED / "cards.jsonl").is_file():
        command += ["--data", str(SHARED)]
    stub = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert stub.stdout is not None
    line = stub.stdout.readline().strip()
    if not line.startswith("READY "):
        stub.kill()
        raise SystemExit(f"stand-in did not start: {line!r}")
    return stub, line.split(" ", 1)[1]


async def measure(settings: SyncSettings) -> None:
    baseline = peak_rss_mb()
    started = time.perf_counter()
    summary = await run_sync(settings, progress=False)
    elapsed = time.perf_counter() - started
    peak = peak_rss_mb()
    images = summary.images_downloaded
    print(summary.render())
    print(f"\nfull sync of {summary.gallery_entries} gallery entries in {elapsed:.1f}s")
    print(f"  images/s:   {images / elapsed:.0f}")
    print(f"  MB/s:       {summary.image_bytes / 1e6 / elapsed:.1f} ({summary.image_bytes / 1e6:.0f} MB of images)")
    print(f"  peak RSS:   {peak:.0f} MB (before the sync: {baseline:.0f} MB)")

    started = time.perf_counter()
    again = await run_sync(settings, progress=False)
    print(f"\nsecond sync, nothing changed: {time.perf_counter() - started:.2f}s, "
          f"{again.images_downloaded} images fetched, card list downloaded: {again.bulk_downloaded}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    stub, api_url = start_stub(args.records)
    source = "real scans from shared/data" if "--data" in stub.args else "generated images"
    print(f"stand-in: {args.records} records, {source}, at {api_url}")
    try:
        with tempfile.TemporaryDirectory(prefix="cardsight-sync-bench-") as tmp:
            settings = SyncSettings(api_base_url=api_url, gallery_dir=Path(tmp) / "gallery",
                                    image_concurrency=args.concurrency)
            asyncio.run(measure(settings))
    finally:
        stub.kill()
        stub.wait()


if __name__ == "__main__":
    main()
