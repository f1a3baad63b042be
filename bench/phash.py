"""The perceptual-hash baseline: imagehash's pHash of the same crops, nearest by Hamming distance.

It is what simple card scanners do, measured on exactly the crops the learned model sees, so
the model's gain is a side-by-side number rather than a claim.
"""

from __future__ import annotations

from typing import Sequence

import imagehash
import numpy as np
from PIL import Image

from training.gallery import GalleryItem, load_card_image


def _bits(rgb: np.ndarray) -> np.ndarray:
    return imagehash.phash(Image.fromarray(rgb)).hash.flatten()


class PhashIndex:
    def __init__(self, items: Sequence[GalleryItem], size: tuple[int, int]) -> None:
        self.names = [i.entry.name for i in items]
        codes = []
        for item in items:
            image = load_card_image(item.image_path, size)
            codes += [_bits(image), _bits(np.ascontiguousarray(image[::-1, ::-1]))]
        self.codes = np.stack(codes)

    def name_rank(self, crop: np.ndarray, truth: str, k: int = 5) -> int | None:
        """Rank of the true name among the distinct names nearest in Hamming distance."""
        distance = (self.codes != _bits(crop)).sum(axis=1)
        seen: list[str] = []
        for fid in np.argsort(distance, kind="stable"):
            name = self.names[fid // 2]
            if name not in seen:
                seen.append(name)
                if name == truth:
                    return len(seen)
                if len(seen) == k:
                    return None
        return None
