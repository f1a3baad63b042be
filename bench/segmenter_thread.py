"""What the detector's worker thread (the segmenter, the classical mask passes, the Lab plane),
beside the classical edge passes, saves.

detect_cards on decoded simulated photos (the gallery's scans, 12 MP and 1600x1200 JPEGs),
each photo detected both ways in alternating order, three rounds, so the VM's swings hit both
alike: as shipped, and with the segmenter's work run inline in the caller's thread first (as
before 2026-12-02's change). Prints the p50 of each and how many detections came out identical.
Run from the repo root with nothing else running:

    .venv/bin/python -m bench.segmenter_thread [--gallery ../shared/data] [--photos 40]
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import Executor, ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from bench.paths import SHARED, shared_help
from engine.decode import decode_image
from engine.detect import detect_cards_using
from engine.runtime import configure
from engine.segmenter import load_segmenter
from training.gallery import load_card_image, read_gallery
from training.photosim import PhotoSimConfig, encode_jpeg, simulate_photo


def main() -> None:
    configure()  # the serving process's runtime (engine/runtime.py), measured as served
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gallery", type=Path, default=SHARED, help=shared_help("real scans"))
    p.add_argument("--photos", type=int, default=40, help="photos per size")
    args = p.parse_args()
    items = read_gallery(args.gallery)
    print(f"# bench/segmenter_thread.py, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")
    segmenter = load_segmenter()
    if segmenter is None:
        raise SystemExit("needs engine/models/card_segmenter.onnx")
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="segmenter") as thread:
        ways: dict[str, Executor | None] = {"worker thread": thread, "inline": None}
        for size in ((4000, 3000), (1600, 1200)):
            rng = np.random.default_rng(5)
            photos = []
            for _ in range(args.photos):
                card = load_card_image(items[int(rng.integers(len(items)))].image_path)
                photo = simulate_photo([card], rng, PhotoSimConfig(size=size))
                photos.append(decode_image(encode_jpeg(photo.image, 90)).rgb)
            times: dict[str, list[float]] = {name: [] for name in ways}
            same = 0
            for round_ in range(3):
                for rgb in photos:
                    quads = {}
                    for name in (list(ways) if round_ % 2 else list(ways)[::-1]):
                        started = time.perf_counter()
                        cards = detect_cards_using(rgb, segmenter, classical=True, pool=ways[name])
                        times[name].append(time.perf_counter() - started)
                        quads[name] = [card.quad.tolist() for card in cards]
                    same += quads["worker thread"] == quads["inline"]
            print(f"{size[0]}x{size[1]}: detect p50 worker thread {1000 * np.median(times['worker thread']):.1f} ms, "
                  f"inline {1000 * np.median(times['inline']):.1f} ms; identical {same} of {3 * len(photos)}")


if __name__ == "__main__":
    main()
