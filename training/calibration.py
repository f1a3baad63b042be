"""Fits the confidence model on simulated photos whose right answers are known, open-set.

The photos go through the real engine (decode, detect, embed, search), so the fitted confidence
reflects detection error and photo damage, not just clean embedding distances. Cards the
detector misses can't be answered at all and are left out of the fit.

A confidence fitted only on cards that are in the index has never seen the case "the right
card is not there", and answered cards from other sets "sure" with a neighbour's name (issue 19).
So every photographed card is also read as an index *without* its name would read it
(`Candidates.without_name`: the other entries' scores don't depend on what else is indexed, so
this is exactly the leave-one-name-out index, at no extra cost), and photos of generated cards,
which no gallery holds, join as absent too. `CalibrationConfig.absent_share` sets how much the
absent cards weigh in the fit: the confidence is "probability the name is right" for a stream
of photos in which that share of cards is missing from the gallery.
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from sklearn.linear_model import LogisticRegression

from engine.calibrate import Calibrator
from engine.recognizer import Candidates, Recognizer
from training.config import CalibrationConfig
from training.evaluate import VISIBLE_ENOUGH, evaluate, expected_calibration_error, simulated_queries
from training.gallery import GalleryItem, read_gallery
from training.photosim import PhotoSimConfig

log = logging.getLogger(__name__)

MULTI_CARDS = 4
"""Most cards in a calibration photo of several (the simulator fits fewer when they don't fit)."""

SAME_CARD_FALSE_ACCEPTS = 0.95
"""Quantile of different-card similarities used as the same-card threshold."""

CARD_FLOOR_LOSS = 0.005
"""Share of right answers (cards in the index, named right) whose top score may fall under the
"is a card" floor. On the ImageNet backbone's 708-scan set (454 simulated cards, 2026-12-06) a
floor at 0.5% of right answers let 5% of non-card crops through, at 1% of *all* real cards'
crops (absent ones included) 44%: below the right answers' range a name is as good as never
right, so saying "no card" there loses next to nothing."""

FEATURES = ("top", "margin", "art", "title", "edges", "edge_lead")
"""Columns of the evidence, in order (`Recognizer.evidence`)."""

PROVISIONAL = Calibrator(w_top=10.0, w_margin=40.0, bias=-7.0)
"""Used only while the real fit is being computed (it needs a loadable set)."""

ALCHEMY = "A-"
"""Scryfall's prefix for a card's Arena rebalancing ("A-Leyline of Resonance"): the same art and
printed title as the paper card, only the rules text differs."""


@dataclass(frozen=True)
class Samples:
    """Evidence of answered cards: (N, 6) features (`FEATURES`), whether the top name is right,
    and whether the photographed card's name was absent from the index as read."""

    features: np.ndarray
    right: np.ndarray
    absent: np.ndarray

    def __add__(self, other: "Samples") -> "Samples":
        return Samples(np.concatenate([self.features, other.features]), np.concatenate([self.right, other.right]),
                       np.concatenate([self.absent, other.absent]))


@dataclass(frozen=True)
class Case:
    """One answered card of the calibration photos: its candidates as read (without its name
    where `left_out` names the card dropped from the ranking), whether the top name is right, and
    whether the photographed card is absent from the index as read."""

    found: Candidates
    right: bool
    absent: bool
    left_out: str | None = None


def evidence_of(recognizer: Recognizer, cases: Sequence[Case]) -> Samples:
    """The cases' evidence (`Recognizer.evidence`), one row each, in order."""
    rows = [recognizer.evidence(c.found) for c in cases]
    features = _widen(np.asarray(rows, np.float64)) if rows else np.zeros((0, len(FEATURES)))
    return Samples(features, np.array([c.right for c in cases], bool), np.array([c.absent for c in cases], bool))


def collect_cases(
    recognizer: Recognizer, items: Sequence[GalleryItem], cfg: CalibrationConfig, *,
    progress: bool = True,
) -> list[Case]:
    """Each card the engine answered, in the index and (read without its name) not.

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
    cases = [Case(o.found, o.top_match_right, False) for o in answered]
    cases += [Case(c, False, True, o.truth.name) for o in answered if (c := without_card(o.found, o.truth.name)).matches]
    if cfg.generated_photos:
        cases += _generated_cases(recognizer, items, cfg, sim, progress)
    return cases


def second_look(recognizer: Recognizer, cases: Sequence[Case], samples: Samples, cal: Calibrator,
                threshold: float) -> Samples:
    """`samples` with the evidence of each case `cal` answers not sure (as serving weighs it:
    the title only where it can decide) read again through `Recognizer.retry_outline`, as
    serving gives such answers a second look; the others unchanged."""
    features = samples.features.copy()
    for i, case in enumerate(cases):
        top, margin, art, title, edges, lead = features[i]
        if not cal.looks_like_a_card(top):
            continue  # answered "no card": nothing to look at again
        if cal.served_confidence(top, margin, art, edges, lead, threshold, lambda: title) >= threshold:
            continue
        name = case.left_out
        retried = recognizer.retry_outline(case.found, (lambda c: without_card(c, name)) if name else None)
        if retried is not case.found:
            features[i] = recognizer.evidence(retried)
    return Samples(features, samples.right, samples.absent)


def without_card(found: Candidates, name: str) -> Candidates:
    """`found` as an index without the card `name` would rank it: without its Arena rebalancing
    (`ALCHEMY`) too, which a synced gallery never holds without the paper card. Left in, the
    twin was the "absent" card's top match with its art, title and scores: six such samples on
    the 567-scan set's calibration photos (2026-12-07) were most of the absent answers sure at
    any threshold, and the fit had to distrust a perfect match to honour them."""
    paper = paper_name(name)
    return found.without_name(paper).without_name(ALCHEMY + paper)


def paper_name(name: str) -> str:
    """The paper card's name of an Arena rebalancing ("A-Leyline of Resonance"), else `name`."""
    return name.removeprefix(ALCHEMY)


def _generated_cases(recognizer: Recognizer, items: Sequence[GalleryItem], cfg: CalibrationConfig,
                     sim: PhotoSimConfig, progress: bool) -> list[Case]:
    """Photos of generated cards: a frame and art no gallery holds (names drawn by the generator;
    one that happens to be in the gallery counts as present, answered right or wrong)."""
    from training.cardgen import generate_gallery  # rendering fonts and art: only when asked

    names = {it.entry.name for it in items}
    with tempfile.TemporaryDirectory() as tmp:
        generate_gallery(Path(tmp), cfg.generated_cards, seed=cfg.seed + 2, hard_negative_fraction=0.0)
        generated = read_gallery(Path(tmp))
        result = evaluate(recognizer, simulated_queries(generated, cfg.generated_photos, seed=cfg.seed + 3, sim=sim),
                          total=cfg.generated_photos, progress=progress)
    answered = [o for o in result.outcomes if o.found is not None]
    return [Case(o.found, o.top_match_right, o.truth.name not in names) for o in answered]


def fit(features: np.ndarray, labels: np.ndarray, absent: np.ndarray | None = None,
        absent_share: float = 0.0) -> Calibrator:
    """Weighted logistic fit with non-negative weights, the same-card threshold and the card floor.

    `features` has the columns of `FEATURES` (missing trailing ones count as 0). With `absent`
    given, absent cards weigh `absent_share` of the fit and cards in the index the rest, however
    many of each were photographed.
    """
    features = _widen(np.asarray(features, np.float64))
    labels = np.asarray(labels, bool)
    absent = np.zeros(len(labels), bool) if absent is None else np.asarray(absent, bool)
    share = absent_share if absent.any() and (~absent).any() else 0.0
    weights = np.where(absent, share / max(1, absent.sum()), (1 - share) / max(1, (~absent).sum())) * len(labels)
    calibrator = _logistic(features, labels, weights)
    present = ~absent
    return dataclasses.replace(
        calibrator,
        same_card_threshold=same_card_threshold(features[present], labels[present]),
        card_floor=card_floor(features[present & labels, 0]) if absent.any() else None,
        absent_share=share if absent.any() else None,
    )


def _widen(features: np.ndarray) -> np.ndarray:
    features = features.reshape(len(features), -1) if features.size else features.reshape(0, features.shape[-1])
    return np.pad(features, ((0, 0), (0, len(FEATURES) - features.shape[1])))


def same_card_threshold(features: np.ndarray, labels: np.ndarray) -> float | None:
    """The similarity that only 1 in 20 pairs of *different* cards reaches.

    Different-card scores are the best rival's score (top - margin) of right answers and the
    top score of wrong ones. A false "same card" is the costly mistake, so the threshold
    bounds false accepts rather than balancing them against false rejects. None without data.
    """
    top, margin = features[:, 0], features[:, 1]
    other = np.concatenate([(top - margin)[labels], top[~labels]])
    return float(np.quantile(other, SAME_CARD_FALSE_ACCEPTS)) if len(other) else None


def card_floor(right_top_scores: np.ndarray) -> float | None:
    """The top score that all but `CARD_FLOOR_LOSS` of right answers reach.

    Under it a detection is reported as no card: screenshots, memes, hands, other games' cards
    score there, and so do some Magic cards absent from the index, whose candidates are wrong
    names anyway. None without right answers.
    """
    return float(np.quantile(right_top_scores, CARD_FLOOR_LOSS)) if len(right_top_scores) else None


def _logistic(features: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> Calibrator:
    """A feature whose weight comes out negative is dropped, so confidence stays monotone."""
    if len(labels) < 20 or labels.all() or not labels.any():
        log.warning("calibration: %d samples, %d right: too few of one kind, keeping a prior",
                    len(labels), int(labels.sum()))
        return _prior(labels)
    use = list(range(len(FEATURES)))
    while use:
        model = LogisticRegression(C=10.0, max_iter=1000).fit(features[:, use], labels, sample_weight=weights)
        coef = model.coef_[0]
        if (coef >= 0).all():
            fitted = {FEATURES[i]: float(c) for i, c in zip(use, coef)}
            cal = Calibrator(
                w_top=fitted.get("top", 0.0), w_margin=fitted.get("margin", 0.0), w_art=fitted.get("art", 0.0),
                w_title=fitted.get("title", 0.0), w_edges=fitted.get("edges", 0.0),
                w_edge_lead=fitted.get("edge_lead", 0.0),
                bias=float(model.intercept_[0]), fitted_on=int(len(labels)),
            )
            conf = np.array([cal.confidence(*row) for row in features])
            return dataclasses.replace(cal, expected_calibration_error=_weighted_ece(conf, labels, weights))
        use.remove(use[int(np.argmin(coef))])
    return _prior(labels)


def _weighted_ece(conf: np.ndarray, labels: np.ndarray, weights: np.ndarray, bins: int = 10) -> float:
    """ECE over the fit's own mix (absent cards at their share), as the confidence is meant."""
    if np.allclose(weights, weights[0]):
        return expected_calibration_error(conf, labels, bins)
    edges = np.linspace(0, 1, bins + 1)
    total, ece = weights.sum(), 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (conf >= lo) & ((conf < hi) | (hi == 1.0))
        if sel.any():
            w = weights[sel]
            ece += w.sum() / total * abs(np.average(conf[sel], weights=w) - np.average(labels[sel], weights=w))
    return float(ece)


def _prior(labels: np.ndarray) -> Calibrator:
    rate = float(np.clip(labels.mean() if len(labels) else 0.5, 0.02, 0.98))
    return Calibrator(w_top=0.0, w_margin=0.0, bias=float(np.log(rate / (1 - rate))),
                      fitted_on=int(len(labels)))


def calibrate_set(set_dir: Path, items: Sequence[GalleryItem], cfg: CalibrationConfig,
                  recognizer: Recognizer, *, progress: bool = True) -> Calibrator:
    cases = collect_cases(recognizer, items, cfg, progress=progress)
    samples = evidence_of(recognizer, cases)
    cal = fit(samples.features, samples.right, samples.absent, cfg.absent_share)
    if cases:  # serving gives unsure answers a second look (engine.outline_retry): so does the fit
        samples = second_look(recognizer, cases, samples, cal, recognizer.settings.unsure_below)
        cal = dataclasses.replace(fit(samples.features, samples.right, samples.absent, cfg.absent_share),
                                  outline_retry=True)
    cal.save(set_dir / "calibration.json")
    present = ~samples.absent
    log.info("calibration: %d cards in the index (%.1f%% right), %d absent; ECE %s",
             int(present.sum()), 100 * samples.right[present].mean() if present.any() else 0,
             int(samples.absent.sum()), cal.expected_calibration_error)
    return cal
