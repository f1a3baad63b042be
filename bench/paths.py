"""Where the benchmarks find the team's shared data: ``../shared/data`` beside the repository.

Resolved from this file rather than the working directory or a fixed absolute path, so a bench
runs the same from any checkout (a worktree, CI, a laptop) that has ``shared/`` next to it.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
"""The repository root (the folder holding bench/)."""

SHARED = REPO.parent / "shared" / "data"
"""The team's read-only data: real scans, records and photos (see ../shared/README.md)."""

PHOTOS = SHARED / "photos"
"""Real photos of physical cards, for detection and load benchmarks."""


def shared_help(what: str, path: Path = SHARED) -> str:
    """`--help` text for an option defaulting to the shared data, naming the relative rule."""
    relative = path.relative_to(REPO.parent)
    return f"{what} (default: ../{relative} beside the repository root, here {path})"
