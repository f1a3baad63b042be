"""The demo artifact set is built on first start and reused afterwards (scaled down here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.artifacts import open_set
from training import demo
from training.config import CalibrationConfig


def test_demo_set_built_once_then_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo, "DEMO_CARDS", 4)
    monkeypatch.setattr(demo, "DEMO_PHOTOS", 2)
    monkeypatch.setattr(demo, "DEMO_CALIBRATION",
                        CalibrationConfig(photos=3, multi_card_photos=1, photo_size=(480, 360), generated_photos=4, generated_cards=3))
    builds: list[Path] = []
    real_build = demo.build_artifacts

    def counting_build(gallery: Path, out: Path, **kwargs: object):
        builds.append(out)
        return real_build(gallery, out, **kwargs)

    monkeypatch.setattr(demo, "build_artifacts", counting_build)
    dest = tmp_path / "var" / "artifacts"

    assert demo.ensure_demo_artifacts(dest) == dest
    first = open_set(dest)
    assert builds == [dest]
    assert first.manifest["gallery_size"] == 4
    assert sorted(p.name for p in (tmp_path / "var" / "demo-photos").iterdir()) == ["demo-1.jpg", "demo-2.jpg"]
    assert not (tmp_path / "var" / ".demo-gallery-partial").exists()

    assert demo.ensure_demo_artifacts(dest) == dest
    assert builds == [dest]  # not rebuilt
    assert open_set(dest).version == first.version
