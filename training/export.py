"""Exports the trained network to the ONNX graph the engine serves (uint8 NHWC in, unit vectors out)."""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

from training.model import CardEmbedder


def export_onnx(model: CardEmbedder, path: Path) -> None:
    model = model.eval().cpu()
    cfg = model.cfg
    example = torch.zeros((1, cfg.input_height, cfg.input_width, 3), dtype=torch.uint8)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # constant-folding chatter from the exporter
        torch.onnx.export(
            model, (example,), str(path), input_names=["images"], output_names=["embeddings"],
            dynamic_axes={"images": {0: "batch"}, "embeddings": {0: "batch"}},
            opset_version=17, dynamo=False,
        )
