"""decode_image on generated files: bad input gets the right typed error, odd formats become RGB."""

from __future__ import annotations

import io
import struct
import warnings
import zipfile
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

from engine.decode import decode_image
from engine.errors import ImageError, ImageTooLarge


def _encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def _gradient(width: int = 64, height: int = 48) -> np.ndarray:
    """An asymmetric picture, so every flip and rotation of it is distinguishable."""
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([x * 255 // width, y * 255 // height, np.full_like(x, 90)], axis=2)
    rgb[:8, :8] = (255, 255, 255)  # marks the top-left corner
    return rgb.astype(np.uint8)


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def _bomb_png(width: int, height: int) -> bytes:
    """A ~60-byte PNG whose header claims width x height pixels."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    data = zlib.compress(b"\x00" * 16)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", data)
        + _png_chunk(b"IEND", b"")
    )


def _zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("card.txt", "Lightning Bolt")
    return buffer.getvalue()


@pytest.mark.parametrize(
    "payload",
    [
        b"Lightning Bolt deals 3 damage to any target.\n",
        b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n",
        _zip_bytes(),
    ],
    ids=["text", "pdf", "zip"],
)
def test_non_images_are_image_errors(payload: bytes) -> None:
    with pytest.raises(ImageError) as info:
        decode_image(payload)
    assert type(info.value) is ImageError
    assert "not a recognised image" in str(info.value)


def test_empty_upload() -> None:
    with pytest.raises(ImageError, match="0 bytes"):
        decode_image(b"")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated_files(fmt: str) -> None:
    data = _encode(Image.fromarray(_gradient(200, 150)), fmt)
    with pytest.raises(ImageError) as info:
        decode_image(data[: len(data) // 2])
    assert type(info.value) is ImageError


def test_too_many_bytes() -> None:
    data = _encode(Image.fromarray(_gradient()), "PNG")
    with pytest.raises(ImageTooLarge):
        decode_image(data, max_bytes=len(data) - 1)


@pytest.mark.parametrize("side", [11_000, 100_000])
def test_decompression_bomb_is_refused_from_the_header(side: int) -> None:
    """Both below and above Pillow's own bomb limit: our error, no Pillow warning leaking."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ImageTooLarge, match="pixels"):
            decode_image(_bomb_png(side, side))


def test_pixel_limit_is_configurable() -> None:
    data = _encode(Image.fromarray(_gradient(64, 48)), "PNG")
    with pytest.raises(ImageTooLarge):
        decode_image(data, max_pixels=64 * 48 - 1)
    assert decode_image(data, max_pixels=64 * 48).rgb.shape == (48, 64, 3)


# Transposes that turn the upright picture into what a camera stores with each EXIF tag.
_STORED_AS = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_gives_upright_image(orientation: int) -> None:
    upright = _gradient()
    stored = Image.fromarray(upright)
    if _STORED_AS[orientation] is not None:
        stored = stored.transpose(_STORED_AS[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    decoded = decode_image(_encode(stored, "PNG", exif=exif))
    assert decoded.rgb.shape == upright.shape
    assert np.array_equal(decoded.rgb, upright)
    assert decoded.original_size == (64, 48)


def test_big_jpeg_decodes_at_reduced_scale() -> None:
    rng = np.random.default_rng(0)
    pixels = np.kron(rng.integers(0, 255, (60, 80, 3), dtype=np.uint8), np.ones((50, 50, 1), np.uint8))
    data = _encode(Image.fromarray(pixels), "JPEG", quality=80)  # 4000 x 3000
    decoded = decode_image(data)
    assert decoded.scale == 0.25  # 1/8 would drop the long side under 1000
    assert decoded.rgb.shape == (750, 1000, 3)
    assert decoded.original_size == (4000, 3000)
    finer = decode_image(data, min_long_side=1600)
    assert finer.scale == 0.5 and finer.rgb.shape == (1500, 2000, 3)
    small = decode_image(data, target_long_side=500)
    assert small.scale == 0.125 and small.rgb.shape == (375, 500, 3)


def _big_jpeg() -> bytes:
    """A 4000x3000 photo-like JPEG: smooth shading under fine noise, so rounding shows."""
    rng = np.random.default_rng(1)
    y, x = np.mgrid[0:3000, 0:4000]
    base = np.stack([x * 255 // 4000, y * 255 // 3000, (x + y) * 255 // 7000], axis=2)
    noisy = base + rng.integers(-20, 21, base.shape)
    return _encode(Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)), "JPEG", quality=90)


def _pillow_draft(data: bytes, reduction: int) -> np.ndarray:
    image = Image.open(io.BytesIO(data))
    image.draft("RGB", (image.size[0] // reduction, image.size[1] // reduction))
    return np.asarray(image.convert("RGB"))


def test_reduced_jpeg_has_the_pixels_pillow_decodes() -> None:
    """Reduced JPEG decodes go through OpenCV: the same libjpeg-turbo pixels as Pillow's draft."""
    data = _big_jpeg()
    for min_long_side, reduction in ((1000, 4), (1600, 2), (500, 8)):
        decoded = decode_image(data, min_long_side=min_long_side)
        assert decoded.scale == 1 / reduction
        assert np.array_equal(decoded.rgb, _pillow_draft(data, reduction))
        assert decoded.rgb.flags["C_CONTIGUOUS"]


@pytest.mark.parametrize("mode,size", [("RGB", (1600, 1200)), ("L", (1200, 900)), ("RGB", (1800, 1200))])
def test_unreduced_jpeg_has_the_pixels_pillow_decodes(mode: str, size: tuple[int, int]) -> None:
    """A JPEG no DCT reduction shrinks (a 1600x1200 photo) goes through OpenCV too: Pillow's
    pixels, grey ones as RGB, and the same area resize where it is over the target."""
    rng = np.random.default_rng(2)
    pixels = rng.integers(0, 255, (size[1] // 10, size[0] // 10, 3), dtype=np.uint8)
    image = Image.fromarray(np.kron(pixels, np.ones((10, 10, 1), np.uint8))).convert(mode)
    data = _encode(image, "JPEG", quality=85)
    expected = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    if max(size) > 1600:
        expected = cv2.resize(expected, (1600, round(1600 * size[1] / size[0])), interpolation=cv2.INTER_AREA)
    decoded = decode_image(data)
    assert decoded.scale == pytest.approx(min(1.0, 1600 / max(size)))
    assert np.array_equal(decoded.rgb, expected)
    assert decoded.rgb.flags["C_CONTIGUOUS"]


def test_big_jpeg_with_a_trailer_decodes_like_one_without() -> None:
    """Bytes after the end-of-image marker (some phones append their own data) are ignored."""
    data = _big_jpeg()
    assert np.array_equal(decode_image(data + b"SEFH trailer" * 10).rgb, decode_image(data).rgb)


@pytest.mark.parametrize("keep", [0.5, 0.999])
def test_truncated_big_jpeg_is_an_image_error(keep: float) -> None:
    data = _big_jpeg()
    with pytest.raises(ImageError) as info:
        decode_image(data[: int(len(data) * keep)])
    assert type(info.value) is ImageError


def test_big_jpeg_exif_orientation_gives_upright_image() -> None:
    data = _big_jpeg()
    stored = Image.open(io.BytesIO(data)).transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    decoded = decode_image(_encode(stored, "JPEG", quality=90, exif=exif))
    assert decoded.original_size == (4000, 3000) and decoded.rgb.shape == (750, 1000, 3)
    assert np.abs(decoded.rgb.astype(int) - decode_image(data).rgb).mean() < 3  # re-encoded, so not exact


def test_jpeg_no_reduction_fits_is_resized_to_target() -> None:
    data = _encode(Image.fromarray(_gradient(1800, 1200)), "JPEG", quality=90)  # 1/2 would be 900 px
    decoded = decode_image(data)
    assert decoded.rgb.shape == (1067, 1600, 3)
    assert decoded.scale == pytest.approx(1600 / 1800)


def test_big_png_is_resized_to_target() -> None:
    data = _encode(Image.fromarray(_gradient(3200, 1000)), "PNG")
    decoded = decode_image(data)
    assert decoded.rgb.shape == (500, 1600, 3)
    assert decoded.scale == pytest.approx(0.5)
    assert decoded.original_size == (3200, 1000)


def _rgba() -> Image.Image:
    rgba = np.zeros((40, 30, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[:20, :, 3] = 255  # top half opaque red, bottom half fully transparent
    return Image.fromarray(rgba, "RGBA")


def _animated_gif() -> bytes:
    frames = [Image.new("RGB", (30, 20), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "data,top_left",
    [
        (lambda: _encode(_rgba(), "PNG"), (200, 0, 0)),
        (lambda: _encode(Image.new("CMYK", (30, 20), (0, 255, 255, 0)), "JPEG"), (255, 0, 0)),
        (lambda: _encode(Image.fromarray(np.full((20, 30), 65535, np.uint16)), "PNG"), (255, 255, 255)),
        (lambda: _encode(Image.new("L", (30, 20), 128), "PNG"), (128, 128, 128)),
        (lambda: _encode(Image.new("P", (30, 20), 3), "PNG"), None),
        (_animated_gif, (255, 0, 0)),
        (lambda: _encode(Image.new("RGB", (30, 20), (0, 200, 0)), "WEBP", lossless=True), (0, 200, 0)),
    ],
    ids=["rgba", "cmyk", "16bit", "gray", "palette", "gif", "webp"],
)
def test_odd_formats_become_rgb_uint8(data, top_left) -> None:
    decoded = decode_image(data())
    assert decoded.rgb.dtype == np.uint8 and decoded.rgb.ndim == 3 and decoded.rgb.shape[2] == 3
    assert decoded.rgb.flags["C_CONTIGUOUS"]
    if top_left is not None:
        assert np.abs(decoded.rgb[2, 2].astype(int) - top_left).max() <= 3


def test_transparency_is_composited_on_white() -> None:
    decoded = decode_image(_encode(_rgba(), "PNG"))
    assert tuple(decoded.rgb[-1, -1]) == (255, 255, 255)
