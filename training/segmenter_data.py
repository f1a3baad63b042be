"""Labelled scenes for the card segmenter: small simulated photos and per-pixel class maps.

Classes are background, card interior and card boundary band. The band runs along the
outline of every card's visible part, including where a card lies on another, so
touching and overlapping cards fall apart into separate interior blobs; the engine grows
each blob back by the band's half-width to recover the card. Labels are drawn from the
simulator's exact quads (later cards cover earlier ones, as photosim composites them);
fingers are not in the truth, so the label keeps the card's full shape under a finger.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import cv2
import numpy as np

from training.cardgen import random_spec, render_card
from training.photosim import PhotoSimConfig, simulate_photo

BACKGROUND, INTERIOR, BOUNDARY = 0, 1, 2
INPUT_SIZE = (160, 120)  # (W, H) of the segmenter's landscape input
BAND_RADIUS = 2  # pixels either side of an outline, at INPUT_SIZE
CARD_POOL_SIZE = (122, 170)  # (W, H) cards are kept at: plenty for a 320 px scene
_SUPERSAMPLE = 4  # quads are rasterised at this multiple, then area-reduced, for exact edges
_BAND_KERNEL = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * BAND_RADIUS + 1, 2 * BAND_RADIUS + 1))


@dataclass(frozen=True)
class SegmenterDataConfig:
    """What scenes look like: how many cards, how often none, how often rendered larger first."""

    max_cards: tuple[int, ...] = (1, 1, 2, 3, 4, 5, 6)
    empty_share: float = 0.08
    hires_share: float = 0.25  # scenes rendered at 2x and area-downscaled, like the engine's input
    portrait_share: float = 0.3  # scenes rendered portrait and turned, as portrait photos are
    finger_chance: float = 0.6  # photosim's finger_chance: the amodal label under a finger is rare and hard
    pool_cards: int = 48


def card_pool(rng: np.random.Generator, count: int, scans: Path | None = None) -> list[np.ndarray]:
    """Generated cards at CARD_POOL_SIZE, plus real scans mixed in when a scan folder is given."""
    cards = [_pool_size(render_card(random_spec(f"Card {i}", rng))) for i in range(count)]
    if scans is not None and scans.is_dir():
        paths = sorted(scans.glob("*.jpg"))
        for index in rng.permutation(len(paths))[:count]:
            image = cv2.imread(str(paths[index]), cv2.IMREAD_COLOR)
            if image is not None:
                cards.append(_pool_size(cv2.cvtColor(image, cv2.COLOR_BGR2RGB)))
    return cards


def _pool_size(card: np.ndarray) -> np.ndarray:
    return cv2.resize(card, CARD_POOL_SIZE, interpolation=cv2.INTER_AREA)


def label_map(quads: Sequence[np.ndarray], size: tuple[int, int]) -> np.ndarray:
    """(H, W) uint8 classes for cards at `quads` (image pixels, list order = bottom to top)."""
    width, height = size
    instances = np.full((height * _SUPERSAMPLE, width * _SUPERSAMPLE), -1, np.int16)
    for index, quad in enumerate(quads):
        points = np.round(np.asarray(quad, np.float64) * _SUPERSAMPLE).astype(np.int32)
        cv2.fillConvexPoly(instances, points, index)
    # Nearest-neighbour reduction keeps instance ids intact; sampling pixel centres.
    offset = _SUPERSAMPLE // 2
    instances = instances[offset::_SUPERSAMPLE, offset::_SUPERSAMPLE]
    labels = np.zeros((height, width), np.uint8)
    labels[instances >= 0] = INTERIOR
    band = np.zeros((height, width), np.uint8)
    for index in range(len(quads)):
        mask = (instances == index).astype(np.uint8)
        if mask.any():
            band |= cv2.dilate(mask, _BAND_KERNEL) ^ cv2.erode(mask, _BAND_KERNEL, borderType=cv2.BORDER_REPLICATE)
    labels[band > 0] = BOUNDARY
    return labels


def sample(
    rng: np.random.Generator, cards: Sequence[np.ndarray], config: SegmenterDataConfig = SegmenterDataConfig()
) -> tuple[np.ndarray, np.ndarray]:
    """One (image (H, W, 3) uint8, labels (H, W) uint8) pair at INPUT_SIZE, landscape."""
    width, height = INPUT_SIZE
    portrait = rng.random() < config.portrait_share
    scale = 2 if rng.random() < config.hires_share else 1
    size = (height * scale, width * scale) if portrait else (width * scale, height * scale)
    if rng.random() < config.empty_share:
        photo = simulate_photo([], rng, PhotoSimConfig(size=size))
    else:
        max_cards = int(rng.choice(config.max_cards))
        hardness = float(rng.uniform(0.3, 1.0))
        photo = simulate_photo(cards, rng, PhotoSimConfig(size=size, max_cards=max_cards, hardness=hardness,
                                                          finger_chance=config.finger_chance))
    image, quads = photo.image, [q / scale for q in photo.quads]
    if scale != 1:
        image = cv2.resize(image, (size[0] // scale, size[1] // scale), interpolation=cv2.INTER_AREA)
    labels = label_map(quads, (image.shape[1], image.shape[0]))
    if portrait:  # turn to landscape exactly as the engine turns portrait photos
        image, labels = np.ascontiguousarray(image.transpose(1, 0, 2)), np.ascontiguousarray(labels.T)
    return image, labels


def stream(seed: int, scans: Path | None = None, config: SegmenterDataConfig = SegmenterDataConfig()
           ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Endless reproducible samples from one seed."""
    rng = np.random.default_rng(seed)
    cards = card_pool(rng, config.pool_cards, scans)
    while True:
        yield sample(rng, cards, config)
