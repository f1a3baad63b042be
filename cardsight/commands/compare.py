"""`cardsight compare A B`: are two images the same card? Distance and verdict, and with
`--explain` a picture of where they agree."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("compare", help="are two card photos/scans the same card?")
    p.add_argument("a", type=Path, help="first card photo or scan")
    p.add_argument("b", type=Path, help="second card photo or scan")
    p.add_argument("--artifacts", type=Path, help="artifact set whose model is used (default: [engine].artifacts)")
    p.add_argument("--explain", type=Path, metavar="OUT.png",
                   help="write A's crop tinted where it agrees (green) and differs (red) from B "
                   "(engine/explain.py)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from engine.runtime import configure

    configure()  # before the engine's libraries load: see engine/runtime.py
    import numpy as np

    from configuration import load_section
    from engine.colour_layout import fuse, layout, signatures, similarity as layout_similarity
    from engine.errors import ImageError
    from engine.recognizer import Recognizer
    from engine.settings import EngineSettings

    settings = load_section("engine", EngineSettings)
    recognizer = Recognizer.load(args.artifacts, settings)
    try:
        crops = []
        for path in (args.a, args.b):
            found, _ = recognizer.analyse(path.read_bytes())
            if not found:
                raise ImageError(f"{path}: no card found")
            crops.append(found[0].crop)
        a, b = crops
        vectors = recognizer.embed_crops([a, b, np.ascontiguousarray(b[::-1, ::-1])])
        similarity = float(max(vectors[0] @ vectors[1], vectors[0] @ vectors[2]))
        if recognizer.layouts is not None:  # on the scale the set's threshold was fitted on
            similarity = float(fuse(similarity, layout_similarity(layout(a), signatures(layout(b)[None]))[0],
                                    recognizer.layouts.settings.weight))
        threshold = same_card_threshold(recognizer)
        verdict = "same card" if similarity >= threshold else "different cards"
        print(f"similarity {similarity:.3f} (distance {1 - similarity:.3f}): {verdict} "
              f"(threshold {threshold:.3f})")
        if args.explain:
            from engine.explain import agreement_map, image_signature, overlay, png

            args.explain.write_bytes(png(overlay(a, agreement_map(a, image_signature(b)))))
            print(f"explanation: {args.explain}")
        return 0
    finally:
        recognizer.close()


def same_card_threshold(recognizer) -> float:
    """The threshold fitted with the calibration; sets built before it existed fall back to
    the top score at which confidence reaches one half with a clear margin."""
    cal = recognizer.calibrator
    if cal.same_card_threshold is not None:
        return cal.same_card_threshold
    if cal.w_top <= 0:
        return 0.8
    return float(min(0.99, max(0.0, -(cal.bias + cal.w_margin * 0.05) / cal.w_top)))
