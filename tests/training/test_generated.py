"""Generated cards trained on beside the scans: rendered once per run, never half a set."""

from __future__ import annotations

from pathlib import Path

from training.generated import FOLDER, generated_references


def test_a_run_renders_its_generated_cards_once_and_the_same_every_time(tmp_path: Path) -> None:
    first = generated_references(tmp_path / "run", 6, seed=3)
    assert len(first) == 6 and all(p.is_file() and p.is_relative_to(tmp_path / "run" / FOLDER) for p in first)
    stamp = max(p.stat().st_mtime_ns for p in first)
    again = generated_references(tmp_path / "run", 6, seed=3)
    assert again == first and max(p.stat().st_mtime_ns for p in again) == stamp  # reused, not redrawn
    other = generated_references(tmp_path / "other", 6, seed=3)
    assert [p.read_bytes() for p in other] == [p.read_bytes() for p in first]
    assert generated_references(tmp_path / "none", 0, seed=3) == []


def test_a_render_killed_midway_is_started_over(tmp_path: Path) -> None:
    run = tmp_path / "run"
    (run / f".{FOLDER}-partial" / "images").mkdir(parents=True)
    (run / FOLDER).mkdir()  # a folder without its completion stamp: not trusted
    (run / FOLDER / "cards.jsonl").write_text("")
    paths = generated_references(run, 4, seed=1)
    assert len(paths) == 4 and not (run / f".{FOLDER}-partial").exists()
    assert len(generated_references(run, 5, seed=1)) == 5  # another count renders again
