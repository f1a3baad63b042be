"""The edge check: the same art agrees through blur and a slipped outline; art of the same palette
and composition that draws something else does not, where the colour layout can't tell."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from engine.art_edges import FILE, SHAPE, ArtEdges, edge_agreement, edge_agreements, edge_lead, edge_map
from engine.colour_layout import layout, signatures
from engine.errors import ArtifactError
from engine.verify import art_agreement, crop_lab
from training.cardgen import random_spec, render_card


def card(art_seed: int) -> np.ndarray:
    spec = random_spec("Test Card", np.random.default_rng(1), frame="normal", colour="G", art_seed=art_seed)
    return cv2.resize(render_card(spec), (160, 224), interpolation=cv2.INTER_AREA)


def twin(image: np.ndarray, seed: int) -> np.ndarray:
    """The same card with other art of the same palette and composition (Savannah and Scrubland):
    the art's large colour areas kept, what it draws replaced by other strokes."""
    out = image.astype(np.float32)
    art = (slice(25, 123), slice(14, 146))
    base = cv2.GaussianBlur(out[art], (0, 0), 6)
    strokes = cv2.GaussianBlur(np.random.default_rng(seed).normal(0, 1, base.shape[:2]).astype(np.float32), (0, 0), 2)
    out[art] = base + 40 * strokes[..., None] / strokes.std()
    return np.clip(out, 0, 255).astype(np.uint8)


def photographed(image: np.ndarray, seed: int) -> np.ndarray:
    """Blurred, noisy, darker, and cut from an outline 4% too far right and 3% too low."""
    rng = np.random.default_rng(seed)
    h, w = image.shape[:2]
    shifted = cv2.warpAffine(image, np.float32([[1, 0, -0.04 * w], [0, 1, -0.03 * h]]), (w, h),
                             borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
    crop = cv2.GaussianBlur(shifted, (0, 0), 1.5) * rng.uniform(0.7, 0.9, 3) + rng.normal(0, 8, shifted.shape)
    return np.clip(crop, 0, 255).astype(np.uint8)


def test_edges_tell_apart_art_the_colour_layout_cannot() -> None:
    reference = card(101)
    look_alike = twin(reference, 5)
    crops = [photographed(reference, s) for s in range(4)]
    others = [photographed(look_alike, s) for s in range(4)]
    layout_same = min(art_agreement(crop_lab(c), signatures(layout(reference)[None])[0]) for c in crops)
    layout_other = max(art_agreement(crop_lab(c), signatures(layout(reference)[None])[0]) for c in others)
    assert layout_other > layout_same - 0.2  # the colour layout barely tells them apart
    same = [edge_agreement(c, edge_map(reference)) for c in crops]
    other = [edge_agreement(c, edge_map(reference)) for c in others]
    assert min(same) > 0.7
    assert min(same) - max(other) > 0.3


def degraded(image: np.ndarray, seed: int) -> np.ndarray:
    """`photographed`, then blurred hard and darkened: every edge agreement drops."""
    crop = cv2.GaussianBlur(photographed(image, seed), (0, 0), 3.0).astype(np.float32) * 0.5
    return np.clip(crop, 0, 255).astype(np.uint8)


def test_the_edge_lead_tells_a_degraded_card_in_the_gallery_from_an_absent_look_alike() -> None:
    """A degraded photo of the top match and a photo of its absent look-alike both agree only
    middling with the top's map; ahead of the next names' maps only the right card stays."""
    reference = card(101)
    rivals = [edge_map(card(s)) for s in (202, 303)]
    right = [degraded(reference, s) for s in range(4)]
    absent = [degraded(twin(reference, 5 + s), s) for s in range(4)]
    right_lead = [edge_lead(c, edge_map(reference), rivals) for c in right]
    absent_lead = [edge_lead(c, edge_map(reference), rivals) for c in absent]
    assert min(right_lead) - max(absent_lead) > 0.2
    assert max(absent_lead) < 0.15


def test_the_edge_lead_is_the_top_agreement_less_the_best_rival_and_0_without_rivals() -> None:
    crop, maps = photographed(card(7), 2), [edge_map(card(s)) for s in (7, 8, 9)]
    agreements = edge_agreements(crop, maps)
    assert agreements == pytest.approx([edge_agreement(crop, m) for m in maps], abs=1e-6)
    assert edge_lead(crop, maps[0], maps[1:]) == pytest.approx(agreements[0] - max(agreements[1:]), abs=1e-6)
    assert edge_lead(crop, maps[0], []) == 0.0


def test_a_card_turned_half_way_agrees_as_well() -> None:
    reference = card(7)
    crop = photographed(reference, 3)
    turned = np.ascontiguousarray(crop[::-1, ::-1])
    assert edge_agreement(turned, edge_map(reference)) == pytest.approx(edge_agreement(crop, edge_map(reference)),
                                                                        abs=1e-5)


def test_a_stored_map_is_small_and_scale_free() -> None:
    reference = card(3)
    stored = edge_map(reference)
    assert stored.dtype == np.uint8 and stored.shape == SHAPE and stored.nbytes <= 800
    darker = (reference * 0.5).astype(np.uint8)
    assert edge_agreement(photographed(darker, 1), stored) > 0.7


def test_a_set_without_edge_maps_has_none_and_a_wrong_file_is_refused(tmp_path: Path) -> None:
    assert ArtEdges.of_set(tmp_path) is None
    np.save(tmp_path / FILE, np.zeros((3, *SHAPE), np.uint8))
    assert ArtEdges.of_set(tmp_path).size == 3
    np.save(tmp_path / FILE, np.zeros((3, 8, 8), np.uint8))
    with pytest.raises(ArtifactError, match="rebuild"):
        ArtEdges(tmp_path / FILE)
