"""The artifact set the engine loads, written so that a half-built set is never loaded.

Layout: ``ROOT/sets/<version>/`` holds one complete set (model.onnx, index.faiss,
catalog.sqlite, calibration.json, manifest.json with a SHA-256 of every file), and
``ROOT/CURRENT`` names the active version. A writer builds the new set in a temporary folder,
renames it into ``sets/`` and then replaces ``CURRENT`` with one atomic `os.replace`, so a
reader (or a process killed mid-build) sees either the old complete set or the new one.
A folder that directly holds a manifest.json is also accepted as a set.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from engine.errors import ArtifactError

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CURRENT = "CURRENT"
REQUIRED_FILES = ("model.onnx", "index.faiss", "catalog.sqlite", "calibration.json")
KEEP_SETS = 2


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class ArtifactSet:
    path: Path
    manifest: dict[str, Any]

    def file(self, name: str) -> Path:
        return self.path / name

    @property
    def version(self) -> str:
        return str(self.manifest["version"])


def resolve(root: Path) -> Path:
    """The folder of the active set under `root` (or `root` itself if it is a set)."""
    root = Path(root)
    if (root / MANIFEST).is_file():
        return root
    pointer = root / CURRENT
    if not pointer.is_file():
        raise ArtifactError(
            f"no artifact set at {root}: build one with `cardsight index` "
            "(or let `cardsight serve` build the demo set)"
        )
    version = pointer.read_text(encoding="utf-8").strip()
    path = root / "sets" / version
    if not (path / MANIFEST).is_file() or "/" in version or version.startswith("."):
        raise ArtifactError(f"{pointer} names set {version!r}, which is missing or incomplete")
    return path


def exists(root: Path) -> bool:
    try:
        resolve(root)
    except ArtifactError:
        return False
    return True


def open_set(root: Path, *, verify: bool = True) -> ArtifactSet:
    """Locate and check a set: manifest readable, files present, checksums equal."""
    path = resolve(root)
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"{path / MANIFEST}: unreadable manifest ({exc})") from exc
    if manifest.get("format") != FORMAT_VERSION:
        raise ArtifactError(
            f"{path}: artifact format {manifest.get('format')!r}, this cardsight reads "
            f"{FORMAT_VERSION}; rebuild with `cardsight index`"
        )
    files: dict[str, str] = manifest.get("files", {})
    for name in REQUIRED_FILES:
        if name not in files:
            raise ArtifactError(f"{path}: manifest lists no {name}")
    for name, expected in files.items():
        file = path / name
        if not file.is_file():
            raise ArtifactError(f"{path}: {name} is missing")
        if verify and sha256_file(file) != expected:
            raise ArtifactError(f"{path}: {name} fails its checksum (corrupt or modified)")
    return ArtifactSet(path=path, manifest=manifest)


class SetWriter:
    """Collects files for a new set in a temp folder; `commit` publishes it atomically.

    Use as a context manager: leaving the block with an exception removes the temp folder,
    so an interrupted build leaves nothing that could be loaded.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        (self.root / "sets").mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix=".building-", dir=self.root / "sets"))

    def __enter__(self) -> "SetWriter":
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if self.tmp.exists():
            shutil.rmtree(self.tmp, ignore_errors=True)

    def path(self, name: str) -> Path:
        return self.tmp / name

    def commit(self, manifest: dict[str, Any]) -> ArtifactSet:
        files = {
            p.name: sha256_file(p) for p in sorted(self.tmp.iterdir()) if p.name != MANIFEST
        }
        missing = [n for n in REQUIRED_FILES if n not in files]
        if missing:
            raise ArtifactError(f"cannot publish an artifact set without {', '.join(missing)}")
        now = datetime.now(timezone.utc)
        # Microseconds keep names in creation order (pruning relies on it) and distinct
        # when the same files are published twice within a second.
        digest = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()[:8]
        version = f"{now:%Y%m%dT%H%M%S%fZ}-{digest}"
        manifest = {
            **manifest,
            "format": FORMAT_VERSION,
            "version": version,
            "created_at": f"{now:%Y-%m-%dT%H:%M:%SZ}",
            "files": files,
        }
        _write_atomic(self.tmp / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True))
        for file in self.tmp.iterdir():
            _fsync(file)
        final = self.root / "sets" / version
        os.replace(self.tmp, final)
        _write_atomic(self.root / CURRENT, version + "\n")
        _prune(self.root, keep=version)
        return ArtifactSet(path=final, manifest=manifest)


def _fsync(path: Path) -> None:
    with path.open("rb") as fh:
        os.fsync(fh.fileno())


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _prune(root: Path, keep: str) -> None:
    """Keep `keep` and the newest others, KEEP_SETS in all (a running service may still read
    the previous one); names sort in creation order."""
    others = sorted(
        p.name for p in (root / "sets").iterdir()
        if p.is_dir() and not p.name.startswith(".") and p.name != keep
    )
    for old in others[: max(0, len(others) - (KEEP_SETS - 1))]:
        shutil.rmtree(root / "sets" / old, ignore_errors=True)
    for stale in (root / "sets").glob(".building-*"):
        if time.time() - stale.stat().st_mtime > 3600:
            shutil.rmtree(stale, ignore_errors=True)
