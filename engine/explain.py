"""Where a crop agrees and disagrees with the card it was matched to: a map to lay over the crop.

The measure is a local correlation (SSIM's structure term) of the two cards' 24×33 Lab colour
layouts (engine/colour_layout.py), not a similarity of the network's last feature map. Why:
- serving has no torch, and the shipped ONNX graph outputs only the pooled embedding; the
  reference side of a feature-map comparison would need every gallery card's feature map
  stored or re-computed from an image the artifact set does not keep. The layout of every
  gallery row is already stored (`layouts.npy`), so the page and the bots can explain any
  answer with what the set holds, in well under a millisecond;
- the network's last feature map at 160×224 is 5×7 cells whose receptive fields span most of
  the card, so its map could not say "the art differs, the frame agrees"; the layout's 24×33
  cells can;
- the layout is evidence the answer really used: it re-ranks the shortlist and its art cells
  are the art check of the calibrated confidence (engine/verify.py).
So the map shows where the crop's colours and shapes line up with the reference's, not what
the embedding attended to; on a right answer it is bright almost everywhere, on a look-alike
it is dark where the two cards differ (usually the art box).
"""

from __future__ import annotations

import cv2
import numpy as np

from engine.colour_layout import LAYOUT_SIZE, SIGNATURE_SCALE, layout, signatures, z_scores
from engine.verify import crop_lab, half_turned

WINDOW = 5
"""Cells (of 24×33) each side of a window is wide: about a fifth of the card's width, enough
cells for a variance and small enough to tell the art box from the title bar."""

STABILISER = 0.1
"""Added to covariance and deviations (z-scored Lab, unit variance per channel): where both
windows are flat (a plain border) they read as agreeing instead of dividing noise by noise.
Means are not compared: each card is z-scored as a whole, so different art shifts the frame's
values too, and only the windows' shapes stay comparable."""

AGREE, DISAGREE = (40, 200, 70), (230, 30, 30)
"""Overlay colours (RGB): green where the crop agrees with the reference, red where not."""

OPACITY = 0.5


def agreement_map(crop: np.ndarray, signature: np.ndarray) -> np.ndarray:
    """(33, 24) float32 local correlation, −1…1 (1: the same), of an upright crop against one stored
    layout signature (a row of `layouts.npy`, or `signatures(layout(image)[None])[0]`).

    The crop is compared in whichever half turn matches the reference (the index holds both
    turns), and the map is returned in the crop's own orientation so it overlays the crop.
    """
    w, h = LAYOUT_SIZE
    reference = np.asarray(signature, np.float32).reshape(h, w, 3) / SIGNATURE_SCALE
    query = z_scores(layout(crop)[None])[0]
    turned = half_turned(crop_lab(crop), signature)
    if turned:
        query = query[::-1, ::-1]
    agreement = _local_correlation(np.ascontiguousarray(query), reference)
    return np.ascontiguousarray(agreement[::-1, ::-1] if turned else agreement)


def image_signature(rgb: np.ndarray) -> np.ndarray:
    """The stored-layout form of any upright card image (for `compare`, which has two images)."""
    return signatures(layout(rgb)[None])[0]


def _local_correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mean over channels of the correlation in WINDOW×WINDOW windows (edges reflected)."""

    def blur(x: np.ndarray) -> np.ndarray:
        return cv2.blur(x, (WINDOW, WINDOW), borderType=cv2.BORDER_REFLECT)

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a**2
    var_b = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    c = STABILISER
    structure = (cov + c) / (np.sqrt(np.clip(var_a, 0, None) * np.clip(var_b, 0, None)) + c)
    return structure.mean(axis=2).astype(np.float32)


def overlay(crop: np.ndarray, agreement: np.ndarray) -> np.ndarray:
    """The crop (H, W, 3 uint8 RGB) tinted green where `agreement` is high, red where it is
    low; same size as the crop. Agreement at or below 0 is fully red."""
    height, width = crop.shape[:2]
    grid = cv2.resize(agreement.astype(np.float32), (width, height), interpolation=cv2.INTER_CUBIC)
    disagree = np.clip(1.0 - grid, 0.0, 1.0)[..., None]
    tint = (1.0 - disagree) * np.array(AGREE, np.float32) + disagree * np.array(DISAGREE, np.float32)
    out = (1.0 - OPACITY) * crop.astype(np.float32) + OPACITY * tint
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def png(rgb: np.ndarray) -> bytes:
    """PNG bytes of an RGB image (what the API returns and `compare --explain` writes)."""
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(rgb[..., ::-1]))
    if not ok:
        raise RuntimeError("OpenCV could not encode the overlay as PNG")
    return encoded.tobytes()
