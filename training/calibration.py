"""Fits the confidence model on simulated photos whose right answers are known.

The photos go through the real engine (decode, detect, embed, search), so the fitted confidence
reflects detection error and photo damage, not just clean embedding distances. Cards the
detector misses can't be answered at all and are left out of the fit.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Sequence

import numpy as np
from sklearn.linear_model import LogisticRegression

from engine.calibrate import Calibrator
from engine.recognizer import Recognizer, evidence
from training.config import CalibrationConfig
from training.evaluate import VISIBLE_ENOUGH, evaluate, expected_calibration_error, simulated_queries
from training.gallery import GalleryItem
from training.photosim import PhotoSimConfig

log = logging.getLogger(__name__)

MULTI_CARDS = 4
"""Most cards in a calibration photo of several (the simulator fits fewer when they don't fit)."""

SAME_CARD_FALSE_ACCEPTS = 0.95
"""Quantile of different-card similarities used as the same-card threshold."""

PROVISIONAL = Calibrator(w_top=10.0, w_margin=40.0, bias=-7.0)
"""Used only while the real fit is being computed (it needs a loadable set)."""


def collect_evidence(
    recognizer: Recognizer, items: Sequence[GalleryItem], cfg: CalibrationConfig, *,
    progress: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """(features [top, margin], right-name flags) for each card the engine answered.

    The photos and the matching of true cards to detections are the evaluation's own, so the
    fit sees exactly what `cardsight eval` measures. Cards in photos of several cards are
    named wrong more often at the same evidence (neighbours' edges in the crop), so a fit on
    single cards alone is overconfident there: on the benchmark's photos 93% of sure answers
    were right on cards in view of 2-4-card photos against 96% on single cards, and 96% and
    97% with both kinds in the fit. Of those photos only cards in view count, because a
    hidden card's nearest detection is the card on top of it.
    """
    sim = PhotoSimConfig(size=tuple(cfg.photo_size), hardness=cfg.hardness)
    single = evaluate(recognizer, simulated_queries(items, cfg.photos, seed=cfg.seed, sim=sim),
                      total=cfg.photos, progress=progress)
    answered = [o for o in single.outcomes if o.found is not None]
    if cfg.multi_card_photos and len(items) > 1:
        crowded = dataclasses.replace(sim, max_cards=MULTI_CARDS)
        multi = evaluate(recognizer, simulated_queries(items, cfg.multi_card_photos, seed=cfg.seed + 1, sim=crowded,
                                                       cards_per_photo=MULTI_CARDS),
                         total=cfg.multi_card_photos, progress=progress)
        answered += [o for o in multi.outcomes if o.found is not None and o.truth.visible >= VISIBLE_ENOUGH]
    features = [evidence(o.found.matches) for o in answered]
    labels = [o.name_rank() == 1 for o in answered]
    return np.asarray(features, np.float64).reshape(-1, 2), np.asarray(labels, bool)


def fit(features: np.ndarray, labels: np.ndarray) -> Calibrator:
    """Logistic fit with non-negative weights, plus the same-card similarity threshold."""
    calibrator = _logistic(features, labels)
    threshold = same_card_threshold(features, labels)
    return dataclasses.replace(calibrator, same_card_threshold=threshold)


def same_card_threshold(features: np.ndarray, labels: np.ndarray) -> float | None:
    """The similarity that only 1 in 20 pairs of *different* cards reaches.

    Different-card scores are the best rival's score (top - margin) of right answers and the
    top score of wrong ones. A false "same card" is the costly mistake, so the threshold
    bounds false accepts rather than balancing them against false rejects. None without data.
    """
    top, margin = features[:, 0], features[:, 1]
    other = np.concatenate([(top - margin)[labels], top[~labels]])
    return float(np.quantile(other, SAME_CARD_FALSE_ACCEPTS)) if len(other) else None


def _logistic(features: np.ndarray, labels: np.ndarray) -> Calibrator:
    """A feature whose weight comes out negative is dropped, so confidence stays monotone."""
    if len(labels) < 20 or labels.all() or not labels.any():
        log.warning("calibration: %d samples, %d right: too few of one kind, keeping a prior",
                    len(labels), int(labels.sum()))
        return _prior(labels)
    use = [0, 1]
    while use:
        model = LogisticRegression(C=10.0, max_iter=1000).fit(features[:, use], labels)
        coef = model.coef_[0]
        if (coef >= 0).all():
            weights = dict(zip(use, coef))
            cal = Calibrator(
                w_top=float(weights.get(0, 0.0)), w_margin=float(weights.get(1, 0.0)),
                bias=float(model.intercept_[0]), fitted_on=int(len(labels)),
            )
            ece = expected_calibration_error(
                np.array([cal.confidence(t, m) for t, m in features]), labels
            )
            return dataclasses.replace(cal, expected_calibration_error=ece)
        use.remove(use[int(np.argmin(coef))])
    return _prior(labels)


def _prior(labels: np.ndarray) -> Calibrator:
    rate = float(np.clip(labels.mean() if len(labels) else 0.5, 0.02, 0.98))
    return Calibrator(w_top=0.0, w_margin=0.0, bias=float(np.log(rate / (1 - rate))),
                      fitted_on=int(len(labels)))


def calibrate_set(set_dir: Path, items: Sequence[GalleryItem], cfg: CalibrationConfig,
                  recognizer: Recognizer, *, progress: bool = True) -> Calibrator:
    features, labels = collect_evidence(recognizer, items, cfg, progress=progress)
    cal = fit(features, labels)
    cal.save(set_dir / "calibration.json")
    log.info("calibration: %d cards, %.1f%% right, ECE %s", len(labels),
             100 * labels.mean() if len(labels) else 0, cal.expected_calibration_error)
    return cal
