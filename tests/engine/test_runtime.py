"""Importing the engine leaves the process as it was; `engine.runtime.configure` changes it."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

import engine

_PROBE = """
import json, os, pkgutil, threading, importlib
import cv2, faiss, numpy, onnxruntime  # what they do to the process on import is theirs
import engine
env, faiss_threads, threads = dict(os.environ), faiss.omp_get_max_threads(), threading.active_count()
names = sorted(m.name for m in pkgutil.walk_packages(engine.__path__, "engine."))
for name in names:
    importlib.import_module(name)
print(json.dumps({
    "modules": names,
    "env_changed": sorted(k for k in set(env) | set(os.environ) if env.get(k) != os.environ.get(k)),
    "faiss_threads": [faiss_threads, faiss.omp_get_max_threads()],
    "threads": [threads, threading.active_count()],
}))
"""


def _probe(code: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          cwd=Path(engine.__file__).parent.parent, timeout=120, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def test_importing_every_engine_module_changes_no_process_state() -> None:
    found = _probe(_PROBE)
    assert {"engine.recognizer", "engine.search", "engine.detect", "engine.segmenter"} <= set(found["modules"])
    assert found["env_changed"] == []
    before, after = found["faiss_threads"]
    assert after == before
    assert found["threads"][1] == found["threads"][0]


def test_configure_sets_the_serving_runtime() -> None:
    found = _probe(
        "import json, os\n"
        "from engine.runtime import configure\n"
        "configure()\n"
        "import faiss\n"
        "print(json.dumps({'wait': os.environ.get('OMP_WAIT_POLICY'), 'faiss': faiss.omp_get_max_threads()}))\n"
    )
    assert found == {"wait": "PASSIVE", "faiss": 1}


_CHURN = """
import json, resource, sys
import numpy as np
if sys.argv[1] == "configured":
    from engine.runtime import configure
    configure()
def churn():  # a photo's worth of few-MB buffers, all freed at its end
    buffers = [np.ones(2 << 20, np.uint8) for _ in range(10)]
    del buffers
for _ in range(3):
    churn()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    churn()
print(json.dumps((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 10))
"""


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc malloc")
def test_configure_keeps_freed_buffers_for_the_next_photo() -> None:
    """Each round touches 20 MB (~5,000 pages); configured, malloc reuses them instead of
    handing them back and faulting them in again."""

    def faults(mode: str) -> float:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "GLIBC_TUNABLES"}
        done = subprocess.run([sys.executable, "-c", _CHURN, mode], capture_output=True, text=True, env=env,
                              cwd=Path(engine.__file__).parent.parent, timeout=120, check=True)
        return float(done.stdout.split()[-1])

    assert faults("configured") < 200
    assert faults("default") > 2_000  # what the test guards against: glibc's own thresholds churn here
