"""`cardsight tune`: a study of two tiny trials on a generated gallery writes a loadable config."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from cardsight.cli import main
from training.cardgen import generate_gallery
from training.config import load_run_config
from training.tune import load_search_space

SEARCH = """
[study]
trials = 2
steps = 2
eval_every = 1
cards = 0
photos = 4
startup_trials = 1
warmup_steps = 1

[trial]
"train.generated_cards" = 0

[params.lr]
fields = ["train.lr"]
low = 1e-4
high = 1e-3
log = true

[params.input_size]
fields = ["model.input_width", "model.input_height"]
choices = [[64, 96], [96, 128]]
"""


@pytest.fixture(scope="module")
def gallery(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("gallery")
    generate_gallery(folder, 6, seed=5)
    return folder


def _recipe(folder: Path) -> Path:
    """A small recipe whose input size is one of the search's choices (trial 0 replays it)."""
    path = folder / "recipe.toml"
    path.write_text('[model]\ninput_width = 64\ninput_height = 96\n[train]\nbatch_pairs = 4\nfrozen_blocks = 14\n'
                    'lr = 0.0005\nworkers = 0\nsteps = 700\n', encoding="utf-8")
    return path


def test_tune_runs_resumes_and_writes_a_loadable_best_config(gallery: Path, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    search = tmp_path / "search.toml"
    search.write_text(SEARCH, encoding="utf-8")
    out = tmp_path / "tune"
    args = ["tune", "--gallery", str(gallery), "--config", str(_recipe(tmp_path)), "--search", str(search),
            "--out", str(out), "--study", "t"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "trial" in printed and "mrr5" in printed

    best = load_run_config(out / "best.toml")
    assert best.train.steps == 700, "the recipe's length, not the trials'"
    assert best.train.generated_cards == 0 and best.train.batch_pairs == 4
    assert 1e-4 <= best.train.lr <= 1e-3
    assert (best.model.input_width, best.model.input_height) in {(64, 96), (96, 128)}

    with sqlite3.connect(out / "study.db") as db:
        params = db.execute("SELECT t.number, p.param_name, p.param_value FROM trials t "
                            "JOIN trial_params p USING (trial_id) ORDER BY t.number").fetchall()
    assert (0, "lr", 0.0005) in params, "trial 0 replays the recipe's own values"

    assert main([*args, "--trials", "3"]) == 0, "a resumed study runs only the trials it owes"
    with sqlite3.connect(out / "study.db") as db:
        assert db.execute("SELECT COUNT(*) FROM trials").fetchone()[0] == 3
    rows = (out / "results.txt").read_text(encoding="utf-8").splitlines()
    assert len(rows) == 1 + 3


def test_search_space_rejects_unknown_keys(tmp_path: Path) -> None:
    bad = tmp_path / "search.toml"
    bad.write_text('[params.lr]\nfields = ["train.lr"]\nlow = 1e-4\nhigh = 1e-3\nstep = 2\n', encoding="utf-8")
    with pytest.raises(Exception, match="unknown keys: step"):
        load_search_space(bad)
