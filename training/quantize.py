"""Static int8 quantization of the exported embedder, calibrated on the gallery it will serve.

Embedding a crop is the recognizer's third-largest cost per photo and grows with every card
in it; on a CPU with 8-bit dot products (AVX-512 VNNI here) ONNX Runtime runs this int8
network in about two thirds of the float32 time (bench/int8_embedding.py). Activation ranges
are taken from the gallery's own references and from simulated photo crops of them (seeded,
so a build is reproducible), the inputs the model meets when serving.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
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

from training.gallery import GalleryItem, load_card_image
from training.photosim import augment_crop

CALIBRATION_CARDS = 96
"""References calibrated on, with one simulated photo crop of each (the 708 scans built in 99 s
as int8, 91 s as float32)."""
_BATCH = 16


class _Crops(CalibrationDataReader):
    def __init__(self, input_name: str, batches: Iterator[np.ndarray]) -> None:
        self._input = input_name
        self._batches = batches

    def get_next(self) -> dict[str, np.ndarray] | None:
        batch = next(self._batches, None)
        return None if batch is None else {self._input: batch}


def calibration_crops(
    items: Sequence[GalleryItem], size: tuple[int, int], *, cards: int = CALIBRATION_CARDS, seed: int = 0,
) -> np.ndarray:
    """(N, H, W, 3) uint8: references of up to `cards` gallery images and a photo crop of each."""
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(items), size=min(cards, len(items)), replace=False)
    crops = []
    for i in picks:
        reference = load_card_image(items[int(i)].image_path, size)
        crops += [reference, augment_crop(reference, rng, hardness=1.0, out_size=size)]
    return np.stack(crops)


def quantize_embedder(
    float_model: Path, int8_model: Path, crops: np.ndarray, input_name: str = "images", *,
    float_stem_and_head: bool = True,
) -> None:
    """Write `int8_model`: `float_model` with int8 weights (per channel) and activations,
    but for its stem and head (bench/int8_embedding.py compares quantizing those too)."""
    batches = iter([crops[i : i + _BATCH] for i in range(0, len(crops), _BATCH)])
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(float_model), str(prepared), skip_symbolic_shape=True)
        quantize_static(
            str(prepared), str(int8_model), _Crops(input_name, batches),
            quant_format=QuantFormat.QDQ, per_channel=True,
            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
            nodes_to_exclude=_kept_in_float(prepared) if float_stem_and_head else None,
        )


def _kept_in_float(model: Path) -> list[str]:
    """The stem convolution and the projection head: quantizing them too took 0.75 points off
    the embedding's own top-1 on 400 simulated crops (97.5% -> 96.75%) and saved no time that
    stood out of the VM's noise; with them in float32 it read as the float32 network did."""
    nodes = onnx.load(str(model)).graph.node
    stem = next(n.name for n in nodes if n.op_type == "Conv")
    return [stem] + [n.name for n in nodes if n.op_type in ("Gemm", "MatMul")]
