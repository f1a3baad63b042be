"""The network a set serves: the shipped model by default (tests/test_slim_install.py builds a
set with it while torch is unimportable), a run, an .onnx file or the ImageNet baseline."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cardsight.cli import main
from training import networks

REPO = Path(__file__).resolve().parents[2]

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
