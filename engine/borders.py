"""Move each side of a card-shaped quad onto the card's own edge among the outlines nested near it.

Contours on a cluttered table close most reliably around a card's inner frame (the
coloured frame inside the black border) or around the sleeve it sits in, not around the
card itself, whose dark border fades into dark mats. Averaging the gradient across each
side over the side's whole length cancels table texture, so even a faint but straight card
edge stands out as a peak in a 1-D profile. The card edge is taken to be the nearest peak
that gets lighter going outwards (a black border meeting the table or a sleeve's rim);
an inner frame gets darker going outwards, and so does a sleeve rim meeting the table.
"""

from __future__ import annotations

import cv2
import numpy as np

from engine.quad import NEXT_CORNER, intersect_lines

REACH_OUT = 0.14  # of the card's extent across the side: inner frame -> card edge (bottom border ~10%)
REACH_IN = 0.045  # sleeve outline -> card edge (~2-3.5%)
INWARD_COST = 3.0
_SAMPLES = 24
_SPAN = (0.15, 0.85)  # along each side; skips rounded corners and the neighbouring sides
_MIN_STRENGTH = 6.0  # mean |d colour| per pixel below which a profile peak is noise
_RELATIVE_STRENGTH = 0.35  # of the side's strongest peak


def settle_sides(lab: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """The ordered quad with every side moved onto the card edge; float32 (4, 2).

    `lab` is the image as float32 Lab (channel 0 must be lightness). Sides without a clear
    edge stay where they are.
    """
    quad = np.asarray(quad, dtype=np.float32)
    centre = quad.mean(axis=0)
    lines = []
    for i in range(4):
        start, end = quad[i], quad[NEXT_CORNER[i]]
        across = 0.5 * (
            np.linalg.norm(quad[NEXT_CORNER[i]] - quad[NEXT_CORNER[NEXT_CORNER[i]]])
            + np.linalg.norm(quad[i] - quad[(i + 3) % 4])
        )
        shift = _side_shift(lab, start, end, centre, float(across))
        normal = _outward_normal(start, end, centre)
        lines.append((start + shift * normal, end - start))
    settled = quad.copy()
    for i in range(4):
        corner = intersect_lines(lines[(i + 3) % 4], lines[i], parallel_eps=1e-6)
        if corner is not None:
            settled[i] = corner
    return settled


def _outward_normal(start: np.ndarray, end: np.ndarray, centre: np.ndarray) -> np.ndarray:
    direction = (end - start) / max(float(np.linalg.norm(end - start)), 1e-6)
    normal = np.float32([direction[1], -direction[0]])
    if float(np.dot(normal, (start + end) / 2 - centre)) < 0:
        normal = -normal
    return normal


def _side_shift(
    lab: np.ndarray, start: np.ndarray, end: np.ndarray, centre: np.ndarray, across: float
) -> float:
    """Signed distance (outwards positive) from the side to the card edge, 0 if unclear."""
    normal = _outward_normal(start, end, centre)
    low, high = -max(2.0, REACH_IN * across), max(3.0, REACH_OUT * across)
    offsets = np.arange(np.floor(low), np.ceil(high) + 1.0, 1.0, dtype=np.float32)
    t = np.linspace(*_SPAN, _SAMPLES, dtype=np.float32)
    base = start[None, :] + t[:, None] * (end - start)[None, :]
    points = base[:, None, :] + offsets[None, :, None] * normal[None, None, :]
    profiles = cv2.remap(
        lab,
        np.ascontiguousarray(points[..., 0]),
        np.ascontiguousarray(points[..., 1]),
        interpolation=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,  # flat beyond the frame: no edge there
    )
    steps = np.diff(profiles, axis=1)  # (samples, offsets - 1, 3): change going outwards
    strength = np.median(np.abs(steps).sum(axis=2), axis=0)
    lightening = np.median(steps[..., 0], axis=0)
    peaks = _peaks(strength)
    if not peaks:
        return 0.0
    strongest = max(strength[p] for p in peaks)
    peaks = [p for p in peaks if strength[p] >= max(_MIN_STRENGTH, _RELATIVE_STRENGTH * strongest)]
    if not peaks:
        return 0.0
    edges = offsets[:-1] + 0.5
    rising = [p for p in peaks if lightening[p] > 0]
    if not rising:
        return 0.0
    # Nearest dark-inside/light-outside step, inward moves costing triple: the black border
    # ends there, and art-box rules inside the frame lie as far in as the card edge lies out.
    best = min(rising, key=lambda p: edges[p] if edges[p] >= 0 else -INWARD_COST * edges[p])
    return float(edges[best])


def _peaks(values: np.ndarray) -> list[int]:
    """Indices of local maxima, inner to outer."""
    if len(values) < 3:
        return []
    middle = values[1:-1]
    found = np.nonzero((middle >= values[:-2]) & (middle > values[2:]))[0] + 1
    return [int(i) for i in found]

