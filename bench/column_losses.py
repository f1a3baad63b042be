"""Where cascaded columns' covered cards are lost: not found, not read, misread or not answered.

Runs the photos of bench/decks.py's "cascaded columns" scene (same seeds) through `identify`, then,
for each covered card, finds the strip `engine.title_columns.column_strips` cuts over its title
above the cards the engine answered and reads it as `engine.title_answers` does, so the named share
splits by cause. A strip read as no name is read again as cut at the card's true outline: whether
the lettering or the strip's place lost it. Strips are cut from the upload decoded whole (12 MP: at
4000 px, not the 2000 px serving reads them from), so a 12 MP photo's read losses are a little lower
than served. Run from the repo root:

    .venv/bin/python -m bench.column_losses --artifacts var/decks/artifacts [--photos 8]
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import cv2
import numpy as np

from bench.decks import SCENES, SIZES, pair_answers
from bench.paths import SHARED, shared_help
from engine.quad import quad_holds
from engine.recognizer import Recognizer
from engine.runtime import configure
from engine.settings import EngineSettings
from engine.title_answers import MIN_MATCH, has_lettering
from engine.title_columns import column_strips
from engine.title_read import warp_strip
from training.evaluate import VISIBLE_ENOUGH, simulated_queries
from training.gallery import read_gallery
from training.photosim import PhotoSimConfig

TITLE_MIDDLE = 0.07
"""Of a card's height under its top edge: the middle of its name, the point a strip must hold."""


def main() -> int:
    configure()
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--artifacts", type=Path, required=True, help="set built from --gallery")
    p.add_argument("--gallery", type=Path, default=SHARED, help=shared_help("real scans"))
    p.add_argument("--photos", type=int, default=8)
    p.add_argument("--seed", type=int, default=11, help="bench/decks.py's --seed")
    args = p.parse_args()
    items = read_gallery(args.gallery)
    rec = Recognizer.load(args.artifacts, EngineSettings())
    n = next(i for i, (_, scene, _) in enumerate(SCENES) if scene == "columns")
    cards = SCENES[n][2]
    try:
        for k, (size_name, size) in enumerate(SIZES.items()):
            sim = PhotoSimConfig(size=size, max_cards=cards, scene="columns")
            losses = Counter(cause for query in simulated_queries(
                items, args.photos, seed=args.seed + 10 * n + k, sim=sim, cards_per_photo=cards)
                for cause in _losses(rec, query))
            total = sum(losses.values())
            print(f"\n## covered cards of cascaded columns, {size_name}: {total} cards")
            for cause, count in losses.most_common():
                print(f"{cause:>44}: {count:4d}  {count / total:6.1%}")
    finally:
        rec.close()
    return 0


def _losses(rec: Recognizer, query) -> list[str]:  # type: ignore[no-untyped-def]
    """Each covered card's fate in one photo, most final first."""
    ident = rec.identify(query.data)
    pairs = pair_answers(ident.cards, query.cards)
    image = cv2.cvtColor(cv2.imdecode(np.frombuffer(query.data, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    strips = column_strips(image, [np.asarray(a.quad, np.float64) for a in ident.cards if a.printing_known])
    out = []
    for truth, j in zip(query.cards, pairs):
        if truth.visible >= VISIBLE_ENOUGH:
            continue
        if j is not None and ident.cards[j].match.name == truth.name:
            out.append("named")
            continue
        title = truth.quad[:2].mean(axis=0) + TITLE_MIDDLE * (truth.quad[3] - truth.quad[0])
        strip = next((s for s in strips if quad_holds(s.quad, title)), None)
        if strip is None:
            out.append("no strip over its title")
        elif not has_lettering(strip.crop):
            out.append("strip without lettering")
        else:
            ranked = rec.titles.match(rec.titles.read(strip.crop).text, 2) if rec.titles else []
            if not ranked or ranked[0][1] < MIN_MATCH:
                out.append("read as no name, " + ("but read right at its true outline" if _reads_right(
                    rec, warp_strip(image, truth.quad.astype(np.float32)), truth.name) else "nor at its true outline"))
            elif ranked[0][0] != truth.name:
                out.append("read as another name")
            else:
                out.append("read right, not answered (column ended, placed off)")
    return out


def _reads_right(rec: Recognizer, strip: np.ndarray, name: str) -> bool:
    """Whether the title reader names a strip `name`: for a title cut where the card truly lies,
    what the reader makes of the lettering when the strip's place is not in question."""
    ranked = rec.titles.match(rec.titles.read(strip).text, 1) if rec.titles else []
    return bool(ranked) and ranked[0][1] >= MIN_MATCH and ranked[0][0] == name


if __name__ == "__main__":
    raise SystemExit(main())
