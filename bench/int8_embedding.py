"""The served network in float32 against int8: the embedding's own top-1 and ms per crop.

Quantizes an artifact set's float32 model.onnx two ways (every layer; stem and head kept in
float32, as `cardsight index --precision int8` builds it), then embeds the gallery's
references and simulated photo crops of them with each network and counts crops whose
nearest reference (by embedding alone, no re-ranking) has the right name. Run from the repo
root with nothing else running:

    .venv/bin/python -m bench.int8_embedding --artifacts var/artifacts-scans [--gallery ../shared/data]
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from bench.paths import SHARED, shared_help
from engine import artifacts
from engine.embed import Embedder
from training.gallery import load_card_image, read_gallery
from training.photosim import augment_crop
from training.quantize import calibration_crops, quantize_embedder

_BATCH = 64


def _embed_all(embedder: Embedder, images: list[np.ndarray]) -> np.ndarray:
    return np.concatenate([embedder.embed(images[i : i + _BATCH]) for i in range(0, len(images), _BATCH)])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--artifacts", type=Path, required=True, help="a float32 set built from --gallery")
    p.add_argument("--gallery", type=Path, default=SHARED, help=shared_help("real scans"))
    p.add_argument("--crops", type=int, default=400)
    p.add_argument("--seed", type=int, default=77)
    args = p.parse_args()
    float_model = artifacts.resolve(args.artifacts) / "model.onnx"
    size = Embedder(float_model).input_size
    items = read_gallery(args.gallery)
    refs = [load_card_image(item.image_path, size) for item in items]
    rng = np.random.default_rng(args.seed)
    picks = rng.choice(len(items), args.crops)
    crops = [augment_crop(refs[i], rng, hardness=1.0, out_size=size) for i in picks]
    names = np.array([item.entry.name for item in items])
    print(f"# bench/int8_embedding.py, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.machine()}; "
          f"{args.artifacts}, {len(items)} references, {args.crops} simulated crops (seed {args.seed})")
    with tempfile.TemporaryDirectory() as tmp:
        calibration = calibration_crops(size)
        models = {"float32": float_model}
        for name, keep in (("int8, every layer", False), ("int8, stem and head float32 (as built)", True)):
            models[name] = Path(tmp) / f"{keep}.onnx"
            quantize_embedder(float_model, models[name], calibration, float_stem_and_head=keep)
        for name, model in models.items():
            embedder = Embedder(model)
            gallery, queries = _embed_all(embedder, refs), _embed_all(embedder, crops)
            top1 = float(np.mean(names[(queries @ gallery.T).argmax(1)] == names[picks]))
            times = []
            for crop in crops[:60]:
                started = time.perf_counter()
                embedder.embed([crop])
                times.append(time.perf_counter() - started)
            print(f"{name}: embedding top-1 {100 * top1:.2f}%, {1000 * np.median(times[10:]):.2f} ms a crop (p50)")


if __name__ == "__main__":
    main()
