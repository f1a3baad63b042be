"""Turns match scores into a confidence that means what it says.

Six signals predict whether the top answer is right: how close the best match is (`top`),
how far ahead it is of the best match with a *different name* (`margin`; other printings of
the same card don't count against it), how well the crop's art box agrees with the top
reference's (`art`, engine/verify.py: the embedding and the whole-card layout also reward a
shared frame, so a card missing from the gallery can look close to one of its neighbours), and
whether the printed title reads as the top name (`title`, engine/title_read.py: +1 it does,
−1 it reads as something else, 0 nothing legible or not read), and how well the edges the art
draws line up with the top reference's (`edges`, engine/art_edges.py: two arts of one palette
and composition agree in colour but not in what they draw), and how far that edge agreement is
ahead of the next names' matches' (`edge_lead`: blur and darkness lower every agreement, the
right card's stays ahead of its rivals').
A logistic model over them is fitted on simulated photos whose answers are known
(`training.calibration`), including photos of cards that are *not* in the index, so that the
confidence is the probability that the name is right whatever was photographed; its weights
are non-negative so that confidence never falls when the evidence improves. Sets calibrated
before the art, title or edge checks or the edge lead have `w_art`, `w_title`, `w_edges` or
`w_edge_lead` 0 and read as before. Sets fitted since calibration format 7 (`outline_retry`)
read an answer they leave unsure again through outlines rebuilt from the card's shape
(engine/outline_retry.py): the fit saw that second look, so serving takes it too.

`card_floor` is the top score below which a detection is not taken for a Magic card at all
("no card found" rather than a name): only 0.5% of right answers score lower, and most crops of
screenshots, memes, hands and other games' cards do.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable


@dataclass(frozen=True)
class Calibrator:
    w_top: float
    w_margin: float
    bias: float
    w_art: float = 0.0
    w_title: float = 0.0
    w_edges: float = 0.0
    w_edge_lead: float = 0.0
    fitted_on: int = 0
    expected_calibration_error: float | None = None
    same_card_threshold: float | None = None
    """Similarity at or above which two crops count as the same card (`cardsight compare`);
    fitted with the confidence model (see `training.calibration.same_card_threshold`)."""
    card_floor: float | None = None
    """Top score under which a detection is reported as no card (None: every detection is
    answered, as sets built before this did); see `training.calibration.card_floor`."""
    absent_share: float | None = None
    """Weight of photos of cards absent from the index in the fit (None: fitted on cards in the
    index only, before open-set calibration)."""
    outline_retry: bool = False
    """Whether answers not sure get a second look through outlines rebuilt from the card's shape
    (`engine.outline_retry`): the fit saw it on its unsure samples, so serving does it too."""

    def __post_init__(self) -> None:
        weights = (self.w_top, self.w_margin, self.w_art, self.w_title, self.w_edges, self.w_edge_lead)
        if not all(math.isfinite(v) for v in (*weights, self.bias)):
            raise ValueError("calibration weights and bias must be finite numbers")
        if min(weights) < 0:
            raise ValueError("calibration weights must be non-negative (monotone confidence)")

    def confidence(self, top: float, margin: float, art: float = 0.0, title: float = 0.0,
                   edges: float = 0.0, edge_lead: float = 0.0) -> float:
        z = (self.w_top * top + self.w_margin * margin + self.w_art * art + self.w_title * title
             + self.w_edges * edges + self.w_edge_lead * edge_lead + self.bias)
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))

    def title_can_decide(self, top: float, margin: float, art: float, threshold: float, edges: float = 0.0,
                         edge_lead: float = 0.0) -> bool:
        """Whether reading the title could move this answer across `threshold` (sure / not sure).

        The title check costs ~10 ms a card; where the other evidence leaves the answer sure or
        unsure whatever the title says, it is not read and counts as 0."""
        if self.w_title == 0:
            return False
        return (self.confidence(top, margin, art, -1.0, edges, edge_lead) < threshold
                <= self.confidence(top, margin, art, 1.0, edges, edge_lead))

    def served_confidence(self, top: float, margin: float, art: float, edges: float, edge_lead: float,
                          threshold: float, read_title: Callable[[], float]) -> float:
        """The confidence as serving weighs it: the title's vote (`read_title`, an OCR read) only
        where it can decide (`title_can_decide`), else 0. Calibration's second look asks it the
        same way, so the answers it reads again are exactly those serving leaves unsure."""
        title = read_title() if self.title_can_decide(top, margin, art, threshold, edges, edge_lead) else 0.0
        return self.confidence(top, margin, art, title, edges, edge_lead)

    def looks_like_a_card(self, top: float) -> bool:
        """Whether a detection whose best match scores `top` is a Magic card at all."""
        return self.card_floor is None or top >= self.card_floor

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> "Calibrator":
        return cls(**json.loads(path.read_text(encoding="utf-8")))
