"""Find every Magic card in a photo and cut each out as an upright, tight crop.

Runs on the CPU machines admins have. On a <= 640 px copy a tiny learned segmenter
proposes which cards there are (engine/proposals_segmenter.py), one quad each even where a
finger or glare breaks the outline or cards touch, classical OpenCV outlines propose exact
shapes (engine/proposals_classical.py), and engine/choose.py keeps one outline per card:
the segmenter's cards, in the shape of the classical outlines that agree, with classical
outlines filling its gaps. Here each side is then settled on the card's own edge (not its
inner frame or sleeve) on that copy, refined to sub-pixel on the full-resolution image, and
warped. An outline that looks landscape on screen is also cut a quarter turn round, for the
recognizer to keep the reading it knows. Without the segmenter's model file only the
classical passes run.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from engine.borders import settle_sides
from engine.choose import frames_the_picture, merge, suppress
from engine.corners import refine_quad
from engine.grid import complete_grid
from engine.proposal import ASPECT_TOLERANCE
from engine.proposals_classical import classical_proposals
from engine.proposals_segmenter import segmenter_proposals
from engine.quad import aspect_error, fixed_lens_aspects, order_corners, warp_quad
from engine.segmenter import MODEL_PATH, CardSegmenter, load_segmenter

WORK_LONG_SIDE = 640
# Segmenter and classical passes together beat either alone on recall, corner error and
# false outlines (bench/detection.py); the segmenter alone is ~2x faster but misses tight
# crops and more real photos.
CLASSICAL_WITH_LEARNED = True


@dataclass(frozen=True)
class DetectedCard:
    """One card outline: corners in DecodedImage.rgb pixels (beyond the photo's edge where it
    cuts the card), crop, and how sure we are."""

    quad: np.ndarray
    crop: np.ndarray
    score: float
    whole_frame: bool
    readings: tuple[tuple[np.ndarray, np.ndarray], ...] = ()
    """Other (quad, crop) readings of this card that geometry can't rule out: a quarter turn
    when the outline's shape leaves that open, the piece of an enclosing outline that may be
    a card on top of a pile, the whole outline around a piece of a split card; the
    recognizer keeps the one the gallery knows best (and answers a card once when two
    pieces keep its whole outline)."""


class Detector:
    """Card detection with what it owns: the segmenter's session, loaded on first use, and
    the one thread the segmenter, the classical mask passes and the Lab plane run in while the
    classical edge passes run in the caller's.

    The thread takes 3.6-4.7 ms off a photo's detection on two cores, with the same
    outlines (bench/segmenter_thread.py). A recognizer holds one Detector and closes it;
    a forked child makes a thread of its own (the parent's is not in it, and would never
    run its work).
    """

    def __init__(self, model_path: Path = MODEL_PATH) -> None:
        self._model_path = model_path
        self._segmenter: CardSegmenter | None = None
        self._loaded = False
        self._pool: ThreadPoolExecutor | None = None
        self._pool_pid = 0
        self._lock = threading.Lock()

    @property
    def segmenter(self) -> CardSegmenter | None:
        """The segmenter, or None when its model file is absent (classical passes only)."""
        with self._lock:
            if not self._loaded:
                self._segmenter, self._loaded = load_segmenter(self._model_path), True
            return self._segmenter

    def _segmenting_thread(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None or self._pool_pid != os.getpid():
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="segmenter")
                self._pool_pid = os.getpid()
            return self._pool

    def detect(self, rgb: np.ndarray, *, crop_size: tuple[int, int] = (160, 224),
               max_cards: int = 64) -> list[DetectedCard]:
        """`detect_cards`, the segmenter beside the classical passes in this detector's thread."""
        segmenter = self.segmenter
        classical = segmenter is None or CLASSICAL_WITH_LEARNED
        pool = self._segmenting_thread() if segmenter is not None and classical else None
        return detect_cards_using(rgb, segmenter, classical=classical, crop_size=crop_size,
                                  max_cards=max_cards, pool=pool)

    def close(self) -> None:
        """Stop the segmenter's thread (a later `detect` starts another)."""
        with self._lock:
            pool, self._pool = self._pool, None
            ours = self._pool_pid == os.getpid()
        if pool is not None and ours:
            pool.shutdown(wait=True)


def detect_cards(
    rgb: np.ndarray, *, crop_size: tuple[int, int] = (160, 224), max_cards: int = 64
) -> list[DetectedCard]:
    """Detect up to `max_cards` cards, best first; crops are (crop_size[1], crop_size[0], 3).

    When no outline is found and the frame itself has card proportions (a tight crop or
    a screenshot), the whole frame is returned turned to portrait with whole_frame=True.
    Loads the shipped segmenter for this one photo: whatever detects many holds a `Detector`.
    """
    segmenter = load_segmenter()
    classical = segmenter is None or CLASSICAL_WITH_LEARNED
    return detect_cards_using(rgb, segmenter, classical=classical, crop_size=crop_size, max_cards=max_cards)


def detect_cards_using(
    rgb: np.ndarray,
    segmenter: CardSegmenter | None,
    *,
    classical: bool,
    crop_size: tuple[int, int] = (160, 224),
    max_cards: int = 64,
    pool: Executor | None = None,
) -> list[DetectedCard]:
    """detect_cards with a chosen proposal source: the segmenter, the classical passes, or both.

    With both, the segmenter decides which cards there are and agreeing classical outlines
    give their exact shape (see `engine.choose.merge`); with a `pool`, the segmenter, the classical
    mask passes and the Lab plane for settling sides run in it while the edge passes run here (the
    same outlines, sooner).
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected (H, W, 3) uint8 RGB, got {rgb.shape} {rgb.dtype}")
    if segmenter is None and not classical:
        raise ValueError("no proposal source: give a segmenter or enable the classical passes")
    height, width = rgb.shape[:2]
    factor = min(1.0, WORK_LONG_SIDE / max(height, width))
    small = _work_copy(rgb, factor)
    if segmenter is not None and classical and pool is not None:
        pending = pool.submit(segmenter.segment, small)
        found = classical_proposals(small, pool)
        lab_pending = pool.submit(_lab, small)  # for settling sides, made while the segmenter's proposals are
        segmentation = pending.result()
    else:
        segmentation = segmenter.segment(small) if segmenter is not None else None
        found = classical_proposals(small) if classical else []
        lab_pending = None
    outlines = suppress(found)
    if len(outlines) == 1 and frames_the_picture(outlines[0].quad, small.shape):
        whole = _whole_frame(rgb, crop_size)
        if whole:  # the outline found is the inner frame of a tightly cropped card
            return whole
    if segmentation is None:
        kept = outlines
    else:
        kept = suppress(segmenter_proposals(small, segmenter, segmentation, found))
        if classical:
            kept = merge(kept, found, outlines, segmentation)
        kept = complete_grid(kept, segmentation)
    kept = sorted(kept, key=lambda c: c.score, reverse=True)[:max_cards]
    search_px = 1.5 / factor + 1.5
    lab = lab_pending.result() if lab_pending is not None else _lab(small) if kept else None
    cards = []
    for candidate in kept:
        first, *others = [
            reading
            for outline in (candidate.quad, *candidate.alternatives)
            for reading in _readings(rgb, lab, outline, factor, search_px, crop_size)
        ]
        cards.append(DetectedCard(quad=first[0], crop=first[1], score=candidate.score, whole_frame=False,
                                  readings=tuple(others)))
    if not cards:
        return _whole_frame(rgb, crop_size)
    return cards


def _readings(rgb: np.ndarray, lab: np.ndarray, work_quad: np.ndarray, factor: float, search_px: float,
              crop_size: tuple[int, int]) -> list[tuple[np.ndarray, np.ndarray]]:
    """(quad, crop) of an outline settled on the full image, and its quarter turn when in
    doubt (see `_may_be_turned`)."""
    height, width = rgb.shape[:2]
    quad = refine_quad(rgb, settle_sides(lab, work_quad) / factor, search_px)
    quad = order_corners(quad, (width, height))
    out = [(quad, warp_quad(rgb, quad, crop_size))]
    if _may_be_turned(quad, (width, height)):
        turned = np.roll(quad, -1, axis=0)
        out.append((turned, warp_quad(rgb, turned, crop_size)))
    return out


def _lab(small: np.ndarray) -> np.ndarray:
    """The work copy in float Lab, where `settle_sides` finds each card's own edge."""
    return cv2.cvtColor(small, cv2.COLOR_RGB2Lab).astype(np.float32)


def _may_be_turned(quad: np.ndarray, image_size: tuple[int, int]) -> bool:
    """Whether an outline order_corners stood upright may be the card's quarter turn.

    order_corners trusts the perspective-corrected aspect, right for most tilted cards; but
    on a steeply tilted, small or nearly square outline a pixel's error swings the focal
    length it estimates, or throws that out as implausible and leaves the plain side ratio,
    which a tilt can turn. So the outline is in doubt where the plain ratio or a phone lens
    (PHONE_FOCALS) reads it as landscape.
    """
    return max(fixed_lens_aspects(quad, image_size)) > 1.0


def _work_copy(rgb: np.ndarray, factor: float) -> np.ndarray:
    """Downscale by `factor`: pyrDown halvings, then bilinear (INTER_AREA is ~6x slower)."""
    if factor >= 1.0:
        return rgb
    height, width = rgb.shape[:2]
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    small = rgb
    while small.shape[1] >= 2 * size[0] and small.shape[0] >= 2 * size[1]:
        small = cv2.pyrDown(small)
    return cv2.resize(small, size, interpolation=cv2.INTER_LINEAR)


def _whole_frame(rgb: np.ndarray, crop_size: tuple[int, int]) -> list[DetectedCard]:
    """The whole image as one card when its shape says it is one (tight crop, screenshot)."""
    height, width = rgb.shape[:2]
    error = aspect_error(width / height)
    if error > ASPECT_TOLERANCE:
        return []
    corners = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    if width > height:  # landscape: the card lies on its side; start at the bottom-left
        corners = corners[[3, 0, 1, 2]]
    crop = warp_quad(rgb, corners, crop_size)
    score = 1.0 - error / ASPECT_TOLERANCE
    return [DetectedCard(quad=corners, crop=crop, score=float(score), whole_frame=True)]
