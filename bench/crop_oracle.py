"""How much of the misses is the detector's? Top-1 from the engine's crop vs the true corners'.

For each simulated single-card photo the engine answers as usual; the same photo is also
cropped at the simulator's true corners and searched. The gap is what a perfect detector would
add; both are broken down by the card's long side in the decoded frame, and the detector's
quads by how their corners miss (right, turned 90°, or other). Both crops are also searched by
the embedding alone, without the colour-layout re-ranking, to show what that adds. Run from the
repo root:

    .venv/bin/python -m bench.crop_oracle --artifacts var/artifacts-scans [--photos 300]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from bench.paths import SHARED, shared_help
from engine.decode import decode_image
from engine.quad import side_lengths, warp_quad
from engine.recognizer import Recognizer
from engine.runtime import configure
from training.evaluate import TrueCard, match_detections, simulated_queries
from training.gallery import read_gallery

SIZE_BANDS = ((0, 300), (300, 500), (500, 800), (800, 10_000))
CORNERS_RIGHT = 0.15  # of the card's long side: corners further off than this are a wrong quad


def main() -> int:
    configure()  # the serving process's runtime (engine/runtime.py), measured as served
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--artifacts", type=Path, required=True)
    p.add_argument("--gallery", type=Path, default=SHARED, help=shared_help("real scans"))
    p.add_argument("--photos", type=int, default=300)
    p.add_argument("--seed", type=int, default=99)
    args = p.parse_args()
    items = read_gallery(args.gallery)
    rec = Recognizer.load(args.artifacts)
    rows, kinds = [], {"right": 0, "turned 90°": 0, "other": 0, "none": 0}
    try:
        for query in simulated_queries(items, args.photos, seed=args.seed):
            truth = query.cards[0]
            found, _ = rec.analyse(query.data)
            j = match_detections(found, [truth.quad])[0]
            engine_right = j is not None and bool(found[j].matches) and found[j].matches[0].name == truth.name
            crop, long_side = true_outline_crop(rec, query.data, truth)
            oracle_right = rec.match_crops([crop])[0][0].name == truth.name
            plain = _embedding_alone(rec, [crop] + ([found[j].crop] if j is not None else []))
            true_quad = np.asarray(truth.quad, np.float32)
            rows.append((engine_right, oracle_right, long_side, j is not None and plain[1] == truth.name,
                         plain[0] == truth.name))
            kinds[_corner_kind(found[j].quad if j is not None else None, true_quad)] += 1
    finally:
        rec.close()
    table = np.array(rows, dtype=float)
    print(f"{len(table)} photos: top-1 with the detector's crop {table[:, 0].mean():.1%}, "
          f"with the true corners {table[:, 1].mean():.1%}")
    print(f"embedding alone (no colour-layout re-ranking) on the same crops: detector's "
          f"{table[:, 3].mean():.1%}, true corners {table[:, 4].mean():.1%}")
    print("detector quads: " + ", ".join(f"{k} {v / len(table):.1%}" for k, v in kinds.items()))
    for low, high in SIZE_BANDS:
        band = (table[:, 2] >= low) & (table[:, 2] < high)
        if band.any():
            print(f"card long side {low}-{high} px: {int(band.sum())} photos, detector's crop "
                  f"{table[band, 0].mean():.1%}, true corners {table[band, 1].mean():.1%}")
    return 0


def true_outline_crop(rec: Recognizer, data: bytes, truth: TrueCard) -> tuple[np.ndarray, float]:
    """The card cut from the photo as the engine decodes it, at the simulator's true corners (what a
    perfect detector would hand the recognizer), and its long side in decoded pixels."""
    image = decode_image(data, target_long_side=rec.settings.decode_long_side,
                         min_long_side=rec.settings.decode_min_long_side)
    true_quad = np.asarray(truth.quad, np.float32) * image.scale
    return warp_quad(image.rgb, true_quad, rec.embedder.input_size), float(max(side_lengths(true_quad)))


def _embedding_alone(rec: Recognizer, crops: list[np.ndarray]) -> list[str]:
    """Top name of each crop by the embedding's ranking alone."""
    scores, rows = rec.searcher.search(rec.embedder.embed(crops), 1)
    return [m.name for m in rec.catalog.matches(rows[:, 0].tolist(), scores[:, 0].tolist())]


def _corner_kind(quad: object, truth: np.ndarray) -> str:
    if quad is None:
        return "none"
    found = np.asarray(quad, np.float32)
    long_side = max(side_lengths(truth))
    errors = [np.abs(np.roll(found, -k, axis=0) - truth).max() / long_side for k in range(4)]
    best = int(np.argmin(errors))
    if errors[best] > CORNERS_RIGHT:
        return "other"
    return "right" if best in (0, 2) else "turned 90°"


if __name__ == "__main__":
    raise SystemExit(main())
