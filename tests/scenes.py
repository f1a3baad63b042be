"""Small synthetic card photos with known corners, for detector tests and the benchmark.

Cards are generated (black border, coloured frame, noisy art box, text lines, rounded
corners) and warped onto a textured table with cv2.warpPerspective, so every test knows
the true TL, TR, BR, BL corners without shipping any binary fixtures.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from engine.frame_cut import PHONE_FOCAL
from engine.quad import CARD_ASPECT

CARD_SIZE = (488, 680)  # (W, H) of a Scryfall "normal" scan


@dataclass(frozen=True)
class Scene:
    image: np.ndarray  # (H, W, 3) uint8 RGB
    quads: list[np.ndarray]  # float32 (4, 2) TL, TR, BR, BL per card


def make_card(rng: np.random.Generator, border: tuple[int, int, int] = (15, 15, 15)) -> np.ndarray:
    """A card-like RGB image: border, frame colour, art box with texture, text lines."""
    width, height = CARD_SIZE
    card = np.empty((height, width, 3), np.uint8)
    card[:] = border
    frame = tuple(int(v) for v in rng.integers(60, 230, 3))
    cv2.rectangle(card, (22, 22), (width - 23, height - 23), frame, -1)
    art = cv2.resize(rng.integers(0, 255, (12, 16, 3), dtype=np.uint8), (420, 300))
    card[75:375, 34:454] = cv2.GaussianBlur(art, (0, 0), 6)
    cv2.rectangle(card, (34, 395), (454, 640), (235, 228, 215), -1)
    for row in range(6):
        y = 420 + row * 34
        cv2.line(card, (48, y), (int(rng.integers(250, 440)), y), (40, 40, 40), 6)
    cv2.rectangle(card, (34, 32), (454, 66), (225, 220, 210), -1)
    return card


def textured_background(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    """Wood/playmat-like texture: a colour, low-frequency blobs, streaks and pixel noise."""
    width, height = size
    base = rng.integers(40, 200, 3).astype(np.float32)
    blobs = cv2.resize(rng.normal(0, 25, (6, 8, 3)).astype(np.float32), (width, height))
    streaks = np.sin(np.linspace(0, rng.uniform(20, 60), width, dtype=np.float32))[None, :, None] * 12
    noise = rng.normal(0, 6, (height, width, 3)).astype(np.float32)
    return np.clip(base + blobs + streaks + noise, 0, 255).astype(np.uint8)


def paste_card(image: np.ndarray, card: np.ndarray, quad: np.ndarray) -> None:
    """Warp `card` onto `image` in place so its corners land on `quad`, rounded corners kept."""
    height, width = card.shape[:2]
    source = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    matrix = cv2.getPerspectiveTransform(source - 0.5, np.float32(quad) - 0.5)
    mask = np.zeros((height, width), np.uint8)
    radius = width // 20
    cv2.rectangle(mask, (radius, 0), (width - radius - 1, height - 1), 255, -1)
    cv2.rectangle(mask, (0, radius), (width - 1, height - radius - 1), 255, -1)
    for cx, cy in ((radius, radius), (width - radius - 1, radius), (radius, height - radius - 1),
                   (width - radius - 1, height - radius - 1)):
        cv2.circle(mask, (cx, cy), radius, 255, -1)
    size = (image.shape[1], image.shape[0])
    warped = cv2.warpPerspective(card, matrix, size, flags=cv2.INTER_AREA)
    alpha = cv2.warpPerspective(mask, matrix, size, flags=cv2.INTER_LINEAR).astype(np.float32) / 255
    alpha = alpha[:, :, None]
    image[:] = (warped * alpha + image * (1 - alpha)).astype(np.uint8)


def card_quad(
    centre: tuple[float, float], card_height: float, angle_deg: float, tilt: float = 0.0
) -> np.ndarray:
    """Corners TL, TR, BR, BL of a card rotated by angle_deg, its top edge shrunk by `tilt`."""
    half_h = card_height / 2
    half_w = half_h * CARD_SIZE[0] / CARD_SIZE[1]
    top = half_w * (1 - tilt)
    local = np.float32([[-top, -half_h], [top, -half_h], [half_w, half_h], [-half_w, half_h]])
    theta = np.deg2rad(angle_deg)
    rotation = np.float32([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    return (local @ rotation.T + np.float32(centre)).astype(np.float32)


def photographed(centre: tuple[float, float], length: float, spin_deg: float, tilt_deg: float,
                 size: tuple[int, int] = (1600, 1200)) -> np.ndarray:
    """Corners (in order round the card, the first side a short one) of a card on a table that
    a phone camera (engine.frame_cut's lens, looking through the image centre) sees tilted by
    `tilt_deg`; its middle lands at `centre` and it is `length` pixels long where it lies."""
    width, height = size
    focal = PHONE_FOCAL * max(size)
    half = np.float64([CARD_ASPECT * length, length]) / 2
    spin = np.deg2rad(spin_deg)
    turn = np.array([[np.cos(spin), -np.sin(spin)], [np.sin(spin), np.cos(spin)]])
    flat = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * half @ turn.T
    rotation, _ = cv2.Rodrigues(np.array([np.deg2rad(tilt_deg), 0.0, 0.0]))
    middle = np.array([centre[0] - width / 2, centre[1] - height / 2, focal])  # on the ray through `centre`
    points = np.column_stack([flat, np.zeros(4)]) @ rotation.T + middle
    return np.float32(points[:, :2] / points[:, 2:] * focal + [width / 2, height / 2])


def make_scene(
    rng: np.random.Generator,
    quads: list[np.ndarray],
    size: tuple[int, int] = (1200, 900),
    cards: list[np.ndarray] | None = None,
) -> Scene:
    """Paste one generated (or given) card per quad onto a textured background."""
    image = textured_background(rng, size)
    for index, quad in enumerate(quads):
        card = cards[index] if cards is not None else make_card(rng)
        paste_card(image, card, quad)
    blurred = cv2.GaussianBlur(image, (0, 0), 0.7)
    return Scene(image=blurred, quads=[np.float32(q) for q in quads])


def random_scene(rng: np.random.Generator, count: int, size: tuple[int, int] = (1200, 900)) -> Scene:
    """`count` non-overlapping cards at random rotation, scale and mild perspective."""
    width, height = size
    cell_w = width / count
    quads = []
    for index in range(count):
        card_height = rng.uniform(0.5, 0.75) * min(cell_w * CARD_SIZE[1] / CARD_SIZE[0], height) * 0.8
        centre = (cell_w * (index + 0.5), height / 2 + rng.uniform(-0.1, 0.1) * height)
        angle = rng.uniform(-25, 25) + 180 * rng.integers(0, 2)
        quads.append(card_quad(centre, card_height, angle, rng.uniform(0, 0.08)))
    return make_scene(rng, quads, size)


def corner_error(found: np.ndarray, truth: np.ndarray) -> float:
    """Largest corner distance, relative to the card's height, allowing the 180° turn."""
    height = float(np.linalg.norm(truth[0] - truth[3]))
    direct = np.linalg.norm(found - truth, axis=1).max()
    turned = np.linalg.norm(np.roll(found, 2, axis=0) - truth, axis=1).max()
    return float(min(direct, turned)) / height
