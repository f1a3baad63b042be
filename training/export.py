"""Exports the trained network to the ONNX graph the engine serves (uint8 NHWC in, unit vectors out)."""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

from training.model import CardEmbedder
from training.networks import RUN_CONFIG


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


def export_run(run_dir: Path, dest: Path) -> Path:
    """A finished run as a stand-alone network: `dest` (.onnx) and its run config beside it
    (`dest` with .toml), the pair `cardsight index --model FILE.onnx` and the shipped model use."""
    from training.train import load_trained

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp")
    export_onnx(load_trained(run_dir), tmp)
    config = dest.with_suffix(".toml")
    config.write_bytes((Path(run_dir) / RUN_CONFIG).read_bytes())
    tmp.replace(dest)
    return dest
