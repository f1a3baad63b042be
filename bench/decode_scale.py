"""Does decoding big JPEGs at a smaller DCT scale cost accuracy? Same photos, several floors.

For each `decode_min_long_side` given, the same simulated photos go through the engine and the
usual accuracy/latency summary is printed (a 12 MP JPEG decodes to 2000 px with a floor of
1600, to 1000 px with 1000). Run from the repo root:

    .venv/bin/python -m bench.decode_scale --artifacts var/artifacts-scans [--size 4000x3000] [--floors 1600,1000]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.paths import SHARED, shared_help
from bench.recognition import run_accuracy
from engine.recognizer import Recognizer
from engine.runtime import configure
from engine.settings import EngineSettings
from training.gallery import read_gallery
from training.photosim import PhotoSimConfig


def main() -> int:
    configure()  # the serving process's runtime (engine/runtime.py), measured as served
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--artifacts", type=Path, required=True)
    p.add_argument("--gallery", type=Path, default=SHARED, help=shared_help("real scans"))
    p.add_argument("--photos", type=int, default=200)
    p.add_argument("--size", default="4000x3000", help="photo size WxH")
    p.add_argument("--floors", default="1600,1000", help="decode_min_long_side values to compare")
    p.add_argument("--seed", type=int, default=11)
    args = p.parse_args()
    items = read_gallery(args.gallery)
    width, height = (int(v) for v in args.size.split("x"))
    for floor in (int(v) for v in args.floors.split(",")):
        rec = Recognizer.load(args.artifacts, EngineSettings(decode_min_long_side=floor))
        try:
            run_accuracy(f"{args.size}, decode_min_long_side {floor}", rec, items, None, args.photos,
                         args.seed, PhotoSimConfig(size=(width, height)), 1)
        finally:
            rec.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
