"""Does the crop's *art* agree with the top reference's? A check the embedding can't make alone.

Why: when the photographed card is not in the gallery, the nearest reference is usually a card
of the same frame and era. The embedding and the whole-card colour layout both reward the shared
frame (border, title bar, text box), so a wrong card can score nearly as well as a right one.
The art box is where two different cards differ most, so the crop's art region is compared with
the reference's alone: the same 24×33 Lab layout the re-ranking already uses (the reference's is
stored in `layouts.npy`), cut to the art box and brought to zero mean and unit variance per
channel again, so that the frame's colours no longer dominate. It costs one small resize, a
colour conversion and a dot product: 0.32 ms a crop median, beside 0.58 ms for the colour-layout
re-ranking and 19.5 ms for one embedding, all measured at once on the 2 cores while other jobs
held them (bench/results/open-set-2026-12-06-shipped.txt).
"""

from __future__ import annotations

import cv2
import numpy as np

from engine.colour_layout import LAYOUT_SIZE, SIGNATURE_SCALE, layout

ART_CELLS = (slice(4, 18), slice(2, 22))
"""(rows, columns) of a 24×33 layout that lie inside the art box of nearly every frame: a
normal frame's art spans 8.5–91.5% of the width and 11–55% of the height (training/cardgen.py
and real M15/Alpha scans alike); borderless and full-art cards have art there too."""


def _standardise(cells: np.ndarray) -> np.ndarray:
    """(h, w, 3) float → zero mean, unit variance per channel, flattened."""
    flat = cells.reshape(-1, 3).astype(np.float32)
    flat = flat - flat.mean(axis=0)
    flat /= flat.std(axis=0) + 1e-3
    return flat


def crop_lab(crop: np.ndarray) -> np.ndarray:
    """(33, 24, 3) float32 Lab layout of an upright crop (any size)."""
    return cv2.cvtColor(layout(crop), cv2.COLOR_RGB2LAB).astype(np.float32)


def art_agreement(crop_layout_lab: np.ndarray, signature: np.ndarray) -> float:
    """Mean per-channel correlation of the art boxes, the better of the crop's two half turns.

    `crop_layout_lab` comes from `crop_lab`; `signature` is one stored row of `layouts.npy`
    (int8 z-scores of the whole card; re-standardising the art cells undoes the card-wide
    normalisation). −1…1; about 0 for unrelated art.
    """
    return max(_correlations(crop_layout_lab, signature, _ART))


def half_turned(crop_layout_lab: np.ndarray, signature: np.ndarray) -> bool:
    """Whether the crop shows the card upside down against the reference `signature`.

    The search matches both turns of every reference without saying which, and the title bar
    is at one end of the card: the whole layout (frame and art) decides which end it is."""
    upright, turned = _correlations(crop_layout_lab, signature, _WHOLE)
    return turned > upright


_ART = np.zeros((LAYOUT_SIZE[1], LAYOUT_SIZE[0]), bool)
_ART[ART_CELLS] = True
_WHOLE = np.ones((LAYOUT_SIZE[1], LAYOUT_SIZE[0]), bool)


def _correlations(crop_layout_lab: np.ndarray, signature: np.ndarray, cells: np.ndarray) -> tuple[float, float]:
    """Mean per-channel correlation of `cells` with the reference's: the crop upright, then half-turned."""
    w, h = LAYOUT_SIZE
    reference = _standardise(np.asarray(signature, np.float32).reshape(h, w, 3)[cells] / SIGNATURE_SCALE)
    upright, turned = (float((_standardise(t[cells]) * reference).sum() / reference.size)
                       for t in (crop_layout_lab, crop_layout_lab[::-1, ::-1]))
    return upright, turned
