"""Columns whose open card detection missed, found beside a column it found."""

from __future__ import annotations

import numpy as np
import pytest

from engine.title_columns import column_strips
from engine.title_strips import find_title_strips
from tests.engine.test_title_strips import _columns, _holds


@pytest.mark.parametrize("seed", [0, 1])
def test_the_column_of_a_missed_open_card_is_read_beside_the_one_found(seed: int) -> None:
    photo, titles, open_cards = _columns(seed, 0.0)
    assert len(open_cards) == 2
    found, missed = open_cards
    beside = [t for t in titles if not any(_holds(s.quad, t) for s in find_title_strips(photo.image, [found]))]
    assert len(beside) >= 5  # the missed card's column: no strips without a search beside
    strips = column_strips(photo.image, [found])
    assert all(any(_holds(s.quad, t) for s in strips) for t in titles)
    own = [s for s in strips if s.showing == 1.0]
    assert len(own) == 1 and _holds(missed, own[0].card.mean(axis=0))
    height = np.linalg.norm(missed[3] - missed[0])
    assert np.linalg.norm(own[0].card - missed, axis=1).max() < 0.1 * height


def test_a_lone_card_has_no_column_beside_it() -> None:
    image = np.full((900, 1200, 3), 90, np.uint8)
    quad = np.float64([[500, 400], [644, 400], [644, 600], [500, 600]])
    assert column_strips(image, [quad]) == []
