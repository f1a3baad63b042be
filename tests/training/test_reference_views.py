"""A reference's vector is the mean of its clean scan's and of simulated photo crops of it: the
same image always gets the same vector, and it lies nearer photos of the card than the scan's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.embed import Embedder
from training.networks import SHIPPED_MODEL
from training.cardgen import generate_gallery
from training.gallery import load_card_image, read_gallery
from training.index_build import reference_vectors
from training.photosim import augment_crop


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder(SHIPPED_MODEL, threads=1)


@pytest.fixture(scope="module")
def cards(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> list[np.ndarray]:
    folder = tmp_path_factory.mktemp("cards")
    generate_gallery(folder, 3, seed=5, hard_negative_fraction=0.0)
    return [load_card_image(item.image_path, embedder.input_size) for item in read_gallery(folder)]


def test_without_views_the_reference_is_its_scan_upright_and_turned(embedder: Embedder, cards: list[np.ndarray]) -> None:
    card = cards[0]
    expected = embedder.embed([card, np.ascontiguousarray(card[::-1, ::-1])])
    np.testing.assert_allclose(reference_vectors(embedder, [card], 0, ["ab" * 32])[0], expected, atol=1e-6)


def test_views_are_drawn_from_the_digest(embedder: Embedder, cards: list[np.ndarray]) -> None:
    card = cards[0]
    first = reference_vectors(embedder, [card], 3, ["0f" * 32])[0]
    np.testing.assert_array_equal(first, reference_vectors(embedder, [card], 3, ["0f" * 32])[0])
    other = reference_vectors(embedder, [card], 3, ["e1" * 32])[0]
    assert not np.allclose(first, other, atol=1e-4)
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    together = reference_vectors(embedder, cards, 3, ["0f" * 32, "e1" * 32, "77" * 32], batch=5)
    alone = [reference_vectors(embedder, [card], 3, [d])[0] for card, d in zip(cards, ["0f" * 32, "e1" * 32, "77" * 32])]
    np.testing.assert_allclose(together, np.stack(alone), atol=1e-5)  # each card's views, whatever the batch


def test_the_mean_of_views_lies_nearer_photos_of_the_card(embedder: Embedder, cards: list[np.ndarray]) -> None:
    rng = np.random.default_rng(99)  # photos drawn apart from any digest's views
    nearer = []
    for k, card in enumerate(cards):
        clean = reference_vectors(embedder, [card], 0, [f"{k:02x}" * 32])[0, 0]
        viewed = reference_vectors(embedder, [card], 8, [f"{k:02x}" * 32])[0, 0]
        photos = embedder.embed([augment_crop(card, rng, hardness=1.0, out_size=embedder.input_size)
                                 for _ in range(8)])
        nearer.append(float((photos @ viewed).mean() - (photos @ clean).mean()))
    assert min(nearer) > 0, nearer


def test_crops_embedded_in_batches_read_as_in_one_call(embedder: Embedder, cards: list[np.ndarray]) -> None:
    crops = [*cards, *(np.ascontiguousarray(c[::-1, ::-1]) for c in cards)]
    np.testing.assert_allclose(embedder.embed_batched(crops, 4), embedder.embed(crops), atol=1e-5)
    assert embedder.embed_batched([], 4).shape == (0, embedder.dim)
    assert reference_vectors(embedder, [], 3, []).shape == (0, 2, embedder.dim)
    with pytest.raises(ValueError):
        embedder.embed_batched(crops, 0)
