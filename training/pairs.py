"""Training batches: each card's clean reference beside a simulated photo crop of it.

Batches are a pure function of (seed, step): a resumed run draws exactly the batches the
killed run would have, and a data-loader worker needs no shared state.
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
        hardness: float, steps: int,
    ) -> None:
        self.paths = list(images)
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

    def reference(self, i: int) -> np.ndarray:
        return self._cache[i] if self._cache is not None else load_card_image(self.paths[i], self.size)

    def __getitem__(self, step: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(references, photos, card indices, half-turned flags) of one batch."""
        rng = np.random.default_rng([self.seed, step])
        cards = rng.choice(len(self.paths), size=self.batch, replace=False)
        refs, photos, turned = [], [], []
        for c in cards:
            ref = self.reference(int(c))
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
