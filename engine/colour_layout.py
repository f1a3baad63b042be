"""Second opinion on the embedding's shortlist: does the crop's colour layout line up with the card's?

A detected card is warped to the canonical upright frame, so the right gallery image lies over it
almost pixel for pixel. Both are shrunk to 24×33 (which averages away blur, sensor noise and JPEG
blocks) and compared in Lab, each channel brought to zero mean and unit variance (which shrugs off
colour cast and exposure): the score is the mean per-channel correlation. The embedding model,
trained briefly on two cores, uses this cue only partly; adding it to the embedding score and
re-ranking the shortlist names 95.7% of the detector's crops right instead of 88.7%
(bench/results/crop-oracle-2026-12-01.txt).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from engine.errors import ArtifactError

LAYOUT_SIZE = (24, 33)
"""(W, H) of a layout: about the card's 63:88 aspect."""

FILE = "layouts.npy"
"""Where an artifact set keeps one signature per gallery row (row order of the index)."""

SIGNATURE_SCALE = 32.0
"""Signatures are z-scores stored as int8 × this (±4σ): 2.4 KB a card, and the shortlist's are
compared without normalising 40 thumbnails per crop at query time."""


def layout(rgb: np.ndarray) -> np.ndarray:
    """(33, 24, 3) uint8 thumbnail of an upright card image or crop."""
    return cv2.resize(rgb, LAYOUT_SIZE, interpolation=cv2.INTER_AREA)


def z_scores(layouts: np.ndarray) -> np.ndarray:
    """(N, 33, 24, 3) uint8 RGB → float32 Lab, each channel of each layout zero mean, unit variance."""
    w, h = LAYOUT_SIZE
    lab = cv2.cvtColor(np.ascontiguousarray(layouts, np.uint8).reshape(-1, w, 3), cv2.COLOR_RGB2LAB)
    lab = lab.reshape(len(layouts), h * w, 3).astype(np.float32)
    lab -= lab.mean(axis=1, keepdims=True)
    lab /= lab.std(axis=1, keepdims=True) + 1e-3
    return lab.reshape(len(layouts), h, w, 3)


def signatures(layouts: np.ndarray) -> np.ndarray:
    """(N, 33, 24, 3) uint8 layouts → (N, 33·24·3) int8: what an artifact set stores."""
    z = z_scores(layouts).reshape(len(layouts), -1)
    return np.clip(np.rint(z * SIGNATURE_SCALE), -127, 127).astype(np.int8)


def similarity(query: np.ndarray, stored: np.ndarray) -> np.ndarray:
    """Mean per-channel correlation of one layout with each signature, upright or turned 180°.

    The detector can't tell a card from its half turn, just as the index holds both turns.
    """
    z = z_scores(query[None])[0]
    both = np.stack([z.ravel(), z[::-1, ::-1].ravel()], axis=1) / (SIGNATURE_SCALE * z.size)
    return (np.asarray(stored, np.float32) @ both).max(axis=1)


def fuse(embedding_score: np.ndarray | float, layout_score: np.ndarray | float, weight: float) -> Any:
    """The score answers are ranked and calibrated on; on the embedding's −1…1 scale."""
    return (embedding_score + weight * layout_score) / (1.0 + weight)


@dataclass(frozen=True)
class LayoutSettings:
    """Stored in the manifest: the calibration was fitted with these, so they travel with the set."""

    weight: float
    shortlist: int

    def to_manifest(self) -> dict[str, Any]:
        return {"colour_layout": {"weight": self.weight, "shortlist": self.shortlist}}


class ColourLayouts:
    """The set's stored layouts; a re-ranker of the recognizer (`engine.stages.Reranker`)."""

    name = "colour_layout"

    def __init__(self, path: Path, settings: LayoutSettings) -> None:
        try:
            self._signatures = np.load(path, mmap_mode="r")  # 240 MB for 100K cards: rows read on demand
        except (OSError, ValueError) as exc:
            raise ArtifactError(f"{path}: unreadable layouts ({exc}); rebuild with `cardsight index`") from exc
        width = LAYOUT_SIZE[0] * LAYOUT_SIZE[1] * 3
        if self._signatures.dtype != np.int8 or self._signatures.shape[1:] != (width,):
            raise ArtifactError(f"{path}: layouts are {self._signatures.dtype} {self._signatures.shape}, this "
                                f"cardsight reads int8 (N, {width}); rebuild with `cardsight index`")
        self.settings = settings

    @classmethod
    def of_set(cls, folder: Path, manifest: dict[str, Any]) -> "ColourLayouts | None":
        """None for sets built without layouts (before they existed): ranking stays the embedding's."""
        found = manifest.get("colour_layout")
        if not found:
            return None
        return cls(Path(folder) / FILE, LayoutSettings(float(found["weight"]), int(found["shortlist"])))

    @property
    def size(self) -> int:
        return len(self._signatures)

    @property
    def shortlist(self) -> int:
        """Embedding matches re-ranked: the calibration was fitted on this many."""
        return self.settings.shortlist

    def signature(self, row: int) -> np.ndarray:
        """The stored (33·24·3,) int8 signature of one gallery row."""
        return np.asarray(self._signatures[row])

    def rerank(self, crop: np.ndarray, scores: np.ndarray, rows: np.ndarray, keep: int) -> tuple[np.ndarray, np.ndarray]:
        """The best `keep` of a Faiss shortlist (scores, rows; −1 rows pad) by fused score."""
        valid = rows >= 0
        candidates = rows[valid]
        fused = fuse(scores[valid], similarity(layout(crop), self._signatures[candidates]), self.settings.weight)
        order = np.argsort(-fused, kind="stable")[:keep]
        out_scores = np.full(keep, -1.0, np.float32)
        out_rows = np.full(keep, -1, np.int64)
        out_scores[: len(order)], out_rows[: len(order)] = fused[order], candidates[order]
        return out_scores, out_rows
