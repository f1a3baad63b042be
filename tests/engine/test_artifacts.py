"""Artifact sets: atomic publication, checksums, clear errors, pruning.

The files are small stand-ins (the format does not look inside them), so these tests need
no model and run in milliseconds.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine import artifacts
from engine.artifacts import KEEP_SETS, REQUIRED_FILES, SetWriter, open_set
from engine.errors import ArtifactError


def publish(root: Path, tag: str) -> artifacts.ArtifactSet:
    with SetWriter(root) as writer:
        for name in REQUIRED_FILES:
            writer.path(name).write_text(f"{name} of {tag}", encoding="utf-8")
        return writer.commit({"tag": tag})


def test_committed_set_loads_with_manifest(tmp_path: Path) -> None:
    published = publish(tmp_path, "one")
    loaded = open_set(tmp_path)
    assert loaded.path == published.path
    assert loaded.manifest["tag"] == "one"
    assert loaded.version == published.version
    assert set(loaded.manifest["files"]) == set(REQUIRED_FILES)
    assert loaded.file("model.onnx").read_text(encoding="utf-8") == "model.onnx of one"
    assert artifacts.exists(tmp_path)
    # A set folder itself (one holding manifest.json) is accepted too.
    assert open_set(published.path).version == published.version


def test_interrupted_writer_leaves_previous_set_loadable(tmp_path: Path) -> None:
    first = publish(tmp_path, "first")
    with pytest.raises(RuntimeError, match="killed"):
        with SetWriter(tmp_path) as writer:
            for name in REQUIRED_FILES:
                writer.path(name).write_text("half-built", encoding="utf-8")
            raise RuntimeError("killed mid-build")
    assert not writer.tmp.exists()
    assert [p.name for p in (tmp_path / "sets").iterdir()] == [first.version]
    assert open_set(tmp_path).manifest["tag"] == "first"


def test_writer_leaving_without_commit_publishes_nothing(tmp_path: Path) -> None:
    with SetWriter(tmp_path) as writer:
        writer.path("model.onnx").write_text("x", encoding="utf-8")
    assert not artifacts.exists(tmp_path)
    assert list((tmp_path / "sets").iterdir()) == []


def test_commit_refuses_an_incomplete_set(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="catalog.sqlite"):
        with SetWriter(tmp_path) as writer:
            writer.path("model.onnx").write_text("x", encoding="utf-8")
            writer.commit({})
    assert not artifacts.exists(tmp_path)


def test_corrupted_file_fails_its_checksum(tmp_path: Path) -> None:
    published = publish(tmp_path, "one")
    published.file("index.faiss").write_text("tampered", encoding="utf-8")
    with pytest.raises(ArtifactError, match="index.faiss fails its checksum"):
        open_set(tmp_path)
    assert open_set(tmp_path, verify=False).version == published.version


def test_missing_file_is_named(tmp_path: Path) -> None:
    publish(tmp_path, "one").file("catalog.sqlite").unlink()
    with pytest.raises(ArtifactError, match="catalog.sqlite is missing"):
        open_set(tmp_path)


def test_missing_current_explains_how_to_build(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="cardsight index"):
        open_set(tmp_path)
    publish(tmp_path, "one")
    (tmp_path / "CURRENT").unlink()
    with pytest.raises(ArtifactError, match="no artifact set"):
        open_set(tmp_path)
    assert not artifacts.exists(tmp_path)


@pytest.mark.parametrize("pointer", ["20990101T000000Z-deadbeef", "../..", "", "/etc"])
def test_current_naming_a_missing_set(tmp_path: Path, pointer: str) -> None:
    publish(tmp_path, "one")
    (tmp_path / "CURRENT").write_text(pointer + "\n", encoding="utf-8")
    with pytest.raises(ArtifactError, match="missing or incomplete"):
        open_set(tmp_path)


def test_unreadable_manifest_and_wrong_format(tmp_path: Path) -> None:
    published = publish(tmp_path, "one")
    manifest = published.path / artifacts.MANIFEST
    data = json.loads(manifest.read_text(encoding="utf-8"))
    manifest.write_text(json.dumps({**data, "format": 99}), encoding="utf-8")
    with pytest.raises(ArtifactError, match="format 99"):
        open_set(tmp_path)
    manifest.write_text("{not json", encoding="utf-8")
    with pytest.raises(ArtifactError, match="unreadable manifest"):
        open_set(tmp_path)


def test_old_sets_pruned_to_keep_sets(tmp_path: Path) -> None:
    """Sets published within one second still keep the newest ones, the current included."""
    published = [publish(tmp_path, f"n{i}") for i in range(KEEP_SETS + 3)]
    remaining = sorted(p.name for p in (tmp_path / "sets").iterdir())
    assert remaining == sorted(p.version for p in published[-KEEP_SETS:])
    assert open_set(tmp_path).manifest["tag"] == f"n{KEEP_SETS + 2}"
    assert (tmp_path / "CURRENT").read_text(encoding="utf-8").strip() == published[-1].version
