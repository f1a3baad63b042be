"""Bulk records → catalog rows, and the catalog → the list of images still to fetch."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from training.sync.gallery import image_relpath
from training.sync.images import ImageJob
from training.sync.records import RecordError, exclusion_reason, parse_card
from training.sync.settings import SyncSettings
from training.sync.store import CatalogStore

log = logging.getLogger(__name__)

#: Past this many, rejected records are counted but no longer logged one by one.
MAX_LOGGED_REJECTIONS = 50


@dataclass
class IngestCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    filtered: Counter[str] = field(default_factory=Counter)

    @property
    def kept(self) -> int:
        return self.new + self.updated + self.unchanged


def _describe(raw: object) -> str:
    card_id = raw.get("id") if isinstance(raw, dict) else None
    return f"id {str(card_id)[:60]!r}" if card_id is not None else "no id"


def ingest_records(
    store: CatalogStore,
    records: Iterable[tuple[int, object]],
    settings: SyncSettings,
    generation: int,
    on_record: Callable[[], None] = lambda: None,
) -> IngestCounts:
    """Validate, filter and upsert every record; malformed ones are logged and skipped."""
    counts = IngestCounts()
    for position, raw in records:
        on_record()
        try:
            if isinstance(raw, Exception):
                raise RecordError(f"not valid JSON ({raw})")
            card = parse_card(raw, settings.image_size)
        except RecordError as exc:
            counts.rejected += 1
            if counts.rejected <= MAX_LOGGED_REJECTIONS:
                log.warning("rejected bulk record #%d (%s): %s", position, _describe(raw), exc)
            elif counts.rejected == MAX_LOGGED_REJECTIONS + 1:
                log.warning("more records rejected; counting them without logging each")
            continue
        reason = exclusion_reason(card, settings)
        if reason is not None:
            counts.filtered[reason] += 1
            continue
        change = store.upsert(card, generation)
        setattr(counts, change, getattr(counts, change) + 1)
    return counts


@dataclass
class ImagePlan:
    jobs: list[ImageJob] = field(default_factory=list)
    present: int = 0
    #: On disk in their current version but not yet recorded so in the catalog.
    unrecorded: list[ImageJob] = field(default_factory=list)


def plan_images(store: CatalogStore, root: Path, image_size: str) -> ImagePlan:
    """Split the catalog's faces into images to fetch and images whose current version is on disk.

    The disk decides: a face is done when the file named for its current URL exists. That
    also covers a sync killed between writing a file and recording it.
    """
    plan = ImagePlan()
    for card_id, face, uri, path, stored in list(store.faces()):
        job = ImageJob(card_id, face, uri, image_relpath(card_id, face, uri, image_size))
        if not (root / job.relpath).is_file():
            plan.jobs.append(job)
            continue
        plan.present += 1
        if (path, stored) != (job.relpath, uri):
            plan.unrecorded.append(job)
    return plan
