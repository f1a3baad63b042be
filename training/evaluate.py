"""Measures the engine on photos whose answers are known: simulated, or a labelled folder.

A labelled folder holds photos and `truth.jsonl` (one line per photo:
``{"photo": FILE, "cards": [{"id", "name", "quad"}]}``, the format `cardsight synth photos`
writes). True cards and detections are paired by centre distance (`match_detections`); a
true card left without one is a detection miss.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np
from tqdm import tqdm

from engine.recognizer import Candidates, Recognizer
from engine.types import CardAnswer
from training.gallery import GalleryItem, load_card_image
from training.photosim import PhotoSimConfig, encode_jpeg, simulate_photo


VISIBLE_ENOUGH = 0.85
"""A card this much in view (not under another card, a finger or the frame edge) can be named."""


@dataclass(frozen=True)
class TrueCard:
    card_id: str
    name: str
    quad: np.ndarray
    face: int = 0
    visible: float = 1.0
    title_visible: float = 1.0
    """Share of its title bar in view: a card showing its name can be named even when hidden."""
    visible_centre: np.ndarray | None = None
    """Centroid of its part in view (simulated photos only)."""


@dataclass(frozen=True)
class Query:
    data: bytes
    cards: list[TrueCard]
    label: str = ""


@dataclass
class CardOutcome:
    truth: TrueCard
    found: Candidates | None
    confidence: float | None = None
    label: str = ""
    answer: CardAnswer | None = None
    """The answer served, where it was asked for: its name may be the title's, not the art's
    (`engine.title_answers.named_by_title`)."""

    @property
    def names(self) -> list[str]:
        """Distinct names, best first: the answer's, then the matches'."""
        out: list[str] = [self.answer.match.name] if self.answer is not None else []
        for m in self.found.matches if self.found else []:
            if m.name not in out:
                out.append(m.name)
        return out

    @property
    def top_match_right(self) -> bool:
        """Whether the art's best match names the card: what the calibrator's evidence (of
        `found`) describes, whatever name the answer served."""
        return bool(self.found and self.found.matches and self.found.matches[0].name == self.truth.name)

    def name_rank(self) -> int | None:
        names = self.names
        return names.index(self.truth.name) + 1 if self.truth.name in names else None

    @property
    def exact(self) -> bool:
        """Whether the printing answered is the card's; an answer that claims no printing is not."""
        if self.answer is not None:
            top = self.answer.match if self.answer.printing_known else None
        else:
            top = self.found.matches[0] if self.found and self.found.matches else None
        return top is not None and (top.card_id, top.face) == (self.truth.card_id, self.truth.face)


@dataclass
class EvalResult:
    outcomes: list[CardOutcome] = field(default_factory=list)
    timings: dict[str, list[float]] = field(default_factory=dict)
    false_positives: int = 0
    photos: int = 0

    def summary(self, unsure_below: float = 0.6) -> dict:
        """Headline figures; `unsure_below` is the engine's threshold for "not sure"."""
        n = len(self.outcomes)
        detected = [o for o in self.outcomes if o.found is not None]
        ranks = [o.name_rank() for o in self.outcomes]
        conf, right = _answers(detected)
        recall_at = {k: _rate(sum(1 for r in ranks if r is not None and r <= k), n) for k in range(1, 11)}
        in_view = [o for o in self.outcomes if o.truth.visible >= VISIBLE_ENOUGH]
        # A hidden card's nearest detection is often the card on top of it, answered rightly
        # for that card; in-view figures are free of that mismatch.
        view_conf, view_right = _answers([o for o in in_view if o.found is not None])
        return {
            "photos": self.photos,
            "cards": n,
            "detection_rate": _rate(len(detected), n),
            "cards_in_view": len(in_view),
            "detection_rate_in_view": _rate(sum(o.found is not None for o in in_view), len(in_view)),
            "top1_in_view": _rate(sum(o.name_rank() == 1 for o in in_view), len(in_view)),
            "precision_when_sure_in_view": _precision_when_sure(view_conf, view_right, unsure_below),
            "false_positive_cards": self.false_positives,
            "top1": recall_at[1],
            "top5": recall_at[5],
            "mrr5": float(np.mean([1 / r if r is not None and r <= 5 else 0.0 for r in ranks])) if n else 0.0,
            "exact_printing_top1": _rate(sum(o.exact for o in self.outcomes), n),
            "top1_of_detected": _rate(int(right.sum()), len(detected)),
            "ece": expected_calibration_error(conf, right) if len(detected) else None,
            "answered_sure": _rate(int((conf >= unsure_below).sum()), len(detected)) if len(detected) else None,
            "precision_when_sure": _precision_when_sure(conf, right, unsure_below),
            "recall_at_k": recall_at,
            "latency_ms": {
                stage: {"p50": float(np.percentile(v, 50)), "p95": float(np.percentile(v, 95))}
                for stage, v in self.timings.items()
            },
        }


def expected_calibration_error(conf: np.ndarray, right: np.ndarray, bins: int = 10) -> float:
    edges = np.linspace(0, 1, bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (conf >= lo) & ((conf < hi) | (hi == 1.0))
        if sel.any():
            ece += sel.mean() * abs(conf[sel].mean() - right[sel].mean())
    return float(ece)


def _rate(a: int, b: int) -> float:
    return float(a / b) if b else 0.0


def _answers(detected: list[CardOutcome]) -> tuple[np.ndarray, np.ndarray]:
    """(confidence, top name right) of each answered card."""
    return (np.array([o.confidence for o in detected], float),
            np.array([o.name_rank() == 1 for o in detected], bool))


def _precision_when_sure(conf: np.ndarray, right: np.ndarray, unsure_below: float) -> float:
    sure = conf >= unsure_below
    return _rate(int(right[sure].sum()), int(sure.sum()))


def simulated_queries(
    items: Sequence[GalleryItem], count: int, *, seed: int = 7, sim: PhotoSimConfig | None = None,
    cards_per_photo: int = 1,
) -> Iterator[Query]:
    """Simulated photos of random gallery cards, generated lazily (they are large)."""
    rng = np.random.default_rng(seed)
    sim = sim or PhotoSimConfig()
    for i in range(count):
        picks = rng.choice(len(items), size=min(cards_per_photo, len(items)), replace=False)
        images = [load_card_image(items[int(j)].image_path) for j in picks]
        photo = simulate_photo(images, rng, sim)
        truths = [
            TrueCard(items[int(picks[k])].entry.card_id, items[int(picks[k])].entry.name, np.asarray(q),
                     items[int(picks[k])].entry.face, visible, title, seen)
            for q, k, visible, title, seen in zip(photo.quads, photo.card_indices, photo.visible_fraction,
                                                  photo.title_visible, photo.visible_centres)
        ]
        yield Query(encode_jpeg(photo.image, int(rng.integers(70, 95))), truths, label=f"sim-{i}")


def folder_queries(folder: Path) -> Iterator[Query]:
    with (Path(folder) / "truth.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                rec = json.loads(line)
                yield Query(
                    (Path(folder) / rec["photo"]).read_bytes(),
                    [TrueCard(str(c["id"]), c["name"], np.asarray(c["quad"], float)) for c in rec["cards"]],
                    label=rec["photo"],
                )


def evaluate(
    recognizer: Recognizer, queries: Iterable[Query], *, total: int | None = None,
    progress: bool = True, on_card: Callable[[CardOutcome], None] | None = None,
) -> EvalResult:
    result = EvalResult()
    for query in tqdm(queries, total=total, desc="eval", unit="photo", disable=not progress):
        t0 = time.perf_counter()
        found, timings = recognizer.analyse(query.data)
        timings["total"] = (time.perf_counter() - t0) * 1e3
        for stage, ms in timings.items():
            result.timings.setdefault(stage, []).append(ms)
        result.photos += 1
        pairs = match_detections(found, [truth.quad for truth in query.cards])
        used = {j for j in pairs if j is not None}
        for truth, j in zip(query.cards, pairs):
            cand = found[j] if j is not None else None
            answer = recognizer.answer(cand) if cand is not None else None
            if answer is None:
                cand = None  # the engine itself would report no card here
            outcome = CardOutcome(truth, cand, answer.confidence if answer else None, query.label, answer)
            result.outcomes.append(outcome)
            if on_card:
                on_card(outcome)
        result.false_positives += sum(
            1 for j, c in enumerate(found) if j not in used and recognizer.answer(c) is not None
        )
    return result


def match_detections(found: Sequence[Candidates], quads: Sequence[np.ndarray],
                     centres: Sequence[np.ndarray | None] | None = None) -> list[int | None]:
    """For each true card, the detection that answers for it, or None.

    A detection counts for a true card when its centre lies within half the card's short
    diagonal of the card's centre (by centre rather than IoU, so a quad with a finger pulled in
    still counts as finding the card; its crop is judged by the answer). Pairs are taken
    closest first over the whole photo, each detection once: a card half hidden under another
    has its centre near the top card's, and taking true cards in scene order let it claim the
    top card's detection and leave the top card unfound. `centres` (per true card, None: its
    outline's centre) measures from another point of the card, such as the centroid of what is seen.
    """
    found_centres = [np.asarray(c.quad, float).mean(axis=0) for c in found]
    candidates = []
    for i, quad in enumerate(quads):
        limit = 0.5 * min(np.linalg.norm(quad[0] - quad[2]), np.linalg.norm(quad[1] - quad[3]))
        target = centres[i] if centres is not None and centres[i] is not None else quad.mean(axis=0)
        for j, centre in enumerate(found_centres):
            d = float(np.linalg.norm(centre - target))
            if d < limit:
                candidates.append((d / limit, i, j))
    return pair_closest(candidates, [None] * len(quads))


def pair_closest(candidates: Iterable[tuple[float, int, int]], out: list[int | None]) -> list[int | None]:
    """Sets `out[i] = j` from (distance, i, j) candidates closest first, each i and each j once;
    entries of `out` already set stay, and their j are taken."""
    taken = {j for j in out if j is not None}
    for _, i, j in sorted(candidates):
        if out[i] is None and j not in taken:
            out[i] = j
            taken.add(j)
    return out


def worst_misses(result: EvalResult, count: int = 8) -> list[CardOutcome]:
    """Wrong answers given with the highest confidence: the ones that hurt users most."""
    wrong = [o for o in result.outcomes if o.found is not None and o.name_rank() != 1]
    return sorted(wrong, key=lambda o: -(o.confidence or 0))[:count]
