"""Camera-like degradations shared by whole simulated photos and single training crops.

Images here are float32 RGB in [0, 1]. Smooth fields (light falloff, shadows, white
balance, glare) are drawn at a small size and resized, so a 12 MP frame costs about what a
thumbnail does until the few unavoidable full-resolution passes (blur, noise, JPEG). Every
strength is scaled by `hardness` (0 = clean, 1 = the worst a phone photo realistically gets)
and lengths by `unit`, the image's short side over 1000 px, so results look alike at any size.
"""

from __future__ import annotations

from typing import Callable

import cv2
import numpy as np

FIELD_SIZE = 64  # long side of the low-resolution light fields


def _field_shape(height: int, width: int) -> tuple[int, int]:
    scale = FIELD_SIZE / max(height, width)
    return max(2, round(height * scale)), max(2, round(width * scale))


def light_fields(rng: np.random.Generator, height: int, width: int, hardness: float,
                 shadows: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Low-resolution gain (h, w), per-channel white balance (3,) and additive glare (h, w).

    Gain combines exposure, an uneven light gradient, vignetting, a soft cast shadow (a
    hand or phone between lamp and table) and a white-balance shift; glare is a specular
    highlight, which the caller restricts to glossy surfaces.
    """
    fh, fw = _field_shape(height, width)
    ys, xs = np.mgrid[0:fh, 0:fw].astype(np.float32)
    ys, xs = ys / (fh - 1) - 0.5, xs / (fw - 1) - 0.5
    gain = np.full((fh, fw), rng.uniform(1 - 0.3 * hardness, 1 + 0.15 * hardness), np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    gain *= 1 + rng.uniform(0, 0.6 * hardness) * (xs * np.cos(angle) + ys * np.sin(angle))
    gain *= 1 - rng.uniform(0, 0.5 * hardness) * (xs**2 + ys**2) * 2
    if shadows and rng.random() < 0.45 * hardness:
        mask = np.zeros((fh, fw), np.float32)
        centre = rng.uniform(-0.2, 1.2, 2) * (fw, fh)
        radius = rng.uniform(0.2, 0.6, 2) * (fw, fh)
        cv2.ellipse(mask, (int(centre[0]), int(centre[1])), (int(radius[0]), int(radius[1])),
                    float(rng.uniform(0, 180)), 0, 360, 1.0, -1)
        mask = cv2.GaussianBlur(mask, (0, 0), fw * rng.uniform(0.02, 0.08))
        gain *= 1 - rng.uniform(0.2, 0.55) * mask
    temperature = rng.normal(0, 0.1 * hardness)
    white_balance = np.array([1 + temperature, 1 + rng.normal(0, 0.04 * hardness), 1 - temperature], np.float32)
    glare = np.zeros((fh, fw), np.float32)
    if rng.random() < 0.6 * hardness:
        for _ in range(int(rng.integers(1, 3))):
            cx, cy = rng.uniform(-0.4, 0.4, 2)
            size = rng.uniform(0.04, 0.2, 2)
            theta = rng.uniform(0, np.pi)
            u = (xs - cx) * np.cos(theta) + (ys - cy) * np.sin(theta)
            v = -(xs - cx) * np.sin(theta) + (ys - cy) * np.cos(theta)
            glare += rng.uniform(0.3, 1.1) * hardness * np.exp(-(u / size[0]) ** 2 - (v / size[1]) ** 2)
    return gain, white_balance, glare


def apply_gain(image: np.ndarray, gain: np.ndarray, white_balance: np.ndarray) -> np.ndarray:
    """image · gain (resized to the image) · per-channel white balance."""
    height, width = image.shape[:2]
    out = image * cv2.resize(gain, (width, height), interpolation=cv2.INTER_LINEAR)[..., None]
    cv2.multiply(out, (*(float(v) for v in white_balance), 0.0), dst=out)
    return out


def sleeve_sheen(card: np.ndarray, rng: np.random.Generator, hardness: float) -> np.ndarray:
    """A glossy sleeve over a card: lowered contrast (haze) and a soft diagonal reflection band."""
    height, width = card.shape[:2]
    haze = rng.uniform(0.03, 0.12) * max(hardness, 0.3)
    out = card * (1 - haze) + haze * 0.92
    angle = rng.uniform(0, np.pi)
    fh, fw = _field_shape(height, width)
    ys, xs = np.mgrid[0:fh, 0:fw].astype(np.float32)
    distance = (xs / fw - rng.uniform(0.2, 0.8)) * np.cos(angle) + (ys / fh - rng.uniform(0.2, 0.8)) * np.sin(angle)
    band = rng.uniform(0.1, 0.45) * hardness * np.exp(-(distance / rng.uniform(0.04, 0.15)) ** 2)
    band_full = cv2.resize(band.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
    return cv2.add(out.astype(np.float32), cv2.merge([band_full] * 3))


def _reduced(image: np.ndarray, factor: float, operation: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Run a wide filter on an image shrunk by `factor`, then scale back: the result is smooth
    anyway, and a 12 MP frame would otherwise spend seconds in large kernels."""
    if factor <= 1:
        return operation(image)
    height, width = image.shape[:2]
    small = cv2.resize(image, (max(1, round(width / factor)), max(1, round(height / factor))),
                       interpolation=cv2.INTER_AREA)
    return cv2.resize(operation(small), (width, height), interpolation=cv2.INTER_LINEAR)


def gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of any width at bounded cost (wide ones computed at reduced scale)."""
    if sigma <= 3:
        return cv2.GaussianBlur(image, (0, 0), sigma)
    factor = sigma / 2
    # shrinking (box ~ factor²/12) and linear upscaling (~ factor²/6) add variance: blur the rest
    residual = float(np.sqrt(max(sigma**2 / factor**2 - 0.25, 0.25)))
    return _reduced(image, factor, lambda small: cv2.GaussianBlur(small, (0, 0), residual))


def _motion_kernel(length: float, angle: float) -> np.ndarray:
    size = int(np.ceil(length)) | 1
    kernel = np.zeros((size, size), np.float32)
    c = (size - 1) / 2
    dx, dy = np.cos(angle) * c, np.sin(angle) * c
    cv2.line(kernel, (round(c - dx), round(c - dy)), (round(c + dx), round(c + dy)), 1.0, 1, cv2.LINE_AA)
    return kernel / kernel.sum()


def blur(image: np.ndarray, rng: np.random.Generator, hardness: float, unit: float) -> np.ndarray:
    """Defocus (Gaussian) and/or hand-shake motion blur along a random direction."""
    if rng.random() < 0.6 * hardness:
        sigma = rng.uniform(0.3, 0.3 + 2.2 * hardness) * unit
        if sigma > 0.25:
            image = gaussian_blur(image, sigma)
    if rng.random() < 0.3 * hardness:
        length = rng.uniform(2, 2 + 14 * hardness) * unit
        angle = rng.uniform(0, np.pi)
        if length >= 2:
            factor = max(1.0, length / 9)
            kernel = _motion_kernel(length / factor, angle)
            image = _reduced(image, factor, lambda small: cv2.filter2D(small, -1, kernel))
    return image


def add_glare_and_noise(image: np.ndarray, glare: np.ndarray, rng: np.random.Generator, hardness: float,
                        glossy: np.ndarray | None = None) -> np.ndarray:
    """Specular glare (only where `glossy`) plus sensor noise: per-pixel luminance noise and
    blotchy low-resolution chroma noise, as a phone's denoiser leaves it.

    Glare and luminance noise are both additive grey fields, so they share one pass over
    the full-resolution image.
    """
    height, width = image.shape[:2]
    sigma = rng.uniform(0.004, 0.03 * hardness + 0.004)
    cv2.setRNGSeed(int(rng.integers(2**31 - 1)))  # OpenCV's per-thread generator: 10x numpy's speed here
    grey = np.empty((height, width), np.float32)
    cv2.randn(grey, 0.0, sigma)
    if glare.any():
        if glossy is not None:
            glare = glare * cv2.resize(glossy, (glare.shape[1], glare.shape[0]), interpolation=cv2.INTER_AREA)
        grey += cv2.resize(glare, (width, height), interpolation=cv2.INTER_LINEAR)
    chroma = np.empty(((height + 3) // 4, (width + 3) // 4, 3), np.float32)
    cv2.randn(chroma, (0.0, 0.0, 0.0), (sigma * 0.6,) * 3)
    out = image + grey[..., None]
    cv2.add(out, cv2.resize(chroma, (width, height), interpolation=cv2.INTER_LINEAR), dst=out)
    return out


def tone_and_quantise(image: np.ndarray, rng: np.random.Generator, hardness: float) -> np.ndarray:
    """Gamma/contrast curve of the camera pipeline, then 8-bit RGB."""
    gamma = float(np.exp(rng.normal(0, 0.15 * hardness)))
    contrast = rng.uniform(1 - 0.2 * hardness, 1 + 0.2 * hardness)
    levels = np.linspace(0, 1, 256, dtype=np.float32)
    curve = np.clip(((levels**gamma) - 0.5) * contrast + 0.5, 0, 1) * 255
    quantised = cv2.multiply(image, (255.0, 255.0, 255.0, 0.0), dtype=cv2.CV_8U)  # saturating
    return cv2.LUT(quantised, np.round(curve).astype(np.uint8))


def jpeg_roundtrip(image: np.ndarray, quality: int) -> np.ndarray:
    """Re-compression artefacts (blocking, ringing, chroma subsampling) of a shared photo."""
    ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("OpenCV could not JPEG-encode the image")
    return cv2.cvtColor(cv2.imdecode(encoded, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def camera_pipeline(image: np.ndarray, rng: np.random.Generator, hardness: float,
                    glossy: np.ndarray | None = None, shadows: bool = True, unit: float | None = None) -> np.ndarray:
    """Everything after the scene: light, optics, sensor, tone curve, JPEG. Returns uint8 RGB.

    `unit` scales blur lengths; it defaults to the short side over 1000 px (a whole photo).
    """
    height, width = image.shape[:2]
    unit = min(height, width) / 1000 if unit is None else unit
    if hardness > 0:
        gain, white_balance, glare = light_fields(rng, height, width, hardness, shadows)
        image = apply_gain(image, gain, white_balance)
        image = blur(image, rng, hardness, unit)
        image = add_glare_and_noise(image, glare, rng, hardness, glossy)
    out = tone_and_quantise(image, rng, hardness)
    if hardness > 0:
        out = jpeg_roundtrip(out, int(rng.uniform(95 - 60 * hardness, 96)))
    return out
