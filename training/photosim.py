"""Simulated phone photos of cards, with exact ground truth, and photo-like training crops.

`simulate_photo` composes whole scenes (surface, cards in perspective, sleeves, shadows,
fingers, camera degradations) for detector tests and for evaluation queries whose answer is
known. `augment_crop` makes the training positives of the embedding model: a card as the
engine sees it after detection and perspective warp, residual detection error included.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Sequence

import cv2
import numpy as np

from training import scenelayout as layout
from training.backgrounds import make_background
from training.degrade import camera_pipeline, gaussian_blur, sleeve_sheen

SKIN_TONES = np.array([[0.95, 0.78, 0.66], [0.87, 0.67, 0.53], [0.72, 0.52, 0.38],
                       [0.55, 0.38, 0.26], [0.38, 0.26, 0.18]], np.float32)
CORNER_RADIUS = 0.045  # of the card width
MIN_VISIBLE = 0.08  # a card showing less than this is left out of the scene and its truth
SCENES = ("mixed", "binder", "spread", "fan", "columns")
BINDER_COLUMNS = 3
COLUMN_SHOWING = (0.1, 0.2)  # share of each cascaded card's height in view: its title bar


@dataclass(frozen=True)
class PhotoSimConfig:
    """How photos are simulated.

    `scale` is the range of the card's long side, as a fraction of the frame's short side,
    measured on the table at the image centre before perspective foreshortening (so 0.9
    nearly fills a portrait-held card across the short side). `max_perspective_deg` is the
    camera's tilt away from looking straight down (at most 60°).
    """

    size: tuple[int, int] = (1600, 1200)
    scale: tuple[float, float] = (0.15, 0.9)
    max_perspective_deg: float = 40.0
    rotation: bool = True
    hardness: float = 1.0
    max_cards: int = 1
    occlusion: bool = True
    finger_chance: float = 0.3  # of a finger over a card, at hardness 1 (scaled with hardness)
    scene: str = "mixed"
    """How the cards lie: "mixed" (one card, or a random arrangement of 2 to max_cards), or all
    `max_cards` in one arrangement: "binder" (a 3-column page of pockets under glossy plastic),
    "spread" (a deck laid out in rows of 8), "fan" (a hand), "columns" (cascaded deck columns
    of about 7, each card showing only its top 10-20%)."""

    def __post_init__(self) -> None:
        if self.scene not in SCENES:
            raise ValueError(f"scene must be one of {', '.join(SCENES)}, got {self.scene!r}")
        if len(self.size) != 2 or min(self.size) < 64:
            raise ValueError(f"size must be (width, height), each at least 64 px, got {self.size}")
        if not 0 < self.scale[0] <= self.scale[1] <= 2:
            raise ValueError(f"scale must be (low, high) with 0 < low <= high <= 2, got {self.scale}")
        if not 0 <= self.max_perspective_deg <= 60:
            raise ValueError(f"max_perspective_deg must be within [0, 60], got {self.max_perspective_deg}")
        if not 0 <= self.hardness <= 1:
            raise ValueError(f"hardness must be within [0, 1], got {self.hardness}")
        if self.max_cards < 1:
            raise ValueError(f"max_cards must be at least 1, got {self.max_cards}")


@dataclass(frozen=True)
class SimulatedPhoto:
    """A photo and, per card in it, its corners (card's TL, TR, BR, BL) and visibility."""

    image: np.ndarray
    quads: list[np.ndarray] = field(default_factory=list)
    card_indices: list[int] = field(default_factory=list)
    visible_fraction: list[float] = field(default_factory=list)
    title_visible: list[float] = field(default_factory=list)
    """Per card, the share of its title bar in view (scenelayout.TITLE_BAND)."""
    visible_centres: list[np.ndarray | None] = field(default_factory=list)
    """Per card, the centroid of its part in view (scenelayout.visible_centres)."""


def _check_card(card: np.ndarray, what: str) -> None:
    if not (isinstance(card, np.ndarray) and card.dtype == np.uint8 and card.ndim == 3 and card.shape[2] == 3
            and min(card.shape[:2]) >= 16):
        got = getattr(card, "shape", type(card).__name__), getattr(card, "dtype", "")
        raise ValueError(f"{what} must be an RGB uint8 array (H, W, 3) of at least 16x16, got {got}")


@lru_cache(maxsize=32)
def _rounded_mask(height: int, width: int, margin: int) -> np.ndarray:
    """Float coverage of a rounded card (inset by `margin`) in a (height, width) canvas."""
    mask = np.zeros((height, width), np.uint8)
    r = max(1, round(CORNER_RADIUS * (width - 2 * margin)))
    x0, y0, x1, y1 = margin, margin, width - 1 - margin, height - 1 - margin
    cv2.rectangle(mask, (x0 + r, y0), (x1 - r, y1), 255, -1)
    cv2.rectangle(mask, (x0, y0 + r), (x1, y1 - r), 255, -1)
    for cx, cy in ((x0 + r, y0 + r), (x1 - r, y0 + r), (x0 + r, y1 - r), (x1 - r, y1 - r)):
        cv2.circle(mask, (cx, cy), r, 255, -1, cv2.LINE_AA)
    result = mask.astype(np.float32) / 255
    result.setflags(write=False)
    return result


def _card_layer(card: np.ndarray, rng: np.random.Generator, hardness: float, sleeved: bool,
                target_long_side: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The card (maybe in a glossy sleeve) as RGB + alpha, and card-pixel → layer-pixel transform.

    Cards far larger than they will appear are shrunk first with area averaging, so the
    perspective warp does not alias fine text into moiré.
    """
    height, width = card.shape[:2]
    shrink = min(1.0, 1.5 * target_long_side / max(height, width))
    image = card
    if shrink < 0.7:
        image = cv2.resize(card, (max(16, round(width * shrink)), max(16, round(height * shrink))),
                           interpolation=cv2.INTER_AREA)
    k_x, k_y = image.shape[1] / width, image.shape[0] / height
    rgb = image.astype(np.float32) / 255
    margin = max(2, round(0.03 * image.shape[1])) if sleeved else 2
    if sleeved:
        rgb = sleeve_sheen(rgb, rng, hardness)
    h, w = rgb.shape[:2]
    canvas = np.zeros((h + 2 * margin, w + 2 * margin, 3), np.float32)
    canvas[margin:margin + h, margin:margin + w] = rgb
    alpha = _rounded_mask(h + 2 * margin, w + 2 * margin, margin).copy()
    if sleeved:  # clear plastic rim with a bright edge, around the card
        outer = _rounded_mask(h + 2 * margin, w + 2 * margin, 0)
        rim = np.clip(outer - alpha, 0, 1)
        tint = rng.uniform(0.75, 0.95)
        canvas += (rim * tint)[..., None] * np.float32(0.6) * (1 - canvas)
        edge = outer - cv2.erode(outer, np.ones((3, 3), np.uint8))
        canvas += edge[..., None] * np.float32(0.5)
        alpha = np.maximum(alpha, rim * np.float32(rng.uniform(0.3, 0.55)))
    to_layer = np.array([[k_x, 0, margin + (k_x - 1) * 0.5], [0, k_y, margin + (k_y - 1) * 0.5], [0, 0, 1]])
    return canvas, alpha, to_layer


def _composite(scene: np.ndarray, rgb: np.ndarray, alpha: np.ndarray, homography: np.ndarray,
               shadow_strength: float, shadow_offset: tuple[float, float], shadow_blur: float) -> None:
    """Warp a layer by `homography` into the scene over a soft contact shadow, in place."""
    height, width = scene.shape[:2]
    lh, lw = alpha.shape
    corners = layout.project(homography, np.array([[0, 0], [lw, 0], [lw, lh], [0, lh]], np.float64))
    pad = int(abs(shadow_offset[0]) + abs(shadow_offset[1]) + 3 * shadow_blur + 2)
    x0, y0 = np.maximum(np.floor(corners.min(0)).astype(int) - pad, 0)
    x1, y1 = np.minimum(np.ceil(corners.max(0)).astype(int) + pad, (width, height))
    if x1 <= x0 or y1 <= y0:
        return
    shifted = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]]) @ homography
    size = (int(x1 - x0), int(y1 - y0))
    warped_rgb = cv2.warpPerspective(rgb, shifted, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    warped_a = cv2.warpPerspective(alpha, shifted, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    roi = scene[y0:y1, x0:x1]
    if shadow_strength > 0:
        move = np.float32([[1, 0, shadow_offset[0]], [0, 1, shadow_offset[1]]])
        shadow = cv2.warpAffine(warped_a, move, size)
        if shadow_blur > 0.3:
            shadow = gaussian_blur(shadow, shadow_blur)
        roi *= (1 - shadow_strength * shadow)[..., None]
    roi[:] = cv2.blendLinear(roi, warped_rgb, 1 - warped_a, warped_a)


def _draw_finger(scene: np.ndarray, finger: layout.Finger, rng: np.random.Generator, unit: float) -> None:
    """A shaded skin-toned capsule with a soft shadow, drawn in place."""
    mask = np.zeros(scene.shape[:2], np.float32)
    layout.draw_finger(mask, finger, 1.0, 1.0)
    ys, xs = np.nonzero(mask[:: 8, :: 8])
    if len(ys) == 0:
        return
    pad = int(finger.width)
    y0, y1 = max(0, ys.min() * 8 - pad), min(scene.shape[0], ys.max() * 8 + pad)
    x0, x1 = max(0, xs.min() * 8 - pad), min(scene.shape[1], xs.max() * 8 + pad)
    roi, m = scene[y0:y1, x0:x1], mask[y0:y1, x0:x1]
    shadow = gaussian_blur(np.roll(m, (int(8 * unit), int(6 * unit)), axis=(0, 1)), 6 * unit + 1)
    roi *= (1 - 0.45 * shadow)[..., None]
    roundness = gaussian_blur(m, finger.width / 5 + 1)
    skin = SKIN_TONES[int(rng.integers(len(SKIN_TONES)))] * rng.uniform(0.85, 1.1)
    shaded = skin * (0.55 + 0.55 * roundness)[..., None]
    direction = np.subtract(finger.end, finger.start)
    direction /= max(float(np.linalg.norm(direction)), 1e-6)
    nail_centre = np.subtract(finger.end, (x0, y0)) - direction * finger.width * 0.3
    nail = np.zeros_like(m)
    cv2.ellipse(nail, (int(nail_centre[0]), int(nail_centre[1])), (int(finger.width * 0.3), int(finger.width * 0.22)),
                float(np.degrees(np.arctan2(direction[1], direction[0]))), 0, 360, 0.6, -1, cv2.LINE_AA)
    shaded = shaded * (1 - nail[..., None]) + (skin * 0.5 + 0.5 * np.float32([0.98, 0.85, 0.85])) * nail[..., None]
    roi[:] = roi * (1 - m[..., None]) + shaded * m[..., None]


def _choose_layout(rng: np.random.Generator, cards: Sequence[np.ndarray], config: PhotoSimConfig,
                   table: np.ndarray) -> list[layout.Placement]:
    count = min(len(cards), config.max_cards)
    indices = [int(i) for i in rng.permutation(len(cards))[:count]]
    shapes = [card.shape for card in cards]
    if config.scene != "mixed":
        return _arranged(rng, shapes, indices, config, table)
    if count == 1:
        min_in_frame = 0.6 if rng.random() < 0.15 * config.hardness else 0.999
        return layout.scatter_layout(rng, shapes, indices, table, config.size, config.scale, config.rotation,
                                     max_overlap=0.0, min_in_frame=min_in_frame)
    style = str(rng.choice(["scatter", "grid", "fan", "cascade"], p=[0.4, 0.25, 0.15, 0.2]))
    if style != "scatter":
        placed = layout.group_layout(rng, shapes, indices, table, config.size, config.scale, config.rotation, style)
        if placed:
            return placed
    scale = (config.scale[0], max(config.scale[0], min(config.scale[1], 1.4 / np.sqrt(count))))
    return layout.scatter_layout(rng, shapes, indices, table, config.size, scale, config.rotation,
                                 max_overlap=0.05 + 0.15 * config.hardness, min_in_frame=0.85)


def _arranged(rng: np.random.Generator, shapes: list[tuple[int, ...]], indices: list[int], config: PhotoSimConfig,
              table: np.ndarray) -> list[layout.Placement]:
    """The placements of a set arrangement (`PhotoSimConfig.scene`); all cards, or none if they
    cannot fit."""
    if config.scene == "binder":
        return layout.grid_layout(rng, shapes, indices, table, config.size, BINDER_COLUMNS, (1.03, 1.07), 0.8)
    if config.scene == "spread":
        cols = min(len(indices), 8)
        return layout.grid_layout(rng, shapes, indices, table, config.size, cols, (1.05, 1.2), 2.5)
    if config.scene == "columns":
        columns = max(1, round(len(indices) / 7))
        return layout.columns_layout(rng, shapes, indices, table, config.size, columns, COLUMN_SHOWING)
    return layout.group_layout(rng, shapes, indices, table, config.size, config.scale, config.rotation, "fan")


def simulate_photo(cards: Sequence[np.ndarray], rng: np.random.Generator,
                   config: PhotoSimConfig = PhotoSimConfig()) -> SimulatedPhoto:
    """A photo of up to `config.max_cards` of `cards` (fewer if they do not fit) with exact truth."""
    for i, card in enumerate(cards):
        _check_card(card, f"cards[{i}]")
    width, height = config.size
    unit = min(width, height) / 1000
    hardness = config.hardness
    table = layout.table_homography(rng, config.size, config.max_perspective_deg)
    placements = _choose_layout(rng, cards, config, table) if len(cards) else []
    finger = None
    if placements and config.occlusion and rng.random() < config.finger_chance * hardness:
        finger = layout.finger_for(rng, placements[int(rng.integers(len(placements)))], config.size)
    while True:  # drop cards buried under others, then re-measure what the rest show
        labels = layout.label_map(placements, finger, config.size)
        fractions = layout.visible_fractions(placements, labels)
        keep = [f >= MIN_VISIBLE for f in fractions]
        if all(keep):
            break
        placements = [p for p, k in zip(placements, keep) if k]

    binder = config.scene == "binder"
    scene = make_background(rng, width, height, "binder" if binder else None)
    shadow_dir = rng.uniform(0, 2 * np.pi)
    for placement in placements:
        card = cards[placement.index]
        long_side = float(np.linalg.norm(placement.quad[2] - placement.quad[0])) * 0.82
        sleeved = binder or rng.random() < 0.4 * hardness  # a binder's pocket is a sleeve
        rgb, alpha, to_layer = _card_layer(card, rng, hardness, sleeved, long_side)
        lift = rng.uniform(1, 4) * unit
        _composite(scene, rgb, alpha, placement.homography @ np.linalg.inv(to_layer),
                   shadow_strength=0.2 + 0.25 * hardness,
                   shadow_offset=(lift * np.cos(shadow_dir), lift * np.sin(shadow_dir)),
                   shadow_blur=lift * 1.5)
    if finger is not None:
        _draw_finger(scene, finger, rng, unit)
    if binder:  # the page's clear plastic over everything: haze and a reflection band
        scene = sleeve_sheen(scene, rng, max(hardness, 0.5))
    glossy = np.where((labels >= 0) | binder, 1.0, 0.25).astype(np.float32)
    image = camera_pipeline(scene, rng, hardness, glossy=glossy)
    titles = layout.title_visible_fractions(placements, labels, [card.shape for card in cards])
    return SimulatedPhoto(image=image, quads=[p.quad.copy() for p in placements],
                          card_indices=[p.index for p in placements], visible_fraction=fractions,
                          title_visible=titles, visible_centres=layout.visible_centres(placements, labels))


def _crop_background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A cheap stand-in for the table showing at the crop's edges: tinted low-frequency noise."""
    colour = rng.uniform(0.05, 0.9, 3).astype(np.float32)
    blotches = cv2.resize(rng.random((4, 4), dtype=np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
    return colour * (0.75 + 0.5 * blotches)[..., None]


SLIPPED_SIDE = 0.3
"""Share of augment_crop views (at full hardness) with one side up to 10% in or out: the
detector's worst slips, where a finger across an edge or a card cut by the frame moves a side."""

SMALL_CAPTURE = 0.45
"""Smallest capture of augment_crop, as a share of the crop: a small, tilted card in a
1600x1200 photo is ~140 px long, and in a chat app's 1280 px or 800 px re-compression ~100 px,
against the model's 224."""


def augment_crop(card: np.ndarray, rng: np.random.Generator, hardness: float = 1.0,
                 out_size: tuple[int, int] | None = None) -> np.ndarray:
    """A photo-like view of a card as detection + warp would deliver it; `out_size` is (W, H).

    Corner jitter of a few percent stands in for detection error (so slivers of table or
    missing card edges show), now and then with one side slipped further, followed by
    sleeve sheen, an occasional finger and the same camera pipeline as whole photos. Half
    the time (at full hardness) the card is captured at fewer pixels than the crop and
    warped up, as a card far from the camera is: its noise, blur and JPEG blocks are then
    coarser than the crop's own pixels. hardness=0 gives a clean resize.
    """
    _check_card(card, "card")
    if not 0 <= hardness <= 1:
        raise ValueError(f"hardness must be within [0, 1], got {hardness}")
    out_w, out_h = out_size or (card.shape[1], card.shape[0])
    if out_w < 16 or out_h < 16:
        raise ValueError(f"out_size must be at least 16x16, got {out_size}")
    width, height = out_w, out_h
    if rng.random() < 0.5 * hardness:
        captured = rng.uniform(SMALL_CAPTURE, 1.0)
        width, height = max(16, round(out_w * captured)), max(16, round(out_h * captured))
    source = card
    while source.shape[1] > 2 * width and source.shape[0] > 2 * height:  # cheap anti-aliasing before the warp
        source = cv2.pyrDown(source)
    target = layout.card_corners((height, width)).astype(np.float64)
    centre = target.mean(0)
    angle = np.deg2rad(rng.normal(0, 2.5 * hardness))
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    jitter = rng.normal(0, 0.025 * hardness, (4, 2)) * (width, height)
    target = (target - centre) @ rotation.T + centre + jitter
    if rng.random() < SLIPPED_SIDE * hardness:  # a finger or the frame edge moved one side of the outline
        side = int(rng.integers(4))
        outward = np.array([[0, -1], [1, 0], [0, 1], [-1, 0]], np.float64)[side]
        target[[side, (side + 1) % 4]] += outward * rng.uniform(-0.1, 0.1) * (height if side % 2 == 0 else width)
    homography = cv2.getPerspectiveTransform(layout.card_corners(source.shape), target.astype(np.float32))
    warped = cv2.warpPerspective(source, homography, (width, height), flags=cv2.INTER_LINEAR)
    rgb = warped.astype(np.float32) * np.float32(1 / 255)
    if rng.random() < 0.35 * hardness:
        rgb = sleeve_sheen(rgb, rng, hardness)
    alpha = _rounded_mask(source.shape[0], source.shape[1], 0)
    coverage = cv2.warpPerspective(alpha, homography, (width, height), flags=cv2.INTER_LINEAR)
    image = cv2.blendLinear(_crop_background(rng, height, width), rgb, 1 - coverage, coverage)
    if rng.random() < 0.12 * hardness:
        quad = layout.project(homography, layout.card_corners(source.shape)).astype(np.float32)
        finger = layout.finger_for(rng, layout.Placement(0, homography, quad), (width, height))
        _draw_finger(image, finger, rng, min(width, height) / 1000)
    photo = camera_pipeline(image, rng, hardness, shadows=True, unit=min(width, height) / 300)
    if (width, height) != (out_w, out_h):
        photo = cv2.resize(photo, (out_w, out_h), interpolation=cv2.INTER_LINEAR)
    return photo


def encode_jpeg(image: np.ndarray, quality: int) -> bytes:
    """RGB uint8 → JPEG bytes, as a phone or chat app would upload them."""
    _check_card(image, "image")
    if not 1 <= quality <= 100:
        raise ValueError(f"JPEG quality must be within [1, 100], got {quality}")
    ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("OpenCV could not JPEG-encode the image")
    return encoded.tobytes()
