"""The benchmarks run from any checkout: no machine's absolute paths, shared data found relative
to the repository (../shared/data), and `--help` says so."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

from bench import paths

BENCH = Path(__file__).resolve().parents[1] / "bench"
SHARED_DEFAULTS = {"SHARED", "PHOTOS"}


def _bench_sources() -> list[Path]:
    return sorted(BENCH.glob("*.py"))


def test_no_absolute_machine_paths_in_bench() -> None:
    offenders = [
        f"{path.name}:{n}: {line.strip()}"
        for path in _bench_sources()
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"(?<![\w.])/(work|home|Users|mnt|data)/", line)
    ]
    assert offenders == []


def test_shared_data_resolves_beside_the_repository_not_the_cwd() -> None:
    assert paths.SHARED == paths.REPO.parent / "shared" / "data"
    assert (paths.REPO / "bench" / "paths.py").is_file()
    assert paths.PHOTOS.parent == paths.SHARED
    assert "../shared/data/photos" in paths.shared_help("photos", paths.PHOTOS)


def test_every_shared_default_says_so_in_its_help() -> None:
    """An option defaulting to the shared data names the relative rule in its --help text."""
    checked = 0
    for path in _bench_sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_argument"):
                continue
            kw = {k.arg: k.value for k in node.keywords}
            default = kw.get("default")
            if isinstance(default, ast.Name) and default.id in SHARED_DEFAULTS:
                checked += 1
                helptext = kw.get("help")
                assert isinstance(helptext, ast.Call) and getattr(helptext.func, "id", "") == "shared_help", (
                    f"{path.name}:{node.lineno}: --help of a ../shared/data default must use shared_help"
                )
    assert checked >= 10


def test_help_of_a_bench_names_the_relative_default() -> None:
    out = subprocess.run([sys.executable, "-m", "bench.service_load", "--help"], capture_output=True,
                         text=True, cwd="/", env={"PYTHONPATH": str(paths.REPO)}, check=True).stdout
    assert "../shared/data/photos beside the repository root" in " ".join(out.split())
