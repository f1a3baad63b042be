"""New-set day: a rebuild after a sync embeds only new or changed images and answers like a
full rebuild; a small change keeps the live calibration; a running service picks the new set up
on reload."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from pathlib import Path

import faiss
import numpy as np
import pytest

from engine import art_edges, artifacts, colour_layout
from engine.recognizer import Recognizer
from service.holder import EngineHolder
from training.cardgen import generate_gallery
from training.config import CalibrationConfig
from training.embedding_cache import EmbeddingCache
from training.index_build import build_artifacts
from training.networks import run_config

_SHIPPED = dataclasses.replace(run_config(None), calibration=CalibrationConfig(
    photos=12, multi_card_photos=3, photo_size=(640, 480), generated_photos=8, generated_cards=6))
"""A calibration small enough for tests: rendering the default 60 generated cards and photographing
them 100 times was most of each build's time here."""
INT8 = dataclasses.replace(_SHIPPED, index=dataclasses.replace(_SHIPPED.index, precision="int8"))
"""The shipped model served in int8, as "auto" serves it on a CPU with 8-bit dot products: its
int8 network is quantized on generated cards, so a sync keeps it."""
CFG = dataclasses.replace(_SHIPPED, index=dataclasses.replace(_SHIPPED.index, precision="float32"))
"""The same in float32, for the tests of the cache and calibration rules: one int8 build less each."""


@pytest.fixture(scope="module")
def gallery(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("synced")
    generate_gallery(folder, 14, seed=31, hard_negative_fraction=0.0)
    return folder


def _keep_records(gallery: Path, count: int) -> list[str]:
    """Make the gallery's cards.jsonl list only its first `count` cards; returns every line."""
    index = gallery / "cards.jsonl"
    lines = index.read_text().splitlines(keepends=True)
    index.write_text("".join(lines[:count]))
    return lines


def _vectors(set_dir: Path) -> np.ndarray:
    index = faiss.read_index(str(set_dir / "index.faiss"))
    return index.reconstruct_n(0, index.ntotal)


def _catalog_rows(set_dir: Path) -> list[tuple]:
    with sqlite3.connect(set_dir / "catalog.sqlite") as db:
        return db.execute("SELECT * FROM entries ORDER BY 1").fetchall()


async def test_a_rebuild_after_a_sync_embeds_only_new_cards_and_equals_a_full_build(
    gallery: Path, tmp_path: Path,
) -> None:
    lines = _keep_records(gallery, 10)
    try:
        first = build_artifacts(gallery, tmp_path / "live", cfg=INT8, progress=False)
    finally:
        (gallery / "cards.jsonl").write_text("".join(lines))
    assert (first.manifest["images_embedded"], first.manifest["precision"]) == (10, "int8")
    holder = EngineHolder(lambda: Recognizer.load(tmp_path / "live"))
    try:
        assert (await holder.reload()).ok and holder.info()["gallery_size"] == 10
        incremental = build_artifacts(gallery, tmp_path / "live", cfg=INT8, progress=False)
        assert (incremental.manifest["images_embedded"], incremental.manifest["embeddings_cached"]) == (4, 10)
        assert (await holder.reload()).ok
        assert holder.info()["gallery_size"] == 14  # hot reload picks the new set up
    finally:
        await holder.close()

    full = build_artifacts(gallery, tmp_path / "fresh", cfg=INT8, progress=False)
    assert full.manifest["images_embedded"] == 14
    assert full.manifest["model_version"] == incremental.manifest["model_version"]
    np.testing.assert_allclose(_vectors(incremental.path), _vectors(full.path), rtol=0, atol=1e-6)
    assert np.array_equal(np.load(incremental.file(colour_layout.FILE)), np.load(full.file(colour_layout.FILE)))
    assert np.array_equal(np.load(incremental.file(art_edges.FILE)), np.load(full.file(art_edges.FILE)))
    assert _catalog_rows(incremental.path) == _catalog_rows(full.path)
    # int8 vectors of one image differ by up to ~1e-7 with the batch it was embedded in; the fit
    # moves in its ninth digit
    assert json.loads(incremental.file("calibration.json").read_text()) == pytest.approx(
        json.loads(full.file("calibration.json").read_text()), rel=1e-6)


def test_a_rescanned_image_is_embedded_again_and_a_broken_cache_is_ignored(gallery: Path, tmp_path: Path) -> None:
    root = tmp_path / "live"
    first = build_artifacts(gallery, root, cfg=CFG, progress=False)
    assert first.manifest["images_embedded"] == 14
    record = (gallery / "cards.jsonl").read_text().splitlines()[0]
    image = gallery / json.loads(record)["image"]
    original = image.read_bytes()
    try:
        image.write_bytes(original + b"\0")  # same picture, new bytes: Scryfall re-scanned it
        rescanned = build_artifacts(gallery, root, cfg=CFG, progress=False)
    finally:
        image.write_bytes(original)
    assert rescanned.manifest["images_embedded"] == 1

    cache = EmbeddingCache(root, first.manifest["model_version"], CFG.index.views)
    assert len(cache) == 14 and sorted(p.name for p in cache.folder.iterdir()) == [cache.file.name]
    cache.file.write_bytes(b"half a file")
    rebuilt = build_artifacts(gallery, root, cfg=CFG, progress=False)
    assert rebuilt.manifest["images_embedded"] == 14
    assert artifacts.open_set(root).version == rebuilt.version


def test_a_cache_from_before_edge_maps_keeps_its_embeddings(gallery: Path, tmp_path: Path) -> None:
    """Its vectors and layouts still count; only the edge maps are computed, from the images."""
    first = build_artifacts(gallery, tmp_path / "live", cfg=CFG, progress=False)
    cache = EmbeddingCache(tmp_path / "live", first.manifest["model_version"], CFG.index.views)
    with np.load(cache.file) as data:
        old = {k: data[k] for k in data.files if k != "edges"}
    with cache.file.open("wb") as fh:
        np.savez(fh, **old)
    rebuilt = build_artifacts(gallery, tmp_path / "live", cfg=CFG, progress=False, recalibrate=True)
    assert rebuilt.manifest["images_embedded"] == 0
    assert np.array_equal(np.load(rebuilt.file(art_edges.FILE)), np.load(first.file(art_edges.FILE)))
    with np.load(cache.file) as data:
        assert "edges" in data.files  # written again with them


def test_a_small_change_keeps_the_live_calibration_unless_told_to_refit(tmp_path: Path) -> None:
    gallery = tmp_path / "synced"
    generate_gallery(gallery, 51, seed=8, hard_negative_fraction=0.0)
    lines = _keep_records(gallery, 50)
    first = build_artifacts(gallery, tmp_path / "live", cfg=CFG, progress=False)
    (gallery / "cards.jsonl").write_text("".join(lines))  # one card in 51 is new: 2%

    kept = build_artifacts(gallery, tmp_path / "live", cfg=CFG, progress=False)
    assert kept.manifest["images_embedded"] == 1
    assert kept.manifest["calibration"]["kept_from"] == first.version
    assert kept.file("calibration.json").read_bytes() == first.file("calibration.json").read_bytes()

    refit = build_artifacts(gallery, tmp_path / "live", cfg=CFG, progress=False, recalibrate=True)
    full = build_artifacts(gallery, tmp_path / "fresh", cfg=CFG, progress=False)
    assert "kept_from" not in refit.manifest["calibration"]
    assert json.loads(refit.file("calibration.json").read_text()) == pytest.approx(
        json.loads(full.file("calibration.json").read_text()), rel=1e-6)  # the fit's last digits vary with batching

    other = dataclasses.replace(CFG, calibration=dataclasses.replace(CFG.calibration, seed=99))
    changed = build_artifacts(gallery, tmp_path / "live", cfg=other, progress=False)
    assert "kept_from" not in changed.manifest["calibration"]  # other settings: fitted again


def test_a_calibration_of_an_older_format_is_fitted_again(tmp_path: Path) -> None:
    """A set built before the open-set fit has no card floor or art weight to carry forward."""
    gallery = tmp_path / "synced"
    generate_gallery(gallery, 51, seed=8, hard_negative_fraction=0.0)
    lines = _keep_records(gallery, 50)
    first = build_artifacts(gallery, tmp_path / "live", cfg=CFG, progress=False)
    manifest = json.loads(first.file("manifest.json").read_text())
    del manifest["calibration"]["format"]
    first.file("manifest.json").write_text(json.dumps(manifest))
    (gallery / "cards.jsonl").write_text("".join(lines))
    rebuilt = build_artifacts(gallery, tmp_path / "live", cfg=CFG, progress=False)
    assert rebuilt.manifest["images_embedded"] == 1 and "kept_from" not in rebuilt.manifest["calibration"]
