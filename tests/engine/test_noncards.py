"""The non-card photos are images of the asked size, repeatable per seed, and of every kind."""

from __future__ import annotations

import cv2
import numpy as np

from training.noncards import KINDS, non_card_photos


def test_every_kind_in_turn_repeatable_per_seed() -> None:
    first = list(non_card_photos(len(KINDS) + 1, seed=4, size=(640, 480)))
    again = list(non_card_photos(len(KINDS) + 1, seed=4, size=(640, 480)))
    assert [k for k, _ in first] == list(KINDS) + [next(iter(KINDS))]
    assert first == again
    assert list(non_card_photos(1, seed=5, size=(640, 480)))[0][1] != first[0][1]
    for kind, data in first:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        assert image is not None and image.std() > 5, kind
        assert sorted(image.shape[:2]) == [480, 640], kind
