"""Confidence: monotone in the evidence, fitted to recover a known logistic, honest ECE."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pytest

from engine.calibrate import Calibrator
from training.calibration import fit, same_card_threshold
from training.evaluate import expected_calibration_error

TRUE_W_TOP, TRUE_W_MARGIN, TRUE_BIAS = 8.0, 25.0, -6.0


def synthetic(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Evidence like the engine's and right/wrong labels drawn from a known logistic."""
    rng = np.random.default_rng(seed)
    top = rng.uniform(0.3, 1.0, n)
    margin = rng.uniform(0.0, 0.3, n)
    p = 1 / (1 + np.exp(-(TRUE_W_TOP * top + TRUE_W_MARGIN * margin + TRUE_BIAS)))
    return np.column_stack([top, margin]), rng.random(n) < p


def test_confidence_is_monotone_in_top_and_margin() -> None:
    cal = Calibrator(w_top=10.0, w_margin=40.0, bias=-7.0)
    grid = np.linspace(0, 1, 21)
    for margin in (0.0, 0.05, 0.3):
        values = [cal.confidence(t, margin) for t in grid]
        assert all(b >= a for a, b in zip(values, values[1:]))
    for top in (0.2, 0.7, 1.0):
        values = [cal.confidence(top, m) for m in grid]
        assert all(b >= a for a, b in zip(values, values[1:]))
    assert 0.0 < cal.confidence(0.0, 0.0) < cal.confidence(1.0, 1.0) < 1.0 + 1e-12


def test_extreme_evidence_does_not_overflow() -> None:
    cal = Calibrator(w_top=1e6, w_margin=1e6, bias=-1e6)
    assert cal.confidence(10.0, 10.0) == pytest.approx(1.0)
    assert cal.confidence(-10.0, 0.0) == pytest.approx(0.0, abs=1e-20)


@pytest.mark.parametrize("weights", [(-0.1, 1.0), (1.0, -2.0), (math.nan, 1.0), (1.0, math.inf)])
def test_negative_or_non_finite_weights_rejected(weights: tuple[float, float]) -> None:
    with pytest.raises(ValueError, match="weights"):
        Calibrator(w_top=weights[0], w_margin=weights[1], bias=0.0)


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    cal = Calibrator(w_top=3.0, w_margin=4.0, bias=-2.5, fitted_on=120, expected_calibration_error=0.03)
    cal.save(tmp_path / "calibration.json")
    assert Calibrator.load(tmp_path / "calibration.json") == cal


def test_fit_recovers_a_known_logistic() -> None:
    features, labels = synthetic(4000, seed=1)
    cal = fit(features, labels)
    assert cal.w_top >= 0 and cal.w_margin >= 0
    assert cal.w_top == pytest.approx(TRUE_W_TOP, rel=0.25)
    assert cal.w_margin == pytest.approx(TRUE_W_MARGIN, rel=0.25)
    assert cal.fitted_on == 4000
    assert cal.expected_calibration_error is not None and cal.expected_calibration_error < 0.04
    # Held-out data from the same process is calibrated too.
    test_features, test_labels = synthetic(4000, seed=2)
    conf = np.array([cal.confidence(t, m) for t, m in test_features])
    assert expected_calibration_error(conf, test_labels) < 0.04


def test_fit_drops_a_feature_that_would_need_a_negative_weight() -> None:
    """Right answers that come with *smaller* margins must not make confidence fall with margin."""
    rng = np.random.default_rng(3)
    top = rng.uniform(0.3, 1.0, 2000)
    margin = rng.uniform(0.0, 0.3, 2000)
    p = 1 / (1 + np.exp(-(8 * top - 20 * margin - 3)))
    cal = fit(np.column_stack([top, margin]), rng.random(2000) < p)
    assert cal.w_margin == 0.0 and cal.w_top > 0


@pytest.mark.parametrize("labels", [np.ones(50, bool), np.zeros(50, bool), np.array([True, False] * 5)])
def test_degenerate_data_gives_a_prior(labels: np.ndarray, caplog: pytest.LogCaptureFixture) -> None:
    features = np.tile([0.9, 0.1], (len(labels), 1))
    with caplog.at_level(logging.WARNING, logger="training.calibration"):
        cal = fit(features, labels)
    assert cal.w_top == 0.0 and cal.w_margin == 0.0
    expected = float(np.clip(labels.mean(), 0.02, 0.98))
    assert cal.confidence(0.0, 0.0) == pytest.approx(expected)
    assert cal.confidence(1.0, 1.0) == pytest.approx(expected)
    assert "keeping a prior" in caplog.text


def test_ece_of_perfectly_calibrated_data_is_near_zero() -> None:
    rng = np.random.default_rng(4)
    conf = rng.uniform(0, 1, 200_000)
    right = rng.random(conf.size) < conf
    assert expected_calibration_error(conf, right) < 0.01


def test_ece_of_overconfident_answers() -> None:
    conf = np.full(1000, 0.95)
    right = np.arange(1000) < 500
    assert expected_calibration_error(conf, right) == pytest.approx(0.45)
    assert expected_calibration_error(np.array([]), np.array([], bool)) == 0.0
    # A confidence of exactly 1.0 falls in the top bin rather than out of every bin.
    assert expected_calibration_error(np.array([1.0, 1.0]), np.array([True, False])) == pytest.approx(0.5)


def test_same_card_threshold_bounds_false_accepts() -> None:
    rng = np.random.default_rng(5)
    right_top = rng.uniform(0.8, 1.0, 300)
    wrong_top = rng.uniform(0.3, 0.7, 200)
    margins = np.concatenate([rng.uniform(0.3, 0.5, 300), rng.uniform(0.0, 0.05, 200)])
    features = np.column_stack([np.concatenate([right_top, wrong_top]), margins])
    labels = np.arange(500) < 300
    threshold = same_card_threshold(features, labels)
    different = np.concatenate([right_top - margins[:300], wrong_top])
    assert (different >= threshold).mean() == pytest.approx(0.05, abs=0.005)
    assert threshold < right_top.min()
    assert fit(features, labels).same_card_threshold == pytest.approx(threshold)


def test_same_card_threshold_without_samples() -> None:
    assert same_card_threshold(np.zeros((0, 2)), np.zeros(0, bool)) is None
    assert fit(np.zeros((0, 2)), np.zeros(0, bool)).same_card_threshold is None


class EvidenceOf:
    """Stands in for a recognizer: its evidence is the matches' (top, margin) and a fixed art score."""

    def evidence(self, found):  # type: ignore[no-untyped-def]
        from engine.recognizer import evidence

        return (*evidence(found.matches), 0.25)


def _outcome(name: str, answered: list[tuple[str, float]], visible: float = 1.0):  # type: ignore[no-untyped-def]
    from engine.recognizer import Candidates
    from engine.types import CardMatch
    from training.evaluate import CardOutcome, TrueCard

    matches = [CardMatch(card_id=n, name=n, set="lea", set_name=None, collector_number="1", scryfall_uri="",
                         image_uri=None, score=score) for n, score in answered]
    quad = np.float32([[0, 0], [63, 0], [63, 88], [0, 88]])
    return CardOutcome(TrueCard(name, name, quad, visible=visible),
                       Candidates(quad, matches, False, np.zeros((4, 4, 3), np.uint8), tuple(range(len(matches)))),
                       0.5)


def test_photos_of_several_cards_join_the_fit_with_their_cards_in_view(monkeypatch: pytest.MonkeyPatch) -> None:
    from training import calibration
    from training.config import CalibrationConfig
    from training.evaluate import VISIBLE_ENOUGH, EvalResult

    results = iter([
        EvalResult(photos=1, outcomes=[_outcome("A", [("A", 0.9)])]),
        EvalResult(photos=1, outcomes=[_outcome("B", [("B", 0.8)]), _outcome("C", [("D", 0.6)], VISIBLE_ENOUGH),
                                       _outcome("E", [("F", 0.7)], visible=0.4)]),  # under B: left out
    ])
    calls = []

    def fake_evaluate(recognizer, queries, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(kwargs["total"])
        return next(results)

    monkeypatch.setattr(calibration, "evaluate", fake_evaluate)
    cfg = CalibrationConfig(photos=1, multi_card_photos=1, generated_photos=0)
    cases = calibration.collect_cases(EvidenceOf(), [object(), object()], cfg)  # type: ignore[arg-type, list-item]
    samples = calibration.evidence_of(EvidenceOf(), cases)  # type: ignore[arg-type]
    present = ~samples.absent
    assert samples.features[present, 0].tolist() == pytest.approx([0.9, 0.8, 0.6])
    assert samples.features[:, 2].tolist() == pytest.approx([0.25] * len(samples.right))
    assert samples.right[present].tolist() == [True, True, False]
    assert calls == [1, 1]

    results = iter([EvalResult(photos=1, outcomes=[_outcome("A", [("A", 0.9)])])])
    cfg = CalibrationConfig(photos=1, multi_card_photos=0, generated_photos=0)
    cases = calibration.collect_cases(EvidenceOf(), [object(), object()], cfg)  # type: ignore[arg-type, list-item]
    samples = calibration.evidence_of(EvidenceOf(), cases)  # type: ignore[arg-type]
    assert len(samples.right) == 1


def test_every_answered_card_is_also_read_as_if_its_name_were_not_indexed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The card's own printings go; the best other name becomes the (wrong) top answer."""
    from training import calibration
    from training.config import CalibrationConfig
    from training.evaluate import EvalResult

    outcome = _outcome("A", [("A", 0.95), ("A", 0.9), ("B", 0.7), ("C", 0.5)])
    monkeypatch.setattr(calibration, "evaluate", lambda *a, **k: EvalResult(photos=1, outcomes=[outcome]))
    cfg = CalibrationConfig(photos=1, multi_card_photos=0, generated_photos=0)
    cases = calibration.collect_cases(EvidenceOf(), [object()], cfg)  # type: ignore[arg-type, list-item]
    samples = calibration.evidence_of(EvidenceOf(), cases)  # type: ignore[arg-type]
    assert samples.absent.tolist() == [False, True]
    assert samples.right.tolist() == [True, False]
    assert samples.features[0, :2].tolist() == pytest.approx([0.95, 0.25])
    assert samples.features[1, :2].tolist() == pytest.approx([0.7, 0.2])
    left = outcome.found.without_name("A")
    assert [m.name for m in left.matches] == ["B", "C"] and left.rows == (2, 3)


@pytest.mark.parametrize("photographed", ["Leyline of Resonance", "A-Leyline of Resonance"])
def test_a_card_read_without_its_name_loses_its_arena_rebalancing_too(photographed: str) -> None:
    """An index without the card holds neither the paper card nor its same-art "A-" twin."""
    from training.calibration import without_card

    found = _outcome(photographed, [("Leyline of Resonance", 0.95), ("A-Leyline of Resonance", 0.94),
                                    ("Leyline of the Void", 0.7), ("Resonance", 0.6)]).found
    left = without_card(found, photographed)
    assert [m.name for m in left.matches] == ["Leyline of the Void", "Resonance"] and left.rows == (2, 3)


def open_set(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cards in the index (right when the art agrees) and absent ones (always wrong, art disagrees,
    but top and margin as high as a present card's)."""
    rng = np.random.default_rng(seed)
    top = rng.uniform(0.4, 0.95, 2 * n)
    margin = rng.uniform(0.0, 0.3, 2 * n)
    absent = np.arange(2 * n) >= n
    art = np.where(absent, rng.uniform(-0.1, 0.5, 2 * n), rng.uniform(0.3, 1.0, 2 * n))
    right = ~absent & (rng.random(2 * n) < 1 / (1 + np.exp(-(10 * top + 20 * margin - 8))))
    return np.column_stack([top, margin, art]), right, absent


def test_absent_cards_teach_the_fit_to_weigh_the_art() -> None:
    features, right, absent = open_set(3000, seed=6)
    closed = fit(features[~absent], right[~absent])
    opened = fit(features, right, absent, absent_share=0.5)
    assert opened.w_art > closed.w_art + 1.0
    assert opened.absent_share == 0.5 and closed.absent_share is None and closed.card_floor is None
    sure_closed = np.array([closed.confidence(*f) for f in features[absent]]) >= 0.6
    sure_opened = np.array([opened.confidence(*f) for f in features[absent]]) >= 0.6
    assert sure_opened.mean() < sure_closed.mean() / 3


def test_absent_share_sets_their_weight_whatever_their_count() -> None:
    features, right, absent = open_set(2000, seed=7)
    few_absent = ~absent | (np.arange(len(right)) < 2000 + 400)
    heavy = fit(features[few_absent], right[few_absent], absent[few_absent], absent_share=0.5)
    light = fit(features[few_absent], right[few_absent], absent[few_absent], absent_share=0.1)
    absent_conf = lambda cal: np.mean([cal.confidence(*f) for f in features[absent]])  # noqa: E731
    assert absent_conf(heavy) < absent_conf(light)


def test_card_floor_loses_half_a_percent_of_right_answers() -> None:
    features, right, absent = open_set(2000, seed=8)
    cal = fit(features, right, absent, absent_share=0.5)
    assert cal.card_floor is not None
    assert (features[right, 0] < cal.card_floor).mean() == pytest.approx(0.005, abs=0.002)
    assert (features[~right, 0] < cal.card_floor).mean() > 3 * 0.005  # wrong answers are cut more often
    assert not cal.looks_like_a_card(cal.card_floor - 0.01) and cal.looks_like_a_card(cal.card_floor)
    assert Calibrator(w_top=1.0, w_margin=1.0, bias=0.0).looks_like_a_card(-1.0)


def test_a_calibration_saved_before_the_art_check_loads_and_reads_as_before(tmp_path: Path) -> None:
    (tmp_path / "calibration.json").write_text(
        '{"w_top": 10.0, "w_margin": 40.0, "bias": -7.0, "fitted_on": 3, "expected_calibration_error": null,'
        ' "same_card_threshold": 0.7}', encoding="utf-8")
    cal = Calibrator.load(tmp_path / "calibration.json")
    assert cal.w_art == 0.0 and cal.w_edges == 0.0 and cal.w_edge_lead == 0.0 and cal.card_floor is None
    assert cal.confidence(0.8, 0.1, art=0.9) == pytest.approx(cal.confidence(0.8, 0.1))
    assert cal.confidence(0.8, 0.1) == pytest.approx(1 / (1 + math.exp(-(8.0 + 4.0 - 7.0))))


def test_confidence_is_monotone_in_art() -> None:
    cal = Calibrator(w_top=5.0, w_margin=10.0, bias=-6.0, w_art=8.0)
    values = [cal.confidence(0.7, 0.1, a) for a in np.linspace(-1, 1, 21)]
    assert all(b > a for a, b in zip(values, values[1:]))
    with pytest.raises(ValueError, match="weights"):
        Calibrator(w_top=1.0, w_margin=1.0, bias=0.0, w_art=-0.5)


def test_the_edge_lead_is_fitted_from_the_sixth_column_and_raises_confidence() -> None:
    """Right answers lead their rivals' edge maps, absent cards don't: the fit must weigh the
    column `FEATURES` names "edge_lead", not drop it or read it as another signal."""
    from training.calibration import FEATURES

    rng = np.random.default_rng(6)
    n = 600
    right = rng.random(n) < 0.5
    features = np.zeros((n, len(FEATURES)))
    features[:, 0] = rng.uniform(0.4, 0.6, n)  # top and margin alike for both: only the lead tells
    features[:, 1] = rng.uniform(0.0, 0.1, n)
    features[:, FEATURES.index("edge_lead")] = np.where(right, rng.normal(0.45, 0.15, n), rng.normal(-0.07, 0.1, n))
    cal = fit(features, right, ~right, absent_share=0.5)
    assert FEATURES[-1] == "edge_lead" and cal.w_edge_lead > 5.0
    assert cal.confidence(0.5, 0.05, edge_lead=0.45) > 0.9 > 0.1 > cal.confidence(0.5, 0.05, edge_lead=-0.07)


class RetriedOf:
    """Stands in for a recognizer whose second look (`retry_outline`) finds each card's best
    match 0.2 higher, through the ranking `drop` leaves (calibration's index without the name)."""

    def __init__(self) -> None:
        self.looked: list[str] = []

    def evidence(self, found):  # type: ignore[no-untyped-def]
        from engine.recognizer import evidence

        return (*evidence(found.matches), 0.0, 0.0, 0.0, 0.0)

    def retry_outline(self, found, drop=None):  # type: ignore[no-untyped-def]
        import dataclasses

        self.looked.append(found.matches[0].name)
        better = dataclasses.replace(found, matches=[dataclasses.replace(m, score=m.score + 0.2)
                                                     for m in found.matches])
        return drop(better) if drop is not None else better


def test_only_cases_answered_unsure_get_the_second_look_and_absent_ones_without_their_name() -> None:
    from training.calibration import Case, evidence_of, second_look

    recognizer = RetriedOf()
    cases = [Case(_outcome("A", [("A", 0.95), ("B", 0.5)]).found, True, False),  # sure: untouched
             Case(_outcome("C", [("C", 0.6), ("D", 0.55)]).found, True, False),  # unsure: looked at again
             Case(_outcome("E", [("E", 0.7), ("F", 0.6)]).found.without_name("E"), False, True, "E")]
    cal = Calibrator(w_top=20.0, w_margin=0.0, bias=-16.0, card_floor=0.3)  # sure from top 0.82 at 0.6
    samples = evidence_of(recognizer, cases)  # type: ignore[arg-type]
    looked = second_look(recognizer, cases, samples, cal, 0.6)  # type: ignore[arg-type]
    assert recognizer.looked == ["C", "F"]
    assert looked.features[:, 0].tolist() == pytest.approx([0.95, 0.8, 0.8])
    assert looked.right.tolist() == samples.right.tolist() and looked.absent.tolist() == [False, False, True]
    assert samples.features[1, 0] == pytest.approx(0.6)  # the first reading is kept as it was
