"""The network a set serves: the shipped model by default, with no training and no torch."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cardsight.cli import main
from engine.artifacts import sha256_file
from training import networks

REPO = Path(__file__).resolve().parents[1]

WITHOUT_TORCH = """
import importlib.abc, json, sys

class NoTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError(f"{name} is not installed (blocked by the test)")

sys.meta_path.insert(0, NoTorch())
import dataclasses
from pathlib import Path
from training import networks
from training.config import CalibrationConfig
from training.index_build import build_artifacts

cfg = dataclasses.replace(networks.run_config(None), calibration=CalibrationConfig(
    photos=4, multi_card_photos=2, photo_size=(480, 360)))
built = build_artifacts(Path(sys.argv[1]), Path(sys.argv[2]), cfg=cfg, progress=False)
print(json.dumps(built.manifest))
"""


def test_a_set_built_without_a_model_serves_the_shipped_network_and_needs_no_torch(
    demo_gallery: Path, tmp_path: Path,
) -> None:
    child = subprocess.run([sys.executable, "-c", WITHOUT_TORCH, str(demo_gallery), str(tmp_path / "set")],
                           capture_output=True, text=True, cwd=REPO, timeout=600)
    assert child.returncode == 0, child.stderr[-2000:]
    manifest = json.loads(child.stdout.strip().splitlines()[-1])
    assert manifest["model_source"].startswith("shipped")
    assert manifest["model_version"] == sha256_file(networks.SHIPPED_MODEL)[:12]


def test_the_shipped_network_brings_the_recipe_that_trained_it() -> None:
    from training.config import load_run_config

    assert networks.run_config(None) == load_run_config(REPO / "training" / "shipped.toml")
    assert networks.run_config(None).train.generated_cards > 0


def test_an_onnx_file_takes_the_config_beside_it(tmp_path: Path) -> None:
    model = tmp_path / "mine.onnx"
    shutil.copyfile(networks.SHIPPED_MODEL, model)
    assert networks.run_config(model) == networks.run_config(networks.IMAGENET)  # no .toml: defaults
    model.with_suffix(".toml").write_text("[index]\nlayout_weight = 0.5\n")
    assert networks.run_config(model).index.layout_weight == 0.5


def test_a_missing_model_is_a_clear_error(demo_gallery: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["index", "--gallery", str(demo_gallery), "--out", str(tmp_path / "set"),
                 "--model", str(tmp_path / "no-such-run")])
    assert code == 2
    assert "no-such-run" in capsys.readouterr().err
    code = main(["index", "--gallery", str(demo_gallery), "--out", str(tmp_path / "set"),
                 "--model", str(tmp_path / "gone.onnx")])
    assert code == 2
    assert "gone.onnx" in capsys.readouterr().err
    assert not (tmp_path / "set" / "CURRENT").exists()
