"""Training batches: each card's clean reference beside a simulated photo crop of it.

Batches are a pure function of (seed, step): a resumed run draws exactly the batches the
killed run would have, and a data-loader worker needs no shared state. With real photos
(training/real_photos.py) a quarter of each batch is drawn from the cards that have them, and
those cards are paired with a real crop (lightly augmented) instead of a simulated one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from training.gallery import load_card_image
from training.photosim import augment_crop

PRELOAD_LIMIT = 5000
"""Galleries up to this size are held in memory at input size (~100 KB a card)."""


class PairDataset(Dataset):
    def __init__(
        self, images: Sequence[Path], size: tuple[int, int], *, batch: int, seed: int,
        hardness: float, steps: int, real: dict[int, list[Path]] | None = None,
    ) -> None:
        self.paths = list(images)
        self.real = {int(k): list(v) for k, v in (real or {}).items() if v}
        self.size = size
        self.batch = min(batch, len(self.paths))
        self.seed = seed
        self.hardness = hardness
        self.steps = steps
        self._cache = (
            [load_card_image(p, size) for p in self.paths] if len(self.paths) <= PRELOAD_LIMIT else None
        )

    def __len__(self) -> int:
        return self.steps

    @property
    def preloaded(self) -> bool:
        return self._cache is not None

    def _cards(self, rng: np.random.Generator) -> np.ndarray:
        """Distinct cards of one batch; up to a quarter of them from those with real photos."""
        if not self.real:
            return rng.choice(len(self.paths), size=self.batch, replace=False)
        owners = np.array(sorted(self.real))
        first = rng.choice(owners, size=min(len(owners), max(1, self.batch // 4)), replace=False)
        rest = np.setdiff1d(np.arange(len(self.paths)), first)
        others = rng.choice(rest, size=self.batch - len(first), replace=False)
        return np.concatenate([first, others]).astype(np.int64)

    def reference(self, i: int) -> np.ndarray:
        return self._cache[i] if self._cache is not None else load_card_image(self.paths[i], self.size)

    def __getitem__(self, step: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(references, photos, card indices, half-turned flags) of one batch."""
        rng = np.random.default_rng([self.seed, step])
        cards = self._cards(rng)
        refs, photos, turned = [], [], []
        for c in cards:
            ref = self.reference(int(c))
            real = self.real.get(int(c))
            if real:
                crop = load_card_image(real[int(rng.integers(len(real)))], self.size)
                photo = augment_crop(crop, rng, hardness=0.3 * self.hardness, out_size=self.size)
            else:
                photo = augment_crop(ref, rng, hardness=self.hardness, out_size=self.size)
            turned.append(bool(rng.random() < 0.5))
            if turned[-1]:  # the index holds both half-turns; learn both
                ref, photo = ref[::-1, ::-1], photo[::-1, ::-1]
            refs.append(np.ascontiguousarray(ref))
            photos.append(np.ascontiguousarray(photo))
        return (
            torch.from_numpy(np.stack(refs)),
            torch.from_numpy(np.stack(photos)),
            torch.from_numpy(cards.astype(np.int64)),
            torch.tensor(turned),
        )
