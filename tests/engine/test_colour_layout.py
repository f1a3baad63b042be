"""Colour-layout re-ranking: the score, the shortlist it reorders, and sets built without it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from engine import artifacts, colour_layout
from engine.colour_layout import ColourLayouts, LayoutSettings, fuse, layout, signatures, similarity
from engine.errors import ArtifactError
from engine.recognizer import Recognizer
from training.gallery import load_card_image, read_gallery


@pytest.fixture(scope="module")
def gallery_images(demo_gallery: Path) -> list[np.ndarray]:
    return [load_card_image(item.image_path, (160, 224)) for item in read_gallery(demo_gallery)]


def photographed(image: np.ndarray) -> np.ndarray:
    """A warm cast, brighter exposure, defocus and sensor noise: what a phone adds."""
    rng = np.random.default_rng(0)
    out = image.astype(np.float32) * np.array([1.15, 0.95, 0.8]) + 25
    out = cv2.GaussianBlur(out, (0, 0), 2.5) + rng.normal(0, 8, out.shape)
    return np.clip(out, 0, 255).astype(np.uint8)


def test_a_photographed_card_lines_up_best_with_its_own_scan(gallery_images: list[np.ndarray]) -> None:
    stored = signatures(np.stack([layout(g) for g in gallery_images]))
    for k in range(0, len(gallery_images), 5):
        crop = photographed(gallery_images[k])
        scores = similarity(layout(crop), stored)
        assert int(np.argmax(scores)) == k
        # a crop upside down (the detector can't tell) scores the same against every card
        turned = similarity(layout(np.ascontiguousarray(crop[::-1, ::-1])), stored)
        assert np.allclose(turned, scores, atol=1e-3)
    assert similarity(layout(gallery_images[0]), stored[:1])[0] == pytest.approx(1.0, abs=0.01)


def test_rerank_puts_the_matching_layout_first_and_keeps_padding(tmp_path: Path,
                                                                 gallery_images: list[np.ndarray]) -> None:
    np.save(tmp_path / colour_layout.FILE, signatures(np.stack([layout(g) for g in gallery_images])))
    layouts = ColourLayouts(tmp_path / colour_layout.FILE, LayoutSettings(weight=1.5, shortlist=4))
    crop = photographed(gallery_images[7])
    # The embedding ranks the right card (7) last of three, narrowly; -1 pads the shortlist.
    scores = np.array([0.62, 0.60, 0.59, -1.0], np.float32)
    rows = np.array([3, 5, 7, -1], np.int64)
    out_scores, out_rows = layouts.rerank(crop, scores, rows, keep=4)
    assert out_rows.tolist()[0] == 7 and sorted(out_rows.tolist()[:3]) == [3, 5, 7]
    assert out_rows[3] == -1 and out_scores[3] == -1.0
    assert (np.diff(out_scores[:3]) <= 0).all()
    expected = fuse(0.59, similarity(layout(crop), signatures(layout(gallery_images[7])[None]))[0], 1.5)
    assert out_scores[0] == pytest.approx(expected, abs=1e-5)
    kept_scores, kept_rows = layouts.rerank(crop, scores, rows, keep=2)
    assert kept_rows.tolist() == out_rows.tolist()[:2] and kept_scores.shape == (2,)


def copy_set(artifacts_dir: Path, dest: Path) -> Path:
    shutil.copytree(artifacts.resolve(artifacts_dir), dest)
    return dest


def rewrite_manifest(folder: Path, edit) -> None:
    path = folder / artifacts.MANIFEST
    manifest = json.loads(path.read_text(encoding="utf-8"))
    edit(manifest)
    path.write_text(json.dumps(manifest), encoding="utf-8")


def test_built_set_reranks_and_a_set_without_layouts_ranks_by_embedding(
    tmp_path: Path, artifacts_dir: Path, recognizer: Recognizer, demo_photos: list[tuple[bytes, str]]
) -> None:
    assert recognizer.layouts is not None and recognizer.layouts.size == recognizer.catalog.size
    older = copy_set(artifacts_dir, tmp_path / "older")

    def drop_layouts(manifest: dict) -> None:
        del manifest["colour_layout"], manifest["files"][colour_layout.FILE]

    rewrite_manifest(older, drop_layouts)
    (older / colour_layout.FILE).unlink()
    plain = Recognizer.load(older)
    try:
        assert plain.layouts is None
        data, name = demo_photos[0]
        found, _ = plain.analyse(data)
        assert found[0].matches[0].name == name
        raw, _ = plain.searcher.search(plain.embed_crops([found[0].crop]), 1)
        assert found[0].matches[0].score == pytest.approx(float(raw[0, 0]), abs=1e-5)
        reranked, _ = recognizer.analyse(data)
        raw, _ = recognizer.searcher.search(recognizer.embed_crops([reranked[0].crop]), 1)
        assert reranked[0].matches[0].name == name
        assert reranked[0].matches[0].score != pytest.approx(float(raw[0, 0]), abs=1e-3)
    finally:
        plain.close()


def test_weight_zero_builds_a_set_without_layouts(tmp_path: Path, demo_gallery: Path) -> None:
    from training.config import CalibrationConfig, IndexConfig, RunConfig
    from training.index_build import build_artifacts

    cfg = RunConfig(index=IndexConfig(layout_weight=0.0),
                    calibration=CalibrationConfig(photos=10, multi_card_photos=0, photo_size=(640, 480), generated_photos=4, generated_cards=3))
    built = build_artifacts(demo_gallery, tmp_path, cfg=cfg, progress=False)
    assert "colour_layout" not in built.manifest and not built.file(colour_layout.FILE).exists()
    plain = Recognizer.load(tmp_path)
    try:
        assert plain.layouts is None and plain.info()["colour_layout"] is None
        assert plain.info()["stages"]["rerankers"] == [] and "art" not in plain.info()["stages"]["verifiers"]
    finally:
        plain.close()


@pytest.mark.parametrize(("damage", "message"), [
    (lambda stored: stored[:-1], "entries differ"),
    (lambda stored: stored.astype(np.float32), "rebuild with `cardsight index`"),
    (lambda stored: stored[:, :100], "rebuild with `cardsight index`"),
])
def test_layouts_that_do_not_fit_the_set_are_refused(tmp_path: Path, artifacts_dir: Path, damage, message: str) -> None:
    broken = copy_set(artifacts_dir, tmp_path / "broken")
    np.save(broken / colour_layout.FILE, damage(np.load(broken / colour_layout.FILE)))
    checksum = artifacts.sha256_file(broken / colour_layout.FILE)
    rewrite_manifest(broken, lambda m: m["files"].__setitem__(colour_layout.FILE, checksum))
    with pytest.raises(ArtifactError, match=message):
        Recognizer.load(broken)
