"""Photo latency of this checkout beside another (the previous commit), interleaved.

The shared two-core machine drifts between fast and slow phases by more than most changes
gain, so both engines run in child processes that take turns: one round is a few photos on
this checkout's engine, then the same photos on the baseline's, the order alternating by round.
Photos: simulated single-card 12 MP (4000×3000) or 1600×1200 photos of the real scans (or, with
`--cards N --scene S`, photos of N cards in a photosim scene: `--cards 40 --scene spread`), sent
as JPEG bytes through `Recognizer.identify`. Prints p50/p95 of each and the ratio. Run:

    .venv/bin/python -m bench.latency_ab --baseline ../prev --artifacts var/artifacts [--size 4000x3000]

The baseline may also be this checkout with other engine settings, to time what one stage
costs: `--baseline-settings '{"read_titles": false}'` (the title check off). A change of the
set itself (int8 against float32) gives the baseline its own: `--baseline-artifacts`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.paths import REPO, SHARED, shared_help

CHILD = """
import json, sys, time
try:  # checkouts from before engine/runtime.py configured the runtime on import
    from engine.runtime import configure
except ImportError:
    pass
else:
    configure()
from engine.recognizer import Recognizer
from engine.settings import EngineSettings
rec = Recognizer.load(sys.argv[1], EngineSettings(**json.loads(sys.argv[2])))
photos = [open(p, 'rb').read() for p in sys.argv[3:]]
rec.identify(photos[0])
print('ready', flush=True)
for line in sys.stdin:
    times = []
    for data in photos:
        t0 = time.perf_counter(); rec.identify(data); times.append((time.perf_counter() - t0) * 1e3)
    print(json.dumps(times), flush=True)
"""


def start(checkout: Path, artifacts: Path, photos: list[Path], settings: str = "{}") -> subprocess.Popen[str]:
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(artifacts), settings, *map(str, photos)], cwd=checkout,
                             env={**os.environ, "PYTHONPATH": str(checkout)}, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    if child.stdout.readline().strip() != "ready":
        raise SystemExit(f"the engine of {checkout} did not start")
    return child


def one_round(child: subprocess.Popen[str]) -> list[float]:
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write("go\n")
    child.stdin.flush()
    return json.loads(child.stdout.readline())


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--baseline", type=Path, default=REPO, help="the other checkout (a git worktree); default: this one")
    p.add_argument("--baseline-settings", default="{}",
                   help='JSON of engine settings for the baseline\'s engine, e.g. \'{"read_titles": false}\'')
    p.add_argument("--artifacts", type=Path, default=REPO / "var" / "artifacts")
    p.add_argument("--baseline-artifacts", type=Path, default=None,
                   help="the baseline's artifact set, when it differs (a float32 set beside an int8 one); "
                        "default: --artifacts")
    p.add_argument("--gallery", type=Path, default=SHARED, help=shared_help("real scans photographed"))
    p.add_argument("--size", default="4000x3000", help="photo width x height")
    p.add_argument("--photos", type=int, default=6)
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--cards", type=int, default=1, help="cards per photo")
    p.add_argument("--scene", default="mixed", help="PhotoSimConfig scene of photos of several cards")
    args = p.parse_args()
    width, height = (int(v) for v in args.size.split("x"))

    from training.evaluate import simulated_queries
    from training.gallery import read_gallery
    from training.photosim import PhotoSimConfig

    what = "single-card" if args.cards == 1 else f"{args.cards}-card {args.scene}"
    print(f"# cardsight photo latency A/B, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"# machine: {platform.machine()}, {os.cpu_count()} cores, shared with other jobs; "
          f"{args.photos} simulated {what} {width}x{height} photos x {args.rounds} rounds, interleaved; "
          f"baseline {args.baseline.resolve()} with settings {args.baseline_settings}; sets: this "
          f"{args.artifacts}, baseline {args.baseline_artifacts or args.artifacts}")
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        sim = PhotoSimConfig(size=(width, height), max_cards=args.cards, scene=args.scene)
        for i, q in enumerate(simulated_queries(read_gallery(args.gallery), args.photos, seed=12, sim=sim,
                                                cards_per_photo=args.cards)):
            files.append(Path(tmp) / f"{i}.jpg")
            files[-1].write_bytes(q.data)
        children = {"this": start(REPO, args.artifacts.resolve(), files),
                    "baseline": start(args.baseline.resolve(), (args.baseline_artifacts or args.artifacts).resolve(), files,
                                      args.baseline_settings)}
        times: dict[str, list[float]] = {name: [] for name in children}
        for r in range(args.rounds):
            for name in list(children)[:: 1 if r % 2 == 0 else -1]:
                times[name] += one_round(children[name])
        for child in children.values():
            child.stdin.close()  # type: ignore[union-attr]
            child.wait(timeout=30)
    p50 = {name: statistics.median(t) for name, t in times.items()}
    for name, t in times.items():
        print(f"{name:>9}: p50 {p50[name]:.1f} ms  p95 {statistics.quantiles(t, n=20)[-1]:.1f} ms  ({len(t)} photos)")
    print(f"ratio this/baseline p50: {p50['this'] / p50['baseline']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
