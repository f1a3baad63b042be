"""`cardsight` command line: a thin dispatcher over one module per sub-command.

Each module in `cardsight.commands` exposes `register(subparsers)`, which adds its parser and
sets `func(args) -> int`. Modules import their heavy dependencies (torch, cv2, faiss) inside
`func`, so `cardsight --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from cardsight import __version__
from cardsight.config import ConfigError
from engine.errors import ArtifactError, RecognizerError

COMMANDS = (
    "serve", "bot", "identify", "compare", "index", "train", "train_segmenter", "eval", "synth", "sync",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cardsight", description="Name Magic: The Gathering cards from photos."
    )
    parser.add_argument("--version", action="version", version=f"cardsight {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"cardsight.commands.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except (ConfigError, ArtifactError, RecognizerError, FileNotFoundError) as exc:
        print(f"cardsight {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"cardsight {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
