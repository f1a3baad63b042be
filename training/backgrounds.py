"""Surfaces cards are photographed on: wood tables, playmats, notebook paper, cloth.

Each is drawn at a working size of at most ~800 px and resized: table texture is low
frequency compared with the card edges a detector looks for, and it keeps a 12 MP frame
cheap. Output is float32 RGB in [0, 1].
"""

from __future__ import annotations

from typing import Callable

import cv2
import numpy as np

from training.art import MASTER_SIZE, art_crop, fractal_noise

WORK_SIZE = 800


def _wood(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    base = rng.uniform([0.35, 0.2, 0.08], [0.75, 0.5, 0.3]).astype(np.float32)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    warp = fractal_noise(rng, height, width, octaves=4, base=3) * rng.uniform(10, 40)
    rings = 0.5 + 0.5 * np.sin(ys / height * rng.uniform(60, 160) + warp)
    fibres = cv2.resize(rng.random((height, 24), dtype=np.float32), (width, height))
    shade = 0.7 + 0.2 * rings + 0.15 * fibres
    plank = max(40, int(height * rng.uniform(0.12, 0.3)))
    offsets = rng.uniform(0.85, 1.1, height // plank + 2).astype(np.float32)
    shade *= offsets[(ys // plank).astype(int)]
    shade[(ys % plank) < max(1, plank // 60)] *= 0.35
    image = base * shade[..., None]
    if rng.random() < 0.5:  # grain runs either way across the frame
        image = cv2.rotate(cv2.resize(image, (height, width)), cv2.ROTATE_90_CLOCKWISE)
    return image


def _playmat(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    art = art_crop(int(rng.integers(2**31 - 1)), width, height).astype(np.float32) / 255
    # the art master is small: soften its upscaled pixel steps, as the print's texture does
    art = cv2.GaussianBlur(art, (0, 0), 0.5 * max(width, height) / MASTER_SIZE)
    image = art * rng.uniform(0.45, 0.9)
    if rng.random() < 0.5:  # stitched rim of the mat
        rim = max(2, int(min(height, width) * 0.012))
        edge = int(rng.integers(4))
        colour = rng.uniform(0, 0.25, 3).astype(np.float32)
        if edge == 0:
            image[:rim] = colour
        elif edge == 1:
            image[-rim:] = colour
        elif edge == 2:
            image[:, :rim] = colour
        else:
            image[:, -rim:] = colour
    return image


def _paper(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    tint = rng.uniform([0.86, 0.85, 0.8], [0.98, 0.97, 0.95]).astype(np.float32)
    fibre = fractal_noise(rng, height, width, octaves=3, base=16)[..., None]
    image = np.ascontiguousarray(tint * (0.96 + 0.05 * fibre))
    style = int(rng.integers(3))
    spacing = max(8, int(min(height, width) * rng.uniform(0.03, 0.05)))
    if style >= 1:  # ruled notebook
        line = (0.55, 0.7, 0.9)
        for y in range(spacing, height, spacing):
            cv2.line(image, (0, y), (width - 1, y), line, 1, cv2.LINE_AA)
        if style == 2:  # squared
            for x in range(spacing, width, spacing):
                cv2.line(image, (x, 0), (x, height - 1), line, 1, cv2.LINE_AA)
        else:
            margin = int(width * rng.uniform(0.08, 0.2))
            cv2.line(image, (margin, 0), (margin, height - 1), (0.9, 0.45, 0.45), 1, cv2.LINE_AA)
    return image


def _cloth(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    colour = rng.uniform(0.1, 0.7, 3).astype(np.float32)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    period = rng.uniform(2.5, 5)
    weave = 0.5 + 0.25 * (np.sin(xs * np.pi / period) * np.sin(ys * np.pi / period))
    folds = fractal_noise(rng, height, width, octaves=3, base=2)
    return colour * (0.65 + 0.3 * weave + 0.3 * folds)[..., None]


def _binder(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A binder page behind its pockets: dark card stock, black to navy or grey."""
    colour = rng.uniform(0.03, 0.3) * rng.uniform([0.8, 0.8, 0.8], [1.0, 1.0, 1.25]).astype(np.float32)
    grain = fractal_noise(rng, height, width, octaves=3, base=8)
    return colour * (0.9 + 0.2 * grain)[..., None]


BACKGROUNDS: dict[str, Callable[[np.random.Generator, int, int], np.ndarray]] = {
    "wood": _wood, "playmat": _playmat, "paper": _paper, "cloth": _cloth, "binder": _binder,
}
TABLES = {"wood": 0.25, "playmat": 0.4, "paper": 0.2, "cloth": 0.15}
"""The surfaces a random background is drawn from, and how often."""


def make_background(rng: np.random.Generator, width: int, height: int, kind: str | None = None) -> np.ndarray:
    """A random (or the named) surface as float32 RGB (height, width, 3), about [0, 1]."""
    if kind is None:
        kind = str(rng.choice(list(TABLES), p=list(TABLES.values())))
    if kind not in BACKGROUNDS:
        raise ValueError(f"unknown background {kind!r}; choose from {', '.join(BACKGROUNDS)}")
    scale = min(1.0, WORK_SIZE / max(width, height))
    work_w, work_h = max(8, round(width * scale)), max(8, round(height * scale))
    image = BACKGROUNDS[kind](rng, work_h, work_w).astype(np.float32)
    if (work_w, work_h) != (width, height):
        image = cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)
    return image
