"""One module per `cardsight` sub-command; see `cardsight.cli`."""

import argparse


def positive_int(text: str) -> int:
    """argparse type for counts: a clear message instead of a traceback for 0 or -3."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive count, got {text}")
    return value
