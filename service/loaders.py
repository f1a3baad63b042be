"""Where the service's engine comes from: artifacts on this machine, or another machine.

Both produce a `service.holder.Loader`, so hot reload, health and metrics work the same way
whether this process runs the model or forwards to engine replicas.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable

from engine.protocol import AsyncRecognizer
from service.client import RemoteRecognizer

log = logging.getLogger(__name__)


class LocalLoader:
    """Loads the artifact set at ``artifacts`` afresh on each call (blocking; the holder runs
    it in a worker thread), so a reload picks up whatever ``sync`` + ``index`` committed there.

    Only the first load may build the embedded demo set, when nothing is there yet, so a fresh
    checkout answers photos out of the box. A later reload that finds no set fails instead, and
    the holder keeps the engine it has rather than silently swapping in the demo.
    """

    def __init__(self, artifacts: Path, engine_settings: Any) -> None:
        self.artifacts = artifacts
        self.engine_settings = engine_settings
        self._loaded_once = False

    def __call__(self) -> AsyncRecognizer:
        from engine.process_pool import load_engine

        if not self._loaded_once and _never_published(self.artifacts):
            from training.demo import ensure_demo_artifacts

            log.warning("no artifact set at %s: building the demo catalog (generated cards, to try "
                        "cardsight out; not for real users)", self.artifacts)
            self.artifacts = ensure_demo_artifacts(self.artifacts)
        engine: AsyncRecognizer = load_engine(self.artifacts, self.engine_settings)
        self._loaded_once = True
        return engine


def _never_published(root: Path) -> bool:
    """True for an empty or new folder only. A folder whose CURRENT names a missing or broken
    set must fail with that error: silently replacing an operator's set with the demo would
    hide the problem behind wrong answers."""
    from engine import artifacts

    if artifacts.exists(root):
        return False
    return not (root / artifacts.CURRENT).exists() and not (root / artifacts.MANIFEST).exists()


def remote_loader(
    base_url: str, token: str | None, timeout_s: float
) -> Callable[[], Any]:
    """Connects to a remote engine and checks it is ready before it is swapped in."""

    async def load() -> AsyncRecognizer:
        client = RemoteRecognizer(base_url, token, timeout_s=timeout_s)
        try:
            await client.health()
        except BaseException:
            await client.close()
            raise
        return client

    return load
