"""Photos with no Magic card in them, drawn procedurally: what the bot must answer "no card" to.

People send the bot screenshots, memes, a hand, an empty playmat, cards of other games and the
back of a Magic card. None of these may come back with a card's name. Each kind below is drawn
from a seed (no downloaded images), photographed through the same camera pipeline as the card
photos where a camera would be involved, and returned as JPEG bytes: `bench/open_set.py` measures
on them and `training.calibration` checks its "not a card" floor against them.

The drawings are stand-ins, not likenesses: the other-game card has a yellow border, a
full-width picture and a plain text panel (no Magic frame); the card back is a brown mottled
field with a blue oval, the Magic back's colours, not its artwork.
"""

from __future__ import annotations

from typing import Callable, Iterator

import cv2
import numpy as np

from training.art import art_crop, fractal_noise, random_palette
from training.backgrounds import make_background
from training.degrade import camera_pipeline
from training.photosim import PhotoSimConfig, encode_jpeg, simulate_photo

CARD_SIZE = (488, 680)


def _art(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    return art_crop(int(rng.integers(1 << 30)), width, height)


def other_game_card(rng: np.random.Generator) -> np.ndarray:
    """A card of another game: coloured border, a picture, a plain panel of text lines."""
    w, h = CARD_SIZE
    border = np.array([[235, 200, 40], [200, 200, 210], [40, 90, 180], [30, 30, 30]])[int(rng.integers(4))]
    card = np.empty((h, w, 3), np.uint8)
    card[:] = border
    inner = (int(w * 0.05), int(h * 0.04), int(w * 0.95), int(h * 0.96))
    panel = (random_palette(rng, 1)[0] * 255).astype(np.uint8)
    card[inner[1]:inner[3], inner[0]:inner[2]] = panel
    pic_h = int(h * rng.uniform(0.35, 0.5))
    top = inner[1] + int(h * 0.07)
    card[top:top + pic_h, inner[0] + 10:inner[2] - 10] = _art(rng, inner[2] - inner[0] - 20, pic_h)
    y = top + pic_h + 30
    while y < inner[3] - 30:
        length = int((inner[2] - inner[0] - 40) * rng.uniform(0.4, 1.0))
        cv2.line(card, (inner[0] + 20, y), (inner[0] + 20 + length, y), (20, 20, 20), 5)
        y += int(rng.integers(22, 40))
    cv2.putText(card, "HP " + str(int(rng.integers(30, 200))), (inner[2] - 150, inner[1] + 35),
                cv2.FONT_HERSHEY_SIMPLEX, 1.1, (10, 10, 10), 2, cv2.LINE_AA)
    return card


def card_back(rng: np.random.Generator) -> np.ndarray:
    """A stand-in for the back of a Magic card: mottled brown field, blue oval in the middle."""
    w, h = CARD_SIZE
    noise = fractal_noise(rng, h, w, octaves=5)[..., None]
    brown = np.array([95, 60, 30], np.float32) * (0.6 + 0.8 * noise)
    card = brown.clip(0, 255).astype(np.uint8)
    cv2.ellipse(card, (w // 2, h // 2), (int(w * 0.36), int(h * 0.3)), 0, 0, 360, (40, 70, 160), -1, cv2.LINE_AA)
    cv2.ellipse(card, (w // 2, h // 2), (int(w * 0.36), int(h * 0.3)), 0, 0, 360, (200, 170, 90), 8, cv2.LINE_AA)
    swirl = fractal_noise(rng, h, w, octaves=3)[..., None]
    mask = np.zeros((h, w), np.uint8)
    cv2.ellipse(mask, (w // 2, h // 2), (int(w * 0.34), int(h * 0.28)), 0, 0, 360, 255, -1)
    card[mask > 0] = (card[mask > 0] * (0.7 + 0.6 * swirl[mask > 0])).clip(0, 255).astype(np.uint8)
    return card


def _camera(scene: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return camera_pipeline(scene.astype(np.float32), rng, hardness=float(rng.uniform(0.3, 1.0)))


def _photo_of(card: np.ndarray, rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    return simulate_photo([card], rng, PhotoSimConfig(size=size, scale=(0.35, 0.9), hardness=0.7)).image


def photo_of_other_game_card(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    return _photo_of(other_game_card(rng), rng, size)


def photo_of_card_back(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    return _photo_of(card_back(rng), rng, size)


def empty_table(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    """A playmat, table, paper or cloth with nothing on it."""
    return _camera(make_background(rng, *size), rng)


def hand(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    """A hand (palm and fingers in a skin tone) over a table."""
    w, h = size
    scene = make_background(rng, w, h)
    skin = np.array([[0.95, 0.78, 0.66], [0.87, 0.67, 0.53], [0.72, 0.52, 0.38], [0.45, 0.3, 0.2]])[int(rng.integers(4))]
    unit = min(w, h)
    cx, cy = int(w * rng.uniform(0.35, 0.65)), int(h * rng.uniform(0.45, 0.75))
    colour = tuple(float(c) for c in skin)
    cv2.ellipse(scene, (cx, cy), (int(unit * 0.2), int(unit * 0.25)), float(rng.uniform(-30, 30)), 0, 360, colour, -1,
                cv2.LINE_AA)
    for k in range(5):
        angle = np.deg2rad(-150 + 30 * k + rng.normal(0, 5))
        start = (cx + int(unit * 0.15 * np.cos(angle)), cy + int(unit * 0.18 * np.sin(angle)))
        end = (cx + int(unit * 0.4 * np.cos(angle)), cy + int(unit * 0.45 * np.sin(angle)))
        cv2.line(scene, start, end, colour, int(unit * 0.07), cv2.LINE_AA)
    return _camera(scene, rng)


def screenshot(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    """A chat or app screenshot: flat panels, bubbles of text lines, an embedded picture."""
    w, h = size[1], size[0]  # phones are portrait
    base = np.array([[250, 250, 250], [30, 33, 40], [235, 240, 248]])[int(rng.integers(3))]
    image = np.empty((h, w, 3), np.uint8)
    image[:] = base
    image[: h // 12] = (random_palette(rng, 1)[0] * 255).astype(np.uint8)
    y = h // 12 + 20
    while y < h - 60:
        if rng.random() < 0.25:
            pic_h = int(h * rng.uniform(0.15, 0.3))
            image[y:y + pic_h, w // 8:w * 7 // 8] = _art(rng, w * 7 // 8 - w // 8, pic_h)[: max(0, min(pic_h, h - y))]
            y += pic_h + 20
            continue
        x0 = int(w * rng.uniform(0.03, 0.3))
        bubble = (random_palette(rng, 1)[0] * 255).astype(int).tolist()
        lines = int(rng.integers(1, 4))
        cv2.rectangle(image, (x0, y), (x0 + int(w * 0.6), y + 34 * lines + 10), bubble, -1)
        for k in range(lines):
            cv2.line(image, (x0 + 12, y + 24 + 34 * k), (x0 + int(w * rng.uniform(0.25, 0.55)), y + 24 + 34 * k),
                     (20, 20, 20), 6)
        y += 34 * lines + 30
    return image


def meme(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    """A picture with bold captions at the top and bottom."""
    w, h = size
    image = np.ascontiguousarray(_art(rng, w, h))
    for y in (int(h * 0.14), int(h * 0.94)):
        text = "".join(chr(int(c)) for c in rng.integers(65, 91, int(rng.integers(6, 14))))
        cv2.putText(image, text, (int(w * 0.05), y), cv2.FONT_HERSHEY_DUPLEX, w / 500, (0, 0, 0), int(w / 90) + 6,
                    cv2.LINE_AA)
        cv2.putText(image, text, (int(w * 0.05), y), cv2.FONT_HERSHEY_DUPLEX, w / 500, (255, 255, 255), int(w / 90),
                    cv2.LINE_AA)
    return image


KINDS: dict[str, Callable[[np.random.Generator, tuple[int, int]], np.ndarray]] = {
    "other_game_card": photo_of_other_game_card,
    "card_back": photo_of_card_back,
    "empty_table": empty_table,
    "hand": hand,
    "screenshot": screenshot,
    "meme": meme,
}


def non_card_photos(count: int, seed: int, size: tuple[int, int] = (1280, 960)) -> Iterator[tuple[str, bytes]]:
    """`count` (kind, JPEG bytes), the kinds in turn; deterministic per seed."""
    rng = np.random.default_rng(seed)
    kinds = list(KINDS)
    for i in range(count):
        kind = kinds[i % len(kinds)]
        yield kind, encode_jpeg(KINDS[kind](rng, size), int(rng.integers(75, 95)))
