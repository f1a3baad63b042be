"""Which embedding network an artifact set serves, and its config.

`cardsight index` serves the shipped model (`engine/models/card_embedder.onnx`, trained by
`training/shipped.toml`) unless told otherwise, so a fresh install names real cards without
training anything, and without torch: the shipped network is already ONNX. `--model` takes a
training run folder, any exported `.onnx` file, or `imagenet` (the pretrained backbone with a
random projection: the baseline the benchmarks compare against); the last two kinds need torch.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import engine
from training.config import RunConfig, load_run_config

SHIPPED_MODEL = Path(engine.__file__).resolve().parent / "models" / "card_embedder.onnx"
"""The shipped network; its run config (model, recipe, index and calibration settings) is
the `.toml` beside it."""
IMAGENET = "imagenet"
RUN_CONFIG = "config.toml"
RUN_WEIGHTS = "model.safetensors"

ModelChoice = Path | str | None
"""None (the shipped model), IMAGENET, a training run folder, or an `.onnx` file."""


def _onnx_file(model: ModelChoice) -> Path | None:
    if model is None:
        return SHIPPED_MODEL
    if model != IMAGENET and Path(model).suffix == ".onnx":
        return Path(model)
    return None


def run_config(model: ModelChoice) -> RunConfig:
    """The config a set built with `model` takes its index and calibration settings from."""
    if model == IMAGENET:
        return RunConfig()
    onnx = _onnx_file(model)
    path = onnx.with_suffix(".toml") if onnx is not None else Path(model) / RUN_CONFIG
    if onnx is not None and not path.is_file():
        return RunConfig()
    return load_run_config(path)


def weights_file(model: ModelChoice) -> Path | None:
    """The file whose bytes are the network (None for the ImageNet baseline, which is built
    from the config's seed): what the benchmarks key a reusable set by."""
    if model == IMAGENET:
        return None
    onnx = _onnx_file(model)
    return onnx if onnx is not None else Path(model) / RUN_WEIGHTS


def describe(model: ModelChoice) -> str:
    """What the manifest records as the network's source."""
    if model is None:
        return f"shipped ({SHIPPED_MODEL.name})"
    if model == IMAGENET:
        return "ImageNet backbone, not fine-tuned"
    return str(model)


def write_float_network(model: ModelChoice, cfg: RunConfig, dest: Path) -> None:
    """The float32 ONNX network of `model` at `dest`; only runs and the ImageNet baseline load torch."""
    onnx = _onnx_file(model)
    if onnx is not None:
        if not onnx.is_file():
            raise FileNotFoundError(f"no embedding network at {onnx}")
        shutil.copyfile(onnx, dest)
        return
    import torch

    from training.export import export_onnx
    from training.model import CardEmbedder
    from training.train import load_trained

    if model == IMAGENET:
        # The projection head starts random: seeded, so one config builds one artifact set,
        # whatever the process drew from torch's generator before.
        with torch.random.fork_rng():
            torch.manual_seed(cfg.train.seed)
            network = CardEmbedder(cfg.model).eval()
    else:
        network = load_trained(Path(model))
    export_onnx(network, dest)
