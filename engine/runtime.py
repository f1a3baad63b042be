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

import os

WAIT_POLICY = "PASSIVE"
"""OpenMP threads sleep instead of spinning when idle; read once, when the OpenMP runtime loads."""


def configure(*, faiss_threads: int = 1) -> None:
    """Apply the serving process's runtime settings; call before the engine's first use.

    The wait policy only takes effect when set before Faiss or torch loads the OpenMP
    runtime (child processes inherit it too); an admin's own ``OMP_WAIT_POLICY`` is kept.
    """
    if faiss_threads < 1:
        raise ValueError("faiss_threads must be at least 1")
    os.environ.setdefault("OMP_WAIT_POLICY", WAIT_POLICY)
    import faiss

    faiss.omp_set_num_threads(faiss_threads)
