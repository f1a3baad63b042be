"""`cardsight eval --projector`: TensorBoard projector files whose rows agree, and the map in the report."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from cardsight.cli import main
from training.projector import THUMB


def test_eval_projector_writes_matching_files(artifacts_dir: Path, demo_gallery: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    out, projector = tmp_path / "eval", tmp_path / "projector"
    assert main(["eval", "--artifacts", str(artifacts_dir), "--gallery", str(demo_gallery), "-n", "8",
                 "--seed", "9001", "--out", str(out), "--projector", str(projector)]) == 0
    assert f"projector: {projector}" in capsys.readouterr().out

    vectors = np.loadtxt(projector / "tensors.tsv", delimiter="\t", ndmin=2)
    rows = (projector / "metadata.tsv").read_text(encoding="utf-8").splitlines()
    assert rows[0].split("\t") == ["kind", "name", "truth", "answer", "right"]
    meta = [r.split("\t") for r in rows[1:]]
    assert len(meta) == len(vectors) and all(len(m) == 5 for m in meta)
    kinds = [m[0] for m in meta]
    assert 1 <= kinds.count("query") <= 8 and kinds.count("gallery") >= 1
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3), "the network's unit embeddings"
    queries = [m for m in meta if m[0] == "query"]
    assert {m[1] for m in queries} <= {m[1] for m in meta if m[0] == "gallery"}, "each query's card is in view"

    sprite = cv2.imread(str(projector / "sprite.png"))
    side = int(np.ceil(np.sqrt(len(vectors))))
    assert sprite.shape == (side * THUMB[1], side * THUMB[0], 3)
    assert sprite[: THUMB[1], : THUMB[0]].std() > 5, "the first thumbnail shows a card"

    config = (projector / "projector_config.pbtxt").read_text(encoding="utf-8")
    for line in ('tensor_path: "tensors.tsv"', 'metadata_path: "metadata.tsv"', 'image_path: "sprite.png"',
                 f"single_image_dim: {THUMB[0]}", f"single_image_dim: {THUMB[1]}"):
        assert line in config
    report = cv2.imread(str(out / "report.png"))
    assert report.shape[0] > report.shape[1] * 0.9, "the map adds a row to the report"


def test_projector_needs_a_gallery(artifacts_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "--artifacts", str(artifacts_dir), "--photos", str(tmp_path),
                 "--projector", str(tmp_path / "p")]) == 2
    assert "--projector needs --gallery" in capsys.readouterr().err
