"""Session fixtures shared by the engine, bot and service tests.

They build one small real artifact set from generated cards (ImageNet backbone, no
fine-tuning; about half a minute on two cores) and a few clean simulated photos of its
cards, so every layer is tested against the real engine rather than a mock of it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

GALLERY_CARDS = 24
EASY_PHOTOS = dict(size=(1024, 768), scale=(0.6, 0.85), max_perspective_deg=15.0,
                   hardness=0.0, occlusion=False)


@pytest.fixture(scope="session")
def demo_gallery(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from training.cardgen import generate_gallery

    folder = tmp_path_factory.mktemp("gallery")
    generate_gallery(folder, GALLERY_CARDS, seed=11, hard_negative_fraction=0.0)
    return folder


@pytest.fixture(scope="session")
def artifacts_dir(tmp_path_factory: pytest.TempPathFactory, demo_gallery: Path) -> Path:
    from training.config import CalibrationConfig, RunConfig
    from training.index_build import build_artifacts

    root = tmp_path_factory.mktemp("artifacts")
    calibration = CalibrationConfig(photos=40, multi_card_photos=10, photo_size=(800, 600),
                                    generated_photos=10, generated_cards=6)
    cfg = dataclasses.replace(RunConfig(), calibration=calibration)
    build_artifacts(demo_gallery, root, cfg=cfg, progress=False)
    return root


@pytest.fixture(scope="session")
def recognizer(artifacts_dir: Path):
    from engine.recognizer import Recognizer

    rec = Recognizer.load(artifacts_dir)
    yield rec
    rec.close()


@pytest.fixture(scope="session")
def demo_photos(demo_gallery: Path) -> list[tuple[bytes, str]]:
    """Clean photos (one card each, mild angle) of gallery cards: (JPEG bytes, right name)."""
    from training.gallery import load_card_image, read_gallery
    from training.photosim import PhotoSimConfig, encode_jpeg, simulate_photo

    items = read_gallery(demo_gallery)
    rng = np.random.default_rng(5)
    photos = []
    for item in items[:6]:
        photo = simulate_photo([load_card_image(item.image_path)], rng, PhotoSimConfig(**EASY_PHOTOS))
        photos.append((encode_jpeg(photo.image, 90), item.entry.name))
    return photos
