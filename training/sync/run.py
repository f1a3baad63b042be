"""One `cardsight sync`: bulk listing → bulk file → catalog → images → ``cards.jsonl``.

Each step leaves the gallery consistent if the process dies right after it: the bulk file
is kept until its cards are committed, the catalog changes in one transaction, each image
appears by rename, and ``cards.jsonl`` is regenerated atomically at the end. A second run
therefore redoes only what had not finished, and a run on an unchanged bulk file fetches
nothing but the ``/bulk-data`` listing and any images still missing.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from training.sync.atomic import remove_partials
from training.sync.bulk import BulkFile, choose_bulk, download_bulk, iter_records
from training.sync.errors import SyncError
from training.sync.gallery import (
    CATALOG_FILE,
    WORK_DIR,
    gallery_lock,
    sweep_unreferenced_images,
    write_cards_jsonl,
)
from training.sync.http import PoliteClient
from training.sync.images import ImageJob, download_images
from training.sync.ingest import IngestCounts, ImagePlan, ingest_records, plan_images
from training.sync.settings import SyncSettings
from training.sync.store import CatalogStore

log = logging.getLogger(__name__)


@dataclass
class SyncSummary:
    dry_run: bool
    bulk: BulkFile | None = None
    bulk_downloaded: bool = False
    cards: IngestCounts | None = None
    cards_removed: int = 0
    images_present: int = 0
    images_to_fetch: int = 0
    images_downloaded: int = 0
    images_failed: int = 0
    image_bytes: int = 0
    gallery_entries: int | None = None
    partials_removed: int = 0
    elapsed_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.images_failed == 0

    def render(self) -> str:
        """The end-of-run report: what changed, what was skipped, what failed."""
        lines = []
        head = "cardsight sync --dry-run (catalog, images and cards.jsonl left unchanged)" if self.dry_run else "cardsight sync"
        lines.append(f"{head} ({self.elapsed_s:.1f}s)")
        if self.bulk is not None:
            fetched = "downloaded" if self.bulk_downloaded else "unchanged since the last sync, not downloaded"
            size = f", {self.bulk.size / 1e6:.1f} MB uncompressed" if self.bulk.size else ""
            lines.append(f"  card list: {self.bulk.type} ({self.bulk.form}{size}) updated {self.bulk.updated_at}, {fetched}")
        verb = "would be " if self.dry_run else ""
        if self.cards is not None:
            c = self.cards
            lines.append(
                f"  cards:     {c.new} new, {c.updated} updated, {c.unchanged} unchanged, "
                f"{self.cards_removed} removed ({verb}applied)"
            )
            filtered = ", ".join(f"{reason} {n}" for reason, n in sorted(c.filtered.items()))
            lines.append(
                f"  skipped:   {sum(c.filtered.values())} records by filters"
                f"{f' ({filtered})' if filtered else ''}, {c.rejected} malformed records rejected"
            )
        if self.dry_run:
            lines.append(f"  images:    {self.images_to_fetch} to download, {self.images_present} already on disk")
        else:
            lines.append(
                f"  images:    {self.images_downloaded} downloaded ({self.image_bytes / 1e6:.1f} MB), "
                f"{self.images_present} already on disk, {self.images_failed} failed"
            )
        if self.gallery_entries is not None:
            lines.append(f"  gallery:   {self.gallery_entries} entries in cards.jsonl")
        lines.extend(f"  note:      {note}" for note in self.notes)
        return "\n".join(lines)


def _bar(progress: bool, **kwargs: object) -> tqdm:
    return tqdm(disable=not progress, dynamic_ncols=True, leave=False, **kwargs)


async def _fetch_bulk(client: PoliteClient, bulk: BulkFile, root: Path, progress: bool) -> Path:
    with _bar(progress, desc="card list", unit="B", unit_scale=True, unit_divisor=1024) as bar:

        def on_progress(size: int, total: int | None) -> None:
            if size < 0:  # a (re)start: reset the bar for this attempt
                bar.reset(total=total)
            else:
                bar.update(size)

        return await download_bulk(client, bulk, root / WORK_DIR, on_progress)


def _ingest(
    store: CatalogStore, path: Path, bulk: BulkFile, settings: SyncSettings, summary: SyncSummary, progress: bool
) -> ImagePlan:
    """Ingest inside one transaction and plan the images; the caller commits or rolls back."""
    generation = store.begin_ingest()
    with _bar(progress, desc="cards", unit=" rec") as bar:
        counts = ingest_records(store, iter_records(path, bulk.form), settings, generation, lambda: bar.update(1))
    summary.cards = counts
    if counts.kept == 0:
        raise SyncError(
            f"the {bulk.type} card list held no card that passes the filters "
            f"({counts.rejected} rejected, {sum(counts.filtered.values())} filtered); refusing to empty the gallery"
        )
    summary.cards_removed = store.remove_unseen(generation)
    store.set_state("bulk_type", bulk.type)
    store.set_state("bulk_updated_at", bulk.updated_at)
    store.set_state("filters", settings.filters_fingerprint())
    return plan_images(store, settings.gallery_dir, settings.image_size)


def _is_current(store: CatalogStore, bulk: BulkFile, settings: SyncSettings) -> bool:
    return (
        store.get_state("bulk_type") == bulk.type
        and store.get_state("bulk_updated_at") == bulk.updated_at
        and store.get_state("filters") == settings.filters_fingerprint()
    )


async def _sync(
    settings: SyncSettings, client: PoliteClient, store: CatalogStore, summary: SyncSummary, progress: bool
) -> None:
    root = settings.gallery_dir
    bulk = choose_bulk(await client.get_json(client.api_url("bulk-data")), settings)
    summary.bulk = bulk
    if _is_current(store, bulk, settings):
        plan = plan_images(store, root, settings.image_size)
    else:
        bulk_path = await _fetch_bulk(client, bulk, root, progress)
        summary.bulk_downloaded = True
        try:
            plan = _ingest(store, bulk_path, bulk, settings, summary, progress)
        except BaseException:
            store.rollback()
            raise
        if summary.dry_run:
            store.rollback()
        else:
            store.commit()
            bulk_path.unlink(missing_ok=True)  # its cards are committed; the next change brings a new file
    summary.images_present = plan.present
    summary.images_to_fetch = len(plan.jobs)
    if summary.dry_run:
        return
    for job in plan.unrecorded:
        store.mark_stored(job.card_id, job.face, job.relpath, job.uri)

    with _bar(progress, desc="images", total=len(plan.jobs), unit=" img") as bar:

        def on_stored(job: ImageJob, size: int) -> None:
            store.mark_stored(job.card_id, job.face, job.relpath, job.uri)
            bar.update(1)
            bar.set_postfix_str(f"{(summary.image_bytes + size) / 1e6:.1f} MB", refresh=False)
            summary.image_bytes += size

        tally = await download_images(
            client, plan.jobs, root, concurrency=settings.image_concurrency, on_stored=on_stored
        )
    summary.images_downloaded = tally.downloaded
    summary.images_failed = tally.failed
    summary.gallery_entries = write_cards_jsonl(root, store.gallery_entries())
    removed = sweep_unreferenced_images(root, store.stored_paths())
    if removed:
        summary.notes.append(f"removed {removed} image files no longer in the catalog")
    store.set_state("completed_at", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))


async def run_sync(settings: SyncSettings, *, dry_run: bool = False, progress: bool = True) -> SyncSummary:
    """Bring the gallery at ``settings.gallery_dir`` up to date with Scryfall (or plan to)."""
    started = time.monotonic()
    summary = SyncSummary(dry_run=dry_run)
    root = settings.gallery_dir
    root.mkdir(parents=True, exist_ok=True)
    with gallery_lock(root):
        if not dry_run:
            summary.partials_removed = remove_partials(root)
            if summary.partials_removed:
                summary.notes.append(f"removed {summary.partials_removed} partial files left by an interrupted sync")
        store = CatalogStore(root / CATALOG_FILE)
        try:
            async with PoliteClient(settings) as client:
                await _sync(settings, client, store, summary, progress)
        finally:
            store.close()
    summary.elapsed_s = time.monotonic() - started
    return summary
