"""Print how well and how fast decode + detect work on real photos and simulated scenes.

Real photos (when ../shared/data is present beside the repository) have only a card count, so they give
count accuracy, recall and false positives, plus a contact sheet to look at; photosim
scenes (single-card and up to 4 cards, 1600x1200, default hardness) have exact corners,
so they give recall at IoU >= 0.8 and corner error. Latency is single-process wall time
on whatever else the machine is doing: run it a few times and compare medians.
`--modes` compares proposal sources on the very same photos and scenes, interleaved per
image so machine load hits every mode alike: `default` (what detect_cards does),
`classical`, `learned` (segmenter only) and `combined` (both, classical outlines kept
only where the segmenter sees card). `--other-segmenter FILE` adds mode `other`: the default
detector with another segmenter model, to compare a retrained one with the shipped one, and
`--finger-chance 1` puts a finger over a card in every scene. Run:

    .venv/bin/python -m bench.detection [--data ../shared/data] [--scenes 60] [--modes classical,learned]
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from bench.paths import SHARED, shared_help
from engine.decode import decode_image
from engine.detect import CLASSICAL_WITH_LEARNED, DetectedCard, Detector, detect_cards_using
from engine.quad import quad_iou
from engine.segmenter import CardSegmenter, load_segmenter
from tests.scenes import corner_error
from training.evaluate import VISIBLE_ENOUGH
from training.photosim import PhotoSimConfig, simulate_photo

OUT_DIR = Path(__file__).parent / "out"
TILE = 360


DetectFn = Callable[[np.ndarray], list[DetectedCard]]


def _detectors(names: list[str], other_segmenter: Path | None) -> dict[str, DetectFn]:
    segmenter = load_segmenter()
    if segmenter is None and any(name in ("learned", "combined") for name in names):
        raise SystemExit("the learned modes need engine/models/card_segmenter.onnx")
    chosen: dict[str, DetectFn] = {
        "default": Detector().detect,  # as the recognizer detects
        "classical": lambda rgb: detect_cards_using(rgb, None, classical=True),
        "learned": lambda rgb: detect_cards_using(rgb, segmenter, classical=False),
        "combined": lambda rgb: detect_cards_using(rgb, segmenter, classical=True),
    }
    if other_segmenter is not None:
        other = CardSegmenter(other_segmenter)
        chosen["other"] = lambda rgb: detect_cards_using(rgb, other, classical=CLASSICAL_WITH_LEARNED)
        names = [*names, "other"]
    unknown = set(names) - set(chosen)
    if unknown:
        raise SystemExit(f"unknown modes {sorted(unknown)}; choose from {sorted(chosen)}")
    return {name: chosen[name] for name in names}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SHARED, help=shared_help("real photos and photos.csv"))
    parser.add_argument("--scenes", type=int, default=60, help="photosim scenes per layout")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--modes", default="default", help="comma-separated: default, classical, learned, combined")
    parser.add_argument("--other-segmenter", type=Path, help="segmenter ONNX to compare as mode 'other'")
    parser.add_argument("--finger-chance", type=float, default=PhotoSimConfig.finger_chance,
                        help="photosim's chance of a finger over a card (default %(default)s)")
    args = parser.parse_args()
    detectors = _detectors([name.strip() for name in args.modes.split(",") if name.strip()], args.other_segmenter)
    decode_ms: list[float] = []
    timings: dict[str, dict[str, list[float]]] = {name: {"real": [], "photosim": []} for name in detectors}
    if (args.data / "photos.csv").exists():
        bench_real(args.data, detectors, decode_ms, timings)
    else:
        print(f"no real photos at {args.data}; skipping that part")
    for max_cards in (1, 4):
        bench_simulated(args.scenes, args.seed + max_cards, max_cards, detectors, timings, args.finger_chance)
    if decode_ms:
        p50, p95 = np.percentile(decode_ms, [50, 95])
        print(f"latency decode: p50 {p50:.1f} ms, p95 {p95:.1f} ms over {len(decode_ms)} images")
    for name, kinds in timings.items():
        for kind, values in kinds.items():
            if values:
                p50, p95 = np.percentile(values, [50, 95])
                print(f"[{name}] latency detect {kind}: p50 {p50:.1f} ms, p95 {p95:.1f} ms over {len(values)} images")
    return 0


def _timed(detect: DetectFn, rgb: np.ndarray, into: list[float]) -> list[DetectedCard]:
    start = time.perf_counter()
    cards = detect(rgb)
    into.append((time.perf_counter() - start) * 1000)
    return cards


def bench_real(data: Path, detectors: dict[str, DetectFn], decode_ms: list[float],
               timings: dict[str, dict[str, list[float]]]) -> None:
    with open(data / "photos.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    counts = {name: dict(exact=0, recalled=0, negative_fp=0) for name in detectors}
    tiles: dict[str, list[np.ndarray]] = {name: [] for name in detectors}
    visible_total = 0
    print(f"{'photo':40s} visible " + " ".join(f"{name:>9s}" for name in detectors))
    for row in rows:
        payload = (data / row["photo"]).read_bytes()
        start = time.perf_counter()
        decoded = decode_image(payload)
        decode_ms.append((time.perf_counter() - start) * 1000)
        visible = int(row["cards_visible"])
        visible_total += visible
        found_text = []
        for name, detect in detectors.items():
            cards = _timed(detect, decoded.rgb, timings[name]["real"])
            found = len(cards)
            counts[name]["exact"] += found == visible
            counts[name]["recalled"] += min(found, visible)
            if visible == 0:
                counts[name]["negative_fp"] += found
            wholes = sum(card.whole_frame for card in cards)
            found_text.append(f"{found:>6d}{'w' * min(wholes, 3):3s}")
            tiles[name].append(_tile(decoded.rgb, cards, f"{Path(row['photo']).stem} {found}/{visible}"))
        print(f"{Path(row['photo']).name:40s} {visible:7d} " + " ".join(found_text))
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for name, count in counts.items():
        path = OUT_DIR / f"detection_contact_{name}.png"
        cv2.imwrite(str(path), cv2.cvtColor(_contact_sheet(tiles[name], columns=6), cv2.COLOR_RGB2BGR))
        print(
            f"[{name}] real photos: {len(rows)}, exact count {count['exact'] / len(rows):.1%}, "
            f"recall {count['recalled'] / max(visible_total, 1):.1%} ({count['recalled']}/{visible_total}), "
            f"false positives on no-card photos {count['negative_fp']}, contact sheet {path}"
        )


def _photosim_scenes(count: int, rng: np.random.Generator, max_cards: int, finger_chance: float) -> list:
    """(image, true quads, visible fractions) from training.photosim at its default hardness."""
    from training.cardgen import random_spec, render_card

    cards = [render_card(random_spec(f"Card {i}", rng)) for i in range(12)]
    config = PhotoSimConfig(max_cards=max_cards, finger_chance=finger_chance)
    photos = (simulate_photo(cards, rng, config) for _ in range(count))
    return [(photo.image, photo.quads, photo.visible_fraction) for photo in photos]


def bench_simulated(count: int, seed: int, max_cards: int, detectors: dict[str, DetectFn],
                    timings: dict[str, dict[str, list[float]]], finger_chance: float) -> None:
    """Recall at IoU >= 0.8 over cards at least 85% visible (the targets' definition)."""
    rng = np.random.default_rng(seed)
    errors: dict[str, list[float]] = {name: [] for name in detectors}
    ious: dict[str, list[float]] = {name: [] for name in detectors}
    extra = dict.fromkeys(detectors, 0)
    for image, quads, visible in _photosim_scenes(count, rng, max_cards, finger_chance):
        for name, detect in detectors.items():
            cards = _timed(detect, image, timings[name]["photosim"])
            matched = set()
            for truth, fraction in zip(quads, visible):
                overlaps = [quad_iou(card.quad, truth)[0] for card in cards]
                best = int(np.argmax(overlaps)) if overlaps else -1
                iou = overlaps[best] if overlaps else 0.0
                if iou >= 0.5:
                    matched.add(best)
                if fraction < VISIBLE_ENOUGH:
                    continue
                ious[name].append(iou)
                errors[name].append(corner_error(cards[best].quad, truth) if iou >= 0.5 else np.inf)
            extra[name] += len(cards) - len(matched)
    for name in detectors:
        ious_arr, errors_arr = np.array(ious[name]), np.array(errors[name])
        print(
            f"[{name}] photosim max_cards={max_cards}, finger chance {finger_chance:g}: {count} scenes, {len(ious_arr)} cards >= "
            f"{VISIBLE_ENOUGH:.0%} visible, recall IoU>=0.8 {np.mean(ious_arr >= 0.8):.1%} "
            f"(IoU>=0.5 {np.mean(ious_arr >= 0.5):.1%}), corner error median "
            f"{np.median(errors_arr) * 100:.2f}% of card height (missed cards count as infinite), "
            f"unmatched detections {extra[name]}"
        )


def _tile(rgb: np.ndarray, cards: list[DetectedCard], label: str) -> np.ndarray:
    factor = TILE / max(rgb.shape[:2])
    image = cv2.resize(rgb, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    for card in cards:
        colour = (255, 200, 0) if card.whole_frame else (0, 255, 0)
        points = np.rint(card.quad * factor).astype(np.int32)
        cv2.polylines(image, [points], True, colour, 2)
        cv2.circle(image, tuple(int(v) for v in points[0]), 4, (255, 0, 0), -1)
        cv2.putText(image, f"{card.score:.2f}", tuple(int(v) for v in points[0]),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 0), 1)
    tile = np.zeros((TILE, TILE, 3), np.uint8)
    tile[: image.shape[0], : image.shape[1]] = image
    cv2.putText(tile, label, (4, TILE - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 80, 80), 1)
    return tile


def _contact_sheet(tiles: list[np.ndarray], columns: int) -> np.ndarray:
    blank = np.zeros_like(tiles[0])
    tiles = tiles + [blank] * (-len(tiles) % columns)
    rows = [np.hstack(tiles[i : i + columns]) for i in range(0, len(tiles), columns)]
    return np.vstack(rows)


if __name__ == "__main__":
    raise SystemExit(main())
