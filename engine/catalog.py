"""The card catalog: one SQLite row per gallery entry (a printing's face image).

Row ids are the ids the Faiss index returns, so a search hit is one primary-key lookup. The
catalog is read-only at serve time; it is opened with `immutable=1` so readers in several
threads never take locks. A card's details (prices, legality, rules text) live in the ``extra``
JSON column under ``details``, so catalogs written before they existed still load, without them.
"""

from __future__ import annotations

import difflib
import json
import re
import sqlite3
import threading
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from engine.types import CardDetails, CardMatch

COLUMNS = (
    "card_id", "face", "oracle_id", "name", "card_name", "set_code", "set_name",
    "collector_number", "rarity", "lang", "layout", "scryfall_uri", "image_uri",
    "released_at", "variant",
)

SCHEMA = f"""
CREATE TABLE entries (
    row_id INTEGER PRIMARY KEY,
    {", ".join(f"{c} TEXT" if c != "face" else "face INTEGER NOT NULL DEFAULT 0" for c in COLUMNS)},
    extra TEXT
);
CREATE INDEX entries_card ON entries(card_id, face);
CREATE INDEX entries_name ON entries(name);
"""


@dataclass(frozen=True)
class CatalogEntry:
    """Catalog fields of one gallery entry, as given to `write_catalog`."""

    card_id: str
    name: str
    set_code: str
    collector_number: str
    scryfall_uri: str
    face: int = 0
    oracle_id: str | None = None
    card_name: str | None = None
    set_name: str | None = None
    rarity: str | None = None
    lang: str | None = None
    layout: str | None = None
    image_uri: str | None = None
    released_at: str | None = None
    variant: str | None = None
    details: CardDetails | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def extra_json(self) -> str | None:
        extra = {**self.extra, **({"details": self.details.to_json()} if self.details else {})}
        return json.dumps(extra) if extra else None


def write_catalog(path: Path, entries: Iterable[CatalogEntry]) -> int:
    """Write entries with row ids 0..n-1 in the given order (the index's order)."""
    con = sqlite3.connect(path)
    try:
        con.executescript(SCHEMA)
        rows = (
            (i, *(getattr(e, c) for c in COLUMNS), e.extra_json())
            for i, e in enumerate(entries)
        )
        con.executemany(
            f"INSERT INTO entries VALUES (?, {', '.join('?' for _ in COLUMNS)}, ?)", rows
        )
        con.commit()
        (count,) = con.execute("SELECT COUNT(*) FROM entries").fetchone()
        return int(count)
    finally:
        con.close()


# Letters NFKD does not decompose into ASCII; without these "Æther Vial" would become "ther vial".
_TRANSLITERATE = str.maketrans({"æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ß": "ss",
                                "ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "ł": "l", "Ł": "L",
                                "þ": "th", "Þ": "TH"})


def normalise_name(name: str) -> str:
    """Case-, accent- and punctuation-blind form, so "Jace, the Mind Sculptor" ≈ "jace mind sculptor"."""
    text = unicodedata.normalize("NFKD", name.translate(_TRANSLITERATE))
    text = text.encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", " ", text).strip()


class Catalog:
    def __init__(self, path: Path) -> None:
        # as_uri() percent-encodes the path: a folder named "C# cards" must not end the URI.
        uri = f"{Path(path).resolve().as_uri()}?mode=ro&immutable=1"
        self._con = sqlite3.connect(uri, uri=True, check_same_thread=False)
        self._lock = threading.Lock()
        rows = self._con.execute("SELECT row_id, name FROM entries ORDER BY row_id").fetchall()
        self.size = len(rows)
        # One representative row per normalised name (the first, i.e. the earliest indexed).
        self._by_name: dict[str, int] = {}
        for row_id, name in rows:
            self._by_name.setdefault(normalise_name(name), row_id)
        self._names = list(self._by_name)

    def close(self) -> None:
        self._con.close()

    def names(self) -> list[str]:
        """Every distinct card name, as printed (for reading titles)."""
        with self._lock:
            return [name for (name,) in self._con.execute("SELECT DISTINCT name FROM entries")]

    def matches(self, row_ids: Sequence[int], scores: Sequence[float]) -> list[CardMatch]:
        with self._lock:
            placeholders = ", ".join("?" for _ in row_ids)
            rows = self._con.execute(
                f"SELECT row_id, card_id, face, oracle_id, name, set_code, set_name,"
                f" collector_number, scryfall_uri, image_uri, extra FROM entries"
                f" WHERE row_id IN ({placeholders})",
                [int(r) for r in row_ids],
            ).fetchall()
        by_id = {r[0]: r for r in rows}
        out = []
        for row_id, score in zip(row_ids, scores):
            r = by_id.get(int(row_id))
            if r is not None:
                out.append(_match(r, float(score)))
        return out

    def by_card_id(self, card_id: str) -> CardMatch | None:
        """Accepts ``<id>`` or ``<id>:<face>`` (the form alternatives are referred to by)."""
        base, _, face = card_id.partition(":")
        with self._lock:
            row = self._con.execute(
                "SELECT row_id, card_id, face, oracle_id, name, set_code, set_name,"
                " collector_number, scryfall_uri, image_uri, extra FROM entries"
                " WHERE card_id = ? AND face = ? LIMIT 1",
                (base, int(face) if face.isdigit() else 0),
            ).fetchone()
        return _match(row, 1.0) if row else None

    def lookup(self, query: str, limit: int = 5, set_code: str | None = None) -> list[CardMatch]:
        """Fuzzy name lookup: exact, then prefix, then word-contained, then close spellings.

        With `set_code` (Scryfall's ``[[name|SET]]``), the printings of the best-matching name
        in that set instead; none when that name has no printing there.
        """
        if set_code:
            best = self.lookup(query, 1)
            return self._printings(best[0], set_code, limit) if best else []
        q = normalise_name(query)
        if not q:
            return []
        scored: dict[str, float] = {}
        if q in self._by_name:
            scored[q] = 1.0
        for name in self._names:
            if len(scored) >= limit * 4:
                break
            if name != q and name.startswith(q):
                scored.setdefault(name, 0.9)
        if len(scored) < limit:
            for name in self._names:
                if q in name and name not in scored:
                    scored[name] = 0.8
                    if len(scored) >= limit * 4:
                        break
        if len(scored) < limit:
            for name in difflib.get_close_matches(q, self._names, n=limit, cutoff=0.6):
                if name not in scored:
                    scored[name] = round(difflib.SequenceMatcher(None, q, name).ratio() * 0.8, 3)
        best = sorted(scored.items(), key=lambda kv: (-kv[1], len(kv[0])))[:limit]
        return self.matches([self._by_name[n] for n, _ in best], [s for _, s in best])

    def _printings(self, named: CardMatch, set_code: str, limit: int) -> list[CardMatch]:
        with self._lock:
            rows = self._con.execute(
                "SELECT row_id FROM entries WHERE name = ? AND lower(set_code) = lower(?)"
                " ORDER BY face, length(collector_number), collector_number LIMIT ?",
                (named.name, set_code.strip(), limit),
            ).fetchall()
        return self.matches([r[0] for r in rows], [named.score] * len(rows))


def _details(extra: str | None) -> CardDetails | None:
    if not extra:
        return None
    try:
        data = json.loads(extra)
    except ValueError:
        return None
    return CardDetails.from_json(data.get("details")) if isinstance(data, dict) else None


def _match(row: tuple, score: float) -> CardMatch:
    _, card_id, face, oracle_id, name, set_code, set_name, number, uri, image_uri, extra = row
    return CardMatch(
        card_id=card_id, name=name, set=set_code, set_name=set_name, collector_number=number,
        scryfall_uri=uri, image_uri=image_uri, score=score, oracle_id=oracle_id, face=int(face),
        details=_details(extra),
    )
