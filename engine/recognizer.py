"""The engine's public face: `Recognizer.load(artifacts).identify(image_bytes)`.

Work for one photo: decode → detect and warp every card → embed all crops in one model call →
search → catalog rows → calibrated answer. `identify_async` hands photos to `workers` engine
threads, each gathering requests arriving together into one model call (micro-batching), so
event loops of the bots and the HTTP server never block, a burst costs fewer model calls and
both cores work on it. The queue is bounded: past `max_queue`, callers get `EngineBusy` at once
instead of waiting without end.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import logging
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from engine import artifacts, demo_set, stages
from engine.art_edges import ArtEdges
from engine.calibrate import Calibrator
from engine.catalog import Catalog
from engine.colour_layout import ColourLayouts
from engine.decode import decode_image
from engine.detect import DetectedCard, Detector
from engine.embed import Embedder
from engine.errors import EngineBusy, RecognizerError, RequestTimeout
from engine.explain import agreement_map, overlay, png
from engine.outline_retry import completed
from engine.quad import quad_iou, warp_quad
from engine.search import Searcher
from engine.settings import EngineSettings
from engine.types import CardAnswer, CardMatch, Identification, Quad
from engine.title_answers import covered_cards, named_by_title
from engine.title_read import STRIP_HEIGHT, Reading, TitleReader, warp_strip

log = logging.getLogger(__name__)

SAME_OUTLINE_IOU = 0.9
"""Two detected cards whose chosen readings overlap this much are one card, answered once."""

WHOLE_FRAME_MIN_CONFIDENCE = 0.2
"""A whole-frame fallback (no card outline seen) below this is reported as no card at all."""

TITLE_CHECKED_CARDS = 12
"""Photos of more cards than this (a deck spread) answer without reading titles: the OCR,
15-30 ms a card on two cores, was most of a 40-card photo's second. A binder page (9) keeps it.
Names are the same either way. An answer the title could have made sure is left not sure (its
vote counted as against), so skipping the read never makes an answer sure that the check would
have left unsure: the title is what guards against a confident name for a card not indexed.
The second look at unsure answers (`retry_outline`: four more crops embedded a card) is limited
the same way."""


@dataclass
class _Job:
    data: bytes
    future: concurrent.futures.Future[Identification]


@dataclass(frozen=True)
class Candidates:
    """One detected card: where it is (original-image pixels) and its matches, best first."""

    quad: Quad
    matches: list[CardMatch]
    whole_frame: bool
    crop: np.ndarray
    rows: tuple[int, ...] = ()
    """Gallery row of each match (aligned with `matches`), for checks against the stored
    references; empty where unknown."""
    source: np.ndarray | None = dataclasses.field(default=None, compare=False, repr=False)
    """The decoded photo, for checks that need more pixels than the crop has (the title)."""
    source_quad: np.ndarray | None = dataclasses.field(default=None, compare=False, repr=False)
    """The card's outline in `source` pixels, corners in the crop's order."""
    titles_read: dict[bool, Reading] = dataclasses.field(default_factory=dict, compare=False, repr=False)
    """Title readings by half turn, shared with `without_name` copies: the print doesn't change
    with what is indexed, so calibration reads each card's title once."""
    edge_agreements: dict[int, float] = dataclasses.field(default_factory=dict, compare=False, repr=False)
    """The crop's art-edge agreement by gallery row (`engine.stages.edge_agreements_of`), shared
    with `without_name` copies as the titles are: the crop is theirs too."""

    def without_name(self, name: str) -> "Candidates":
        """These candidates as an index without any printing of `name` would have ranked them.

        Calibration uses it to see the case "the right card is not in the gallery" on every
        photo it takes: the other entries' scores don't depend on which cards are indexed.
        """
        keep = [i for i, m in enumerate(self.matches) if m.name != name]
        rows = tuple(self.rows[i] for i in keep) if self.rows else ()
        return dataclasses.replace(self, matches=[self.matches[i] for i in keep], rows=rows)


def evidence(matches: list[CardMatch]) -> tuple[float, float]:
    """(top score, margin over the best match with another name) — the calibrator's inputs.

    Other printings of the top card's name don't shrink the margin: the name is still right.
    """
    top = matches[0]
    rival = next((m.score for m in matches[1:] if m.name != top.name), None)
    if rival is None:
        rival = matches[-1].score if len(matches) > 1 else 0.0
    return top.score, max(0.0, top.score - rival)


TITLE_LONG_SIDE = 1600
"""Least long side of the decode covered cards' titles are read from (`Recognizer._title_decode`):
the decode detection uses, or one at up to twice this where that was smaller."""


@dataclass
class _Prepared:
    size: tuple[int, int]
    scale: float
    cards: list[DetectedCard]
    timings: dict[str, float]
    image: np.ndarray
    data: bytes = dataclasses.field(default=b"", repr=False)
    """The upload, for a sharper decode where covered cards' titles are to be read."""


class Recognizer:
    def __init__(self, artifact_set: artifacts.ArtifactSet, settings: EngineSettings,
                 detector: Detector | None = None) -> None:
        """`detector`: finds and cuts out the cards (default: the shipped segmenter with the
        classical passes); the recognizer owns it and closes it."""
        self.settings = settings
        self.artifact_set = artifact_set
        self.detector = detector or Detector()
        self.embedder = Embedder(artifact_set.file("model.onnx"), threads=settings.threads)
        self.searcher = Searcher.load(artifact_set.file("index.faiss"))
        self.catalog = Catalog(artifact_set.file("catalog.sqlite"))
        self.calibrator = Calibrator.load(artifact_set.file("calibration.json"))
        self.layouts = ColourLayouts.of_set(artifact_set.path, artifact_set.manifest)
        self.edges = ArtEdges.of_set(artifact_set.path)
        self.titles = TitleReader(self.catalog.names(), threads=1) if settings.read_titles else None
        self.rerankers, self.verifiers = stages.of_set(self.layouts, self.titles, self.edges)
        sizes = {"index": self.searcher.size, "catalog": self.catalog.size}
        if self.layouts is not None:
            sizes["layouts"] = self.layouts.size
        if self.edges is not None:
            sizes["art edges"] = self.edges.size
        if len(set(sizes.values())) > 1:
            raise artifacts.ArtifactError(
                f"{artifact_set.path}: entries differ: " + ", ".join(f"{k} {v}" for k, v in sizes.items())
            )
        self._warm_up()
        self._queue: queue.Queue[_Job | None] = queue.Queue(maxsize=settings.max_queue)
        self._workers: list[threading.Thread] = []
        self._worker_lock = threading.Lock()

    def _warm_up(self) -> None:
        """Load the detector's model and run each model once now, at load time.

        Otherwise the first photos pay for it in the worker thread, and model loading holds
        the GIL long enough to stall the bots' event loop for hundreds of milliseconds.
        """
        width, height = self.embedder.input_size
        self.detector.detect(np.zeros((height * 2, width * 2, 3), np.uint8), crop_size=(width, height))
        self.embedder.embed([np.zeros((height, width, 3), np.uint8)])
        if self.titles is not None and self.calibrator.w_title > 0:
            self.titles.read(np.zeros((STRIP_HEIGHT, 4 * STRIP_HEIGHT, 3), np.uint8))

    @classmethod
    def load(cls, root: Path | None = None, settings: EngineSettings | None = None) -> "Recognizer":
        settings = settings or EngineSettings()
        return cls(artifacts.open_set(Path(root or settings.artifacts)), settings)

    # ---- synchronous core -------------------------------------------------------------

    def identify(self, data: bytes) -> Identification:
        """Answer one photo, or raise a `RecognizerError` (a bug inside becomes one, logged)."""
        result = self._process_alone(data)
        if isinstance(result, BaseException):
            raise result
        return result

    def _process_alone(self, data: bytes) -> Identification | RecognizerError:
        """One photo whose failure, whatever it is, is its own.

        The worker falls back to this when a micro-batch fails as a whole, so an odd photo
        that trips a bug fails alone instead of taking the photos batched with it down too.
        """
        try:
            return self._process([data])[0]
        except Exception as exc:
            log.exception("engine failed on one photo (%d bytes)", len(data))
            return RecognizerError(f"internal error: {exc!r}")

    def embed_crops(self, crops: list[np.ndarray]) -> np.ndarray:
        """Embeddings of already-upright crops of `embedder.input_size` (for `compare`)."""
        return self.embedder.embed(crops)

    def _prepare(self, data: bytes) -> _Prepared:
        t0 = time.perf_counter()
        image = decode_image(
            data,
            max_bytes=self.settings.max_bytes,
            max_pixels=self.settings.max_pixels,
            target_long_side=self.settings.decode_long_side,
            min_long_side=self.settings.decode_min_long_side,
        )
        t1 = time.perf_counter()
        cards = self.detector.detect(
            image.rgb, crop_size=self.embedder.input_size, max_cards=self.settings.max_cards
        )
        t2 = time.perf_counter()
        return _Prepared(
            size=image.original_size,
            scale=image.scale,
            cards=cards,
            timings={"decode": (t1 - t0) * 1e3, "detect": (t2 - t1) * 1e3},
            image=image.rgb,
            data=data,
        )

    def analyse(self, data: bytes) -> tuple[list[Candidates], dict[str, float]]:
        """Every detected card with its ranked gallery matches, before any answer is decided.

        Evaluation and calibration work from this, so they measure exactly what serving does.
        """
        prepared = self._prepare(data)
        found, timings = self._search([prepared])
        return found[0], {**prepared.timings, **timings}

    def match_crops(self, crops: list[np.ndarray]) -> list[list[CardMatch]]:
        """Gallery matches of upright crops of `embedder.input_size`, ranked as photos' cards are."""
        scores, rows, _ = self._rank(crops)
        return [self._matches(s, r) for s, r in zip(scores, rows)]

    def _matches(self, scores: np.ndarray, rows: np.ndarray) -> list[CardMatch]:
        """Catalog rows of one crop's ranking, the padding (row −1) left out."""
        valid = rows >= 0
        return self.catalog.matches(rows[valid].tolist(), scores[valid].tolist())

    def _candidates(self, quad: Quad, scores: np.ndarray, rows: np.ndarray, whole_frame: bool,
                    crop: np.ndarray, source: np.ndarray | None = None,
                    source_quad: np.ndarray | None = None) -> Candidates:
        matches = self._matches(scores, rows)
        valid = [int(r) for r in rows if r >= 0]
        return Candidates(quad, matches, whole_frame, crop, tuple(valid) if len(valid) == len(matches) else (),
                          source=source, source_quad=source_quad)

    def _rank(self, crops: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
        """Embed, search, re-rank (`rerankers`): (scores, rows) per crop, best first."""
        t0 = time.perf_counter()
        vectors = self.embedder.embed_batched(crops, self.settings.max_batch)
        t1 = time.perf_counter()
        k = min(self.settings.search_k, self.searcher.size)
        shortlist = min(max([k, *(r.shortlist for r in self.rerankers)]), self.searcher.size)
        scores, rows = self.searcher.search(vectors, shortlist)
        for i, reranker in enumerate(self.rerankers):  # the last keeps the k answers draw on
            keep = k if i == len(self.rerankers) - 1 else shortlist
            if crops:
                reranked = [reranker.rerank(crop, s, r, keep) for crop, s, r in zip(crops, scores, rows)]
                scores, rows = np.stack([s for s, _ in reranked]), np.stack([r for _, r in reranked])
        t2 = time.perf_counter()
        return scores, rows, {"embed": (t1 - t0) * 1e3, "search": (t2 - t1) * 1e3}

    def _search(self, prepared: list[_Prepared]) -> tuple[list[list[Candidates]], dict[str, float]]:
        cards = [c for p in prepared for c in p.cards]
        crops = [c.crop for c in cards] + [crop for c in cards for _, crop in c.readings]
        scores, rows, timings = self._rank(crops)
        out: list[list[Candidates]] = []
        i, other = 0, len(cards)
        for p in prepared:
            per_photo, chosen = [], []
            for card in p.cards:
                row, card_quad, crop = i, card.quad, card.crop
                for reading in card.readings:  # keep whichever reading the gallery knows best
                    if scores[other, 0] > scores[row, 0]:
                        row, (card_quad, crop) = other, reading
                    other += 1
                i += 1
                if any(quad_iou(card_quad, seen)[0] >= SAME_OUTLINE_IOU for seen in chosen):
                    continue  # pieces of one split card that both chose its whole outline
                chosen.append(card_quad)
                quad = tuple((float(x) / p.scale, float(y) / p.scale) for x, y in card_quad)
                per_photo.append(self._candidates(quad, scores[row], rows[row], card.whole_frame, crop,  # type: ignore[arg-type]
                                                  p.image, card_quad))
            out.append(per_photo)
        return out, timings

    def _process(self, batch: list[bytes]) -> list[Identification | RecognizerError]:
        started = time.perf_counter()
        prepared: list[_Prepared | RecognizerError] = []
        for data in batch:
            try:
                prepared.append(self._prepare(data))
            except RecognizerError as exc:
                prepared.append(exc)
        good = [p for p in prepared if isinstance(p, _Prepared)]
        found, shared = self._search(good)
        by_photo = iter(found)
        results: list[Identification | RecognizerError] = []
        for p in prepared:
            if isinstance(p, RecognizerError):
                results.append(p)
                continue
            cards = next(by_photo)
            check_titles = len(cards) <= TITLE_CHECKED_CARDS
            answers = [a for c in cards
                       if (a := self.answer(c, check_title=check_titles, retry=check_titles)) is not None]
            titles_started = time.perf_counter()
            answers += self.covered_answers(p, answers)
            titles_ms = {"titles": (time.perf_counter() - titles_started) * 1e3}
            timings = {**p.timings, **shared, **titles_ms, "total": (time.perf_counter() - started) * 1e3}
            results.append(Identification(cards=tuple(answers), image_size=p.size, timings_ms=timings))
        return results

    def covered_answers(self, prepared: _Prepared, answers: list[CardAnswer]) -> list[CardAnswer]:
        """Cards covered by others, named by the title bars that show above the answered cards
        (`engine.title_answers`); none where titles are not read."""
        if self.titles is None or not answers:
            return []
        open_quads = [np.asarray(a.quad, np.float64) * prepared.scale for a in answers]
        return covered_cards(prepared.image, open_quads, prepared.scale, self.titles, self.catalog,
                             self.settings.unsure_below, sharper=lambda: self._title_decode(prepared),
                             open_names=[a.match.name for a in answers])

    def _title_decode(self, prepared: _Prepared) -> tuple[np.ndarray, float]:
        """The photo decoded for reading covered cards' titles: at `TITLE_LONG_SIDE` where the
        upload was reduced further for detection (a 12 MP JPEG decodes at 1/4, 1000 px, where a
        title's letters are ~6 px tall and blurred by the reduction), else the decode at hand."""
        if max(prepared.image.shape[:2]) >= TITLE_LONG_SIDE or not prepared.data:
            return prepared.image, prepared.scale
        image = decode_image(prepared.data, max_bytes=self.settings.max_bytes, max_pixels=self.settings.max_pixels,
                             target_long_side=TITLE_LONG_SIDE, min_long_side=TITLE_LONG_SIDE)
        return image.rgb, image.scale

    def art_agreement(self, found: Candidates) -> float:
        """The art check's vote (`engine.stages.ArtCheck`); 0 (no opinion) for sets without
        stored layouts."""
        return self._vote("art", found)

    def edge_agreement(self, found: Candidates) -> float:
        """The edge check's vote (`engine.stages.EdgeCheck`); 0 for sets without edge maps."""
        return self._vote("edges", found)

    def edge_lead(self, found: Candidates) -> float:
        """The edge lead (`engine.stages.EdgeLead`); 0 for sets without edge maps."""
        return self._vote("edge_lead", found)

    def title_vote(self, found: Candidates) -> float:
        """The title check's vote (`engine.stages.TitleCheck`); 0 where titles are not read."""
        return self._vote("title", found)

    def _vote(self, name: str, found: Candidates) -> float:
        verifier = self.verifiers.get(name)
        return verifier.vote(found) if verifier is not None else 0.0

    def evidence(self, found: Candidates) -> tuple[float, float, float, float, float, float]:
        """(top score, margin over another name, art agreement, title vote, edge agreement, edge
        lead): what the calibrator weighs (calibration reads every title; `answer` only those that
        can decide)."""
        top_score, margin = evidence(found.matches)
        return (top_score, margin, self.art_agreement(found), self.title_vote(found), self.edge_agreement(found),
                self.edge_lead(found))

    def retry_outline(self, found: Candidates,
                      drop: Callable[[Candidates], Candidates] | None = None) -> Candidates:
        """`found` read through the outlines `engine.outline_retry.completed` rebuilds from the
        card's shape, where one of them has a better best match *for the same top name*; else
        `found` itself. The answer keeps the detected quad. `drop`: applied to each new ranking
        before the comparison (calibration's "index without this name")."""
        if found.whole_frame or found.source is None or found.source_quad is None or not found.matches:
            return found
        quads = completed(found.source_quad)
        crops = [warp_quad(found.source, q, self.embedder.input_size) for q in quads]
        scores, rows, _ = self._rank(crops)
        best = found
        for quad, crop, row_scores, row_ids in zip(quads, crops, scores, rows):
            again = self._candidates(found.quad, row_scores, row_ids, False, crop, found.source, quad)
            again = drop(again) if drop is not None else again
            if (again.matches and again.matches[0].name == found.matches[0].name
                    and again.matches[0].score > best.matches[0].score):
                best = again
        return best

    def answer(self, found: Candidates, *, check_title: bool = True, retry: bool = True) -> CardAnswer | None:
        """The card's answer, or None where it is no card; `check_title`: read its title where
        that could decide between sure and not sure, else count it as against (see
        `TITLE_CHECKED_CARDS`), and name an answer still not sure by its title where that reads
        clearly as another card (`named_by_title`); `retry`: an answer not sure gets a second
        look through outlines rebuilt from the card's shape (`retry_outline`) where the set's
        calibration was fitted so."""
        answer = self._answer(found, check_title)
        if (retry and answer is not None and answer.unsure and self.calibrator.outline_retry):
            retried = self.retry_outline(found)
            if retried is not found:
                answer = self._answer(retried, check_title) or answer
        if check_title and answer is not None and answer.unsure:
            named = self._named_by_title(found)
            if named is not None and named.match.name != answer.match.name:
                return named
        return answer

    def _named_by_title(self, found: Candidates) -> CardAnswer | None:
        """`engine.title_answers.named_by_title` of the card's title: read at the end the colour
        layout points to (`stages.title_end`), one OCR read at most; the other end counts where
        the title check read it. Reading the other end as well named one more card of 600
        simulated photos (5 against 4) for about a tenth of the answers a second at 16 clients
        (bench/service_load.py, 2026-12-07)."""
        if self.titles is None or found.source is None or found.source_quad is None:
            return None
        end = stages.title_end(found, self.layouts)
        if end not in found.titles_read:
            found.titles_read[end] = self.titles.read(warp_strip(found.source, found.source_quad, end))
        return named_by_title(found.titles_read.values(), self.titles, self.catalog, found.matches, found.quad,
                              self.settings.unsure_below, self.settings.alternatives)

    def _answer(self, found: Candidates, check_title: bool) -> CardAnswer | None:
        if not found.matches:
            return None
        top_score, margin = evidence(found.matches)
        if not self.calibrator.looks_like_a_card(top_score):
            return None  # before the art check: its 0.3 ms would be spent on no card
        art = self.art_agreement(found)
        edges = self.edge_agreement(found) if self.calibrator.w_edges > 0 else 0.0
        lead = self.edge_lead(found) if self.calibrator.w_edge_lead > 0 else 0.0
        confidence = self.calibrator.served_confidence(
            top_score, margin, art, edges, lead, self.settings.unsure_below,
            lambda: self.title_vote(found) if check_title else -1.0)
        if found.whole_frame and not self._whole_frame_is_card(top_score, confidence):
            return None
        return CardAnswer(
            match=found.matches[0],
            confidence=confidence,
            unsure=confidence < self.settings.unsure_below,
            quad=found.quad,
            alternatives=tuple(found.matches[1 : 1 + self.settings.alternatives]),
        )

    def _whole_frame_is_card(self, top_score: float, confidence: float) -> bool:
        """No outline was seen, so the frame is a card only if it looks like one we know.

        A 4:3 phone photo has nearly a card's aspect, so aspect alone can't tell a tight crop
        from a photo of a table: the best match must also be as close as genuine same-card
        pairs usually are (`same_card_threshold`, fitted with the calibration).
        """
        if confidence < WHOLE_FRAME_MIN_CONFIDENCE:
            return False
        threshold = self.calibrator.same_card_threshold
        return threshold is None or top_score >= threshold

    def explain(self, data: bytes, card_id: str) -> np.ndarray:
        """`engine.explain` overlay (the crop's size, RGB) of the photo's card matched to
        `card_id`: where the crop agrees with that card's stored layout and where not.

        The photo is analysed again rather than the answer's crop being kept from `identify`,
        so the API stays stateless; the card is the detection that ranks `card_id` highest.
        """
        if self.layouts is None:
            raise RecognizerError(f"{self.artifact_set.path}: built without colour layouts",
                                  user_message="This catalog was built without colour layouts, "
                                  "so answers can't be explained; rebuild it with `cardsight index`.")
        found, _ = self.analyse(data)
        best: tuple[int, float, Candidates] | None = None
        for cand in found:
            for rank, m in enumerate(cand.matches):
                if m.card_id == card_id and cand.rows:
                    if best is None or (rank, -m.score) < (best[0], -best[1]):
                        best = (rank, m.score, cand)
                    break
        if best is None:
            raise RecognizerError(f"no card in the photo matched {card_id}",
                                  user_message="No card in this photo matched that card.")
        rank, _, cand = best
        return overlay(cand.crop, agreement_map(cand.crop, self.layouts.signature(cand.rows[rank])))

    async def explain_async(self, data: bytes, card_id: str) -> bytes:
        """`explain` as PNG bytes, off the event loop (it decodes, detects and embeds: tens of
        milliseconds); bytes, so that a remote engine (`service.client`) answers alike."""
        return await asyncio.to_thread(lambda: png(self.explain(data, card_id)))

    # ---- async front ------------------------------------------------------------------

    async def identify_async(self, data: bytes) -> Identification:
        self._ensure_worker()
        job = _Job(data, concurrent.futures.Future())
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            raise EngineBusy(f"queue full ({self.settings.max_queue} waiting)") from None
        try:
            return await asyncio.wait_for(
                asyncio.wrap_future(job.future), timeout=self.settings.timeout_s
            )
        except asyncio.TimeoutError:
            job.future.cancel()
            raise RequestTimeout(f"no answer within {self.settings.timeout_s:g} s") from None

    async def lookup_async(self, query: str, limit: int = 5, set_code: str | None = None) -> list[CardMatch]:
        return await asyncio.to_thread(self.catalog.lookup, query, limit, set_code)

    async def card_async(self, card_id: str) -> CardMatch | None:
        return await asyncio.to_thread(self.catalog.by_card_id, card_id)

    def lookup(self, query: str, limit: int = 5, set_code: str | None = None) -> list[CardMatch]:
        return self.catalog.lookup(query, limit, set_code)

    def info(self) -> dict[str, Any]:
        m = self.artifact_set.manifest
        return {
            "catalog": demo_set.catalog_label(m, self.catalog.size),
            "demo": demo_set.is_demo(m),
            "model_version": m.get("model_version"),
            "index_version": m["version"],
            "created_at": m.get("created_at"),
            "gallery_size": self.catalog.size,
            "index_kind": m.get("index_kind"),
            "colour_layout": m.get("colour_layout"),
            "stages": {"rerankers": [r.name for r in self.rerankers], "verifiers": list(self.verifiers)},
            "queue_depth": self._queue.qsize(),
        }

    def _ensure_worker(self) -> None:
        with self._worker_lock:
            self._workers = [w for w in self._workers if w.is_alive()]
            while len(self._workers) < self.settings.workers:
                worker = threading.Thread(
                    target=self._work, name=f"cardsight-engine-{len(self._workers)}", daemon=True
                )
                worker.start()
                self._workers.append(worker)

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            jobs = [job]
            deadline = time.perf_counter() + self.settings.batch_wait_ms / 1e3
            while len(jobs) < self.settings.max_batch:
                try:
                    nxt = self._queue.get(timeout=max(0.0, deadline - time.perf_counter()))
                except queue.Empty:
                    break
                if nxt is None:
                    self._queue.put(None)
                    break
                jobs.append(nxt)
            live = [j for j in jobs if j.future.set_running_or_notify_cancel()]
            if not live:
                continue
            try:
                results = self._process([j.data for j in live])
            except Exception:  # a bug must fail only the photo that trips it, never the worker
                log.warning("engine worker failed on a batch of %d; answering each photo alone",
                            len(live), exc_info=True)
                results = [self._process_alone(j.data) for j in live]
            for j, result in zip(live, results):
                if isinstance(result, BaseException):
                    j.future.set_exception(result)
                else:
                    j.future.set_result(result)

    def close(self) -> None:
        """Finish queued work, then release the model, the detector's thread and the catalog."""
        with self._worker_lock:
            workers, self._workers = self._workers, []
        try:
            for _ in workers:  # one stop mark each; a worker that sees one takes no more work
                self._queue.put(None, timeout=self.settings.timeout_s)
        except queue.Full:
            log.warning("engine queue still full at close; not waiting for the workers")
        else:
            for worker in workers:
                worker.join(timeout=self.settings.timeout_s)
        self.detector.close()
        self.catalog.close()
