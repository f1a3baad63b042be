"""Static int8 quantization of the exported embedder, calibrated on generated cards.

Embedding a crop is the recognizer's third-largest cost per photo and grows with every card
in it; on a CPU with 8-bit dot products (AVX-512 VNNI here) ONNX Runtime runs this int8
network in about half the float32 time (bench/int8_embedding.py). Activation ranges are
taken from generated cards (training/cardgen.py, fixed seed) and simulated photo crops of
them, not from the gallery being indexed: the int8 network is then a function of the float32
one alone, so a sync that adds cards keeps the network, its model version and every cached
gallery embedding (training/embedding_cache.py), and the quantized file is kept beside that
cache (`int8_network`) instead of being made again on every `cardsight index`.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import onnx
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quant_pre_process,
    quantize_static,
)

from engine.artifacts import sha256_file
from engine.embed import Embedder
from training.cardgen import generate_gallery
from training.gallery import load_card_image, read_gallery
from training.photosim import augment_crop

CALIBRATION_CARDS = 96
"""Generated cards calibrated on, with one simulated photo crop of each (rendered in ~2 s; on
1000 simulated crops of the 708 scans the network calibrated on them read 94.9% top-1, the one
calibrated on the scans themselves 95.0%, float32 94.3%: bench/results/int8-default-2026-12-07.txt)."""
QUANTIZER_VERSION = 2
"""Part of a kept int8 network's name: raise it when the calibration crops or the quantizer's
settings change, so networks quantized the old way are not reused (1: calibrated on the gallery)."""
_BATCH = 16
_QUANTIZER_PACKAGE = "onnxruntime/quantization"


class _Crops(CalibrationDataReader):
    def __init__(self, input_name: str, batches: Iterator[np.ndarray]) -> None:
        self._input = input_name
        self._batches = batches

    def get_next(self) -> dict[str, np.ndarray] | None:
        batch = next(self._batches, None)
        return None if batch is None else {self._input: batch}


_DOT_PRODUCT_FLAGS = frozenset({"avx512_vnni", "avx_vnni", "asimddp"})
"""CPU flags (Linux /proc/cpuinfo) of 8-bit dot-product instructions: x86 AVX-512 VNNI and
AVX-VNNI, Arm's dotprod."""


def served_precision(configured: str, cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The precision a build serves: `configured`, with "auto" made int8 where the CPU has 8-bit
    dot products and float32 elsewhere.

    With them the int8 network embeds in about half the float32 time and reads as well (above).
    Without them ONNX Runtime multiplies uint8 by int8 with an instruction that can saturate
    (its quantization guide says so), and no such CPU was at hand to measure what that costs,
    so it stays float32 there; so it does where the flags cannot be read (not Linux).
    """
    if configured != "auto":
        return configured
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return "float32"
    flags = {word for line in text.splitlines() if line.lower().startswith(("flags", "features"))
             for word in line.partition(":")[2].split()}
    return "int8" if flags & _DOT_PRODUCT_FLAGS else "float32"


def calibration_crops(size: tuple[int, int], *, cards: int = CALIBRATION_CARDS, seed: int = 0) -> np.ndarray:
    """(N, H, W, 3) uint8: `cards` generated cards and a simulated photo crop of each; the same
    for every call with the same arguments."""
    rng = np.random.default_rng(seed)
    crops = []
    with tempfile.TemporaryDirectory() as tmp:
        generate_gallery(Path(tmp), cards, seed=seed)
        for item in read_gallery(Path(tmp)):
            reference = load_card_image(item.image_path, size)
            crops += [reference, augment_crop(reference, rng, hardness=1.0, out_size=size)]
    return np.stack(crops)


def int8_network(float_model: Path, dest: Path, keep_in: Path) -> None:
    """Write the int8 network of `float_model` at `dest`, quantizing it only when `keep_in`
    holds none made from the same float32 bytes by this QUANTIZER_VERSION (it then keeps the
    new one, and only that one)."""
    kept = Path(keep_in) / f"int8-v{QUANTIZER_VERSION}-{sha256_file(float_model)[:16]}.onnx"
    if not kept.is_file():
        kept.parent.mkdir(parents=True, exist_ok=True)
        partial = kept.with_name(f".{kept.name}.partial")
        size = Embedder(float_model, threads=1).input_size
        quantize_embedder(float_model, partial, calibration_crops(size))
        os.replace(partial, kept)  # a build killed while quantizing leaves no kept network
        for other in kept.parent.glob("int8-*.onnx"):
            if other != kept:
                other.unlink(missing_ok=True)
    shutil.copyfile(kept, dest)


def quantize_embedder(
    float_model: Path, int8_model: Path, crops: np.ndarray, input_name: str = "images", *,
    float_stem_and_head: bool = True,
) -> None:
    """Write `int8_model`: `float_model` with int8 weights (per channel) and activations,
    but for its stem and head (bench/int8_embedding.py compares quantizing those too)."""
    batches = iter([crops[i : i + _BATCH] for i in range(0, len(crops), _BATCH)])
    with tempfile.TemporaryDirectory() as tmp, _quantizer_notes_muted():
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(float_model), str(prepared), skip_symbolic_shape=True)
        quantize_static(
            str(prepared), str(int8_model), _Crops(input_name, batches),
            quant_format=QuantFormat.QDQ, per_channel=True,
            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
            nodes_to_exclude=_kept_in_float(prepared) if float_stem_and_head else None,
        )


@contextmanager
def _quantizer_notes_muted() -> Iterator[None]:
    """Drop ONNX Runtime's quantizer's INFO notes while it runs.

    It logs on the root logger, one "Increased scale ... to ensure bias input ... has a valid
    scale" line per adjusted weight channel: hundreds of lines in every `cardsight index`
    output, which logs INFO. Its warnings and errors still pass, and so does everything
    with `-v` (DEBUG).
    """
    root = logging.getLogger()

    def keep(record: logging.LogRecord) -> bool:
        return (record.levelno >= logging.WARNING or root.isEnabledFor(logging.DEBUG)
                or _QUANTIZER_PACKAGE not in record.pathname.replace("\\", "/"))

    root.addFilter(keep)
    try:
        yield
    finally:
        root.removeFilter(keep)


def _kept_in_float(model: Path) -> list[str]:
    """The stem convolution and the projection head: quantizing them too took 0.75 points off
    the embedding's own top-1 on 400 simulated crops (97.5% -> 96.75%) and saved no time that
    stood out of the VM's noise; with them in float32 it read as the float32 network did."""
    nodes = onnx.load(str(model)).graph.node
    stem = next(n.name for n in nodes if n.op_type == "Conv")
    return [stem] + [n.name for n in nodes if n.op_type in ("Gemm", "MatMul")]
