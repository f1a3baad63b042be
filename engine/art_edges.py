"""Do the crop's art *edges* line up with the top reference's? The texture the layouts average away.

Why: the art check (engine/verify.py) compares 24×33 colour layouts, which is where most cards
differ, but two landscapes of the same palette and horizon (Alpha's Savannah and Scrubland) agree
there nearly as well as a card with itself, and an absent card was answered sure as its
neighbour. What the art *draws* still differs: grass against scrub, a ridge, a figure. So each
reference's art box keeps a small map of its edge strength (grey, smoothed, Sobel magnitude,
quarter scale: 33×24 uint8, 792 bytes a face, 79 MB memory-mapped for 100,000 faces), and the
crop's inner art box is slid over it (cv2.matchTemplate, normalised correlation), which also
absorbs an outline a few percent off. Smoothing before the gradient and the quarter scale keep
it working on blurred crops: edges of the drawing's large shapes survive a blur that erases
its fine texture.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from engine.errors import ArtifactError

FILE = "art_edges.npy"
"""Where an artifact set keeps one edge map per gallery row (row order of the index)."""

CARD_SIZE = (160, 224)
"""(W, H) a card image or crop is brought to first: the embedder's crop, so crops of the
shipped model are not resized again."""

ART_BOX = (0.085, 0.915, 0.11, 0.55)
"""(left, right, top, bottom) of the art box as fractions of the card: a normal frame's art
(training/cardgen.py and real M15/Alpha scans alike; engine.verify.ART_CELLS is the same box)."""

INSET = 0.08
"""Share of the art box's width and height the crop's template leaves on each side: the search
range, ±6.6% of the card's width and ±3.5% of its height."""

SCALE = 0.25
"""Edge maps are compared at a quarter of `CARD_SIZE`: large shapes, not fine texture."""

SMOOTHING = 1.0
"""Gaussian sigma (pixels of `CARD_SIZE`) before the gradient: noise and JPEG blocks drop out."""


def _edges(card: np.ndarray, inset: float) -> np.ndarray:
    """Edge strength of the art box of an upright RGB card image, `inset` of it left out each side,
    at `SCALE` (float32)."""
    if (card.shape[1], card.shape[0]) != CARD_SIZE:
        card = cv2.resize(card, CARD_SIZE, interpolation=cv2.INTER_AREA)
    left, right, top, bottom = ART_BOX
    w, h = (right - left) * CARD_SIZE[0], (bottom - top) * CARD_SIZE[1]
    x0, x1 = round(left * CARD_SIZE[0] + inset * w), round(right * CARD_SIZE[0] - inset * w)
    y0, y1 = round(top * CARD_SIZE[1] + inset * h), round(bottom * CARD_SIZE[1] - inset * h)
    grey = cv2.cvtColor(np.ascontiguousarray(card[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY).astype(np.float32)
    grey = cv2.GaussianBlur(grey, (0, 0), SMOOTHING)
    magnitude = cv2.magnitude(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))
    size = (int((x1 - x0) * SCALE), int((y1 - y0) * SCALE))
    return cv2.resize(magnitude, size, interpolation=cv2.INTER_AREA)


def edge_map(card: np.ndarray) -> np.ndarray:
    """What a set stores for one upright reference image: its art box's edge map, uint8 scaled to
    its own maximum (the correlation ignores scale)."""
    edges = _edges(card, 0.0)
    return np.clip(np.rint(edges * (255.0 / max(float(edges.max()), 1e-6))), 0, 255).astype(np.uint8)


def edge_agreement(crop: np.ndarray, stored: np.ndarray) -> float:
    """Best normalised correlation of the crop's inner art box with a stored `edge_map`, over
    offsets within `INSET` and the crop's two half turns (the search doesn't say which way up
    a card lies). −1…1; around 0.2 for unrelated art, which matches somewhere by chance."""
    return edge_agreements(crop, [stored])[0]


def edge_agreements(crop: np.ndarray, stored: Sequence[np.ndarray]) -> list[float]:
    """`edge_agreement` of the crop with each of several stored maps, its edges computed once."""
    templates = [_edges(np.ascontiguousarray(turn), INSET) for turn in (crop, crop[::-1, ::-1])]
    return [max(float(cv2.matchTemplate(np.asarray(s, np.float32), t, cv2.TM_CCOEFF_NORMED).max())
                for t in templates) for s in stored]


RIVAL_NAMES = 4
"""Names after the top one whose best match the edge lead compares with (`edge_lead`). With
more rivals a lead by chance is rarer: a crop of a playmat's texture (a real photo's false
outline) led its top match's map by 0.15 over the next two names, but not the fourth (0.48
against 0.30). One, two, three or four rivals read alike on the 567-scan set's calibration
photos (in-gallery share sure at 0.5% of absent ones sure, cross-validated: 93.5-93.7%), each
further map costs a template match of two 33×24 maps (the crop's edges are computed once)."""


def edge_lead(crop: np.ndarray, top: np.ndarray, rivals: Sequence[np.ndarray]) -> float:
    """How far the crop's edge agreement with its top match's map (`top`) is ahead of the best
    with the maps of the next names' matches (`rivals`); 0 without rivals.

    Why: blur, glare and darkness lower a crop's edge agreement with every reference, the right
    one included, so a degraded photo of a card in the gallery and a card missing from it can
    agree equally (0.3-0.4) with their top match. What still differs is the lead: the right
    card's art draws what its own reference draws and not what the next names' do, while the
    top match of a card that is not there is one neighbour among others. On the 567-scan set's
    calibration photos (2026-12-07) the lead over the next four names had a median of 0.47 for
    right answers (10% under 0.11) and -0.07 for absent cards (10% over 0.04);
    docs/confidence.md has what it adds to the confidence.
    """
    return lead(edge_agreements(crop, [top, *rivals])) if len(rivals) else 0.0


def lead(agreements: Sequence[float]) -> float:
    """The first agreement's lead over the best of the others (`edge_lead`); 0 without others."""
    return agreements[0] - max(agreements[1:]) if len(agreements) > 1 else 0.0


class ArtEdges:
    """The set's stored edge maps, read on demand from a memory map."""

    def __init__(self, path: Path) -> None:
        try:
            self._maps = np.load(path, mmap_mode="r")
        except (OSError, ValueError) as exc:
            raise ArtifactError(f"{path}: unreadable art edges ({exc}); rebuild with `cardsight index`") from exc
        if self._maps.dtype != np.uint8 or self._maps.shape[1:] != SHAPE:
            raise ArtifactError(f"{path}: art edges are {self._maps.dtype} {self._maps.shape}, this cardsight "
                                f"reads uint8 (N, {SHAPE[0]}, {SHAPE[1]}); rebuild with `cardsight index`")

    @classmethod
    def of_set(cls, folder: Path) -> "ArtEdges | None":
        """None for sets built before the edge check: their calibration has no weight for it."""
        path = Path(folder) / FILE
        return cls(path) if path.is_file() else None

    @property
    def size(self) -> int:
        return len(self._maps)

    def edge_map(self, row: int) -> np.ndarray:
        """The stored edge map of one gallery row."""
        return np.asarray(self._maps[row])


SHAPE = edge_map(np.zeros((CARD_SIZE[1], CARD_SIZE[0], 3), np.uint8)).shape
"""(H, W) of a stored edge map: (24, 33)."""
