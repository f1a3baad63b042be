"""Candidate card outlines from several cheap segmentation passes over a small image.

No single pass finds cards everywhere: grey Canny misses dark cards on dark coloured
mats (colour Canny on the Lab gradient catches those), the
background-distance mask merges touching cards, adaptive thresholds fragment on glare.
Each pass proposes closed contours; the caller fits quads and scores them, and duplicates
across passes are removed later by non-maximum suppression.
"""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np

_CANNY_THRESHOLDS = ((30, 90), (60, 180))
_COLOUR_CANNY = (40, 120)  # on the L2 Sobel magnitude of the strongest Lab channel
_KERNEL3 = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))
_KERNEL5 = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))


def edge_maps(rgb: np.ndarray, gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dilated low-threshold grey Canny and colour (Lab) Canny edges of the work image.

    Both are contour passes, and their union is what outline support is scored against:
    grey edges catch light/dark steps, colour edges a dark card on an equally dark but
    coloured mat.
    """
    low, high = _CANNY_THRESHOLDS[0]
    return cv2.dilate(cv2.Canny(gray, low, high), _KERNEL3), _colour_edges(rgb)


def edge_contours(gray: np.ndarray, grey_edges: np.ndarray, colour_edges: np.ndarray) -> Iterator[np.ndarray]:
    """Yield contours (int32 (N, 1, 2)) of the edge passes."""
    yield from _contours(grey_edges, cv2.RETR_LIST)
    yield from _contours(colour_edges, cv2.RETR_LIST)
    yield from _contours(cv2.morphologyEx(colour_edges, cv2.MORPH_CLOSE, _KERNEL5), cv2.RETR_LIST)
    low, high = _CANNY_THRESHOLDS[1]
    yield from _contours(cv2.dilate(cv2.Canny(gray, low, high), _KERNEL3), cv2.RETR_LIST)


def mask_contours(rgb: np.ndarray, gray: np.ndarray) -> list[np.ndarray]:
    """Contours of the mask passes (adaptive threshold, then background distance). They need
    none of the edge maps, so they can run in another thread while those are made."""
    return [*_contours(_adaptive_mask(gray), cv2.RETR_LIST), *_contours(_background_mask(rgb), cv2.RETR_EXTERNAL)]


def _contours(mask: np.ndarray, mode: int) -> Iterator[np.ndarray]:
    contours, _ = cv2.findContours(mask, mode, cv2.CHAIN_APPROX_SIMPLE)
    yield from contours


def _colour_edges(rgb: np.ndarray) -> np.ndarray:
    """Canny on the Lab gradient of the strongest channel: hue edges grey Canny cannot see.

    The per-pixel channel choice is made with OpenCV masks rather than numpy's argmax and
    take_along_axis, which cost more than all the filtering around them; the 8-bit channels
    are split before the Sobel filters rather than their 16-bit gradients after.
    """
    lab = cv2.cvtColor(cv2.GaussianBlur(rgb, (3, 3), 0), cv2.COLOR_RGB2Lab)
    first, *others = cv2.split(lab)
    best_dx, best_dy, best = _gradient(first)
    for channel in others:  # strictly stronger wins: ties keep the earlier channel, as argmax does
        dx, dy, magnitude = _gradient(channel)
        stronger = cv2.compare(magnitude, best, cv2.CMP_GT)
        cv2.copyTo(dx, stronger, best_dx)
        cv2.copyTo(dy, stronger, best_dy)
        best = cv2.max(best, magnitude)
    low, high = _COLOUR_CANNY
    return cv2.dilate(cv2.Canny(best_dx, best_dy, low, high, L2gradient=True), _KERNEL3)


def _gradient(channel: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """16-bit Sobel x and y of one channel and their L1 magnitude."""
    dx, dy = cv2.Sobel(channel, cv2.CV_16S, 1, 0), cv2.Sobel(channel, cv2.CV_16S, 0, 1)
    return dx, dy, cv2.add(cv2.absdiff(dx, 0), cv2.absdiff(dy, 0))


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
