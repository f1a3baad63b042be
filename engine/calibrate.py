"""Turns match scores into a confidence that means what it says.

Two signals predict whether the top answer is right: how close the best match is (`top`) and
how far ahead it is of the best match with a *different name* (`margin`; other printings of
the same card don't count against it). A logistic model over both is fitted on simulated photos
whose answers are known (`training.calibration`), with non-negative weights so that confidence
never falls when the evidence improves.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Calibrator:
    w_top: float
    w_margin: float
    bias: float
    fitted_on: int = 0
    expected_calibration_error: float | None = None
    same_card_threshold: float | None = None
    """Similarity at or above which two crops count as the same card (`cardsight compare`);
    fitted with the confidence model (see `training.calibration.same_card_threshold`)."""

    def __post_init__(self) -> None:
        if not all(math.isfinite(v) for v in (self.w_top, self.w_margin, self.bias)):
            raise ValueError("calibration weights and bias must be finite numbers")
        if self.w_top < 0 or self.w_margin < 0:
            raise ValueError("calibration weights must be non-negative (monotone confidence)")

    def confidence(self, top: float, margin: float) -> float:
        z = self.w_top * top + self.w_margin * margin + self.bias
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> "Calibrator":
        return cls(**json.loads(path.read_text(encoding="utf-8")))
