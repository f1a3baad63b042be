"""Synthetic Magic cards: a spec, a renderer, hard-negative families and a gallery writer.

Every part of cardsight tests against these cards, the embedding model trains on them, and
evaluation photographs them, so they imitate the features a real card is recognised by: a
textured colour frame, a legible title with mana pips, a large artwork, a type line with a
rarity-coloured set symbol, a rules box and the collector line, in the frame variants real
printings come in (which is what makes printings of one card hard to tell apart).
"""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterator, Sequence

import cv2
import numpy as np
from PIL import Image, ImageDraw
from tqdm import tqdm

from training import cardtext
from training.art import art_crop
from training.cardparts import (PALETTE, draw_mana_symbol, draw_rules_text, draw_set_symbol, font,
                                frame_texture, is_flavour, mana_symbols)

FRAMES = ("normal", "borderless", "showcase", "extended", "fullart", "land")
COLOURS = ("W", "U", "B", "R", "G", "C", "M")
RARITIES = ("common", "uncommon", "rare", "mythic")
BASE_SIZE = (488, 680)
CORNER_RADIUS = 0.045  # of the card width; a real card's 3 mm corner on 63 mm


@dataclass(frozen=True)
class CardSpec:
    """Everything that decides how a synthetic card looks; same spec → same pixels."""

    name: str
    frame: str
    colour: str
    art_seed: int
    mana_cost: str
    type_line: str
    rules_text: str
    set_code: str
    collector_number: str
    rarity: str

    def __post_init__(self) -> None:
        if self.frame not in FRAMES:
            raise ValueError(f"frame {self.frame!r} is not one of {', '.join(FRAMES)}")
        if self.colour not in COLOURS:
            raise ValueError(f"colour {self.colour!r} is not one of {', '.join(COLOURS)}")
        if self.rarity not in RARITIES:
            raise ValueError(f"rarity {self.rarity!r} is not one of {', '.join(RARITIES)}")
        if not self.name.strip():
            raise ValueError("a card needs a non-empty name")


def random_spec(name: str, rng: np.random.Generator, **overrides: object) -> CardSpec:
    """A random plausible card named `name`; `overrides` fix any CardSpec field.

    Text fields follow the chosen colour and frame (a "land" frame gets a basic-land type
    line and mana ability) unless they are overridden too.
    """
    unknown = set(overrides) - {f.name for f in dataclasses.fields(CardSpec)}
    if unknown:
        raise TypeError(f"random_spec got unknown CardSpec fields: {', '.join(sorted(unknown))}")
    colour = str(overrides.get("colour") or rng.choice(COLOURS, p=[0.16, 0.16, 0.16, 0.16, 0.16, 0.1, 0.1]))
    frame = str(overrides.get("frame") or rng.choice(FRAMES, p=[0.62, 0.07, 0.07, 0.08, 0.06, 0.1]))
    if colour not in COLOURS or frame not in FRAMES:
        raise ValueError(f"colour {colour!r} / frame {frame!r}: choose from {COLOURS} / {FRAMES}")
    if frame == "land":
        land_colour = colour if colour in "WUBRG" else "G"
        colour = str(overrides.get("colour") or land_colour)
        basic = cardtext.BASIC_LANDS[land_colour]
        mana, type_text, rules, rarity = "", f"Basic Land — {basic}", f"({{T}}: Add {{{land_colour}}}.)", "common"
    else:
        mana = cardtext.mana_cost(colour, rng)
        type_text = cardtext.type_line(colour, rng)
        rules = cardtext.rules_text(name, type_text, colour, rng)
        rarity = str(rng.choice(RARITIES, p=[0.45, 0.3, 0.2, 0.05]))
    values: dict[str, object] = dict(
        name=name, frame=frame, colour=colour, art_seed=int(rng.integers(2**31 - 1)),
        mana_cost=mana, type_line=type_text, rules_text=rules, set_code=cardtext.set_code(rng),
        collector_number=str(int(rng.integers(1, 300))), rarity=rarity,
    )
    values.update(overrides)
    return CardSpec(**values)  # type: ignore[arg-type]


@dataclass(frozen=True)
class _Layout:
    """Boxes as fractions of the card (x0, y0, x1, y1); None where a frame has no such part."""

    border: float  # black border width as a fraction of the card width; 0 = borderless
    art: tuple[float, float, float, float]
    title: tuple[float, float, float, float]
    type_bar: tuple[float, float, float, float]
    text: tuple[float, float, float, float]
    overlay_alpha: int  # 255 = opaque bars on a frame; lower = bars floating over the art


_NORMAL = _Layout(0.045, (0.085, 0.112, 0.915, 0.555), (0.07, 0.05, 0.93, 0.105),
                  (0.07, 0.56, 0.93, 0.612), (0.085, 0.62, 0.915, 0.9), 255)
_LAYOUTS = {
    "normal": _NORMAL,
    "land": _NORMAL,
    "showcase": dataclasses.replace(_NORMAL, art=(0.1, 0.118, 0.9, 0.55)),
    "extended": dataclasses.replace(_NORMAL, art=(0.045, 0.112, 0.955, 0.555)),
    "fullart": dataclasses.replace(_NORMAL, art=(0.045, 0.035, 0.955, 0.915), text=(0.085, 0.66, 0.915, 0.89),
                                   type_bar=(0.07, 0.6, 0.93, 0.652), overlay_alpha=215),
    "borderless": dataclasses.replace(_NORMAL, border=0.0, art=(0.0, 0.0, 1.0, 1.0), overlay_alpha=200),
}


def _px(box: tuple[float, float, float, float], width: int, height: int) -> tuple[int, int, int, int]:
    return (round(box[0] * width), round(box[1] * height), round(box[2] * width), round(box[3] * height))


def _power_toughness(spec: CardSpec) -> str:
    value = zlib.crc32(f"{spec.name}/{spec.art_seed}".encode())
    return f"{value % 6 + 1}/{value // 7 % 6 + 1}"


def _artist(spec: CardSpec) -> str:
    return cardtext.artist_name(np.random.default_rng(spec.art_seed))


def _base_image(spec: CardSpec, layout: _Layout, width: int, height: int) -> np.ndarray:
    """Frame texture, black border and artwork: the parts that are pixels rather than shapes."""
    style = "showcase" if spec.frame == "showcase" else "standard"
    image = frame_texture(spec.colour, style, height, width).copy()
    x0, y0, x1, y1 = _px(layout.art, width, height)
    image[y0:y1, x0:x1] = art_crop(spec.art_seed, x1 - x0, y1 - y0)
    if spec.frame in ("normal", "land", "showcase"):
        edge = (214, 180, 92) if spec.frame == "showcase" else (20, 20, 20)
        cv2.rectangle(image, (x0, y0), (x1 - 1, y1 - 1), edge, max(1, width // 160))
    if layout.border:
        b = round(layout.border * width)
        bottom = round(0.085 * height)
        image[:b], image[:, :b], image[:, width - b:] = 12, 12, 12
        image[height - bottom:] = 12
    return image


@lru_cache(maxsize=16)
def _corner_alpha(radius: int) -> np.ndarray:
    """Anti-aliased coverage of a top-left rounded corner, (radius, radius, 1) float32."""
    mask = np.zeros((radius * 2, radius * 2), np.uint8)
    cv2.circle(mask, (radius, radius), radius, 255, -1, cv2.LINE_AA)
    alpha = mask[:radius, :radius, None].astype(np.float32) / 255
    alpha.setflags(write=False)
    return alpha


def _round_corners(image: np.ndarray) -> None:
    """Paint outside the rounded outline white, as Scryfall's JPEG scans show it."""
    height, width = image.shape[:2]
    r = max(2, round(CORNER_RADIUS * width))
    alpha = _corner_alpha(r)
    for ys, xs, a in ((slice(0, r), slice(0, r), alpha), (slice(0, r), slice(width - r, width), alpha[:, ::-1]),
                      (slice(height - r, height), slice(0, r), alpha[::-1]),
                      (slice(height - r, height), slice(width - r, width), alpha[::-1, ::-1])):
        image[ys, xs] = (image[ys, xs] * a + 255 * (1 - a)).astype(np.uint8)


def _bar(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], fill: tuple[int, int, int], alpha: int,
         showcase: bool) -> None:
    x0, y0, x1, y1 = box
    if showcase:  # angled ends and a gold rim instead of the rounded bar
        cut = (y1 - y0) // 2
        points = [(x0 + cut, y0), (x1 - cut, y0), (x1, (y0 + y1) // 2), (x1 - cut, y1), (x0 + cut, y1),
                  (x0, (y0 + y1) // 2)]
        draw.polygon(points, fill=(*fill, alpha), outline=(214, 180, 92, 255), width=max(1, (y1 - y0) // 12))
        return
    draw.rounded_rectangle(box, radius=(y1 - y0) // 3, fill=(*fill, alpha), outline=(10, 10, 10, 255),
                           width=max(1, (y1 - y0) // 16))


def _title_and_type(draw: ImageDraw.ImageDraw, spec: CardSpec, layout: _Layout, width: int, height: int) -> None:
    _, bar_colour, _ = PALETTE[spec.colour]
    showcase = spec.frame == "showcase"
    title = _px(layout.title, width, height)
    _bar(draw, title, bar_colour, layout.overlay_alpha, showcase)
    bar_h = title[3] - title[1]
    pips = mana_symbols(spec.mana_cost)
    diameter = bar_h * 0.7
    right = title[2] - bar_h * 0.25
    for i, symbol in enumerate(reversed(pips)):
        draw_mana_symbol(draw, symbol, (right - diameter / 2 - i * diameter * 1.08, (title[1] + title[3]) / 2), diameter)
    name_face = "DejaVuSans-Bold" if showcase else "DejaVuSerif-Bold"
    room = right - len(pips) * diameter * 1.08 - (title[0] + bar_h * 0.35)
    size = int(bar_h * 0.6)
    while size > 6 and font(name_face, size).getlength(spec.name) > room:
        size -= 1
    draw.text((title[0] + bar_h * 0.35, (title[1] + title[3]) / 2), spec.name, font=font(name_face, size),
              fill=(12, 12, 12, 255), anchor="lm")

    type_bar = _px(layout.type_bar, width, height)
    _bar(draw, type_bar, bar_colour, layout.overlay_alpha, showcase)
    type_h = type_bar[3] - type_bar[1]
    symbol_x = type_bar[2] - type_h * 0.75
    draw_set_symbol(draw, spec.set_code, spec.rarity, (symbol_x, (type_bar[1] + type_bar[3]) / 2), type_h * 0.62)
    size = int(type_h * 0.52)
    room = symbol_x - type_h * 0.6 - (type_bar[0] + type_h * 0.35)
    while size > 6 and font("DejaVuSerif-Bold", size).getlength(spec.type_line) > room:
        size -= 1
    draw.text((type_bar[0] + type_h * 0.35, (type_bar[1] + type_bar[3]) / 2), spec.type_line,
              font=font("DejaVuSerif-Bold", size), fill=(12, 12, 12, 255), anchor="lm")


def _text_box(draw: ImageDraw.ImageDraw, spec: CardSpec, layout: _Layout, width: int, height: int) -> None:
    _, _, box_colour = PALETTE[spec.colour]
    box = _px(layout.text, width, height)
    draw.rectangle(box, fill=(*box_colour, layout.overlay_alpha), outline=(10, 10, 10, 255),
                   width=max(1, width // 250))
    pad = width * 0.03
    inner = (box[0] + pad, box[1] + pad * 0.8, box[2] - pad, box[3] - pad * 0.6)
    if spec.frame == "land":  # a big mana symbol, as on basic lands
        side = (box[3] - box[1]) * 0.62
        draw_mana_symbol(draw, spec.colour if spec.colour in "WUBRG" else "C",
                         ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2), side)
    else:
        draw_rules_text(draw, spec.rules_text, inner, int(height * 0.027))
    if "Creature" in spec.type_line:
        pt = (round(0.76 * width), round(0.88 * height), round(0.93 * width), round(0.925 * height))
        _bar(draw, pt, PALETTE[spec.colour][1], 255, spec.frame == "showcase")
        draw.text(((pt[0] + pt[2]) / 2, (pt[1] + pt[3]) / 2), _power_toughness(spec),
                  font=font("DejaVuSans-Bold", int(height * 0.03)), fill=(12, 12, 12, 255), anchor="mm")


def _collector_line(draw: ImageDraw.ImageDraw, spec: CardSpec, width: int, height: int) -> None:
    face = font("DejaVuSansCondensed-Bold", max(6, int(height * 0.017)))
    x = width * 0.07
    rarity_letter = spec.rarity[0].upper()
    lines = (f"{spec.collector_number.zfill(3)}/300 {rarity_letter}",
             f"{spec.set_code.upper()} • EN    Illus. {_artist(spec)}")
    for i, text in enumerate(lines):
        y = height * (0.935 + 0.024 * i)
        draw.text((x + 1, y + 1), text, font=face, fill=(0, 0, 0, 255))
        draw.text((x, y), text, font=face, fill=(236, 236, 236, 255))


def render_card(spec: CardSpec, size: tuple[int, int] = BASE_SIZE) -> np.ndarray:
    """The card face as RGB uint8 of shape (H, W, 3); `size` is (W, H)."""
    width, height = size
    if width < 40 or height < 56:
        raise ValueError(f"card size {size} is too small to draw legibly (minimum 40x56)")
    layout = _LAYOUTS[spec.frame]
    base = Image.fromarray(_base_image(spec, layout, width, height)).convert("RGBA")
    ink = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(ink)
    _title_and_type(draw, spec, layout, width, height)
    _text_box(draw, spec, layout, width, height)
    _collector_line(draw, spec, width, height)
    image = np.asarray(Image.alpha_composite(base, ink).convert("RGB")).copy()
    _round_corners(image)
    return image


def hard_negative_specs(name: str, rng: np.random.Generator) -> list[CardSpec]:
    """A family of look-alikes around `name`, the confusions a recogniser must survive.

    - reprints: the same artwork and name in other frames (extended, borderless, showcase,
      full art), each in another set;
    - impostors: the same frame, artwork, cost and type under a different but similar name;
    - basic-land-like: land frames that differ only in artwork or in name.
    """
    base = random_spec(name, rng, frame="normal")
    family = [base]
    for frame in rng.permutation(["extended", "borderless", "showcase", "fullart"])[:3]:
        family.append(dataclasses.replace(base, frame=str(frame), set_code=cardtext.set_code(rng),
                                          collector_number=str(int(rng.integers(300, 400)))))
    for _ in range(2):
        family.append(dataclasses.replace(base, name=cardtext.sibling_name(name, rng),
                                          collector_number=str(int(rng.integers(1, 300)))))
    land_set = cardtext.set_code(rng)
    land = random_spec(name, rng, frame="land", set_code=land_set,
                       colour=base.colour if base.colour in "WUBRG" else "G")
    family.append(land)
    family.append(dataclasses.replace(land, art_seed=int(rng.integers(2**31 - 1)),
                                      collector_number=str(int(land.collector_number) + 1)))
    family.append(dataclasses.replace(land, name=cardtext.sibling_name(name, rng),
                                      collector_number=str(int(land.collector_number) + 2)))
    return family


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _name_stream(rng: np.random.Generator, names: Sequence[str] | None) -> Iterator[str]:
    """Given names in order (cycling, as reprints, once exhausted), else unique invented ones."""
    if names:
        while True:
            yield from names
    seen: set[str] = set()
    while True:
        name = cardtext.fantasy_name(rng)
        if name not in seen:
            seen.add(name)
            yield name


def _gallery_specs(n: int, rng: np.random.Generator, names: Sequence[str] | None,
                   hard_negative_fraction: float) -> list[CardSpec]:
    """n specs on a small pool of sets, a fraction of them from hard-negative families."""
    next_name = _name_stream(rng, names).__next__
    pool = sorted({cardtext.set_code(rng) for _ in range(max(2, n // 80 + 2))})
    specs: list[CardSpec] = []
    n_hard = round(n * hard_negative_fraction)
    while len(specs) < n_hard:
        family = hard_negative_specs(next_name(), rng)
        sets = {code: pool[int(rng.integers(len(pool)))] for code in sorted({s.set_code for s in family})}
        specs += [dataclasses.replace(s, set_code=sets[s.set_code]) for s in family[: n_hard - len(specs)]]
    while len(specs) < n:
        specs.append(random_spec(next_name(), rng, set_code=pool[int(rng.integers(len(pool)))]))
    counters = {code: 0 for code in pool}
    numbered = []
    for spec in specs:  # unique collector numbers within each set, so image paths never collide
        counters[spec.set_code] += 1
        numbered.append(dataclasses.replace(spec, collector_number=str(counters[spec.set_code])))
    return numbered


def _record(spec: CardSpec, card_id: str, image: str, sets: dict[str, tuple[str, str]]) -> dict[str, object]:
    """A Scryfall-shaped card object plus cardsight's `image` path and `variant`."""
    set_name, released_at = sets[spec.set_code]
    paragraphs = spec.rules_text.split("\n")
    return {
        "id": card_id,
        "oracle_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"cardsight:oracle:{spec.name}")),
        "illustration_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"cardsight:art:{spec.art_seed}")),
        "name": spec.name,
        "set": spec.set_code,
        "set_name": set_name,
        "collector_number": spec.collector_number,
        "rarity": spec.rarity,
        "lang": "en",
        "layout": "normal",
        "released_at": released_at,
        "mana_cost": spec.mana_cost,
        "type_line": spec.type_line,
        "oracle_text": "\n".join(p for p in paragraphs if not is_flavour(p)),
        "colors": sorted(set(re.findall(r"[WUBRG]", spec.mana_cost))),
        "scryfall_uri": f"https://scryfall.com/card/{spec.set_code}/{spec.collector_number}/{_slug(spec.name)}",
        "image_uris": {"normal": f"https://cards.scryfall.io/normal/front/{card_id[0]}/{card_id[1]}/{card_id}.jpg"},
        "image": image,
        "variant": spec.frame,
    }


def generate_gallery(out_dir: Path, n: int, seed: int = 0, names: Sequence[str] | None = None,
                     hard_negative_fraction: float = 0.2) -> Path:
    """Render `n` cards to out_dir/images/<set>/<number>.jpg with out_dir/cards.jsonl; deterministic per seed."""
    if n < 1:
        raise ValueError(f"a gallery needs at least one card, got n={n}")
    if not 0.0 <= hard_negative_fraction <= 1.0:
        raise ValueError(f"hard_negative_fraction must be within [0, 1], got {hard_negative_fraction}")
    out_dir = Path(out_dir)
    rng = np.random.default_rng(seed)
    specs = _gallery_specs(n, rng, [s for s in names if s.strip()] if names else None, hard_negative_fraction)
    sets = {code: (cardtext.set_name(rng), f"{int(rng.integers(1995, 2026))}-{int(rng.integers(1, 13)):02d}-"
                   f"{int(rng.integers(1, 29)):02d}") for code in sorted({s.set_code for s in specs})}
    out_path = out_dir / "cards.jsonl"
    out_dir.mkdir(parents=True, exist_ok=True)
    with out_path.open("w", encoding="utf-8") as out:
        for spec in tqdm(specs, desc="rendering cards", unit="card", disable=None):
            card_id = str(uuid.UUID(bytes=rng.bytes(16), version=4))
            relative = f"images/{spec.set_code}/{spec.collector_number}.jpg"
            (out_dir / relative).parent.mkdir(parents=True, exist_ok=True)
            pixels = render_card(spec)
            ok, encoded = cv2.imencode(".jpg", pixels[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 92])
            if not ok:
                raise RuntimeError(f"OpenCV could not encode {relative}")
            (out_dir / relative).write_bytes(encoded.tobytes())
            out.write(json.dumps(_record(spec, card_id, relative, sets), ensure_ascii=False) + "\n")
    return out_path
