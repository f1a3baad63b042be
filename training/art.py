"""Procedural artwork, a pure function of a seed.

Card art is most of a card's area and what an embedding model keys on, so the generator
makes several visually different kinds of picture (landscapes, creature silhouettes,
abstract shapes, fractal noise). Each seed renders one square master image; frames crop
it around the centre to their own art-box shape, so one seed is "the same artwork" in a
normal frame and in an extended or full-art frame, as reprints are in real sets.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

MASTER_SIZE = 288


def fractal_noise(rng: np.random.Generator, height: int, width: int, octaves: int = 5,
                  base: int = 4, persistence: float = 0.55) -> np.ndarray:
    """Sum of upsampled random grids in [0, 1]: cheap value noise with natural-looking detail."""
    total = np.zeros((height, width), np.float32)
    amplitude, norm = 1.0, 0.0
    for octave in range(octaves):
        cells = base * 2**octave
        grid = rng.random((cells + 1, max(2, cells * width // height) + 1), dtype=np.float32)
        total += amplitude * cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC)
        norm += amplitude
        amplitude *= persistence
    total /= norm
    lo, hi = float(total.min()), float(total.max())
    return (total - lo) / max(hi - lo, 1e-6)


def random_palette(rng: np.random.Generator, count: int) -> np.ndarray:
    """`count` harmonious RGB colours in [0, 1]: hues near a base hue, rising lightness."""
    base = rng.random()
    hues = (base + rng.normal(0, 0.12, count)) % 1.0
    sats = rng.uniform(0.35, 0.95, count)
    vals = np.sort(rng.uniform(0.15, 1.0, count))
    hsv = np.stack([hues * 180, sats * 255, vals * 255], -1).astype(np.uint8)[None]
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0].astype(np.float32) / 255


def colour_map(values: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Map [0, 1] values through a palette by linear interpolation between its stops."""
    stops = np.linspace(0, 1, len(palette))
    return np.stack([np.interp(values, stops, palette[:, c]) for c in range(3)], -1).astype(np.float32)


def _vertical_gradient(size: int, top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    t = np.linspace(0, 1, size, dtype=np.float32)[:, None, None]
    return np.broadcast_to(top * (1 - t) + bottom * t, (size, size, 3)).copy()


def _ridge(rng: np.random.Generator, length: int, octaves: int = 5) -> np.ndarray:
    """1-D fractal profile in [0, 1] for mountain and hill silhouettes."""
    xs = np.linspace(0, 1, length)
    total = np.zeros(length)
    for octave in range(octaves):
        knots = 2 ** (octave + 1) + 1
        total += 0.5**octave * np.interp(xs, np.linspace(0, 1, knots), rng.random(knots))
    return (total - total.min()) / max(np.ptp(total), 1e-6)


def _landscape(rng: np.random.Generator, size: int) -> np.ndarray:
    palette = random_palette(rng, 5)
    image = _vertical_gradient(size, palette[-1], palette[-2] * 0.8)
    if rng.random() < 0.7:
        centre = (int(rng.uniform(0.15, 0.85) * size), int(rng.uniform(0.1, 0.4) * size))
        glow = np.zeros((size, size), np.float32)
        cv2.circle(glow, centre, int(size * rng.uniform(0.04, 0.1)), 1.0, -1, cv2.LINE_AA)
        glow = cv2.GaussianBlur(glow, (0, 0), size * 0.03) + 0.6 * glow
        image += glow[..., None] * rng.uniform(0.5, 1.0, 3).astype(np.float32)
    xs = np.arange(size)
    layers = int(rng.integers(2, 5))
    for i in range(layers):
        ridge = _ridge(rng, size)
        height = size * (0.35 + 0.5 * (i + 1) / (layers + 1)) - ridge * size * rng.uniform(0.1, 0.35)
        mask = (np.arange(size)[:, None] >= height[None, xs]).astype(np.float32)
        shade = palette[min(i, len(palette) - 1)] * (0.35 + 0.5 * (1 - i / layers))
        texture = fractal_noise(rng, size, size, octaves=4, base=8)[..., None] * 0.25 + 0.85
        image = image * (1 - mask[..., None]) + mask[..., None] * shade * texture
    return image


def _creature(rng: np.random.Generator, size: int) -> np.ndarray:
    palette = random_palette(rng, 4)
    noise = fractal_noise(rng, size, size, octaves=4)
    image = colour_map(noise * 0.6 + 0.2, palette[[0, 1, 3]] * 0.9)
    body = np.zeros((size, size), np.float32)
    centre = np.array([size / 2, size * 0.55]) + rng.normal(0, size * 0.05, 2)
    for _ in range(int(rng.integers(4, 9))):
        offset = rng.normal(0, size * 0.14, 2)
        axes = (int(size * rng.uniform(0.05, 0.2)), int(size * rng.uniform(0.05, 0.25)))
        cv2.ellipse(body, (int(centre[0] + offset[0]), int(centre[1] + offset[1])), axes,
                    float(rng.uniform(0, 180)), 0, 360, 1.0, -1, cv2.LINE_AA)
    for _ in range(int(rng.integers(2, 6))):
        start = centre + rng.normal(0, size * 0.08, 2)
        end = start + rng.normal(0, size * 0.25, 2)
        cv2.line(body, tuple(int(v) for v in start), tuple(int(v) for v in end), 1.0,
                 int(size * rng.uniform(0.015, 0.05)), cv2.LINE_AA)
    light = np.linspace(1.2, 0.5, size, dtype=np.float32)
    light = light[:, None] if rng.random() < 0.5 else light[None, ::-1]
    skin = fractal_noise(rng, size, size, octaves=5, base=16)[..., None] * 0.35 + 0.65
    colour = rng.uniform(0.2, 1.0, 3).astype(np.float32)
    figure = colour * skin * light[..., None]
    soft = cv2.GaussianBlur(body, (0, 0), 1.2)[..., None]
    return image * (1 - soft) + figure * soft


def _shapes(rng: np.random.Generator, size: int) -> np.ndarray:
    palette = random_palette(rng, 6)
    image = _vertical_gradient(size, palette[0], palette[2])
    for _ in range(int(rng.integers(8, 25))):
        colour = tuple(float(v) for v in palette[int(rng.integers(len(palette)))])
        points = rng.uniform(-0.1, 1.1, (int(rng.integers(3, 7)), 2)) * size
        radius = int(size * rng.uniform(0.03, 0.3))
        blur = size * rng.uniform(0.005, 0.03) if rng.random() < 0.4 else 0.0
        alpha = float(rng.uniform(0.4, 1.0))
        layer = image.copy()
        if len(points) % 2:
            cv2.fillPoly(layer, [points.astype(np.int32)], colour, cv2.LINE_AA)
        else:
            cv2.circle(layer, tuple(int(v) for v in points[0]), radius, colour, -1, cv2.LINE_AA)
        if blur:
            layer = cv2.GaussianBlur(layer, (0, 0), blur)
        image = cv2.addWeighted(image, 1 - alpha, layer, alpha, 0)
    return image


def _noise_field(rng: np.random.Generator, size: int) -> np.ndarray:
    palette = random_palette(rng, int(rng.integers(3, 6)))
    warp = fractal_noise(rng, size, size, octaves=3) * rng.uniform(2, 6)
    base = fractal_noise(rng, size, size, octaves=6, base=int(rng.integers(2, 6)))
    values = (np.sin(base * rng.uniform(4, 12) + warp) + 1) / 2 if rng.random() < 0.5 else base
    return colour_map(values, palette)


_STYLES = (_landscape, _creature, _shapes, _noise_field)


@lru_cache(maxsize=512)
def master_art(art_seed: int) -> np.ndarray:
    """Square float32 RGB master in [0, 1] for a seed (read-only, cached: reprints reuse it)."""
    rng = np.random.default_rng(art_seed)
    style = _STYLES[int(rng.integers(len(_STYLES)))]
    image = style(rng, MASTER_SIZE)
    grain = fractal_noise(rng, MASTER_SIZE, MASTER_SIZE, octaves=2, base=64)[..., None]
    image = np.clip(image * (0.92 + 0.16 * grain), 0, 1).astype(np.float32)
    image.setflags(write=False)
    return image


def art_crop(art_seed: int, width: int, height: int) -> np.ndarray:
    """The seed's artwork cropped around its centre to `width`:`height` and resized, uint8 RGB."""
    master = master_art(art_seed)
    size = master.shape[0]
    aspect = width / height
    crop_w, crop_h = (size, size / aspect) if aspect >= 1 else (size * aspect, size)
    x0, y0 = (size - crop_w) / 2, (size - crop_h) / 2
    region = master[int(y0):int(y0 + crop_h), int(x0):int(x0 + crop_w)]
    resized = cv2.resize(region, (width, height), interpolation=cv2.INTER_LINEAR)
    return (resized * 255 + 0.5).astype(np.uint8)
