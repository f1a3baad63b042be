"""Print how well and how fast decode + detect work on real photos and simulated scenes.

Real photos (when /work/shared/data is present) have only a card count, so they give
count accuracy, recall and false positives, plus a contact sheet to look at; simulated
scenes have exact corners, so they give corner error and IoU. Run:

    .venv/bin/python -m bench.detection [--data /work/shared/data] [--scenes 60]
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import cv2
import numpy as np

from engine.decode import decode_image
from engine.detect import DetectedCard, detect_cards
from engine.quad import quad_iou
from tests.scenes import corner_error, random_scene

OUT_DIR = Path(__file__).parent / "out"
TILE = 360


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data"))
    parser.add_argument("--scenes", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    decode_ms: list[float] = []
    detect_ms: list[float] = []
    if (args.data / "photos.csv").exists():
        bench_real(args.data, decode_ms, detect_ms)
    else:
        print(f"no real photos at {args.data}; skipping that part")
    bench_simulated(args.scenes, args.seed, detect_ms)
    for name, values in (("decode", decode_ms), ("detect", detect_ms)):
        if values:
            p50, p95 = np.percentile(values, [50, 95])
            print(f"latency {name}: p50 {p50:.1f} ms, p95 {p95:.1f} ms over {len(values)} images")
    return 0


def bench_real(data: Path, decode_ms: list[float], detect_ms: list[float]) -> None:
    with open(data / "photos.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    exact = visible_total = recalled = negative_fp = 0
    tiles = []
    print(f"{'photo':40s} visible found")
    for row in rows:
        payload = (data / row["photo"]).read_bytes()
        start = time.perf_counter()
        decoded = decode_image(payload)
        decode_ms.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        cards = detect_cards(decoded.rgb)
        detect_ms.append((time.perf_counter() - start) * 1000)
        visible = int(row["cards_visible"])
        found = len(cards)
        exact += found == visible
        visible_total += visible
        recalled += min(found, visible)
        if visible == 0:
            negative_fp += found
        wholes = sum(card.whole_frame for card in cards)
        note = f" ({wholes} whole-frame)" if wholes else ""
        print(f"{Path(row['photo']).name:40s} {visible:7d} {found:5d}{note}")
        tiles.append(_tile(decoded.rgb, cards, f"{Path(row['photo']).stem} {found}/{visible}"))
    print(
        f"real photos: {len(rows)}, exact count {exact / len(rows):.1%}, "
        f"recall {recalled / max(visible_total, 1):.1%} ({recalled}/{visible_total}), "
        f"false positives on no-card photos {negative_fp}"
    )
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    sheet = _contact_sheet(tiles, columns=6)
    path = OUT_DIR / "detection_contact.png"
    cv2.imwrite(str(path), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    print(f"contact sheet: {path}")


def _scenes(count: int, rng: np.random.Generator) -> tuple[str, list]:
    """Scenes from training.photosim (sleeves, glare, fingers, overlap) when it imports,
    else the plainer generator the unit tests use; each is (image, true quads)."""
    try:
        from training.cardgen import render_card, random_spec
        from training.photosim import PhotoSimConfig, simulate_photo
    except ImportError:
        return "tests.scenes", [
            (scene.image, scene.quads)
            for scene in (random_scene(rng, int(rng.integers(1, 5))) for _ in range(count))
        ]
    cards = [render_card(random_spec(f"Card {i}", rng)) for i in range(8)]
    config = PhotoSimConfig(max_cards=4)
    photos = (simulate_photo(cards, rng, config) for _ in range(count))
    return "training.photosim", [(photo.image, photo.quads) for photo in photos]


def bench_simulated(count: int, seed: int, detect_ms: list[float]) -> None:
    rng = np.random.default_rng(seed)
    errors, ious = [], []
    truth_total = 0
    extra = 0
    source, scenes = _scenes(count, rng)
    for image, quads in scenes:
        start = time.perf_counter()
        cards = detect_cards(image)
        detect_ms.append((time.perf_counter() - start) * 1000)
        truth_total += len(quads)
        extra += max(0, len(cards) - len(quads))
        for truth in quads:
            if not cards:
                ious.append(0.0)
                continue
            best = max(cards, key=lambda card: quad_iou(card.quad, truth)[0])
            ious.append(quad_iou(best.quad, truth)[0])
            if ious[-1] >= 0.5:  # corner error only means something for the matching card
                errors.append(corner_error(best.quad, truth))
    ious_arr = np.array(ious)
    print(
        f"simulated ({source}): {count} scenes, {truth_total} cards, recall (IoU>=0.5) "
        f"{np.mean(ious_arr >= 0.5):.1%}, IoU>=0.9 {np.mean(ious_arr >= 0.9):.1%}, "
        f"found cards' corner error mean {np.mean(errors or [np.nan]) * 100:.2f}% of card height "
        f"(median {np.median(errors or [np.nan]) * 100:.2f}%), extra detections {extra}"
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
