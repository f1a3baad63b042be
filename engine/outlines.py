"""Candidate card outlines from several cheap segmentation passes over a small image.

No single pass finds cards everywhere: Canny misses dark cards on dark mats, the
background-distance mask merges touching cards, adaptive thresholds fragment on glare.
Each pass proposes closed contours; the caller fits quads and scores them, and duplicates
across passes are removed later by non-maximum suppression.
"""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np

_CANNY_THRESHOLDS = ((30, 90), (60, 180))
_KERNEL3 = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))
_KERNEL5 = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))


def edge_map(gray: np.ndarray) -> np.ndarray:
    """Dilated low-threshold Canny edges, used both as a pass and to score outline support."""
    low, high = _CANNY_THRESHOLDS[0]
    return cv2.dilate(cv2.Canny(gray, low, high), _KERNEL3)


def candidate_contours(
    rgb: np.ndarray, gray: np.ndarray, edges: np.ndarray
) -> Iterator[np.ndarray]:
    """Yield contours (int32 (N, 1, 2)) from every segmentation pass."""
    yield from _contours(edges, cv2.RETR_LIST)
    low, high = _CANNY_THRESHOLDS[1]
    yield from _contours(cv2.dilate(cv2.Canny(gray, low, high), _KERNEL3), cv2.RETR_LIST)
    yield from _contours(_adaptive_mask(gray), cv2.RETR_LIST)
    yield from _contours(_background_mask(rgb), cv2.RETR_EXTERNAL)


def _contours(mask: np.ndarray, mode: int) -> Iterator[np.ndarray]:
    contours, _ = cv2.findContours(mask, mode, cv2.CHAIN_APPROX_SIMPLE)
    yield from contours


def _adaptive_mask(gray: np.ndarray) -> np.ndarray:
    """Pixels darker than their neighbourhood: card borders against lighter surroundings."""
    block = max(15, (min(gray.shape) // 16) | 1)
    mask = cv2.adaptiveThreshold(
        gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, 7
    )
    return cv2.morphologyEx(mask, cv2.MORPH_OPEN, _KERNEL3)


def _background_mask(rgb: np.ndarray) -> np.ndarray:
    """Pixels far from the dominant colour along the frame border, i.e. not the table."""
    blurred = cv2.GaussianBlur(rgb, (5, 5), 0)
    border = np.concatenate([blurred[0], blurred[-1], blurred[:, 0], blurred[:, -1]])
    background = np.median(border, axis=0)
    distance = cv2.absdiff(blurred, tuple(float(v) for v in background) + (0.0,))
    distance = cv2.transform(distance, np.float32([[1 / 3, 1 / 3, 1 / 3]]))
    _, mask = cv2.threshold(distance, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, _KERNEL5)
    return cv2.morphologyEx(mask, cv2.MORPH_CLOSE, _KERNEL5)
