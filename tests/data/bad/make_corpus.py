"""Generates the bad-input corpus: everything people can post to a public bot, kept tiny.

Run ``python -m tests.data.bad.make_corpus`` from the repository root to (re)write the files
next to this script. Output is deterministic (fixed seeds, no timestamps), so a regenerated
corpus equals the committed one. Large inputs stay small on disk on purpose: the bomb is a
PNG header that claims 10^10 pixels, and the 52-megapixel photo is a 1-bit PNG that deflate
squeezes to a few kilobytes but that still decodes to 52 MP.

`EXPECTED` is the contract `tests/engine/test_bad_input.py` and `bench/soak.py` check every layer
(engine, HTTP API, both bots) against.
"""

from __future__ import annotations

import io
import struct
import sys
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
if __package__ in (None, ""):  # run as a script: make `tests.scenes` importable
    sys.path.insert(0, str(HERE.parents[2]))

from tests.scenes import card_quad, make_card, make_scene, textured_background  # noqa: E402

BAD_IMAGE = "bad_image"
TOO_LARGE = "too_large"
NO_CARD = "no_card"
CARDS = "cards"
ANY_ANSWER = "any_answer"


@dataclass(frozen=True)
class Expected:
    """What a file deserves: an error code, or an answer of a kind.

    ``bad_image``/``too_large``: the engine's typed error with that code. ``no_card``: an
    answer that names no card. ``cards``: at least `min_cards` cards (never more than the
    engine's ``max_cards``). ``any_answer``: a well-formed answer, cards or none.
    """

    outcome: str
    min_cards: int = 0

    @property
    def is_error(self) -> bool:
        return self.outcome in (BAD_IMAGE, TOO_LARGE)


def _encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A ~70-byte PNG whose header declares width x height RGB pixels."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _png_chunk(b"IEND", b"")
    )


def _one_card_photo(seed: int = 1, size: tuple[int, int] = (480, 360)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    width, height = size
    quad = card_quad((width / 2, height / 2), height * 0.8, 8.0, 0.03)
    return make_scene(rng, [quad], size).image


def _jpeg(rgb: np.ndarray, quality: int = 80, **params: object) -> bytes:
    return _encode(Image.fromarray(rgb), "JPEG", quality=quality, **params)


def _with_orientation(rgb: np.ndarray, orientation: int) -> bytes:
    """The photo stored the way a camera with that EXIF orientation stores it."""
    stored = {
        1: lambda a: a,
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.transpose(1, 0, 2),
        6: lambda a: np.rot90(a, 1),
        7: lambda a: np.rot90(a, 2).transpose(1, 0, 2),
        8: lambda a: np.rot90(a, -1),
    }[orientation](rgb)
    exif = Image.Exif()
    exif[0x0112] = orientation
    return _jpeg(np.ascontiguousarray(stored), 75, exif=exif.tobytes())


def _many_cards() -> bytes:
    """36 small cards in a 6 x 6 grid: more than the engine reads from one photo."""
    rng = np.random.default_rng(7)
    size = (1200, 1000)
    cards = [make_card(rng) for _ in range(6)]
    quads = [card_quad((100 + 200 * col, 85 + 166 * row), 140, rng.uniform(-4, 4))
             for row in range(6) for col in range(6)]
    scene = make_scene(rng, quads, size, cards=[cards[i % 6] for i in range(36)])
    return _jpeg(scene.image, 70)


def _fifty_megapixels() -> bytes:
    """8700 x 6000 (52 MP): one white card outline on black, 1-bit, a few KB as PNG."""
    image = Image.new("1", (8700, 6000), 0)
    ImageDraw.Draw(image).rectangle((3000, 1500, 5860, 5480), fill=1)
    return _encode(image, "PNG", optimize=True)


def _animation(fmt: str) -> bytes:
    base = _one_card_photo(3, (240, 180))
    frames = [Image.fromarray(base), Image.fromarray(255 - base)]
    params: dict[str, object] = {"save_all": True, "append_images": frames[1:], "duration": 80, "loop": 0}
    if fmt == "WEBP":
        params["quality"] = 60
    return _encode(frames[0], fmt, **params)


def _alpha_png() -> bytes:
    rgba = np.dstack([_one_card_photo(4, (240, 180)), np.full((180, 240), 255, np.uint8)])
    rgba[:40, :, 3] = 0  # a transparent band, composited on white by the decoder
    return _encode(Image.fromarray(rgba, "RGBA"), "PNG", optimize=True)


def _sixteen_bit_png() -> bytes:
    gray = cv2.cvtColor(_one_card_photo(5, (240, 180)), cv2.COLOR_RGB2GRAY).astype(np.uint16) * 257
    return _encode(Image.fromarray(gray), "PNG")


def _cmyk_jpeg() -> bytes:
    return _encode(Image.fromarray(_one_card_photo(6, (240, 180))).convert("CMYK"), "JPEG", quality=75)


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("card.txt", (2020, 1, 1, 0, 0, 0)), "Lightning Bolt")
    return buffer.getvalue()


def _pdf() -> bytes:
    return (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
            b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")


def _truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


BUILDERS: dict[str, tuple[Callable[[], bytes], Expected]] = {
    "text.txt": (lambda: b"Lightning Bolt deals 3 damage to any target.\n", Expected(BAD_IMAGE)),
    "document.pdf": (_pdf, Expected(BAD_IMAGE)),
    "archive.zip": (_zip, Expected(BAD_IMAGE)),
    "empty.jpg": (lambda: b"", Expected(BAD_IMAGE)),
    "truncated.jpg": (lambda: _truncated(_jpeg(_one_card_photo(8))), Expected(BAD_IMAGE)),
    "truncated.png": (lambda: _truncated(_encode(Image.fromarray(_one_card_photo(9, (240, 180))), "PNG")),
                      Expected(BAD_IMAGE)),
    "bomb.png": (bomb_png, Expected(TOO_LARGE)),
    "photo-52mp.png": (_fifty_megapixels, Expected(ANY_ANSWER)),
    "animated.gif": (lambda: _animation("GIF"), Expected(ANY_ANSWER)),
    "animated.webp": (lambda: _animation("WEBP"), Expected(ANY_ANSWER)),
    "alpha.png": (_alpha_png, Expected(ANY_ANSWER)),
    "cmyk.jpg": (_cmyk_jpeg, Expected(ANY_ANSWER)),
    "gray-16bit.png": (_sixteen_bit_png, Expected(ANY_ANSWER)),
    # The cards of these photos are drawings (tests/scenes.py), in no gallery and no Magic card: since
    # issue 19 the engine may answer them "no card" (under the calibrated card floor) or "not sure";
    # tests/engine/test_bad_input.py checks their outlines through `Recognizer.analyse` instead.
    **{f"exif-{o}.jpg": ((lambda o=o: _with_orientation(_one_card_photo(1), o)), Expected(ANY_ANSWER))
       for o in range(1, 9)},
    "no-card.jpg": (lambda: _jpeg(textured_background(np.random.default_rng(10), (480, 360))),
                    Expected(NO_CARD)),
    "thirty-six-cards.jpg": (_many_cards, Expected(ANY_ANSWER)),
    "blank.png": (lambda: _encode(Image.new("RGB", (640, 480), (128, 128, 128)), "PNG"), Expected(NO_CARD)),
    "extreme-blur.jpg": (lambda: _jpeg(cv2.GaussianBlur(_one_card_photo(11), (0, 0), 40)), Expected(NO_CARD)),
}

EXPECTED: dict[str, Expected] = {name: expected for name, (_, expected) in BUILDERS.items()}


def corpus_files(folder: Path = HERE) -> dict[str, bytes]:
    """The committed corpus, name -> bytes, in `EXPECTED` order."""
    return {name: (folder / name).read_bytes() for name in EXPECTED}


def main(folder: Path = HERE) -> None:
    for name, (build, _) in BUILDERS.items():
        data = build()
        (folder / name).write_bytes(data)
        print(f"{name:24s} {len(data):8d} bytes")


if __name__ == "__main__":
    main()
