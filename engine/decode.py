"""Untrusted image bytes -> upright RGB pixels, refusing anything unsafe or unreadable.

Photos arrive from chat users, so this is the engine's trust boundary: every failure is a
typed `ImageError` the bots can answer politely, and the pixel budget is checked from the
header before a single pixel is decoded (decompression bombs). Big JPEGs are decoded at a
reduced DCT scale: detection and embedding need ~1000-1600 px, and a 12 MP JPEG decodes
in ~16 ms at 1/4 scale against ~26 ms at 1/2 and ~54 ms in full (2 cores). JPEG decodes go
through OpenCV's libjpeg-turbo straight into the array (see `_decode_jpeg`); Pillow reads the
header and everything else.
"""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from engine.errors import ImageError, ImageTooLarge

# What Pillow's decoders raise on truncated or malformed input; all of it means "bad image".
_DECODER_FAILURES = (
    UnidentifiedImageError,
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    KeyError,
    TypeError,
    struct.error,
    zlib.error,
)
_JPEG_REDUCTIONS = (8, 4, 2)
_OPENCV_REDUCED = {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4,
                   8: cv2.IMREAD_REDUCED_COLOR_8}
_JPEG_END = b"\xff\xd9"
_EXIF_ORIENTATION = 0x0112
_WHITE = (255, 255, 255)
MIN_SIDE = 16
"""Pixels on the shorter side below which an image cannot show a card worth reading: refused
as `bad_image` before any pixel is decoded (a 1x1 image used to reach OpenCV filters that
assume at least 3x3 and raise)."""
MAX_ASPECT = 20.0
"""Long side over short side above which an image is refused: ten cards side by side are
7:1, while a 3000x2 strip would shrink to a 1-pixel line that the detector cannot filter."""
_REDUCIBLE_MODES = frozenset({"L", "LA", "La", "RGB", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr", "I", "F"})


@dataclass(frozen=True)
class DecodedImage:
    """Decoded pixels plus what is needed to map coordinates back to the original photo."""

    rgb: np.ndarray
    scale: float
    original_size: tuple[int, int]


def decode_image(
    data: bytes,
    *,
    max_bytes: int = 25_000_000,
    max_pixels: int = 120_000_000,
    target_long_side: int = 1600,
    min_long_side: int = 1000,
) -> DecodedImage:
    """Decode `data` to RGB uint8 with EXIF orientation applied, at most ~`target_long_side`.

    JPEGs take the strongest DCT reduction (1/2, 1/4, 1/8: nearly free) whose long side stays
    >= `min_long_side` (capped at `target_long_side`), so they land between the two or up to
    twice the target; a JPEG no reduction fits, and other formats, are area-resized down to
    `target_long_side` (an area resize costs as much as the decode it follows).
    Raises ImageTooLarge for too many bytes or header pixels, ImageError for anything else
    (including images under `MIN_SIDE` pixels on a side or longer than `MAX_ASPECT`:1).
    """
    if not data:
        raise ImageError("empty upload (0 bytes)")
    if len(data) > max_bytes:
        raise ImageTooLarge(f"{len(data)} bytes exceeds the {max_bytes}-byte limit")
    try:
        with warnings.catch_warnings():
            # Our own max_pixels check governs; Pillow's bomb warning must not reach logs.
            # (A concurrent catch_warnings race can at worst leave this ignore filter in place.)
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return _decode(data, max_pixels, target_long_side, min(min_long_side, target_long_side))
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(f"image declares too many pixels: {exc}") from None
    except UnidentifiedImageError:
        raise ImageError("not a recognised image format") from None
    except _DECODER_FAILURES as exc:
        raise ImageError(f"corrupt or truncated image: {exc}") from None


def _decode(data: bytes, max_pixels: int, target_long_side: int, min_long_side: int) -> DecodedImage:
    image = Image.open(io.BytesIO(data))  # parses the header only
    width, height = image.size
    if width <= 0 or height <= 0:
        raise ImageError(f"image declares invalid size {width}x{height}")
    if min(width, height) < MIN_SIDE:
        raise ImageError(
            f"image is {width}x{height} px, under the {MIN_SIDE} px a side a card needs",
            user_message=f"That image is too small to show a card. Please send a photo at least "
            f"{MIN_SIDE} pixels on each side.",
        )
    if max(width, height) > MAX_ASPECT * min(width, height):
        raise ImageError(
            f"image is {width}x{height} px, longer than {MAX_ASPECT:g}:1",
            user_message="That image is too long and thin to show a card. Please send a photo of the card.",
        )
    if width * height > max_pixels:
        raise ImageTooLarge(
            f"image declares {width}x{height} = {width * height} pixels, limit is {max_pixels}"
        )
    orientation = _orientation(image)
    reduction = _apply_jpeg_draft(image, min_long_side)
    scale = 1.0 / reduction
    rgb = _decode_jpeg(data, image, reduction, target_long_side)
    if rgb is None:
        image.load()
        if reduction == 1:
            image = _box_reduce(image, target_long_side)
            scale = image.size[0] / width
        rgb = _to_rgb(image)
    rgb = _apply_orientation(rgb, orientation)
    swapped = orientation in (5, 6, 7, 8)
    original_size = (height, width) if swapped else (width, height)
    if reduction == 1:
        rgb, shrink = _shrink(rgb, target_long_side)
        scale *= shrink
    return DecodedImage(rgb=rgb, scale=scale, original_size=original_size)


def _orientation(image: Image.Image) -> int:
    """EXIF orientation 1..8; anything missing or out of range counts as upright."""
    try:
        value = image.getexif().get(_EXIF_ORIENTATION, 1)
    except _DECODER_FAILURES:
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _apply_jpeg_draft(image: Image.Image, min_long_side: int) -> int:
    """Ask libjpeg for the largest 1/k DCT scale keeping the long side >= `min_long_side`; return k."""
    if image.format != "JPEG":
        return 1
    width, height = image.size
    k = next((k for k in _JPEG_REDUCTIONS if -(-max(width, height) // k) >= min_long_side), 1)
    if k > 1:
        image.draft("RGB", (-(-width // k), -(-height // k)))
    return round(width / image.size[0])  # the reduction libjpeg actually chose


def _decode_jpeg(data: bytes, image: Image.Image, reduction: int, target_long_side: int) -> np.ndarray | None:
    """RGB of a JPEG at the DCT reduction Pillow's draft chose (1: none), decoded by OpenCV;
    None where Pillow must decode it (not a JPEG, CMYK, no end-of-image marker at the end, or
    big enough unreduced for `_box_reduce` to shrink it in its own mode first).

    Same libjpeg-turbo, same pixels (tests/engine/test_decode.py), but OpenCV writes rows
    straight into one array, where Pillow fills its 4-byte-per-pixel store and `np.asarray`
    copies that out again: ~4-7 ms less CPU on a 12 MP photo, a tenth of its latency, and
    ~3 ms (a third of the decode) on a 1600x1200 one, which no DCT reduction shrinks.
    OpenCV 5 refuses a truncated file as Pillow does, but 4.10-4.11 return the rows they
    could read, so only a file ending in the end-of-image marker comes here; one with a
    trailer after it (some phones append one), or that OpenCV can't read, takes the Pillow path.
    """
    if image.format != "JPEG" or image.mode not in ("RGB", "L") or not data.endswith(_JPEG_END):
        return None
    if reduction == 1 and max(image.size) // target_long_side >= 2:
        return None
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), _OPENCV_REDUCED[reduction] | cv2.IMREAD_IGNORE_ORIENTATION)
    if bgr is None or bgr.shape[1::-1] != image.size:
        return None  # Pillow decides: it reads what it can and refuses the rest with its reason
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB, dst=bgr)


def _box_reduce(image: Image.Image, target_long_side: int) -> Image.Image:
    """Shrink a big non-JPEG by an integer factor right after decoding, in its own mode.

    Formats without reduced decoding (PNG, WebP, GIF) arrive at full size, and a few-KB PNG
    can hold 50+ MP; converting that to RGB (or float, for 16-bit) at full size costs several
    hundred MB per request. Pillow's box `reduce` works in the compact source mode, so the
    per-pixel conversions that follow only ever see about `target_long_side` pixels.
    """
    factor = max(image.size) // target_long_side
    if factor < 2:
        return image
    if image.mode == "1":
        image = image.convert("L")
    elif image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif image.mode.startswith("I;16"):
        image = image.convert("I")
    if image.mode not in _REDUCIBLE_MODES:
        return image
    return image.reduce(factor)


def _to_rgb(image: Image.Image) -> np.ndarray:
    """Any Pillow mode (first frame of animations) -> contiguous (H, W, 3) uint8."""
    mode = image.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        values = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if mode != "F" else max(float(values.max()), 1.0)
        gray = np.clip(values * (255.0 / peak), 0, 255).round().astype(np.uint8)
        return np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2))
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        mode == "P" and "transparency" in image.info
    )
    if has_alpha:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, _WHITE + (255,))
        image = Image.alpha_composite(background, rgba)
    rgb = np.asarray(image.convert("RGB"), dtype=np.uint8)
    return np.ascontiguousarray(rgb)


def _apply_orientation(rgb: np.ndarray, orientation: int) -> np.ndarray:
    """Undo EXIF orientation (TIFF tag 274 semantics) with cheap array flips/rotations."""
    if orientation == 2:
        rgb = cv2.flip(rgb, 1)
    elif orientation == 3:
        rgb = cv2.rotate(rgb, cv2.ROTATE_180)
    elif orientation == 4:
        rgb = cv2.flip(rgb, 0)
    elif orientation == 5:
        rgb = cv2.transpose(rgb)
    elif orientation == 6:
        rgb = cv2.rotate(rgb, cv2.ROTATE_90_CLOCKWISE)
    elif orientation == 7:
        rgb = cv2.rotate(cv2.transpose(rgb), cv2.ROTATE_180)
    elif orientation == 8:
        rgb = cv2.rotate(rgb, cv2.ROTATE_90_COUNTERCLOCKWISE)
    return np.ascontiguousarray(rgb)


def _shrink(rgb: np.ndarray, target_long_side: int) -> tuple[np.ndarray, float]:
    height, width = rgb.shape[:2]
    long_side = max(width, height)
    if long_side <= target_long_side:
        return rgb, 1.0
    scale = target_long_side / long_side
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), scale
