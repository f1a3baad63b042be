"""The embedding network and its ONNX export: what torch computes, the engine's graph computes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from engine.embed import Embedder
from training.export import export_onnx
from training.model import CardEmbedder, ModelConfig

SMALL = ModelConfig(input_width=64, input_height=96, embedding_dim=48)


@pytest.fixture(scope="module")
def model() -> CardEmbedder:
    torch.manual_seed(0)
    return CardEmbedder(SMALL).eval()


@pytest.fixture(scope="module")
def onnx_path(model: CardEmbedder, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("onnx") / "model.onnx"
    export_onnx(model, path)
    return path


def crops(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, SMALL.input_height, SMALL.input_width, 3), np.uint8)


def test_torch_output_shape_and_unit_norm(model: CardEmbedder) -> None:
    with torch.no_grad():
        out = model(torch.from_numpy(crops(3)))
    assert out.shape == (3, SMALL.embedding_dim) and out.dtype == torch.float32
    assert torch.allclose(out.norm(dim=1), torch.ones(3), atol=1e-5)


def test_distinct_images_get_distinct_embeddings(model: CardEmbedder) -> None:
    with torch.no_grad():
        out = model(torch.from_numpy(crops(2, seed=1)))
    assert float(out[0] @ out[1]) < 0.999


def test_onnx_matches_torch(model: CardEmbedder, onnx_path: Path) -> None:
    batch = crops(5, seed=2)
    with torch.no_grad():
        expected = model(torch.from_numpy(batch)).numpy()
    got = Embedder(onnx_path, threads=1).embed(list(batch))
    assert got.shape == expected.shape == (5, SMALL.embedding_dim)
    assert np.abs(got - expected).max() < 1e-4


def test_embedder_reads_size_and_dim_from_the_graph(onnx_path: Path) -> None:
    embedder = Embedder(onnx_path)
    assert embedder.input_size == (SMALL.input_width, SMALL.input_height)
    assert embedder.dim == SMALL.embedding_dim
    out = embedder.embed(list(crops(2, seed=3)))
    assert out.dtype == np.float32 and out.flags["C_CONTIGUOUS"]
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)


def test_batches_of_any_size_agree_with_single_crops(onnx_path: Path) -> None:
    embedder = Embedder(onnx_path)
    batch = list(crops(3, seed=4))
    together = embedder.embed(batch)
    alone = np.concatenate([embedder.embed([c]) for c in batch])
    assert np.abs(together - alone).max() < 1e-5


def test_empty_batch(onnx_path: Path) -> None:
    out = Embedder(onnx_path).embed([])
    assert out.shape == (0, SMALL.embedding_dim) and out.dtype == np.float32


def test_wrong_crop_size_is_a_clear_error(onnx_path: Path) -> None:
    wrong = np.zeros((SMALL.input_width, SMALL.input_height, 3), np.uint8)  # W and H swapped
    with pytest.raises(ValueError, match=r"64x96"):
        Embedder(onnx_path).embed([wrong])
