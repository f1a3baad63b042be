"""Crashes and broken files: kill -9 in the middle of `cardsight index`, then rerun; a corrupt
or missing artifact set makes `cardsight serve` exit once with a clear message instead of
crash-looping (or quietly serving the demo set).

Elsewhere: kill-and-resume of sync in tests/training/test_sync_interrupt.py, of training in
tests/cli/test_cli.py; checksum and manifest checks of `engine.artifacts` in tests/engine/test_artifacts.py.
The index kill test runs three small real builds (~25 s on two idle cores): the longest here.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine import artifacts
from engine.errors import ArtifactError
from engine.recognizer import Recognizer
from tests.service_support import free_port

REPO = Path(__file__).resolve().parents[2]


def cardsight(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    """The real CLI in a child process, with only the sub-command it needs registered."""
    command = args[0]
    code = f"import sys, cardsight.cli as cli; cli.COMMANDS = ({command!r},); sys.exit(cli.main(sys.argv[1:]))"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARDSIGHT_")}
    env.update(PYTHONPATH=str(REPO), CARDSIGHT_SERVICE_ACCESS_LOG="false")
    return subprocess.Popen([sys.executable, "-c", code, *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_until(condition, proc: subprocess.Popen[str], timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(f"process ended before the kill point:\n{proc.communicate()[0]}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"kill point not reached within {timeout} s")
        time.sleep(0.02)


def kill9(proc: subprocess.Popen[str]) -> None:
    proc.kill()  # SIGKILL: no handler, no cleanup, like the OOM killer or a power cut
    proc.communicate(timeout=30)
    assert proc.returncode == -9


@pytest.fixture(scope="module")
def tiny_gallery(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from training.cardgen import generate_gallery

    folder = tmp_path_factory.mktemp("tiny-gallery")
    generate_gallery(folder, 6, seed=3, hard_negative_fraction=0.0)
    return folder


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_killed_index_build_leaves_the_previous_set_and_no_partial_one(
    tiny_gallery: Path, tmp_path: Path
) -> None:
    from training.config import CalibrationConfig, RunConfig
    from training.index_build import build_artifacts

    out = tmp_path / "artifacts"
    cfg = dataclasses.replace(
        RunConfig(), calibration=CalibrationConfig(photos=4, multi_card_photos=2, photo_size=(480, 360), generated_photos=4, generated_cards=3))
    previous = build_artifacts(tiny_gallery, out, cfg=cfg, progress=False)
    args = ["index", "--gallery", str(tiny_gallery), "--out", str(out), "--calibration-photos", "4"]

    build = cardsight(args, tmp_path)
    wait_until(lambda: any(out.glob("sets/.building-*/model.onnx")), build)
    kill9(build)

    partial = next(out.glob("sets/.building-*"))
    with pytest.raises(ArtifactError):
        artifacts.open_set(partial)  # no manifest: never loadable
    assert artifacts.resolve(out) == previous.path
    engine = Recognizer.load(out)
    assert engine.info()["index_version"] == previous.version
    engine.close()

    rerun = cardsight(args, tmp_path)
    output, _ = rerun.communicate(timeout=180)
    assert rerun.returncode == 0, output
    current = artifacts.open_set(out)
    assert current.version != previous.version and previous.path.is_dir()  # old set kept for rollback
    engine = Recognizer.load(out)
    assert engine.info()["gallery_size"] == 6
    engine.close()


def copy_set(artifacts_dir: Path, dest: Path) -> Path:
    shutil.copytree(artifacts_dir, dest)
    return artifacts.resolve(dest)


@pytest.mark.parametrize("missing", [False, True], ids=["corrupt-set", "missing-set"])
def test_serve_with_damaged_artifacts_exits_once_with_a_clear_message(
    artifacts_dir: Path, tmp_path: Path, missing: bool
) -> None:
    root = tmp_path / "artifacts"
    live = copy_set(artifacts_dir, root)
    if missing:
        shutil.rmtree(live)  # CURRENT names a set that is gone: an error, never the demo set
    else:
        live.joinpath("catalog.sqlite").write_bytes(b"not a database")
    started = time.monotonic()
    proc = cardsight(["serve", "--no-bots", "--port", str(free_port()), "--artifacts", str(root)], tmp_path)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 2, output
    assert time.monotonic() - started < 30
    assert "could not load the engine: ArtifactError" in output
    assert ("missing or incomplete" if missing else "catalog.sqlite fails its checksum") in output
    assert "Traceback" not in output
    assert not (tmp_path / "demo-gallery").exists() and not (root.parent / "demo-gallery").exists()
