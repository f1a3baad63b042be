"""Write-then-rename, so an interrupted sync never leaves a half-written file under a real name.

Every temporary file ends in ``.part`` and sits next to its target (the rename must stay on
one filesystem to be atomic); a sync that was killed leaves only ``.part`` files behind, and
the next one removes them before it starts.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

PART_SUFFIX = ".part"


def temp_path_for(dest: Path) -> Path:
    return dest.with_name(f".{dest.name}.{secrets.token_hex(4)}{PART_SUFFIX}")


@contextmanager
def atomic_writer(dest: Path) -> Iterator[BinaryIO]:
    """A binary file that appears at `dest` only if the block finishes; fsynced before the rename."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path_for(dest)
    try:
        with tmp.open("wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes_atomic(dest: Path, data: bytes) -> None:
    with atomic_writer(dest) as fh:
        fh.write(data)


def remove_partials(root: Path) -> int:
    """Delete the ``.part`` files a killed sync left under `root`; returns how many."""
    removed = 0
    if not root.is_dir():
        return 0
    for path in root.rglob(f"*{PART_SUFFIX}"):
        if path.is_file():
            path.unlink(missing_ok=True)
            removed += 1
    return removed
