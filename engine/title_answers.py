"""Naming covered cards by their printed title alone.

In a cascaded deck column only the last card lies open; the others show their title bar and
little else, so the embedding has nothing to match. `engine.title_strips` finds those bars above
each answered card, `engine.title_read` reads each one and fuzzy-matches the reading against the
catalog's names, and this module turns a reading into an answer: a name with a confidence. The
printing can't be told from a title (every printing of a name spells it alike), so the answer
carries a representative printing flagged `printing_known=False`, which replies and decklists
respect by naming the card without a set.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from typing import Callable, Iterable, Sequence

import cv2
import numpy as np

from engine.catalog import Catalog
from engine.title_read import Reading, TitleReader
from engine.title_columns import MIN_WALKED, column_strips
from engine.title_strips import letter_strokes
from engine.types import CardAnswer, CardMatch, Quad

MIN_MATCH = 0.7
"""A reading whose best name scores under this names nothing: bands of art, the frame's edge
and unreadable blur read as a few letters that only loosely spell some name. Misread but real
titles stay above 0.8 (`engine.title_read.AGREES`)."""

CONFIDENCE = (-9.0, 9.0, 8.0)
"""Logistic weights (bias, match score, margin over the second name) of a title-only answer's
confidence, set by hand rather than fitted (too few title answers yet to fit three weights):
an exact reading well clear of any other name is sure, a reading that only loosely spells its
name (score 0.7-0.85) or spells two names nearly alike (margin under ~0.15) is not. Checked on
simulated cascaded columns (bench/results/decks-2026-12-06.txt, "by title alone"): the sure
ones were right."""

LETTERING_SHARE = 0.02
"""Least share of a band's pixels on a letter's stroke (`engine.title_strips.letter_strokes`) for
it to hold lettering (measured on simulated columns and spreads at 1600x1200: titles 0.03-0.27,
bands of a spread between cards mostly 0-0.006)."""

TITLE_SMOOTHING = 1.0
"""Gaussian σ, in pixels, a lettered band above a lone card is smoothed by before it is judged
worth reading (`reads_as_title`). A title's letters are ~12 px tall with strokes 2-3 px wide and
mostly keep their edges through it; sensor noise, wood grain and paper fibre lose theirs.
Unsmoothed, such ground held 2-20% stroke pixels, as many as real titles, and each band of it
above a single card was read: ~25 ms of OCR that found nothing, on 5 of service_load's 24
single-card photos. Smoothed, that ground held 0-0.8% (simulated photos at full hardness,
2026-12-07). It is not asked of bands above cards with others beside them (columns, piles):
the thin 1993-frame titles of a 12 MP photo's half-size decode fall to 1.5-1.9% under it, and
two that read as their names on simulated columns would have been skipped."""
TITLE_COLUMNS = 0.12
"""Least share of a band's columns holding a stroke (smoothed) in its middle rows for it to be
read above a lone card: a name's letters spread over a fifth to all of its line; the few long
lines of ruled or squared paper crossing a band cover 7-9% of it, with as many stroke pixels as
a faint title."""

BLANK_BANDS = 2
"""Bands without lettering in a row that end a column's reading: above a card of a spread or a
binder page lies table or another card's art, never a title, and reading those bands would cost
~50 ms each for nothing; one such band inside a cascade is an edge of a card's art taken for a
card's top, and the titles above it still count."""

UNREAD_BANDS = 3
"""Bands in a row with lettering that read as no card's name that end a column's reading too:
on text-like ground (a printed mat, a page, a patterned cloth) every band above a lone card
passes for lettering, and a single-card photo read 14 of them, ~0.5 s of a 0.55 s answer, for
nothing (service_load's photo 12, 2026-12-07). In a real cascade about half the titles read as
no name (blur, glare), so the limit is one band more than for bands without lettering. Above a
lone card (a photo of one card, the common case) `LONE_UNREAD_BANDS` end it: a pile's titles
there are few, and a band of text-like ground costs ~35 ms of a ~40 ms answer."""
LONE_UNREAD_BANDS = 2
CASCADE_UNREAD_BANDS = 6
"""The limit instead, for a column in which a band has named another card: it is a cascade, not
text-like ground, and at full hardness most of its titles read as no name (bench/column_losses.py:
25 of 382 covered cards' titles read right lay above 3 unread bands in a row, 2026-12-07)."""

DUPLICATE_STEP = 0.08
"""Card heights within which two answers of one name are one card, read twice: a band showing more
than ~0.19 of its card holds the line under its title bar a step's length above the next card, and
the walk takes it for a card's top; the name read from there is the one above it, placed where it
was read (`engine.title_strips.NAME_MIDDLE`), so both readings put the card in one place (to within
~0.06). Two copies of a card lie a cascade's step (0.09 or more) apart."""

SURE_LETTERS, SURE_READING = 5, 0.65
"""Fewest letters, and least recogniser confidence, of a reading that can make its answer sure: a
few letters cut from a longer title, read unsure of themselves, spell a short name well ("ear",
0.54, scores 0.86 for "Fear"; "the He", 0.59, 0.86 for "The Hive": simulated columns,
2026-12-07, both wrong). Right readings that were sure read at 0.72 or more."""

RIVALS = 3
"""Other names a reading may spell that an unsure answer offers as alternatives."""

CLEAR_MATCH = 0.9
"""Least similarity to a catalog name of a clear reading (`_legible`) of an open card's own title
for it to name the card where the art left the answer unsure under another name
(`named_by_title`). A misreading of the right name scored 0.94 ("Infernal Phintom"); an
absent card's title spells its nearest catalog name 0.74 ("Enduring Tenacity" against "Enduring
Curiosity"). On 900 simulated single-card photos of the 708 scans at full hardness (2026-12-07),
5 of the 54 unsure answers had such a reading of another name at one end or the other (4 at the
end the colour layout points to, the one serving reads), each the card's own."""


def title_confidence(score: float, margin: float) -> float:
    """Calibrated chance that a reading scoring `score` (0-1) for its best name, `margin` above
    the next name, names the card rightly."""
    bias, w_score, w_margin = CONFIDENCE
    return 1.0 / (1.0 + math.exp(-(bias + w_score * score + w_margin * margin)))


def covered_cards(image: np.ndarray, open_quads: Sequence[np.ndarray], scale: float, reader: TitleReader,
                  catalog: Catalog, unsure_below: float,
                  sharper: Callable[[], tuple[np.ndarray, float]] | None = None,
                  open_names: Sequence[str] = ()) -> list[CardAnswer]:
    """Answers by name for the covered cards whose title bars show above the open cards.

    `image` is the decoded photo and `open_quads` the answered cards' outlines in its pixels
    (TL, TR, BR, BL); `scale` maps original-photo pixels to decoded ones. Each answer's quad is
    the covered card's whole outline in original pixels, where the card lies under the others.
    `sharper` gives the photo decoded with more pixels (and its scale), asked for only where a
    column holds two or more bands with lettering: its titles are then found and read from it.
    `open_names` are the open cards' names (as `open_quads`): the first band above an open card
    that reads as its own name is that card's title bar, left out of an outline detection cut
    short, not another copy of it.
    A column is read from the open card up and given up at its `BLANK_BANDS`-th band without
    lettering in a row, or its `UNREAD_BANDS`-th band read as no name in a row (`CASCADE_UNREAD_BANDS`
    once one of its bands has named another card, `LONE_UNREAD_BANDS`
    above a lone card). One name read twice in one place is answered once (`DUPLICATE_STEP`).
    """
    answers: list[CardAnswer] = []
    blank: Counter[int] = Counter()  # per column: bands without lettering in a row
    unread: Counter[int] = Counter()  # per column: bands with lettering read as no name in a row
    quads = [np.asarray(q, np.float64) for q in open_quads]
    lone = len(quads) == 1
    unread_limit = LONE_UNREAD_BANDS if lone else UNREAD_BANDS
    strips = column_strips(image, quads)
    lettering = [has_lettering(s.crop) for s in strips]
    lettered = Counter(s.below for s, letters in zip(strips, lettering) if letters)
    if sharper is not None and max(lettered.values(), default=0) >= MIN_WALKED:
        image, sharp_scale = sharper()  # a column of covered cards: read their titles from more pixels
        if sharp_scale != scale:
            strips = column_strips(image, [q * sharp_scale / scale for q in quads])
            lettering = [has_lettering(s.crop) for s in strips]
            scale = sharp_scale
    first = set(range(len(open_names)))  # columns whose first band above the open card is still to come
    cascades: set[int] = set()  # columns in which a band has named another card
    for strip, letters in zip(strips, lettering):
        own = open_names[strip.below] if strip.below in first else None
        first.discard(strip.below)
        limit = CASCADE_UNREAD_BANDS if strip.below in cascades else unread_limit
        if blank[strip.below] >= BLANK_BANDS or unread[strip.below] >= limit:
            continue
        blank[strip.below] = 0 if letters else blank[strip.below] + 1
        if blank[strip.below]:
            continue
        if lone and not reads_as_title(strip.crop):  # text-like ground above a single card
            unread[strip.below] += 1
            continue
        reading = reader.read(strip.crop)
        ranked = reader.match(reading.text, RIVALS + 1)
        if not ranked or ranked[0][1] < MIN_MATCH:
            unread[strip.below] += 1
            continue
        unread[strip.below] = 0
        (_, score), rest = ranked[0], ranked[1:]
        printings = [catalog.lookup(n, 1) for n, _ in ranked]
        if not printings[0]:
            continue  # the reader's names come from this catalog; a stale reader may differ
        margin = score - (rest[0][1] if rest else 0.0)
        confidence = title_confidence(score, margin)
        quad: Quad = tuple((float(x) / scale, float(y) / scale) for x, y in strip.card)  # type: ignore[assignment]
        answer = CardAnswer(
            match=_scored(printings[0][0], score),
            confidence=confidence,
            unsure=confidence < unsure_below or not _legible(reading),
            quad=quad,
            alternatives=tuple(_scored(p[0], s) for p, (_, s) in zip(printings[1:], rest) if p),
            printing_known=False,
        )
        if answer.match.name == own:
            continue
        cascades.add(strip.below)
        same = next((i for i, other in enumerate(answers) if other.match.name == answer.match.name
                     and _tops_apart(np.asarray(other.quad), np.asarray(quad)) < DUPLICATE_STEP), None)
        if same is None:
            answers.append(answer)
        elif answer.confidence > answers[same].confidence:  # one card's name read twice: keep the better
            answers[same] = answer
    return answers


def named_by_title(readings: Iterable[Reading], reader: TitleReader, catalog: Catalog,
                   shortlist: Sequence[CardMatch], quad: Quad, unsure_below: float,
                   alternatives: int) -> CardAnswer | None:
    """An open card's answer by its title where a clear reading of it (either end) spells a
    catalog name (`CLEAR_MATCH`), else None; the art's names (`shortlist`, best first) are its
    alternatives. The printing stays unclaimed (`printing_known=False`): the art preferred
    another card, so it says nothing for the printing of this name. The representative printing
    is the shortlist's best of the name where it holds one, else the catalog's."""
    best: list[tuple[str, float]] = []
    for reading in readings:
        ranked = reader.match(reading.text, 2) if _legible(reading) else []
        if ranked and ranked[0][1] >= CLEAR_MATCH and (not best or ranked[0][1] > best[0][1]):
            best = ranked
    if not best:
        return None
    (name, score), rest = best[0], best[1:]
    printing = next((m for m in shortlist if m.name == name), None)
    if printing is None:
        printing = next(iter(catalog.lookup(name, 1)), None)
        if printing is None:
            return None  # the reader's names come from this catalog; a stale reader may differ
    confidence = title_confidence(score, score - (rest[0][1] if rest else 0.0))
    others: list[CardMatch] = []
    for match in shortlist:
        if match.name != name and all(match.name != o.name for o in others):
            others.append(match)
    return CardAnswer(match=_scored(printing, score), confidence=confidence, unsure=confidence < unsure_below,
                      quad=quad, alternatives=tuple(others[:alternatives]), printing_known=False)


def _legible(reading: Reading) -> bool:
    """Whether a reading is long and clear enough to make a sure answer (`SURE_LETTERS`)."""
    return sum(ch.isalpha() for ch in reading.text) >= SURE_LETTERS and reading.score >= SURE_READING


def _tops_apart(one: np.ndarray, other: np.ndarray) -> float:
    """How far apart two cards' top edges lie (outlines TL, TR, BR, BL), in card heights."""
    height = float(np.linalg.norm(other[3] - other[0]))
    return float(np.linalg.norm(one[:2].mean(axis=0) - other[:2].mean(axis=0))) / max(height, 1.0)


def has_lettering(text: np.ndarray) -> bool:
    """Whether a band holds letters: enough sharp vertical strokes across its middle rows.
    Table and the plain bars of a card's frame have none; a simulated title, even blurred, has
    3-27% of such pixels, a spread's bands between cards under 1%."""
    strokes = letter_strokes(text)
    rows = strokes.shape[0]
    middle = strokes[int(0.15 * rows):int(0.85 * rows)]
    return middle.size > 0 and float(middle.mean()) >= LETTERING_SHARE


def reads_as_title(text: np.ndarray) -> bool:
    """Whether a lettered band above a lone card is worth a read: its strokes survive smoothing
    at a title's scale (`TITLE_SMOOTHING`) and spread along it (`TITLE_COLUMNS`). Noise, grain
    and ruled paper pass `has_lettering` but not this; such a band still counts as one read as
    no name, so the walk ends where it did, without paying for the reads."""
    strokes = letter_strokes(cv2.GaussianBlur(text, (0, 0), TITLE_SMOOTHING))
    rows = strokes.shape[0]
    middle = strokes[int(0.15 * rows):int(0.85 * rows)]
    return (middle.size > 0 and float(middle.mean()) >= LETTERING_SHARE
            and float(middle.any(axis=0).mean()) >= TITLE_COLUMNS)


def _scored(match: CardMatch, score: float) -> CardMatch:
    """The catalog's representative printing carrying the reading's score, not lookup's."""
    return dataclasses.replace(match, score=score)
