"""Reads the name printed in a card's title bar: a check the embedding can't make alone.

Why: a card missing from the gallery shares frame, era and often colours with its nearest
reference, so the embedding, the colour layout and even the art box can all rate a wrong name
well. The printed name can't: a title that reads as another name is the plainest sign that the
top match is a neighbour, and a title that reads as the top name confirms it even when blur or
glare leaves the art in doubt. It is also the only way to name a card whose art is covered by
other cards (deck columns, binder sleeves).

The reader is rapidocr's PP-OCR text-line recogniser (its ONNX model ships in the wheel and
runs in ONNX Runtime, offline); its text detector is skipped, since on a warped card the title
bar's place is known. The strip is warped straight from the decoded photo, not cut from the
embedder's 160×224 crop, whose title is ~15 px tall and unreadable under blur.
"""

from __future__ import annotations

import threading
from typing import Iterable, NamedTuple

import cv2
import numpy as np
from rapidfuzz import fuzz, process

from engine.catalog import normalise_name

TITLE_ROWS = (0.035, 0.105)
"""Top and bottom of the title text as shares of the card's height: the name line of the
modern (2003, M15) frames and of the 1993 frame alike, with room for a tilt of a degree or two."""

TITLE_COLUMNS = (0.06, 0.80)
"""Left edge of the name to where the mana cost usually starts: the cost's symbols would read
as stray letters, and names rarely run past 80% of the width."""

STRIP_HEIGHT = 48
"""The recogniser's input height (PP-OCR rec models): the strip is warped to it directly."""

MIN_LETTERS = 3
"""A reading with fewer letters is no reading: blur and frame edges come out as a letter or two."""

MIN_SCORE = 0.5
"""The recogniser's own confidence under which a reading is dropped: art and blur read as
strings of letters ("RINIENSPIN" 0.43, "HES" 0.31) that would vote against every name."""

PREFIX_LETTERS = 5
"""A reading this long that spells the start of a name agrees with it: long names are cut by
the strip's right edge or by the card above ("Kaito" for "Kaito, Bane of Nightmares")."""


def strip_corners(quad: np.ndarray, turned: bool = False) -> np.ndarray:
    """The title strip's four corners (TL, TR, BR, BL) in the photo, from the card's outline.

    `quad` is the card's outline TL, TR, BR, BL as the detector reports it; `turned` says the
    card lies upside down in that reading (its title at the outline's bottom edge).
    """
    quad = np.asarray(quad, np.float32).reshape(4, 2)
    if turned:
        quad = quad[[2, 3, 0, 1]]
    tl, tr, br, bl = quad
    (top, bottom), (left, right) = TITLE_ROWS, TITLE_COLUMNS

    def at(u: float, v: float) -> np.ndarray:  # bilinear point of the card: u across, v down
        return (1 - v) * ((1 - u) * tl + u * tr) + v * ((1 - u) * bl + u * br)

    return np.float32([at(left, top), at(right, top), at(right, bottom), at(left, bottom)])


def warp_strip(image: np.ndarray, quad: np.ndarray, turned: bool = False) -> np.ndarray:
    """The title strip of the card at `quad`, warped from `image` to `STRIP_HEIGHT` rows.

    The width keeps the strip's aspect on a card of standard proportions (63×88 mm), so the
    letters are not squeezed whatever the photo's perspective.
    """
    corners = strip_corners(quad, turned)
    (top, bottom), (left, right) = TITLE_ROWS, TITLE_COLUMNS
    width = round(STRIP_HEIGHT * (right - left) * 63.0 / ((bottom - top) * 88.0))
    target = np.float32([[0, 0], [width, 0], [width, STRIP_HEIGHT], [0, STRIP_HEIGHT]])
    matrix = cv2.getPerspectiveTransform(corners, target)
    return cv2.warpPerspective(image, matrix, (width, STRIP_HEIGHT), flags=cv2.INTER_AREA,
                               borderMode=cv2.BORDER_REPLICATE)


def reading_key(text: str) -> str:
    """A reading in the catalog's name form, stray marks at either end dropped.

    Mana symbols and the frame's edge read as digits and punctuation at the ends; digits in
    the middle stay ("Borrowing 100,000 Arrows")."""
    key = normalise_name(text)
    return key.strip("0123456789 ")


def _faces(name: str) -> list[str]:
    """Keys a title may read as: the whole name, and each face of a two-faced card."""
    faces = [name] + (name.split(" // ") if " // " in name else [])
    return [normalise_name(f) for f in faces]


def agreement(text: str, name: str) -> float | None:
    """How well a reading spells `name` (0–1, any face of a two-faced card), or None when the
    reading has too few letters to say anything."""
    key = reading_key(text)
    letters = sum(ch.isalpha() for ch in key)
    if letters < MIN_LETTERS:
        return None
    best = 0.0
    for face in _faces(name):
        best = max(best, fuzz.ratio(key, face))
        if letters >= PREFIX_LETTERS and len(key) < len(face):
            best = max(best, fuzz.ratio(key, face[: len(key)]))
    return best / 100.0


AGREES, DISAGREES = 0.8, 0.5
"""Agreement at or above which a reading votes +1 for a name, at or below which it votes −1.
OCR slips ("Srizzly Bears", "Vesuvan Doppeiganger") stay above 0.8; two different names of
similar length agree 0.2–0.5."""

CLEAR_READING = 0.9
"""Recogniser confidence at which a reading's words are taken as printed. Of 80 such readings
of rightly named cards (simulated photos at full hardness, 2026-12-07), every word of four or
more letters spelt a word of the name at `WORD_AGREES` or better ("Interoal Phantom",
"lent Hallereeper", "FolyStrength"); the reading "Enduring Tenacity" of a card missing from
the gallery agrees 0.74 with "Enduring Curiosity" as a whole, but its "Tenacity" spells no
word of that name (0.47)."""

WORD_AGREES = 0.7
"""Similarity at which a read word spells a word of the name (`fuzz.ratio`, 0–1)."""


class Reading(NamedTuple):
    """What the recogniser read in a title strip and its confidence (0–1; 0 for no text)."""

    text: str
    score: float


def foreign_word(text: str, name: str) -> bool:
    """Whether the reading has a word of four or more letters that spells no word of `name`
    (of any face): a clear reading of another name that shares the rest ("Enduring ...")."""
    name_words = normalise_name(name).replace("/", " ").split()
    for word in reading_key(text).split():
        if sum(ch.isalpha() for ch in word) >= 4 and not any(
                fuzz.ratio(word, w) >= 100 * WORD_AGREES for w in name_words):
            return True
    return False


def title_vote(reading: Reading, name: str) -> float:
    """The calibrator's title signal: +1 the reading spells `name`, −1 another name, linear in
    between, 0 when nothing legible was read. A clear reading (`CLEAR_READING`) with a word
    the name lacks votes −1 whatever the whole's agreement: a recogniser that sure does not
    invent a word, so the card bears another name."""
    agrees = agreement(reading.text, name)
    if agrees is None:
        return 0.0
    if reading.score >= CLEAR_READING and foreign_word(reading.text, name):
        return -1.0
    return float(np.clip(2 * (agrees - DISAGREES) / (AGREES - DISAGREES) - 1, -1.0, 1.0))


class TitleReader:
    """One OCR session and the catalog's names, for reading titles and matching them by name.

    The session is built on first use (model loading takes ~0.3 s) and is not thread-safe, so
    calls are serialised; the engine calls it from its one worker thread anyway.
    """

    def __init__(self, names: Iterable[str] = (), threads: int = 1) -> None:
        self._threads = threads
        self._engine = None
        self._lock = threading.Lock()
        self._by_key: dict[str, str] = {}
        for name in names:
            for key in _faces(name):
                self._by_key.setdefault(key, name)
        self._keys = list(self._by_key)

    def _ocr(self):  # type: ignore[no-untyped-def]
        if self._engine is None:
            from rapidocr import RapidOCR  # loads its config and models: only when first read

            self._engine = RapidOCR(params={
                "Global.log_level": "error",
                "Global.use_det": False,
                "Global.use_cls": False,
                "EngineConfig.onnxruntime.intra_op_num_threads": self._threads,
                "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            })
        return self._engine

    def read(self, strip: np.ndarray) -> Reading:
        """The text of one title strip (RGB, any width; `warp_strip` makes one) and the
        recogniser's confidence in it (its lowest over the parts kept); "" if nothing was read
        with a confidence of at least `MIN_SCORE`."""
        bgr = np.ascontiguousarray(strip[:, :, ::-1])
        with self._lock:
            out = self._ocr()(bgr, use_det=False, use_cls=False, use_rec=True)
        kept = [(t, float(score)) for t, score in zip(out.txts or (), out.scores or ()) if t and score >= MIN_SCORE]
        text = " ".join(t for t, _ in kept).strip()
        return Reading(text, min(score for _, score in kept) if text else 0.0)

    def match(self, text: str, limit: int = 5) -> list[tuple[str, float]]:
        """Catalog names the reading may spell, best first, with a 0–1 similarity."""
        key = reading_key(text)
        if sum(ch.isalpha() for ch in key) < MIN_LETTERS or not self._keys:
            return []
        found = process.extract(key, self._keys, scorer=fuzz.ratio, limit=limit * 2)
        best: dict[str, float] = {}
        for found_key, score, _ in found:
            name = self._by_key[found_key]
            best[name] = max(best.get(name, 0.0), score / 100.0)
        return sorted(best.items(), key=lambda kv: -kv[1])[:limit]

