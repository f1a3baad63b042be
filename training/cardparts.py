"""Drawing pieces shared by the card frames: fonts, colours, textures, mana and set symbols.

Real frames are printed templates: every card of one colour and frame style in a set has
the same frame texture, so textures are seeded by (colour, style) only and cached. That
leaves art and title as what distinguishes cards, as on real cards.
"""

from __future__ import annotations

import re
import zlib
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import ImageDraw, ImageFont

from training.art import fractal_noise

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

# frame base, title/type bar, text box; RGB
PALETTE: dict[str, tuple[tuple[int, int, int], tuple[int, int, int], tuple[int, int, int]]] = {
    "W": ((222, 216, 190), (246, 241, 224), (242, 237, 221)),
    "U": ((28, 98, 168), (188, 214, 236), (214, 227, 240)),
    "B": ((48, 42, 40), (196, 186, 181), (214, 205, 200)),
    "R": ((196, 62, 40), (240, 202, 182), (240, 221, 206)),
    "G": ((32, 108, 62), (200, 221, 196), (219, 230, 211)),
    "C": ((158, 163, 168), (214, 218, 222), (226, 228, 231)),
    "M": ((198, 168, 92), (240, 226, 182), (240, 232, 206)),
}
MANA_COLOURS = {
    "W": (248, 231, 185), "U": (170, 224, 250), "B": (203, 194, 191),
    "R": (249, 170, 143), "G": (155, 211, 174), "C": (204, 194, 193),
}
RARITY_COLOURS = {
    "common": (24, 24, 24), "uncommon": (168, 182, 194),
    "rare": (206, 168, 72), "mythic": (226, 96, 34),
}


@lru_cache(maxsize=64)
def font(face: str, size: int) -> Font:
    """A DejaVu face when installed (stock Debian), else Pillow's built-in scalable font."""
    try:
        return ImageFont.truetype(str(FONT_DIR / f"{face}.ttf"), size)
    except OSError:
        return ImageFont.load_default(size=size)


@lru_cache(maxsize=64)
def frame_texture(colour: str, style: str, height: int, width: int) -> np.ndarray:
    """Colour-specific frame texture (uint8 RGB), identical for every card sharing the template."""
    rng = np.random.default_rng(zlib.crc32(f"{colour}/{style}".encode()))
    noise = fractal_noise(rng, height, width, octaves=5, base=3)
    if colour == "U":  # flowing water
        ys = np.linspace(0, 30, height, dtype=np.float32)[:, None]
        pattern = 0.5 + 0.5 * np.sin(ys + noise * 8)
    elif colour == "C":  # brushed metal
        streaks = cv2.resize(rng.random((height, 8), dtype=np.float32), (width, height))
        pattern = 0.6 * streaks + 0.4 * noise
    elif colour == "R":  # cracked rock
        pattern = np.abs(noise - 0.5) * 2
    elif colour == "B":  # rough stone with dark pits
        pattern = noise**2
    elif colour == "G":  # leafy mottling
        pattern = fractal_noise(rng, height, width, octaves=4, base=10)
    elif colour == "M":  # marbled gold
        pattern = 0.5 + 0.5 * np.sin(noise * 14)
    else:  # parchment-white mottling
        pattern = noise
    base = np.array(PALETTE[colour][0], np.float32)
    if style == "showcase":  # darker, with a gold filigree lattice
        base = base * 0.45 + np.array([60, 50, 30], np.float32)
    shade = (0.72 + 0.5 * pattern)[..., None]
    image = np.clip(base * shade, 0, 255)
    if style == "showcase":
        lattice = np.zeros((height, width), np.float32)
        step = max(8, width // 14)
        for k in range(-height, width, step):
            cv2.line(lattice, (k, 0), (k + height, height), 1.0, 1, cv2.LINE_AA)
            cv2.line(lattice, (k + height, 0), (k, height), 1.0, 1, cv2.LINE_AA)
        image = image * (1 - 0.5 * lattice[..., None]) + 0.5 * lattice[..., None] * np.array([214, 180, 92])
    result = image.astype(np.uint8)
    result.setflags(write=False)
    return result


MANA_TOKEN = re.compile(r"\{([^}]+)\}")


def mana_symbols(cost: str) -> list[str]:
    """``"{2}{G}{G}"`` → ``["2", "G", "G"]``."""
    return MANA_TOKEN.findall(cost)


def draw_mana_symbol(draw: ImageDraw.ImageDraw, symbol: str, centre: tuple[float, float], diameter: float) -> None:
    """A coloured pip with a drop shadow; coloured letters stand in for the real glyphs."""
    cx, cy = centre
    r = diameter / 2
    draw.ellipse((cx - r + 1, cy - r + 2, cx + r + 1, cy + r + 2), fill=(10, 10, 10, 255))
    fill = MANA_COLOURS.get(symbol, MANA_COLOURS["C"])
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(*fill, 255))
    label = "" if symbol == "T" else symbol
    draw.text((cx, cy), label, font=font("DejaVuSans-Bold", max(6, int(diameter * 0.62))),
              fill=(20, 20, 20, 255), anchor="mm")


def draw_set_symbol(draw: ImageDraw.ImageDraw, set_code: str, rarity: str, centre: tuple[float, float],
                    size: float) -> None:
    """A per-set shape (derived from the code) filled with the rarity colour, black outline."""
    rng = np.random.default_rng(zlib.crc32(set_code.encode()))
    corners = int(rng.integers(3, 8))
    angles = np.linspace(0, 2 * np.pi, corners, endpoint=False) + rng.uniform(0, np.pi)
    radii = size / 2 * rng.uniform(0.55, 1.0, corners)
    points = [(centre[0] + r * np.cos(a), centre[1] + r * np.sin(a)) for r, a in zip(radii, angles)]
    fill = RARITY_COLOURS.get(rarity, RARITY_COLOURS["common"])
    draw.polygon(points, fill=(*fill, 255), outline=(0, 0, 0, 255), width=max(1, int(size / 10)))


def wrap_text(text: str, face: Font, width: float) -> list[str]:
    """Greedy word wrap by rendered width; explicit newlines start new paragraphs."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}".strip()
            if line and face.getlength(candidate) > width:
                lines.append(line)
                line = word
            else:
                line = candidate
        lines.append(line)
    return lines


def is_flavour(paragraph: str) -> bool:
    """Flavour paragraphs are written ``*like this*`` (Markdown italics) inside rules text."""
    return len(paragraph) > 2 and paragraph.startswith("*") and paragraph.endswith("*")


def draw_rules_text(draw: ImageDraw.ImageDraw, text: str, box: tuple[float, float, float, float],
                    size: int, colour: tuple[int, int, int] = (20, 20, 20)) -> None:
    """Rules then italic flavour text, shrinking the font until it fits the box as printers do."""
    x0, y0, x1, y1 = box
    for attempt in range(6):
        face_size = max(6, int(size * (0.88**attempt)))
        regular, italic = font("DejaVuSerif", face_size), font("DejaVuSerif-Italic", face_size)
        blocks = [(italic, p[1:-1]) if is_flavour(p) else (regular, p) for p in text.split("\n") if p]
        wrapped = [(face, wrap_text(p, face, x1 - x0)) for face, p in blocks]
        line_h = face_size * 1.2
        height = sum(len(lines) for _, lines in wrapped) * line_h + (len(wrapped) - 1) * line_h * 0.4
        if height <= y1 - y0:
            break
    y = y0
    for face, lines in wrapped:
        for line in lines:
            draw.text((x0, y), line, font=face, fill=(*colour, 255))
            y += line_h
        y += line_h * 0.4
