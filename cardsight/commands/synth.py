"""`cardsight synth`: render synthetic card galleries and simulated photos of cards."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cardsight.commands import positive_int


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 1600x1200, got {text!r}") from None
    if min(width, height) < 64:
        raise argparse.ArgumentTypeError(f"photo size must be at least 64x64, got {text!r}")
    return width, height


def _hardness(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"hardness must be within [0, 1], got {text}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "synth",
        help="render synthetic cards or simulated photos",
        description=(
            "Make test and training data without the network: `synth cards` renders a gallery of "
            "invented cards (cards.jsonl + images, Scryfall-shaped); `synth photos` photographs "
            "a gallery's cards on simulated tables and writes truth.jsonl with every card's corners."
        ),
    )
    kinds = parser.add_subparsers(dest="what", metavar="WHAT", required=True)
    cards = kinds.add_parser("cards", help="render a synthetic card gallery")
    cards.add_argument("--out", type=Path, required=True, help="gallery folder to write")
    cards.add_argument("-n", type=positive_int, default=50, help="number of cards (default 50)")
    cards.add_argument("--seed", type=int, default=0, help="random seed; same seed, same gallery")
    cards.add_argument("--names", type=Path, help="text file of card names, one a line (default: invented)")
    cards.add_argument("--hard-negative-fraction", type=float, default=0.2,
                       help="share of cards from look-alike families (default 0.2)")
    photos = kinds.add_parser("photos", help="simulate photos of a gallery's cards, with truth.jsonl")
    photos.add_argument("--gallery", type=Path, required=True, help="folder holding cards.jsonl")
    photos.add_argument("--out", type=Path, required=True, help="folder for the photos and truth.jsonl")
    photos.add_argument("-n", type=positive_int, default=20, help="number of photos (default 20)")
    photos.add_argument("--cards-per-photo", type=positive_int, default=1, help="up to K cards a photo (default 1)")
    photos.add_argument("--size", type=_size, default=(1600, 1200), help="WIDTHxHEIGHT (default 1600x1200)")
    photos.add_argument("--hardness", type=_hardness, default=1.0, help="0 clean .. 1 hardest (default 1)")
    photos.add_argument("--seed", type=int, default=0, help="random seed; same seed, same photos")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.what == "cards":
        from training.cardgen import generate_gallery

        names = None
        if args.names is not None:
            names = [line.strip() for line in args.names.read_text(encoding="utf-8").splitlines() if line.strip()]
            if not names:
                print(f"cardsight synth: {args.names} holds no names", file=sys.stderr)
                return 2
        listing = generate_gallery(args.out, args.n, seed=args.seed, names=names,
                                   hard_negative_fraction=args.hard_negative_fraction)
        print(f"wrote {args.n} cards to {listing}")
        return 0
    from training.photoset import write_photo_set

    truth = write_photo_set(args.gallery, args.out, args.n, cards_per_photo=args.cards_per_photo,
                            size=args.size, hardness=args.hardness, seed=args.seed)
    print(f"wrote {args.n} photos and {truth}")
    return 0
