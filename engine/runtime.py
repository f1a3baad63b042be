"""Process-wide runtime settings, applied by whoever starts the process, never on import.

Thread pools fight over a couple of cores: OpenMP threads that spin while idle (Faiss, and
torch when present) steal time from ONNX Runtime, and Faiss's own OpenMP threads buy nothing
for the one-query-at-a-time searches serving does. These settings belong to the process,
so the command layer (`cardsight serve`, `bot`, `identify`, ...) and the bench entry points
call `configure` before any work starts; importing the engine leaves the process as it was
(training, for one, wants every core for torch). ONNX Runtime's thread counts are per
session and come with each component's settings (`EngineSettings.threads`).
"""

from __future__ import annotations

import ctypes
import os
import platform

WAIT_POLICY = "PASSIVE"
"""OpenMP threads sleep instead of spinning when idle; read once, when the OpenMP runtime loads."""

MMAP_THRESHOLD = 16 << 20
"""Allocations under this come from malloc's heaps instead of a fresh mmap each (glibc)."""
TRIM_THRESHOLD = 128 << 20
"""Free memory malloc keeps at a heap's top instead of handing it back to the kernel (glibc).

A photo's buffers (the decoded image, the work copy's Lab and gradient planes, crops) are a
few MB each and come and go every photo. glibc's defaults adapt both limits to the sizes
freed so far, so depending on the order of earlier photos it either reused those pages or
mapped fresh ones that fault in again: 100 to 3,000 page faults a 12 MP photo, up to ~9 ms
of kernel time on the dev VM, in the serving threads as in the main one. Fixed limits keep
the pages: ~100 faults a photo whatever came before. The memory kept is what a photo needed
at its peak; anything of 16 MB and more (a huge PNG's pixels) is still mapped and unmapped.
"""
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters, from glibc's malloc.h


def configure(*, faiss_threads: int = 1) -> None:
    """Apply the serving process's runtime settings; call before the engine's first use.

    The wait policy only takes effect when set before Faiss or torch loads the OpenMP
    runtime (child processes inherit it too); an admin's own ``OMP_WAIT_POLICY`` is kept,
    and so are malloc settings made in the environment (``MALLOC_*_``, ``GLIBC_TUNABLES``).
    """
    if faiss_threads < 1:
        raise ValueError("faiss_threads must be at least 1")
    os.environ.setdefault("OMP_WAIT_POLICY", WAIT_POLICY)
    _keep_freed_memory()
    import faiss

    faiss.omp_set_num_threads(faiss_threads)


def _keep_freed_memory() -> bool:
    """Fix glibc malloc's mmap and trim thresholds (see `TRIM_THRESHOLD`); False where not
    done: other C libraries (musl, macOS) and environments that tune malloc themselves."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    if any(name.startswith("MALLOC_") or name == "GLIBC_TUNABLES" for name in os.environ):
        return False
    libc = ctypes.CDLL(None)  # the C library the process already runs on
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
