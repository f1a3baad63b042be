"""Training's split of the network at its frozen blocks: the same function, computed once where it can be."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from training.config import RunConfig, TrainConfig
from training.frozen import ReferenceFeatures, freeze_leading_blocks, frozen_precision
from training.model import CardEmbedder, ModelConfig
from training.pairs import PairDataset
from training.train import train

SMALL = ModelConfig(input_width=64, input_height=96, embedding_dim=32)


@pytest.fixture(scope="module")
def model() -> CardEmbedder:
    torch.manual_seed(0)
    net = CardEmbedder(SMALL)
    freeze_leading_blocks(net, 6)
    return net.eval()


@pytest.fixture(scope="module")
def references(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Six images with distinct, lopsided content, so a half-turn changes them."""
    import cv2

    folder = tmp_path_factory.mktemp("refs")
    rng = np.random.default_rng(3)
    paths = []
    for i in range(6):
        image = np.full((88, 63, 3), 40 * i, np.uint8)
        image[: 20 + 5 * i, : 30] = rng.integers(0, 256, 3)
        path = folder / f"card{i}.png"
        cv2.imwrite(str(path), image)
        paths.append(path)
    return paths


@pytest.mark.parametrize("blocks", [0, 6, 16])
def test_split_network_is_the_network(model: CardEmbedder, blocks: int) -> None:
    images = torch.from_numpy(np.random.default_rng(blocks).integers(0, 256, (3, 96, 64, 3), np.uint8))
    with torch.no_grad():
        whole = model(images)
        split = model.embed_features(model.early_features(images, blocks), blocks)
    assert torch.allclose(whole, split, atol=1e-6)


def test_batches_say_which_references_are_half_turned(references: list[Path]) -> None:
    data = PairDataset(references, (64, 96), batch=6, seed=0, hardness=0.5, steps=4)
    seen = set()
    for step in range(4):
        refs, photos, cards, turned = data[step]
        assert refs.shape == photos.shape == (6, 96, 64, 3)
        for ref, card, flag in zip(refs.numpy(), cards.tolist(), turned.tolist()):
            upright = data.reference(card)
            assert np.array_equal(ref, upright[::-1, ::-1] if flag else upright)
            seen.add(flag)
    assert seen == {True, False}


def test_cached_reference_features_are_the_frozen_part_of_each_reference(
    model: CardEmbedder, references: list[Path]
) -> None:
    data = PairDataset(references, (64, 96), batch=4, seed=0, hardness=0.5, steps=1)
    device = torch.device("cpu")
    cached = ReferenceFeatures(model, data, 6, device)
    cards, turned = torch.tensor([4, 1, 4]), torch.tensor([False, True, True])
    images = torch.from_numpy(np.stack([data.reference(4), data.reference(1)[::-1, ::-1], data.reference(4)[::-1, ::-1]]))
    with torch.no_grad(), frozen_precision(device):
        expected = model.early_features(images, 6)
    got = cached.lookup(cards, turned)
    assert got.shape == expected.shape
    assert torch.allclose(got.float(), expected.float(), atol=1e-2, rtol=1e-2)
    assert not torch.allclose(got[0].float(), got[2].float(), atol=1e-2)  # a half-turn is another input


def test_freezing_more_blocks_than_the_backbone_has_is_refused() -> None:
    with pytest.raises(ValueError, match="frozen_blocks"):
        freeze_leading_blocks(CardEmbedder(dataclasses.replace(SMALL, pretrained=False)), 17)


def test_training_takes_back_the_cores_faiss_left_it_without(references: list[Path], tmp_path: Path) -> None:
    cfg = RunConfig(model=SMALL, train=TrainConfig(steps=1, batch_pairs=4, frozen_blocks=14, workers=0))
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train(references, tmp_path / "run", cfg, progress=False)
        assert torch.get_num_threads() == len(os.sched_getaffinity(0))
    finally:
        torch.set_num_threads(before)
