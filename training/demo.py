"""The embedded default: a working artifact set on a fresh clone, offline, with no tokens.

It renders a small gallery of generated cards, indexes it with the shipped embedding model
(engine/models/card_embedder.onnx: no training, no torch) and writes a few simulated photos
to try. Built once; later
starts reuse it. Users with internet replace it with the real catalog: `cardsight sync`,
then `cardsight train`/`cardsight index` into the same artifacts folder.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
from pathlib import Path

import numpy as np

from engine import artifacts
from training.cardgen import generate_gallery
from training import networks
from training.config import CalibrationConfig
from training.gallery import load_card_image, read_gallery
from training.index_build import build_artifacts
from training.photosim import PhotoSimConfig, encode_jpeg, simulate_photo

log = logging.getLogger(__name__)

DEMO_CARDS = 100
DEMO_PHOTOS = 6
DEMO_CALIBRATION = CalibrationConfig(photos=150, multi_card_photos=50, photo_size=(1024, 768))
SEED = 2026


def ensure_demo_artifacts(dest: Path) -> Path:
    """The artifact set at `dest`, building the demo set there first if none exists."""
    dest = Path(dest)
    if artifacts.exists(dest):
        return dest
    gallery = dest.parent / "demo-gallery"
    log.info("no artifact set at %s: building the demo set (about a minute, once)", dest)
    if not (gallery / "cards.jsonl").is_file():
        # Rendered beside its final place and renamed when complete: generation writes
        # cards.jsonl line by line, so a killed first start would leave a partial gallery.
        partial = gallery.with_name(".demo-gallery-partial")
        shutil.rmtree(partial, ignore_errors=True)
        generate_gallery(partial, DEMO_CARDS, seed=SEED)
        shutil.rmtree(gallery, ignore_errors=True)
        os.replace(partial, gallery)
    cfg = dataclasses.replace(networks.run_config(None), calibration=DEMO_CALIBRATION)
    build_artifacts(gallery, dest, cfg=cfg, progress=True)
    write_demo_photos(gallery, dest.parent / "demo-photos")
    return dest


def write_demo_photos(gallery: Path, out: Path) -> list[Path]:
    """A few photos of gallery cards to try `cardsight identify` and the web page on."""
    out.mkdir(parents=True, exist_ok=True)
    items = read_gallery(gallery)
    rng = np.random.default_rng(SEED)
    sim = PhotoSimConfig(size=(1600, 1200), scale=(0.5, 0.85), hardness=0.3, max_cards=2)
    paths = []
    for i in range(DEMO_PHOTOS):
        k = 1 + i % 2
        picks = rng.choice(len(items), size=k, replace=False)
        photo = simulate_photo([load_card_image(items[int(j)].image_path) for j in picks], rng, sim)
        names = "+".join(items[int(picks[c])].entry.name for c in photo.card_indices)
        path = out / f"demo-{i + 1}.jpg"
        path.write_bytes(encode_jpeg(photo.image, 88))
        paths.append(path)
        log.info("demo photo %s shows %s", path, names)
    return paths
