"""Simulated photos: exact ground truth, coverage of poses, multi-card scenes, training crops."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from training.photosim import PhotoSimConfig, SimulatedPhoto, augment_crop, encode_jpeg, simulate_photo

SMALL = (480, 360)  # (W, H): geometry tests need no more pixels than this


def marked_card(seed: int = 0) -> np.ndarray:
    """A textured card with a red block at its own top-left and a blue one at its bottom-right."""
    rng = np.random.default_rng(seed)
    card = cv2.resize(rng.integers(60, 200, (7, 5, 3), dtype=np.uint8), (244, 340), interpolation=cv2.INTER_NEAREST)
    card[20:90, 20:80] = (230, 20, 20)
    card[250:320, 164:224] = (20, 20, 230)
    return card


def solid_card(colour: tuple[int, int, int]) -> np.ndarray:
    card = np.empty((340, 244, 3), np.uint8)
    card[:] = colour
    return card


def warp_back(photo: SimulatedPhoto, i: int, card: np.ndarray) -> np.ndarray:
    height, width = card.shape[:2]
    corners = np.float32([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]])
    matrix = cv2.getPerspectiveTransform(photo.quads[i].astype(np.float32), corners)
    return cv2.warpPerspective(photo.image, matrix, (width, height))


def test_shapes_dtypes_and_determinism() -> None:
    cards = [marked_card(0), marked_card(1)]
    config = PhotoSimConfig(size=SMALL, max_cards=2)
    photo = simulate_photo(cards, np.random.default_rng(4), config)
    again = simulate_photo(cards, np.random.default_rng(4), config)
    assert photo.image.shape == (360, 480, 3) and photo.image.dtype == np.uint8
    assert len(photo.quads) == len(photo.card_indices) == len(photo.visible_fraction) >= 1
    assert all(q.shape == (4, 2) and q.dtype == np.float32 for q in photo.quads)
    assert np.array_equal(photo.image, again.image)
    assert all(np.array_equal(a, b) for a, b in zip(photo.quads, again.quads))
    other = simulate_photo(cards, np.random.default_rng(5), config)
    assert not np.array_equal(photo.image, other.image)


@pytest.mark.parametrize("seed", range(6))
def test_quads_warp_back_to_the_source_card(seed: int) -> None:
    card = marked_card(seed)
    config = PhotoSimConfig(size=SMALL, hardness=0.0, scale=(0.6, 0.9), occlusion=False)
    photo = simulate_photo([card], np.random.default_rng(seed), config)
    (quad,) = photo.quads
    restored = warp_back(photo, 0, card).astype(float)
    inner = (slice(15, -15), slice(15, -15))  # skip rounded corners and edge resampling
    error = np.abs(restored[inner] - card[inner]).mean()
    upside_down = np.abs(restored[inner] - card[::-1, ::-1][inner]).mean()
    assert error < 12 and upside_down > 3 * error
    red = restored[30:80, 30:70].mean(axis=(0, 1))
    assert red[0] > 150 and red[2] < 90  # the top-left marker came back at the top-left


def test_marker_survives_full_hardness() -> None:
    card = marked_card(3)
    hits = 0
    for seed in range(8):
        config = PhotoSimConfig(size=SMALL, hardness=1.0, scale=(0.7, 0.9), occlusion=False)
        photo = simulate_photo([card], np.random.default_rng(seed), config)
        restored = warp_back(photo, 0, card).astype(float)
        red, blue = restored[30:80, 30:70].mean(axis=(0, 1)), restored[260:310, 174:214].mean(axis=(0, 1))
        hits += red[0] > red[2] + 40 and blue[2] > blue[0] + 40
    assert hits >= 6  # glare or a deep shadow may wash out a marker now and then


def test_in_plane_rotation_covers_every_direction_including_upside_down() -> None:
    card = marked_card()
    config = PhotoSimConfig(size=(160, 120), hardness=0.0, max_perspective_deg=10, occlusion=False)
    angles = []
    for seed in range(40):
        quad = simulate_photo([card], np.random.default_rng(seed), config).quads[0]
        up = (quad[0] + quad[1]) / 2 - (quad[3] + quad[2]) / 2  # bottom edge → top edge
        angles.append(np.degrees(np.arctan2(up[0], -up[1])) % 360)  # 0 = upright, 180 = upside down
    quadrants = {int(((a + 45) % 360) // 90) for a in angles}  # 0 up, 1 right, 2 upside down, 3 left
    assert quadrants == {0, 1, 2, 3}
    upright = PhotoSimConfig(size=(160, 120), hardness=0.0, rotation=False, max_perspective_deg=0)
    quad = simulate_photo([card], np.random.default_rng(1), upright).quads[0]
    assert quad[0][1] < quad[3][1] and quad[0][0] < quad[1][0]


@pytest.mark.parametrize("seed", range(8))
def test_multi_card_scenes_have_sound_quads(seed: int) -> None:
    cards = [marked_card(i) for i in range(5)]
    config = PhotoSimConfig(size=SMALL, max_cards=5)
    photo = simulate_photo(cards, np.random.default_rng(seed), config)
    assert len(photo.quads) >= 2
    assert len(set(photo.card_indices)) == len(photo.card_indices)
    assert all(0 <= i < len(cards) for i in photo.card_indices)
    for quad, visible in zip(photo.quads, photo.visible_fraction):
        assert cv2.isContourConvex(quad) and cv2.contourArea(quad) > 400
        assert 0.05 < visible <= 1.0
        assert np.linalg.norm(quad[2] - quad[0]) > 20


def test_visible_fraction_matches_the_pixels() -> None:
    colours = [(230, 30, 30), (30, 230, 30), (30, 30, 230), (230, 230, 30)]
    cards = [solid_card(c) for c in colours]
    checked = 0
    for seed in range(12):
        config = PhotoSimConfig(size=SMALL, hardness=0.0, max_cards=4, occlusion=False, scale=(0.4, 0.7))
        photo = simulate_photo(cards, np.random.default_rng(seed), config)
        image = photo.image.astype(int)
        for index, quad, visible in zip(photo.card_indices, photo.quads, photo.visible_fraction):
            mask = np.abs(image - colours[index]).sum(axis=2) < 60
            shown = mask.sum()
            assert abs(shown / cv2.contourArea(quad) - visible) < 0.1
            rows, cols = np.nonzero(mask)
            centre = photo.visible_centres[photo.card_indices.index(index)]
            assert np.linalg.norm(centre - (cols.mean(), rows.mean())) < 10  # what shows, not the outline (40-57 px off)
            checked += visible < 0.95
    assert checked  # some scenes had overlapping cards


def test_finger_chance_sets_how_often_a_finger_covers_part_of_the_card() -> None:
    """The chance is drawn the same way at any setting, so a scene with and without its finger
    is the same layout: the finger only takes visible card away, and at 0 there is none."""
    covered = []
    for seed in range(8):
        shown = {}
        for chance in (0.0, 1.0):
            config = PhotoSimConfig(size=SMALL, hardness=1.0, finger_chance=chance, scale=(0.4, 0.6))
            photo = simulate_photo([marked_card()], np.random.default_rng(seed), config)
            shown[chance] = (photo.quads[0], photo.visible_fraction[0])
        assert np.array_equal(shown[0.0][0], shown[1.0][0])
        assert shown[1.0][1] <= shown[0.0][1]
        covered.append(shown[0.0][1] - shown[1.0][1])
    # (visibility is counted on a coarse label map and capped at 1, so a finger over a sliver
    # of card may not register: most scenes show it, not all)
    assert sum(c > 0.01 for c in covered) >= 5 and sum(covered) > 0.15


def test_fewer_cards_than_asked_when_cards_are_fewer_and_empty_scene() -> None:
    photo = simulate_photo([marked_card()], np.random.default_rng(0), PhotoSimConfig(size=SMALL, max_cards=4))
    assert photo.card_indices == [0]
    empty = simulate_photo([], np.random.default_rng(0), PhotoSimConfig(size=SMALL))
    assert empty.quads == [] and empty.image.shape == (360, 480, 3)


def test_bad_inputs_raise_clear_errors() -> None:
    with pytest.raises(ValueError, match="RGB uint8"):
        simulate_photo([np.zeros((100, 70), np.uint8)], np.random.default_rng(0))
    with pytest.raises(ValueError, match="max_perspective_deg"):
        PhotoSimConfig(max_perspective_deg=80)
    with pytest.raises(ValueError, match="hardness"):
        augment_crop(marked_card(), np.random.default_rng(0), hardness=2)
    with pytest.raises(ValueError, match="quality"):
        encode_jpeg(marked_card(), 0)


def test_augment_crop_shape_determinism_and_strength() -> None:
    card = marked_card()
    crop = augment_crop(card, np.random.default_rng(1), 1.0, out_size=(160, 224))
    assert crop.shape == (224, 160, 3) and crop.dtype == np.uint8
    assert np.array_equal(crop, augment_crop(card, np.random.default_rng(1), 1.0, out_size=(160, 224)))
    assert augment_crop(card, np.random.default_rng(1)).shape == card.shape
    reference = cv2.resize(card, (160, 224), interpolation=cv2.INTER_AREA).astype(float)
    inner = (slice(12, -12), slice(12, -12))
    clean = augment_crop(card, np.random.default_rng(2), 0.0, out_size=(160, 224)).astype(float)
    assert np.abs(clean[inner] - reference[inner]).mean() < 6
    hard = [augment_crop(card, np.random.default_rng(s), 1.0, out_size=(160, 224)).astype(float) for s in range(6)]
    assert np.mean([np.abs(h[inner] - reference[inner]).mean() for h in hard]) > 10


def test_encode_jpeg_round_trips() -> None:
    data = encode_jpeg(marked_card(), 85)
    assert data[:2] == b"\xff\xd8"
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == (340, 244, 3)
    assert np.abs(decoded[..., ::-1].astype(int) - marked_card()).mean() < 5


def _edge_whiteness(view: np.ndarray) -> float:
    """Least card-white share of four strips 3% in from each side of a view of a white card."""
    white = view.min(axis=2) > 200
    h, w = white.shape
    rows, cols = slice(h // 4, 3 * h // 4), slice(w // 4, 3 * w // 4)
    strips = [white[int(0.03 * h), cols], white[rows, int(0.97 * w)],
              white[int(0.97 * h), cols], white[rows, int(0.03 * w)]]
    return float(min(strip.mean() for strip in strips))


def test_augment_crop_slips_a_side_to_show_table(monkeypatch: pytest.MonkeyPatch) -> None:
    # At next to no hardness the outline is exact, so table shows inside the view only where
    # a slipped side moved in (a finger or the frame edge pulled the detector's outline).
    from training import photosim

    card = np.full((224, 160, 3), 255, np.uint8)

    def whiteness(slipped_share: float) -> np.ndarray:
        monkeypatch.setattr(photosim, "SLIPPED_SIDE", slipped_share)
        return np.array([_edge_whiteness(augment_crop(card, np.random.default_rng(seed), hardness=0.01))
                         for seed in range(40)])

    assert (whiteness(0.0) < 0.5).mean() <= 0.05  # a rare shadow at most
    slipped = whiteness(100.0)  # x hardness 0.01: every view
    assert 0.15 <= (slipped < 0.5).mean() <= 0.6  # about a third move a side in by over 3%


def _distinct_cards(count: int) -> list[np.ndarray]:
    return [marked_card(seed) for seed in range(count)]


@pytest.mark.parametrize(("scene", "count"), [("binder", 9), ("spread", 40), ("fan", 5), ("columns", 21)])
def test_arranged_scenes_hold_every_card(scene: str, count: int) -> None:
    config = PhotoSimConfig(size=(1600, 1200), max_cards=count, scene=scene, hardness=0.0)
    photo = simulate_photo(_distinct_cards(count), np.random.default_rng(3), config)
    assert sorted(photo.card_indices) == list(range(count))
    assert len(photo.title_visible) == count
    for quad in photo.quads:
        assert (quad >= 0).all() and (quad[:, 0] < 1600).all() and (quad[:, 1] < 1200).all()


def test_binder_and_spread_cards_do_not_overlap() -> None:
    for scene, count in (("binder", 9), ("spread", 40)):
        photo = simulate_photo(_distinct_cards(count), np.random.default_rng(8),
                               PhotoSimConfig(max_cards=count, scene=scene, hardness=0.0))
        assert min(photo.visible_fraction) > 0.97
        assert min(photo.title_visible) > 0.97


def test_cascaded_columns_show_only_title_bars() -> None:
    """Each card but the last of its column shows 10-20% of itself, its title bar whole."""
    photo = simulate_photo(_distinct_cards(21), np.random.default_rng(2),
                           PhotoSimConfig(max_cards=21, scene="columns", hardness=0.0))
    visible = np.array(photo.visible_fraction)
    covered = visible < 0.5
    assert covered.sum() == 21 - 3  # three columns of seven; the last of each lies open
    assert ((visible[covered] > 0.07) & (visible[covered] < 0.25)).all()
    assert min(photo.title_visible) > 0.9


def test_fanned_cards_hide_most_titles_but_the_top_ones() -> None:
    photo = simulate_photo(_distinct_cards(5), np.random.default_rng(1),
                           PhotoSimConfig(max_cards=5, scene="fan", hardness=0.0))
    assert photo.title_visible[-1] > 0.95  # the card on top
    assert min(photo.title_visible) < 0.9


def test_unknown_scene_is_refused() -> None:
    with pytest.raises(ValueError, match="scene"):
        PhotoSimConfig(scene="pile")
