"""Synthetic cards: specs, rendering, look-alike families and the gallery writer."""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
from pathlib import Path

import cv2
import numpy as np
import pytest

from training.cardgen import (FRAMES, CardSpec, generate_gallery, hard_negative_specs, random_spec,
                              render_card)

ART_BOX = (slice(90, 360), slice(60, 420))  # inside every frame's art area at 488x680
TITLE_BAR = (slice(36, 70), slice(40, 330))


def spec(name: str = "Ashen Wurm", seed: int = 1, **overrides: object) -> CardSpec:
    return random_spec(name, np.random.default_rng(seed), **overrides)


def test_render_shape_and_dtype() -> None:
    image = render_card(spec())
    assert image.shape == (680, 488, 3) and image.dtype == np.uint8
    small = render_card(spec(), size=(244, 340))
    assert small.shape == (340, 244, 3)


@pytest.mark.parametrize("frame", FRAMES)
def test_every_frame_renders_with_varied_content(frame: str) -> None:
    image = render_card(spec(frame=frame))
    assert image.std() > 30  # not a flat fill
    assert (image[0, 0] > 240).all()  # rounded corner left white, as in Scryfall scans


def test_same_spec_same_pixels_and_seeded_specs_repeat() -> None:
    assert spec(seed=5) == spec(seed=5)
    assert np.array_equal(render_card(spec(seed=5)), render_card(spec(seed=5)))
    assert spec(seed=5) != spec(seed=6)


def test_different_names_change_the_title() -> None:
    base = spec(frame="normal")
    renamed = dataclasses.replace(base, name="Radiant Phoenix")
    a, b = render_card(base), render_card(renamed)
    assert np.abs(a[TITLE_BAR].astype(int) - b[TITLE_BAR].astype(int)).mean() > 3
    assert np.array_equal(a[ART_BOX], b[ART_BOX])  # nothing else moved


def test_same_art_seed_means_similar_art_across_frames() -> None:
    base = spec(frame="normal", seed=2)
    reprint = render_card(dataclasses.replace(base, frame="extended", name="Other Name", colour="U"))
    other_art = render_card(dataclasses.replace(base, art_seed=base.art_seed + 1))
    original = render_card(base)

    def distance(a: np.ndarray, b: np.ndarray) -> float:
        small = [cv2.resize(x[ART_BOX], (24, 18), interpolation=cv2.INTER_AREA).astype(float) for x in (a, b)]
        return float(np.abs(small[0] - small[1]).mean())

    assert distance(original, reprint) < 12
    assert distance(original, other_art) > 2 * distance(original, reprint)


def test_land_frame_gets_a_basic_land_type_line() -> None:
    land = spec(frame="land", colour="G")
    assert land.type_line == "Basic Land — Forest" and land.mana_cost == ""


def test_invalid_specs_are_rejected_clearly() -> None:
    with pytest.raises(ValueError, match="frame"):
        spec(frame="sideways")
    with pytest.raises(ValueError, match="colour"):
        spec(colour="X")
    with pytest.raises(TypeError, match="unknown CardSpec fields"):
        spec(artist="someone")
    with pytest.raises(ValueError, match="too small"):
        render_card(spec(), size=(10, 10))


def test_hard_negative_family_has_the_three_kinds_of_look_alike() -> None:
    family = hard_negative_specs("Ashen Wurm", np.random.default_rng(3))
    head = family[0]
    reprints = [s for s in family if s.name == head.name and s.art_seed == head.art_seed]
    assert len({s.frame for s in reprints}) >= 3  # same art and name, different frames
    impostors = [s for s in family if s.name != head.name and s.art_seed == head.art_seed
                 and s.frame == head.frame and s.mana_cost == head.mana_cost]
    assert impostors
    lands = [s for s in family if s.frame == "land"]
    assert len(lands) >= 3 and len({s.art_seed for s in lands}) >= 2 and len({s.name for s in lands}) >= 2
    impostor_image = render_card(impostors[0])
    assert not np.array_equal(render_card(head)[TITLE_BAR], impostor_image[TITLE_BAR])


def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_gallery_is_scryfall_shaped_and_deterministic(tmp_path: Path) -> None:
    listing = generate_gallery(tmp_path / "a", n=14, seed=7)
    again = generate_gallery(tmp_path / "b", n=14, seed=7)
    other = generate_gallery(tmp_path / "c", n=14, seed=8)
    records = _read(listing)
    assert len(records) == 14
    assert records == _read(again)
    assert {r["id"] for r in records}.isdisjoint({r["id"] for r in _read(other)})
    for record in records:
        uuid.UUID(record["id"])
        assert record["lang"] == "en" and record["layout"] == "normal" and record["variant"] in FRAMES
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", record["released_at"])
        assert record["scryfall_uri"].startswith(f"https://scryfall.com/card/{record['set']}/"
                                                 f"{record['collector_number']}/")
        assert record["image_uris"]["normal"].endswith(f"/{record['id'][0]}/{record['id'][1]}/{record['id']}.jpg")
        image = cv2.imread(str(listing.parent / record["image"]))
        assert image is not None and image.shape == (680, 488, 3)
    assert (tmp_path / "a" / records[0]["image"]).read_bytes() == (tmp_path / "b" / records[0]["image"]).read_bytes()
    assert len({r["image"] for r in records}) == 14
    by_name: dict[str, set[str]] = {}
    for record in records:
        by_name.setdefault(record["name"], set()).add(record["oracle_id"])
    assert all(len(ids) == 1 for ids in by_name.values())
    assert len(by_name) < 14  # the hard-negative family brought reprints of one name


def test_gallery_uses_given_names(tmp_path: Path) -> None:
    names = ["Deathgrip", "Demonic Attorney", "Lightning Bolt"]
    records = _read(generate_gallery(tmp_path, n=5, seed=1, names=names, hard_negative_fraction=0.0))
    assert [r["name"] for r in records] == names + names[:2]
    with pytest.raises(ValueError):
        generate_gallery(tmp_path, n=0)
