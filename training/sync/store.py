"""The sync's SQLite catalog: every gallery card with the fields replies need, and sync state.

Ingesting a bulk file happens inside one transaction, so a sync killed half-way through the
card list leaves the previous catalog intact, and a dry run can ingest for real, count what
changed, and roll back. Cards carry the number of the ingest that last saw them; those not
seen by a complete ingest have left Scryfall's list (or the filters) and are removed.

Per face the catalog keeps two URLs: ``image_uri``, what Scryfall serves now, and
``stored_uri``, what the file at ``image_path`` was fetched from. They differ while a new scan
is still to be fetched; until then the old file stays in the gallery.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal

from training.sync.records import Card

SCHEMA_VERSION = 2
"""2 added the faces' rules text (type line, mana cost, oracle text) for replies' "Details"."""
SCHEMA = """
CREATE TABLE IF NOT EXISTS cards (
    id TEXT PRIMARY KEY,
    oracle_id TEXT,
    illustration_id TEXT,
    name TEXT NOT NULL,
    set_code TEXT NOT NULL,
    set_name TEXT NOT NULL,
    set_type TEXT NOT NULL,
    collector_number TEXT NOT NULL,
    rarity TEXT NOT NULL,
    lang TEXT NOT NULL,
    layout TEXT NOT NULL,
    variant TEXT NOT NULL,
    released_at TEXT NOT NULL,
    scryfall_uri TEXT NOT NULL,
    digital INTEGER NOT NULL,
    image_status TEXT NOT NULL,
    prices TEXT NOT NULL,
    legalities TEXT NOT NULL,
    data_hash TEXT NOT NULL,
    seen_in INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS faces (
    card_id TEXT NOT NULL REFERENCES cards(id) ON DELETE CASCADE,
    face INTEGER NOT NULL,
    name TEXT NOT NULL,
    oracle_id TEXT,
    illustration_id TEXT,
    image_uri TEXT NOT NULL,
    image_path TEXT,
    stored_uri TEXT,
    type_line TEXT NOT NULL DEFAULT '',
    mana_cost TEXT NOT NULL DEFAULT '',
    oracle_text TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (card_id, face)
);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

Change = Literal["new", "updated", "unchanged"]


def _card_hash(card: Card) -> str:
    return hashlib.sha1(json.dumps(asdict(card), sort_keys=True, default=str).encode()).hexdigest()


class CatalogStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Autocommit mode: transactions are explicit (`ingest_transaction`), single updates commit alone.
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise RuntimeError(f"{path}: catalog schema {version} is newer than this cardsight ({SCHEMA_VERSION})")
        self._db.executescript(SCHEMA)
        if version == 1:
            self._add_rules_columns()
        self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def _add_rules_columns(self) -> None:
        """Schema 1 → 2; forgetting the bulk file's date makes the next sync read the card list
        again (instead of skipping an unchanged one), which fills the new columns in."""
        for column in ("type_line", "mana_cost", "oracle_text"):
            self._db.execute(f"ALTER TABLE faces ADD COLUMN {column} TEXT NOT NULL DEFAULT ''")
        self._db.execute("DELETE FROM state WHERE key = 'bulk_updated_at'")

    def close(self) -> None:
        self._db.close()

    # -- state ---------------------------------------------------------------------------

    def get_state(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def set_state(self, key: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    # -- ingest --------------------------------------------------------------------------

    def begin_ingest(self) -> int:
        """Open the ingest transaction; returns the ingest number that marks cards as seen."""
        self._db.execute("BEGIN IMMEDIATE")
        generation = int(self.get_state("generation") or 0) + 1
        self.set_state("generation", str(generation))
        return generation

    def commit(self) -> None:
        self._db.execute("COMMIT")

    def rollback(self) -> None:
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")

    def upsert(self, card: Card, generation: int) -> Change:
        digest = _card_hash(card)
        row = self._db.execute("SELECT data_hash FROM cards WHERE id = ?", (card.id,)).fetchone()
        if row is not None and row[0] == digest:
            self._db.execute("UPDATE cards SET seen_in = ? WHERE id = ?", (generation, card.id))
            return "unchanged"
        self._db.execute(
            """INSERT INTO cards (id, oracle_id, illustration_id, name, set_code, set_name, set_type,
                   collector_number, rarity, lang, layout, variant, released_at, scryfall_uri, digital,
                   image_status, prices, legalities, data_hash, seen_in)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT(id) DO UPDATE SET
                   oracle_id = excluded.oracle_id, illustration_id = excluded.illustration_id,
                   name = excluded.name, set_code = excluded.set_code, set_name = excluded.set_name,
                   set_type = excluded.set_type, collector_number = excluded.collector_number,
                   rarity = excluded.rarity, lang = excluded.lang, layout = excluded.layout,
                   variant = excluded.variant,
                   released_at = excluded.released_at, scryfall_uri = excluded.scryfall_uri,
                   digital = excluded.digital, image_status = excluded.image_status,
                   prices = excluded.prices, legalities = excluded.legalities,
                   data_hash = excluded.data_hash, seen_in = excluded.seen_in""",
            (
                card.id, card.oracle_id, card.illustration_id, card.name, card.set, card.set_name,
                card.set_type, card.collector_number, card.rarity, card.lang, card.layout,
                card.variant, card.released_at, card.scryfall_uri, int(card.digital), card.image_status,
                json.dumps(card.prices), json.dumps(card.legalities), digest, generation,
            ),
        )
        for face in card.faces:
            self._db.execute(
                """INSERT INTO faces (card_id, face, name, oracle_id, illustration_id, image_uri,
                                      type_line, mana_cost, oracle_text)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT(card_id, face) DO UPDATE SET
                       name = excluded.name, oracle_id = excluded.oracle_id,
                       illustration_id = excluded.illustration_id, image_uri = excluded.image_uri,
                       type_line = excluded.type_line, mana_cost = excluded.mana_cost,
                       oracle_text = excluded.oracle_text""",
                (card.id, face.face, face.name, face.oracle_id, face.illustration_id, face.image_uri,
                 face.rules.type_line, face.rules.mana_cost, face.rules.oracle_text),
            )
        kept = [face.face for face in card.faces]
        self._db.execute(
            f"DELETE FROM faces WHERE card_id = ? AND face NOT IN ({','.join('?' * len(kept))})",
            (card.id, *kept),
        )
        return "new" if row is None else "updated"

    def remove_unseen(self, generation: int) -> int:
        """Drop cards the ingest numbered `generation` did not see; returns how many."""
        return self._db.execute("DELETE FROM cards WHERE seen_in < ?", (generation,)).rowcount

    # -- images --------------------------------------------------------------------------

    def faces(self) -> Iterator[tuple[str, int, str, str | None, str | None]]:
        """(card_id, face, image_uri, image_path, stored_uri) for every face."""
        yield from self._db.execute(
            "SELECT card_id, face, image_uri, image_path, stored_uri FROM faces ORDER BY card_id, face"
        )

    def mark_stored(self, card_id: str, face: int, image_path: str, uri: str) -> None:
        self._db.execute(
            "UPDATE faces SET image_path = ?, stored_uri = ? WHERE card_id = ? AND face = ?",
            (image_path, uri, card_id, face),
        )

    def stored_paths(self) -> set[str]:
        return {row[0] for row in self._db.execute("SELECT image_path FROM faces WHERE image_path IS NOT NULL")}

    def gallery_entries(self) -> Iterator[dict[str, Any]]:
        """One ``cards.jsonl`` record per face that has an image file.

        Prices are dated by the bulk file they came from (its ``updated_at`` day).
        """
        prices_date = (self.get_state("bulk_updated_at") or "")[:10] or None
        rows = self._db.execute(
            """SELECT c.id, f.oracle_id, f.illustration_id, f.name, c.name, f.face, c.set_code,
                      c.set_name, c.collector_number, c.rarity, c.lang, c.layout, c.released_at,
                      c.scryfall_uri, f.stored_uri, f.image_path, c.prices, c.legalities, c.variant,
                      f.type_line, f.mana_cost, f.oracle_text
               FROM faces f JOIN cards c ON c.id = f.card_id
               WHERE f.image_path IS NOT NULL
               ORDER BY c.set_code, c.collector_number, c.id, f.face"""
        )
        for row in rows:
            yield {
                "id": row[0], "oracle_id": row[1], "illustration_id": row[2], "name": row[3],
                "card_name": row[4], "face": row[5], "set": row[6], "set_name": row[7],
                "collector_number": row[8], "rarity": row[9], "lang": row[10], "layout": row[11],
                "variant": row[18],
                "released_at": row[12], "scryfall_uri": row[13], "image_uri": row[14], "image": row[15],
                "prices": json.loads(row[16]), "legalities": json.loads(row[17]),
                "prices_date": prices_date,
                "type_line": row[19], "mana_cost": row[20], "oracle_text": row[21],
            }
