"""`cardsight sync`: download Scryfall's card data and images into the gallery folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from configuration import load_section
from training.sync.settings import CARD_BULK_TYPES, IMAGE_SIZES, SECTION, SyncSettings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sync",
        help="download Scryfall card data and images into the gallery",
        description=(
            "Fetch Scryfall's bulk card list and every card image into the gallery folder, so "
            "`cardsight index` can build a gallery of every card. Runs are incremental: a second "
            "sync fetches only what changed. Settings: the [sync] section of cardsight.toml or "
            "CARDSIGHT_SYNC_* environment variables; the options below override them."
        ),
    )
    parser.add_argument("--gallery", type=Path, help="gallery folder (default: [sync] gallery_dir, var/gallery)")
    parser.add_argument("--bulk-type", choices=CARD_BULK_TYPES, help="which Scryfall bulk file (default unique_artwork)")
    parser.add_argument("--image-size", choices=IMAGE_SIZES, help="Scryfall image size (default normal)")
    parser.add_argument("--languages", help="comma-separated language codes to keep (default en)")
    parser.add_argument("--sets", help="comma-separated set codes to keep (default: all sets)")
    parser.add_argument("--dry-run", action="store_true", help="print what a sync would change, fetch no images")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars (logs and summary only)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import asyncio

    from training.sync.errors import SyncError
    from training.sync.run import run_sync

    settings = load_section(
        SECTION,
        SyncSettings,
        gallery_dir=args.gallery,
        bulk_type=args.bulk_type,
        image_size=args.image_size,
        languages=args.languages,
        sets=args.sets,
    )
    try:
        summary = asyncio.run(
            run_sync(settings, dry_run=args.dry_run, progress=not args.no_progress and sys.stderr.isatty())
        )
    except SyncError as exc:
        print(f"cardsight sync: {exc}", file=sys.stderr)
        return 2
    print(summary.render())
    return 0 if summary.ok else 1
