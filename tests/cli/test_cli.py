"""The engine and training sub-commands, run in-process through `cardsight.cli.main`."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from cardsight.cli import main
from engine.artifacts import open_set
from training.config import load_run_config
from training.gallery import load_card_image, read_gallery
from training.photosim import PhotoSimConfig, encode_jpeg, simulate_photo
from training.train import CHECKPOINT, CONFIG, WEIGHTS, load_trained

REPO = Path(__file__).resolve().parents[2]
EASY = PhotoSimConfig(size=(1024, 768), scale=(0.6, 0.85), max_perspective_deg=15.0, hardness=0.0,
                      occlusion=False)
TINY_RUN = """
[model]
input_width = 64
input_height = 96
embedding_dim = 32

[train]
steps = 12
batch_pairs = 4
frozen_blocks = 14
checkpoint_every = 2
workers = 0
hardness = 0.5
"""


def photo_of(gallery: Path, index: int, seed: int, folder: Path) -> Path:
    item = read_gallery(gallery)[index]
    photo = simulate_photo([load_card_image(item.image_path)], np.random.default_rng(seed), EASY)
    path = folder / f"card{index}-seed{seed}.jpg"
    path.write_bytes(encode_jpeg(photo.image, 90))
    return path


@pytest.fixture(scope="module")
def indexed(demo_gallery: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, Path]:
    """`cardsight index --precision int8 --views 2` on the session's generated gallery: (exit code,
    stdout, artifacts). Every other test serves float32 sets; this one, the quantized network."""
    out = tmp_path_factory.mktemp("cli-index")
    printed = io.StringIO()  # capsys is function-scoped
    with contextlib.redirect_stdout(printed):
        code = main(["index", "--gallery", str(demo_gallery), "--out", str(out),
                     "--calibration-photos", "6", "--precision", "int8", "--views", "2"])
    return code, printed.getvalue(), out


def test_index_builds_a_loadable_set(indexed: tuple[int, str, Path], capsys: pytest.CaptureFixture[str],
                                     demo_gallery: Path, demo_photos: list[tuple[bytes, str]],
                                     tmp_path: Path) -> None:
    code, printed, out = indexed
    assert code == 0
    published = open_set(out)
    assert f"artifact set {published.version}: 24 entries at {published.path}" in printed
    m = published.manifest
    assert m["gallery_size"] == 24 and m["index_kind"] == "flat" and m["precision"] == "int8"
    assert load_run_config(published.file("config.toml")).index.views == 2
    # 6 photos of one card and 2 of up to 4, each card also read without its name; 2 generated cards
    assert m["calibration"]["fitted_on"] <= 2 * (6 + 2 * 4) + 2
    # The new set answers photos.
    data, name = demo_photos[2]
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(data)
    assert main(["identify", "--artifacts", str(out), "--json", str(photo)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert name in [c["name"] for c in result["cards"]]


def test_index_of_a_folder_without_cards(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["index", "--gallery", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert "no cards.jsonl" in capsys.readouterr().err
    assert not (tmp_path / "out" / "CURRENT").exists()


def test_index_refuses_negative_views(demo_gallery: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["index", "--gallery", str(demo_gallery), "--out", str(tmp_path / "out"), "--views", "-1"]) == 2
    assert "--views must not be negative" in capsys.readouterr().err
    assert not (tmp_path / "out" / "CURRENT").exists()


def test_identify_json(artifacts_dir: Path, demo_photos: list[tuple[bytes, str]], tmp_path: Path,
                       capsys: pytest.CaptureFixture[str]) -> None:
    data, name = demo_photos[0]
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(data)
    assert main(["identify", "--artifacts", str(artifacts_dir), "--json", str(photo)]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    result = json.loads(line)
    assert result["photo"] == str(photo) and result["image_size"] == [1024, 768]
    card = max(result["cards"], key=lambda c: c["confidence"])
    assert card["name"] == name
    assert 0.0 <= card["confidence"] <= 1.0 and isinstance(card["unsure"], bool)
    assert len(card["quad"]) == 4 and all(len(p) == 2 for p in card["quad"])
    assert card["alternatives"] and all(a["name"] for a in card["alternatives"])
    assert card["scryfall_uri"].startswith("https://scryfall.com/card/")


def test_identify_text(artifacts_dir: Path, demo_photos: list[tuple[bytes, str]], tmp_path: Path,
                       capsys: pytest.CaptureFixture[str]) -> None:
    data, name = demo_photos[1]
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(data)
    assert main(["identify", "--artifacts", str(artifacts_dir), str(photo)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{photo}: ")
    assert f"  {name} [" in out or f"  not sure, maybe {name} [" in out
    assert re.search(r"\d+%  https://scryfall\.com/card/", out)


def test_identify_a_text_file_fails_clearly(artifacts_dir: Path, demo_photos: list[tuple[bytes, str]],
                                            tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("this is not a photo\n", encoding="utf-8")
    good = tmp_path / "good.jpg"
    good.write_bytes(demo_photos[0][0])
    code = main(["identify", "--artifacts", str(artifacts_dir), str(notes), str(tmp_path / "gone.jpg"),
                 str(good)])
    captured = capsys.readouterr()
    assert code == 1
    assert f"{notes}: That file doesn't look like an image" in captured.err
    assert f"{tmp_path / 'gone.jpg'}: " in captured.err
    assert f"{good}: " in captured.out  # the good photo is still answered

    assert main(["identify", "--artifacts", str(artifacts_dir), "--json", str(notes)]) == 1
    assert json.loads(capsys.readouterr().out) == {
        "photo": str(notes), "error": "bad_image",
        "message": "That file doesn't look like an image I can read. Try a JPEG or PNG photo.",
    }


def test_identify_without_artifacts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    photo = tmp_path / "p.jpg"
    photo.write_bytes(b"x")
    assert main(["identify", "--artifacts", str(tmp_path / "none"), str(photo)]) == 2
    assert "cardsight index" in capsys.readouterr().err


def compare(artifacts: Path, a: Path, b: Path, capsys: pytest.CaptureFixture[str]) -> tuple[float, float, str]:
    assert main(["compare", "--artifacts", str(artifacts), str(a), str(b)]) == 0
    out = capsys.readouterr().out
    found = re.fullmatch(r"similarity (\S+) \(distance \S+\): (same card|different cards) "
                         r"\(threshold (\S+)\)\n", out)
    assert found, out
    return float(found[1]), float(found[3]), found[2]


def test_compare_same_and_different_cards(artifacts_dir: Path, demo_gallery: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    first = photo_of(demo_gallery, 7, seed=1, folder=tmp_path)
    again = photo_of(demo_gallery, 7, seed=3, folder=tmp_path)
    other = photo_of(demo_gallery, 8, seed=4, folder=tmp_path)
    same_sim, threshold, same_verdict = compare(artifacts_dir, first, again, capsys)
    diff_sim, _, diff_verdict = compare(artifacts_dir, first, other, capsys)
    print(f"same {same_sim:.3f}, different {diff_sim:.3f}, threshold {threshold:.3f}")
    assert same_sim > diff_sim
    assert same_verdict == "same card"
    assert diff_verdict == "different cards"


def test_compare_without_a_card(artifacts_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import cv2

    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((300, 1000, 3), 128, np.uint8))
    assert main(["compare", "--artifacts", str(artifacts_dir), str(blank), str(blank)]) == 2
    assert "no card found" in capsys.readouterr().err


def test_eval_writes_report(artifacts_dir: Path, demo_gallery: Path, tmp_path: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "eval"
    code = main(["eval", "--artifacts", str(artifacts_dir), "--gallery", str(demo_gallery), "-n", "10",
                 "--hardness", "0.3", "--out", str(out)])
    assert code == 0
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert set(report) >= {
        "photos", "cards", "detection_rate", "false_positive_cards", "top1", "top5", "mrr5",
        "exact_printing_top1", "top1_of_detected", "ece", "answered_sure", "precision_when_sure",
        "recall_at_k", "latency_ms", "worst_misses",
    }
    assert report["photos"] == 10 and report["cards"] == 10
    assert 0.0 <= report["top1"] <= report["top5"] <= 1.0
    assert list(report["recall_at_k"]) == [str(k) for k in range(1, 11)]
    assert {"decode", "detect", "embed", "search", "total"} <= set(report["latency_ms"])
    assert (out / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    printed = capsys.readouterr().out
    assert '"top1"' in printed and "report.png" in printed


def test_eval_of_an_empty_gallery(artifacts_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "--artifacts", str(artifacts_dir), "--gallery", str(tmp_path), "-n", "1",
                 "--out", str(tmp_path / "eval")]) == 2
    assert "no cards.jsonl" in capsys.readouterr().err


def test_train_resumes_after_a_kill(demo_gallery: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "tiny.toml"
    config.write_text(TINY_RUN, encoding="utf-8")
    run = tmp_path / "run"
    argv = ["train", "--gallery", str(demo_gallery), "--out", str(run), "--config", str(config)]
    child = subprocess.Popen([sys.executable, "-m", "cardsight.cli", *argv], cwd=REPO,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not (run / CHECKPOINT).exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert child.poll() is None, "the first run ended before it could be interrupted"
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    assert (run / CHECKPOINT).exists() and not (run / WEIGHTS).exists()

    with caplog.at_level(logging.INFO, logger="training.train"):
        assert main(argv) == 0
    resumed = re.search(r"resuming .* at step (\d+) of 12", caplog.text)
    assert resumed and 0 < int(resumed[1]) < 12
    assert f"weights: {run / WEIGHTS}" in capsys.readouterr().out
    assert load_run_config(run / CONFIG) == load_run_config(config)
    model = load_trained(run)
    assert model.cfg.embedding_dim == 32 and (model.cfg.input_width, model.cfg.input_height) == (64, 96)

    # A longer --steps extends the same run from its checkpoint...
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="training.train"):
        assert main([*argv, "--steps", "13"]) == 0
    assert "at step 12 of 13" in caplog.text
    capsys.readouterr()
    # ...and sections that act after training may change meanwhile...
    later = tmp_path / "later.toml"
    later.write_text(TINY_RUN + "\n[calibration]\nphotos = 7\n", encoding="utf-8")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="training.train"):
        assert main([*argv[:-1], str(later), "--steps", "14"]) == 0
    assert "at step 13 of 14" in caplog.text
    capsys.readouterr()
    # ...but another recipe in the same folder is refused rather than mixed.
    other = tmp_path / "other.toml"
    other.write_text(TINY_RUN.replace("[train]", "[train]\nlr = 0.01"), encoding="utf-8")
    assert main([*argv[:-1], str(other)]) == 2
    assert "another config" in capsys.readouterr().err
