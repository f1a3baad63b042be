"""`cardsight identify`: name the cards in photos from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("identify", help="name the cards in one or more photos")
    p.add_argument("photos", type=Path, nargs="+", metavar="PHOTO",
                   help="image files; each is answered on its own, a bad one does not stop the rest")
    p.add_argument("--artifacts", type=Path, help="artifact set (default: [engine].artifacts)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from engine.runtime import configure

    configure()  # before the engine's libraries load: see engine/runtime.py
    from configuration import load_section
    from engine.errors import RecognizerError
    from engine.recognizer import Recognizer
    from engine.settings import EngineSettings

    settings = load_section("engine", EngineSettings)
    recognizer = Recognizer.load(args.artifacts, settings)
    failures = 0
    try:
        for photo in args.photos:
            try:
                result = recognizer.identify(photo.read_bytes())
            except (OSError, RecognizerError) as exc:
                failures += 1
                message = getattr(exc, "user_message", None) or str(exc)
                if args.json:
                    print(json.dumps({"photo": str(photo), "error": getattr(exc, "code", "io"),
                                      "message": message}))
                else:
                    print(f"{photo}: {message}", file=sys.stderr)
                continue
            if args.json:
                print(json.dumps({"photo": str(photo), **result.to_json()}))
            else:
                print(format_text(str(photo), result))
    finally:
        recognizer.close()
    return 1 if failures else 0


def format_text(label: str, result) -> str:
    if not result.cards:
        return f"{label}: no card found"
    lines = [f"{label}: {len(result.cards)} card(s) in {result.timings_ms.get('total', 0):.0f} ms"]
    for card in result.cards:
        m = card.match
        verdict = "not sure, maybe " if card.unsure else ""
        lines.append(
            f"  {verdict}{m.name} [{m.set.upper()} #{m.collector_number}] "
            f"{card.confidence:.0%}  {m.scryfall_uri}"
        )
        if card.unsure:
            others = ", ".join(a.name for a in card.alternatives[:3])
            lines.append(f"    other candidates: {others}")
    return "\n".join(lines)
