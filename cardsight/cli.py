"""`cardsight` command line: a thin dispatcher over one module per sub-command.

Each module in `cardsight.commands` exposes `register(subparsers)`, which adds its parser and
sets `func(args) -> int`. Modules import their heavy dependencies (torch, cv2, faiss) inside
`func`, so `cardsight --help` stays fast. Here every parser also gets `-v` (so it works before
or after the sub-command) and a help formatter that shows each option's default.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Iterator

from cardsight import __version__
from configuration import ConfigError
from engine.errors import ArtifactError, RecognizerError

COMMANDS = (
    "serve", "bot", "identify", "compare", "index", "train", "train_segmenter", "tune", "eval", "synth", "sync",
)

NOISY_LOGGERS = ("faiss", "PIL", "matplotlib", "urllib3", "h5py", "numexpr")
"""Libraries that log their own loading at INFO (faiss: eight lines on every command that look
like errors): shown with -v, else only their warnings."""


class DefaultsFormatter(argparse.HelpFormatter):
    """Appends "(default: X)" to an option's help unless the help already names its default or
    there is none worth showing (None, a flag's False)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text or action.default in (None, False, argparse.SUPPRESS):
            return text
        if not action.option_strings and action.nargs not in (argparse.OPTIONAL, argparse.ZERO_OR_MORE):
            return text
        return f"{text} (default: %(default)s)"


def subparsers_of(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """Every sub-command parser below `parser`, nested ones (`synth cards`) included."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):  # aliases map to the same parser
                yield sub
                yield from subparsers_of(sub)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cardsight", description="Name Magic: The Gathering cards from photos.",
        formatter_class=DefaultsFormatter,
    )
    parser.add_argument("--version", action="version", version=f"cardsight {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="debug logging, third-party libraries' included")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"cardsight.commands.{name}").register(subparsers)
    for sub in subparsers_of(parser):
        sub.formatter_class = DefaultsFormatter
        # SUPPRESS: a sub-command without -v must not reset a -v given before it.
        sub.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                         help="debug logging, third-party libraries' included")
    return parser


def configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET if verbose else logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose)
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
