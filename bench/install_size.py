"""Install size and time of the slim serving set against the full training set.

Each set is installed into a fresh throwaway venv by scripts/install.sh (the same step the
Makefile, CI and the Docker image run), timed, and measured on disk; the five largest
packages of each are listed. Times depend on pip's wheel cache and the local wheel store, so
they compare the two sets on one machine rather than predict a first install elsewhere.

    nice -n 10 python -m bench.install_size --out bench/results/install-size-2026-12-06.txt
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SETS = {"slim (pip install .)": "", "full (pip install '.[train]')": "train"}


def tree_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def largest_packages(venv: Path, count: int = 5) -> list[tuple[str, int]]:
    site = next(venv.glob("lib/python*/site-packages"))
    sizes = [(p.name, tree_bytes(p)) for p in site.iterdir() if p.is_dir() and not p.name.endswith(".dist-info")]
    return sorted(sizes, key=lambda item: -item[1])[:count]


def measure(label: str, extras: str, workdir: Path) -> list[str]:
    venv = workdir / ("venv-" + (extras or "slim"))
    started = time.perf_counter()
    subprocess.run(["bash", str(REPO / "scripts/install.sh"), str(venv), *([extras] if extras else [])],
                   check=True, env={**os.environ, "PYTHON": sys.executable})
    seconds = time.perf_counter() - started
    total = tree_bytes(venv)
    load = os.getloadavg()[0]
    lines = [f"{label}: {total / 2**20:,.0f} MiB on disk, installed in {seconds:.0f} s (load average {load:.1f})"]
    lines += [f"    {name:32s} {size / 2**20:8,.0f} MiB" for name, size in largest_packages(venv)]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write the report here as well as to stdout")
    args = parser.parse_args()
    report = [f"install size and time, {time.strftime('%Y-%m-%d')}, Python {platform.python_version()}, "
              f"{platform.machine()}, pip cache and local wheel store warm", ""]
    workdir = Path(tempfile.mkdtemp(prefix="cardsight-install-"))
    try:
        for label, extras in SETS.items():
            report += measure(label, extras, workdir)
            print("\n".join(report), flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    text = "\n".join(report) + "\n"
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
