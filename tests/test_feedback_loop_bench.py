"""bench/feedback_loop.py: the held-out half shares no card with the trained half, and the
corrections are written as records that both `eval --photos` and `train --photos` read."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from bench.feedback_loop import Correction, split_by_card, write_feedback
from training.cardgen import generate_gallery
from training.evaluate import folder_queries
from training.gallery import read_gallery
from training.real_photos import real_photo_pairs


def corrections_of(tmp_path: Path) -> tuple[list, list[Correction]]:
    """Six cards of a generated gallery, photographed (here: their own scans) 1-3 times each."""
    generate_gallery(tmp_path / "gallery", 6, seed=4, hard_negative_fraction=0.0)
    items = read_gallery(tmp_path / "gallery")
    out = []
    for i, item in enumerate(items):
        jpeg = cv2.imencode(".jpg", cv2.imread(str(item.image_path)))[1].tobytes()
        out += [Correction(item.entry.card_id, item.entry.name, jpeg)] * (1 + i % 3)
    return items, out


def test_split_keeps_every_photo_and_no_card_on_both_sides(tmp_path: Path) -> None:
    _, corrections = corrections_of(tmp_path)
    a, b = split_by_card(corrections, seed=0)
    cards_a, cards_b = {c.card_id for c in a}, {c.card_id for c in b}
    assert len(a) + len(b) == len(corrections)
    assert not cards_a & cards_b and len(cards_a) == len(cards_b) == 3
    assert split_by_card(corrections, seed=0) == (a, b)  # a seed deals the same halves


def test_records_are_read_by_eval_and_train(tmp_path: Path) -> None:
    items, corrections = corrections_of(tmp_path)
    folder = write_feedback(tmp_path / "fb", corrections[:4])
    queries = list(folder_queries(folder))
    assert sorted(q.cards[0].card_id for q in queries) == sorted(c.card_id for c in corrections[:4])
    assert all(np.frombuffer(q.data, np.uint8)[:2].tolist() == [0xFF, 0xD8] for q in queries)  # JPEG crops
    pairs = real_photo_pairs(folder, items)
    assert sum(len(v) for v in pairs.values()) == 4
    write_feedback(tmp_path / "fb", corrections[:1])  # a rerun starts the folder afresh
    assert len(list(folder_queries(folder))) == 1
