"""Faiss search: every index kind round-trips through a file (copied or memory-mapped), finds each
entry itself and ranks as the exact search does; `auto` is exact for small galleries."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.index_layout import EXACT_UP_TO, KINDS, LARGE, resolve_kind
from engine.search import Searcher, build_index, save_index

DIM = 32


def unit_rows(n: int, seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def gallery_vectors(rows: int, seed: int = 0) -> np.ndarray:
    """Interleaved (row upright, row turned) vectors, as `embed_gallery` writes them."""
    return unit_rows(2 * rows, seed)


def saved_searcher(tmp_path: Path, vectors: np.ndarray, kind: str, *, mmap: bool = True) -> Searcher:
    path = tmp_path / f"{kind}.faiss"
    save_index(build_index(vectors, kind), path)
    return Searcher.load(path, mmap=mmap)


@pytest.mark.parametrize("mmap", [True, False])
@pytest.mark.parametrize("kind", KINDS)
def test_round_trip_and_each_vector_finds_its_row(tmp_path: Path, kind: str, mmap: bool) -> None:
    rows = 300
    vectors = gallery_vectors(rows)
    searcher = saved_searcher(tmp_path, vectors, kind, mmap=mmap)
    assert searcher.size == rows
    scores, found = searcher.search(vectors, 3)
    assert scores.shape == found.shape == (2 * rows, 3)
    expected = np.arange(2 * rows) // 2
    assert (found[:, 0] == expected).all()
    assert np.allclose(scores[:, 0], 1.0, atol=2e-3)  # float16 vectors: ~1e-3 off
    assert (np.diff(scores, axis=1) <= 1e-6).all()  # best first


@pytest.mark.parametrize("kind", KINDS)
def test_tiny_gallery_builds_for_every_kind(tmp_path: Path, kind: str) -> None:
    """One card (two vectors) is a valid gallery, IVF included."""
    vectors = gallery_vectors(1, seed=3)
    searcher = saved_searcher(tmp_path, vectors, kind)
    scores, found = searcher.search(vectors[:1], 1)
    assert found.tolist() == [[0]] and scores[0, 0] == pytest.approx(1.0, abs=2e-3)


def test_both_orientations_of_a_row_collapse_to_one_result(tmp_path: Path) -> None:
    vectors = gallery_vectors(5, seed=1)
    vectors[1] = vectors[0]  # row 0's turned copy is as close as its upright one
    searcher = saved_searcher(tmp_path, vectors, "flat")
    scores, found = searcher.search(vectors[:1], 5)
    assert found[0, 0] == 0
    assert sorted(found[0].tolist()) == [0, 1, 2, 3, 4]  # five distinct rows, 0 only once


def test_row_score_is_its_better_orientation(tmp_path: Path) -> None:
    vectors = gallery_vectors(4, seed=2)
    query = vectors[3:4]  # row 1 turned
    scores, found = saved_searcher(tmp_path, vectors, "flat").search(query, 1)
    assert found[0, 0] == 1 and scores[0, 0] == pytest.approx(1.0, abs=1e-5)


def test_k_beyond_the_gallery_pads_with_minus_one(tmp_path: Path) -> None:
    vectors = gallery_vectors(3, seed=4)
    scores, found = saved_searcher(tmp_path, vectors, "flat").search(vectors[:2], 6)
    assert found.shape == (2, 6)
    assert sorted(found[0, :3].tolist()) == [0, 1, 2]
    assert (found[:, 3:] == -1).all() and (scores[:, 3:] == -1.0).all()


def test_no_queries(tmp_path: Path) -> None:
    searcher = saved_searcher(tmp_path, gallery_vectors(3), "flat")
    scores, found = searcher.search(np.zeros((0, DIM), np.float32), 4)
    assert scores.shape == found.shape == (0, 4)


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown index kind 'lsh'"):
        build_index(gallery_vectors(2), "lsh")


def test_auto_is_exact_for_small_galleries_and_the_large_layout_beyond() -> None:
    assert resolve_kind("auto", EXACT_UP_TO) == "flat"
    assert resolve_kind("auto", EXACT_UP_TO + 1) == LARGE != "flat"
    assert resolve_kind("hnsw", 10) == "hnsw"
    assert build_index(gallery_vectors(20), "auto").__class__.__name__ == "IndexFlatIP"


@pytest.mark.parametrize("kind", [k for k in KINDS if k not in ("auto", "flat")])
def test_layouts_rank_photo_like_queries_as_the_exact_search(tmp_path: Path, kind: str) -> None:
    """Queries near but not on gallery vectors (as photos' crops are): the same shortlist as
    exact float32 search, scores within float16's rounding."""
    vectors = gallery_vectors(400, seed=5)
    noisy = vectors[::7] + 0.05 * unit_rows(len(vectors[::7]), seed=6)
    queries = noisy / np.linalg.norm(noisy, axis=1, keepdims=True)
    exact_scores, exact_rows = saved_searcher(tmp_path, vectors, "flat").search(queries, 10)
    scores, rows = saved_searcher(tmp_path, vectors, kind).search(queries, 10)
    assert (rows[:, 0] == exact_rows[:, 0]).all()
    overlap = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(rows, exact_rows)])
    assert overlap >= 0.95
    assert np.allclose(scores[:, 0], exact_scores[:, 0], atol=2e-3)


def test_memory_mapped_index_holds_no_copy_of_its_vectors(tmp_path: Path) -> None:
    """A mapped set costs its pages once, however many serving processes map it."""
    vectors = unit_rows(2 * 20_000, seed=7)
    path = tmp_path / "flat.faiss"
    save_index(build_index(vectors, "flat"), path)
    before = _anon_mb()
    mapped = Searcher.load(path, mmap=True)
    mapped.search(vectors[:3], 5)
    grew = _anon_mb() - before
    assert grew < 0.25 * path.stat().st_size / 1e6, grew
    assert mapped.search(vectors[:3], 1)[1][:, 0].tolist() == [0, 0, 1]


def _anon_mb() -> float:
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) / 1024 for line in fh if line.startswith("RssAnon"))
