"""The command line a new admin meets: `-v` anywhere, help and defaults on every argument,
and no third-party loader chatter unless asked for."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from cardsight.cli import build_parser, subparsers_of

REPO = Path(__file__).resolve().parents[2]
PARSER = build_parser()
SUBPARSERS = {sub.prog: sub for sub in subparsers_of(PARSER)}


def test_every_command_is_walked() -> None:
    assert {"cardsight identify", "cardsight serve", "cardsight synth cards", "cardsight synth photos"} <= set(SUBPARSERS)


@pytest.mark.parametrize("prog", sorted(SUBPARSERS))
def test_every_argument_has_help_and_shows_its_default(prog: str) -> None:
    parser = SUBPARSERS[prog]
    text = parser.format_help()
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        name = "/".join(action.option_strings) or action.dest
        assert action.help and action.help.strip(), f"{prog} {name}: no help text"
        meaningful = action.default not in (None, False, argparse.SUPPRESS)
        if meaningful and (action.option_strings or action.nargs == "?"):
            shown = action.help if "default" in action.help else f"(default: {action.default})"
            assert "default" in action.help or shown in " ".join(text.split()), f"{prog} {name}: default not shown"


@pytest.mark.parametrize("argv", [
    ["-v", "identify", "x.jpg"], ["identify", "-v", "x.jpg"], ["identify", "x.jpg", "-v"],
    ["synth", "cards", "--out", "o", "-v"], ["-v", "serve"],
])
def test_verbose_anywhere(argv: list[str]) -> None:
    assert PARSER.parse_args(argv).verbose is True


def test_quiet_by_default() -> None:
    assert PARSER.parse_args(["identify", "x.jpg"]).verbose is False


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cardsight.cli", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=120)


def test_faiss_loader_lines_only_with_verbose(tmp_path: Path) -> None:
    """`identify` loads faiss before it finds the artifact set missing; faiss logs 8 INFO lines."""
    missing = str(tmp_path / "none")
    quiet = run_cli("identify", "--artifacts", missing, "x.jpg")
    verbose = run_cli("identify", "-v", "--artifacts", missing, "x.jpg")
    assert quiet.returncode == verbose.returncode == 2
    assert "faiss.loader" not in quiet.stderr and "no artifact set" in quiet.stderr.lower()
    assert "faiss.loader" in verbose.stderr  # the check above could have failed
