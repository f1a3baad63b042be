"""Evaluation photo sets: simulated photos of gallery cards plus a ``truth.jsonl`` answer key.

Works on any gallery in the shared ``cards.jsonl`` format (synthetic from `generate_gallery`
or real Scryfall scans), so the same evaluation runs on both. Real galleries may lack `id`;
then `set` + `collector_number` identify the printing, and truth lines carry all three.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from engine.errors import ArtifactError
from training.photosim import PhotoSimConfig, encode_jpeg, simulate_photo

TRUTH_FILE = "truth.jsonl"


@dataclass(frozen=True)
class GalleryCard:
    id: str | None
    name: str
    set: str
    collector_number: str
    image_path: Path


def read_gallery(gallery_dir: Path) -> list[GalleryCard]:
    """The cards listed in gallery_dir/cards.jsonl whose image file exists."""
    listing = Path(gallery_dir) / "cards.jsonl"
    if not listing.is_file():
        raise FileNotFoundError(f"{listing} not found: point --gallery at a folder with a cards.jsonl")
    cards = []
    with listing.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                card = GalleryCard(id=record.get("id"), name=record["name"], set=record["set"],
                                   collector_number=str(record["collector_number"]),
                                   image_path=Path(gallery_dir) / record["image"])
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise ArtifactError(f"{listing}:{number}: not a card record ({exc!r})") from None
            if card.image_path.is_file():
                cards.append(card)
    if not cards:
        raise ArtifactError(f"{listing} lists no card whose image exists")
    return cards


@lru_cache(maxsize=64)
def _load_rgb(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise ArtifactError(f"{path}: not a readable image")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def write_photo_set(gallery_dir: Path, out_dir: Path, n: int, cards_per_photo: int = 1,
                    size: tuple[int, int] = (1600, 1200), hardness: float = 1.0, seed: int = 0,
                    quality: int = 92) -> Path:
    """Write `n` photos to out_dir/NNNNN.jpg and their truth to out_dir/truth.jsonl; returns the latter.

    Photo i depends only on (seed, i), so a set can be regenerated or extended reproducibly.
    """
    if n < 1 or cards_per_photo < 1:
        raise ValueError(f"need n >= 1 and cards_per_photo >= 1, got {n} and {cards_per_photo}")
    gallery = read_gallery(gallery_dir)
    config = PhotoSimConfig(size=size, hardness=hardness, max_cards=cards_per_photo)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    truth_path = out_dir / TRUTH_FILE
    with truth_path.open("w", encoding="utf-8") as truth:
        for i in tqdm(range(n), desc="simulating photos", unit="photo", disable=None):
            rng = np.random.default_rng([seed, i])
            chosen = [gallery[int(k)] for k in rng.choice(len(gallery), min(cards_per_photo, len(gallery)),
                                                          replace=False)]
            photo = simulate_photo([_load_rgb(card.image_path) for card in chosen], rng, config)
            name = f"{i:05d}.jpg"
            (out_dir / name).write_bytes(encode_jpeg(photo.image, quality))
            entries = [{"id": chosen[index].id, "name": chosen[index].name, "set": chosen[index].set,
                        "collector_number": chosen[index].collector_number,
                        "quad": [[round(float(x), 2), round(float(y), 2)] for x, y in quad],
                        "visible": round(visible, 3)}
                       for index, quad, visible in zip(photo.card_indices, photo.quads, photo.visible_fraction)]
            truth.write(json.dumps({"photo": name, "cards": entries}, ensure_ascii=False) + "\n")
    return truth_path
