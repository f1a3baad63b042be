"""int8 artifact sets: the quantized network is really int8, still serves unit vectors that
agree with the float32 network's, and its set says which precision it holds."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from engine.embed import Embedder
from training.cardgen import generate_gallery
from training.config import CalibrationConfig, IndexConfig, RunConfig
from training.export import export_onnx
from training.gallery import load_card_image, read_gallery
from training.index_build import build_artifacts
from training.networks import IMAGENET
from training.model import CardEmbedder, ModelConfig
from training.photosim import augment_crop
from training.quantize import calibration_crops, quantize_embedder, served_precision

SIZE = (96, 128)


@pytest.fixture(scope="module")
def gallery(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("gallery")
    generate_gallery(folder, 8, seed=4, hard_negative_fraction=0.0)
    return folder


def test_int8_network_agrees_with_float32(gallery: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    torch.manual_seed(0)
    model = CardEmbedder(ModelConfig(input_width=SIZE[0], input_height=SIZE[1], embedding_dim=64))
    export_onnx(model, tmp_path / "float.onnx")
    items = read_gallery(gallery)
    with caplog.at_level(logging.INFO):
        quantize_embedder(tmp_path / "float.onnx", tmp_path / "int8.onnx", calibration_crops(SIZE, cards=8))
        logging.info("a note of our own")
    # the quantizer's per-channel notes (hundreds on the real network) stay out of INFO logs
    assert [r.getMessage() for r in caplog.records if r.levelno < logging.WARNING] == ["a note of our own"]

    graph = onnx.load(str(tmp_path / "int8.onnx")).graph
    assert {"QuantizeLinear", "DequantizeLinear"} <= {node.op_type for node in graph.node}
    float_weights = {init.name for init in graph.initializer if init.data_type == onnx.TensorProto.FLOAT}
    convs = [node for node in graph.node if node.op_type == "Conv"]
    assert convs[0].input[1] in float_weights  # the stem stays float32
    assert all(conv.input[1] not in float_weights for conv in convs[1:])
    rng = np.random.default_rng(1)
    crops = [augment_crop(load_card_image(it.image_path, SIZE), rng, hardness=1.0, out_size=SIZE) for it in items]
    exact = Embedder(tmp_path / "float.onnx").embed(crops)
    quantized = Embedder(tmp_path / "int8.onnx").embed(crops)
    assert quantized.shape == exact.shape
    assert np.allclose(np.linalg.norm(quantized, axis=1), 1.0, atol=1e-3)
    agreement = np.sum(exact * quantized, axis=1)
    assert agreement.min() > 0.95, agreement  # cosine of each crop's two embeddings


def test_an_int8_set_names_its_precision_and_a_bad_one_is_refused(gallery: Path, tmp_path: Path) -> None:
    cfg = RunConfig(
        model=ModelConfig(input_width=SIZE[0], input_height=SIZE[1], embedding_dim=64),
        index=IndexConfig(precision="int8"),
        calibration=CalibrationConfig(photos=4, multi_card_photos=2, photo_size=(480, 360), generated_photos=4, generated_cards=3),
    )
    built = build_artifacts(gallery, tmp_path / "set", model=IMAGENET, cfg=cfg, progress=False)
    assert built.manifest["precision"] == "int8"
    ops = {node.op_type for node in onnx.load(str(built.file("model.onnx"))).graph.node}
    assert "QuantizeLinear" in ops
    with pytest.raises(ValueError, match="precision"):
        dataclasses.replace(cfg.index, precision="float16")


@pytest.mark.parametrize(("cpuinfo", "served"), [
    ("processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512_vnni\n", "int8"),  # AVX-512 VNNI (this dev VM)
    ("flags\t\t: fpu sse avx2 avx_vnni\n", "int8"),                            # AVX-VNNI (Alder Lake and later)
    ("Features\t: fp asimd crc32 asimddp\n", "int8"),                          # Arm dotprod
    ("flags\t\t: fpu sse avx2 fma\n", "float32"),                              # AVX2 alone: the u8s8 path can saturate
    (None, "float32"),                                                          # no /proc/cpuinfo (macOS)
])
def test_auto_precision_is_int8_only_on_cpus_with_8_bit_dot_products(
    tmp_path: Path, cpuinfo: str | None, served: str,
) -> None:
    path = tmp_path / "cpuinfo"
    if cpuinfo is not None:
        path.write_text(cpuinfo)
    assert served_precision("auto", path) == served
    assert served_precision("float32", path) == "float32" and served_precision("int8", path) == "int8"
