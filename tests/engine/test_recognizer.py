"""The engine end to end on the session artifact set: names, errors, queueing, coordinates."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.detect import DetectedCard
from engine.errors import EngineBusy, ImageError, RequestTimeout
from engine.calibrate import Calibrator
from engine.recognizer import TITLE_CHECKED_CARDS, Candidates, Recognizer, evidence
from engine.settings import EngineSettings
from engine import art_edges, stages
from engine.stages import rival_rows
from engine.title_read import Reading
from engine.types import CardMatch, Identification
from training.gallery import load_card_image, read_gallery
from training.photosim import PhotoSimConfig, encode_jpeg, simulate_photo


def png(rgb: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, format="PNG")
    return out.getvalue()


def best(result: Identification) -> str:
    """Name of the surest answer (stray outlines on a simulated table may add unsure ones)."""
    return max(result.cards, key=lambda c: c.confidence).match.name


def quad_error(found: np.ndarray, truth: np.ndarray) -> float:
    """Largest corner distance, allowing the half-turn that geometry alone cannot settle."""
    return min(float(np.linalg.norm(np.roll(found, s, axis=0) - truth, axis=1).max()) for s in (0, 2))


@pytest.fixture(scope="module")
def large_photo(demo_gallery: Path) -> tuple[np.ndarray, np.ndarray, str]:
    """A 3200×2400 photo (decoded at half scale by the engine) and its card's true quad."""
    item = read_gallery(demo_gallery)[3]
    sim = PhotoSimConfig(size=(3200, 2400), scale=(0.6, 0.7), max_perspective_deg=10.0,
                         hardness=0.0, occlusion=False)
    photo = simulate_photo([load_card_image(item.image_path)], np.random.default_rng(8), sim)
    return photo.image, photo.quads[0], item.entry.name


def test_demo_photos_are_named_right(recognizer: Recognizer, demo_photos: list[tuple[bytes, str]]) -> None:
    for data, name in demo_photos:
        result = recognizer.identify(data)
        card = max(result.cards, key=lambda c: c.confidence)
        assert card.match.name == name
        # Stray outlines on the simulated table may be answered too, but only as "not sure".
        assert all(c.unsure for c in result.cards if c is not card)
        assert 0.0 <= card.confidence <= 1.0
        assert card.unsure == (card.confidence < recognizer.settings.unsure_below)
        assert len(card.alternatives) <= recognizer.settings.alternatives
        assert all(a.score <= card.match.score for a in card.alternatives)
        assert result.image_size == (1024, 768)
        assert {"decode", "detect", "embed", "search", "total"} <= set(result.timings_ms)


def test_blank_images_have_no_cards(recognizer: Recognizer) -> None:
    wide = recognizer.identify(png(np.full((300, 1000, 3), 128, np.uint8)))
    assert wide.cards == () and wide.image_size == (1000, 300)
    # A card-shaped blank frame falls back to "the whole frame is a card", which the
    # confidence rule must then reject.
    framed = recognizer.identify(png(np.full((700, 500, 3), 128, np.uint8)))
    assert framed.cards == ()


@pytest.mark.parametrize("data", [b"", b"hello, not an image", b"\x89PNG\r\n\x1a\n" + b"\0" * 40])
def test_non_image_bytes_raise_image_error(recognizer: Recognizer, data: bytes) -> None:
    with pytest.raises(ImageError):
        recognizer.identify(data)


async def test_non_image_bytes_async(recognizer: Recognizer, demo_photos: list[tuple[bytes, str]]) -> None:
    """A bad photo in a batch fails alone; the good one batched with it is still answered."""
    bad, good = await asyncio.gather(
        recognizer.identify_async(b"not an image"), recognizer.identify_async(demo_photos[0][0]),
        return_exceptions=True,
    )
    assert isinstance(bad, ImageError) and bad.code == "bad_image"
    assert isinstance(good, Identification) and best(good) == demo_photos[0][1]


async def test_concurrent_requests_all_answered(recognizer: Recognizer,
                                                demo_photos: list[tuple[bytes, str]]) -> None:
    requests = [demo_photos[i % len(demo_photos)] for i in range(10)]
    results = await asyncio.gather(*(recognizer.identify_async(data) for data, _ in requests))
    assert [best(r) for r in results] == [name for _, name in requests]
    assert recognizer.info()["queue_depth"] == 0


async def test_workers_answer_photos_side_by_side(artifacts_dir: Path,
                                                 demo_photos: list[tuple[bytes, str]]) -> None:
    """With two workers a second photo starts while the first is still in work."""
    rec = Recognizer.load(artifacts_dir, dataclasses.replace(EngineSettings(), workers=2, max_batch=1))
    both_in_work = threading.Barrier(2, timeout=10)
    process = rec._process

    def meeting(batch: list[bytes]) -> list:
        both_in_work.wait()  # breaks (and fails both photos) unless two run at once
        return process(batch)

    rec._process = meeting  # type: ignore[method-assign]
    try:
        results = await asyncio.gather(*(rec.identify_async(data) for data, _ in demo_photos[:2]))
        workers = list(rec._workers)
    finally:
        rec.close()
    assert [best(r) for r in results] == [name for _, name in demo_photos[:2]]
    assert len(workers) == 2 and not any(w.is_alive() for w in workers)  # close stopped both


async def test_full_queue_answers_busy(artifacts_dir: Path, demo_photos: list[tuple[bytes, str]]) -> None:
    """One request in work and one waiting: the rest of a burst is refused at once."""
    settings = dataclasses.replace(EngineSettings(), max_queue=1, max_batch=1, threads=1)
    rec = Recognizer.load(artifacts_dir, settings)
    try:
        data = demo_photos[0][0]
        results = await asyncio.gather(*(rec.identify_async(data) for _ in range(12)),
                                       return_exceptions=True)
    finally:
        rec.close()
    busy = [r for r in results if isinstance(r, EngineBusy)]
    answered = [r for r in results if isinstance(r, Identification)]
    assert len(busy) + len(answered) == len(results), results
    assert busy and answered
    assert busy[0].code == "busy" and busy[0].http_status == 503


async def test_slow_request_times_out(artifacts_dir: Path, demo_photos: list[tuple[bytes, str]]) -> None:
    rec = Recognizer.load(artifacts_dir, dataclasses.replace(EngineSettings(), timeout_s=0.001))
    try:
        with pytest.raises(RequestTimeout) as info:
            await rec.identify_async(demo_photos[0][0])
    finally:
        rec.close()
    assert info.value.code == "timeout" and info.value.http_status == 504


def test_quads_in_original_image_coordinates(recognizer: Recognizer,
                                            large_photo: tuple[np.ndarray, np.ndarray, str]) -> None:
    image, truth, name = large_photo
    jpeg = recognizer.identify(encode_jpeg(image, 92))  # JPEG: decoded at 1/2 DCT scale
    assert jpeg.image_size == (3200, 2400)
    (card,) = jpeg.cards
    assert card.match.name == name
    tolerance = 0.01 * 3200
    assert quad_error(np.asarray(card.quad), truth) < tolerance

    lossless = recognizer.identify(png(image))  # PNG: area-resized to 1600 px wide
    (card,) = lossless.cards
    assert quad_error(np.asarray(card.quad), truth) < tolerance


def test_quads_of_a_photo_decoded_at_full_size(recognizer: Recognizer, demo_gallery: Path) -> None:
    item = read_gallery(demo_gallery)[5]
    sim = PhotoSimConfig(size=(900, 700), scale=(0.7, 0.8), max_perspective_deg=10.0, hardness=0.0,
                         occlusion=False)
    photo = simulate_photo([load_card_image(item.image_path)], np.random.default_rng(3), sim)
    (card,) = recognizer.identify(png(photo.image)).cards
    assert quad_error(np.asarray(card.quad), photo.quads[0]) < 0.01 * 900


class _Found:
    """A detector that finds the given cards in any photo."""

    def __init__(self, cards: list[DetectedCard]) -> None:
        self._cards = cards

    def detect(self, rgb: np.ndarray, **kwargs: object) -> list[DetectedCard]:
        return self._cards


@pytest.mark.parametrize("right_reading", [0, 1, 2])
def test_the_reading_of_an_ambiguous_outline_the_gallery_knows_best_wins(
        recognizer: Recognizer, demo_gallery: Path, monkeypatch: pytest.MonkeyPatch, right_reading: int) -> None:
    # An outline whose shape leaves open which sides are short is embedded both ways round,
    # and a piece inside an enclosing outline (a pile's top card?) is embedded beside it.
    item = read_gallery(demo_gallery)[2]
    width, height = recognizer.embedder.input_size
    upright = np.asarray(Image.fromarray(load_card_image(item.image_path)).resize((width, height)))
    sideways = np.asarray(Image.fromarray(np.ascontiguousarray(np.rot90(upright))).resize((width, height)))
    blank = np.full_like(upright, 128)
    quad = np.float32([[100, 100], [300, 100], [300, 250], [100, 250]])
    quads = [quad, np.roll(quad, -1, axis=0), quad * 0.5 + 50]
    crops = [sideways, blank]
    crops.insert(right_reading, upright)
    card = DetectedCard(quad=quads[0], crop=crops[0], score=1.0, whole_frame=False,
                        readings=tuple(zip(quads[1:], crops[1:])))
    monkeypatch.setattr(recognizer, "detector", _Found([card]))
    (answer,) = recognizer.identify(png(np.zeros((400, 400, 3), np.uint8))).cards
    assert answer.match.name == item.entry.name
    assert np.allclose(np.asarray(answer.quad), quads[right_reading])


def test_two_pieces_that_both_choose_their_whole_outline_are_answered_once(
        recognizer: Recognizer, demo_gallery: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A card the segmenter split in two: each half carries the whole outline as a reading.
    item = read_gallery(demo_gallery)[2]
    width, height = recognizer.embedder.input_size
    upright = np.asarray(Image.fromarray(load_card_image(item.image_path)).resize((width, height)))
    whole = np.float32([[100, 100], [300, 100], [300, 380], [100, 380]])
    top, bottom = whole.copy(), whole.copy()
    top[2:, 1] = bottom[:2, 1] = 240
    halves = [DetectedCard(quad=half, crop=np.full_like(upright, grey), score=1.0, whole_frame=False,
                           readings=((whole.copy(), upright),)) for half, grey in ((top, 90), (bottom, 160))]
    monkeypatch.setattr(recognizer, "detector", _Found(halves))
    (answer,) = recognizer.identify(png(np.zeros((400, 400, 3), np.uint8))).cards
    assert answer.match.name == item.entry.name
    assert np.allclose(np.asarray(answer.quad), whole)


@pytest.mark.parametrize("count, checked", [(TITLE_CHECKED_CARDS, True), (TITLE_CHECKED_CARDS + 1, False)])
def test_photos_of_many_cards_answer_without_the_title_check(
        recognizer: Recognizer, demo_gallery: Path, monkeypatch: pytest.MonkeyPatch, count: int, checked: bool) -> None:
    # A spread's 40 title checks were most of its second; its cards are named by their art alone.
    item = read_gallery(demo_gallery)[2]
    width, height = recognizer.embedder.input_size
    upright = np.asarray(Image.fromarray(load_card_image(item.image_path)).resize((width, height)))
    quad = np.float32([[0, 0], [63, 0], [63, 88], [0, 88]])
    cards = [DetectedCard(quad=quad + [70 * (i % 8), 100 * (i // 8)], crop=upright, score=1.0, whole_frame=False)
             for i in range(count)]
    read: list[object] = []
    monkeypatch.setattr(recognizer, "detector", _Found(cards))
    monkeypatch.setattr(Calibrator, "title_can_decide", lambda *args: True)
    monkeypatch.setattr(recognizer, "title_vote", lambda found: read.append(found) or 1.0)
    weighed: list[float] = []
    confidence = Calibrator.confidence
    monkeypatch.setattr(Calibrator, "confidence",
                        lambda self, top, margin, art=0.0, title=0.0, edges=0.0, edge_lead=0.0:
                        weighed.append(title) or confidence(self, top, margin, art, title, edges, edge_lead))
    answers = recognizer.identify(png(np.zeros((200, 560, 3), np.uint8))).cards
    assert [a.match.name for a in answers] == [item.entry.name] * count
    assert len(read) == (count if checked else 0)
    # A title not read counts as against: skipping the OCR never makes an answer sure that a
    # disagreeing title would have left unsure.
    assert weighed == [1.0 if checked else -1.0] * count


def test_info_keys(recognizer: Recognizer) -> None:
    info = recognizer.info()
    assert set(info) == {"model_version", "index_version", "created_at", "gallery_size", "index_kind",
                         "colour_layout", "queue_depth", "catalog", "demo", "stages"}
    assert info["stages"] == {"rerankers": ["colour_layout"], "verifiers": ["art", "edges", "edge_lead", "title"]}
    assert info["catalog"] == "catalog of 24 cards" and info["demo"] is False
    assert info["gallery_size"] == recognizer.catalog.size == 24
    assert info["index_kind"] == "flat"
    assert info["colour_layout"] == {"weight": 1.5, "shortlist": 40}
    assert info["index_version"] == recognizer.artifact_set.version
    assert isinstance(info["model_version"], str) and len(info["model_version"]) == 12


async def test_lookup_and_card_async(recognizer: Recognizer, demo_photos: list[tuple[bytes, str]]) -> None:
    name = demo_photos[1][1]
    found = await recognizer.lookup_async(name.upper(), 3)
    assert found[0].name == name and found[0].score == 1.0 and len(found) <= 3
    card = await recognizer.card_async(found[0].card_id)
    assert card is not None and card.name == name and card.card_id == found[0].card_id
    assert await recognizer.card_async("no-such-card") is None
    assert await recognizer.lookup_async("") == []


def match(name: str, score: float) -> CardMatch:
    return CardMatch(card_id=name + str(score), name=name, set="s", set_name=None, collector_number="1",
                     scryfall_uri="u", image_uri=None, score=score)


def test_the_edge_lead_compares_the_next_names_not_other_printings_of_the_top_one() -> None:
    found = Candidates(quad=((0, 0), (1, 0), (1, 1), (0, 1)), whole_frame=False, crop=np.zeros((4, 4, 3), np.uint8),
                       matches=[match("Bolt", 0.9), match("Bolt", 0.88), match("Helix", 0.6), match("Helix", 0.5),
                                match("Shock", 0.4), match("Blaze", 0.3)], rows=(5, 6, 7, 8, 9, 10))
    assert rival_rows(found, count=2) == [7, 9]
    assert rival_rows(found) == [7, 9, 10]  # fewer names than RIVAL_NAMES: those there are
    assert rival_rows(dataclasses.replace(found, matches=found.matches[:2], rows=(5, 6))) == []


def test_evidence_margin_ignores_other_printings_of_the_top_name() -> None:
    top, margin = evidence([match("Bolt", 0.9), match("Bolt", 0.88), match("Helix", 0.6)])
    assert top == 0.9 and margin == pytest.approx(0.3)
    assert evidence([match("Bolt", 0.9)]) == (0.9, 0.9)
    assert evidence([match("Bolt", 0.9), match("Bolt", 0.7)])[1] == pytest.approx(0.2)


def test_a_reranker_plugs_in_as_a_listed_stage(recognizer: Recognizer, demo_photos: list[tuple[bytes, str]],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # The recognizer runs whatever re-rankers it lists, in order, on each crop's shortlist.
    seen: list[int] = []

    class Worst:
        name, shortlist = "worst", 8

        def rerank(self, crop: np.ndarray, scores: np.ndarray, rows: np.ndarray,
                   keep: int) -> tuple[np.ndarray, np.ndarray]:
            seen.append(len(rows))
            return scores[::-1][:keep].copy(), rows[::-1][:keep].copy()

    data, name = demo_photos[0]
    (before, *_), _ = recognizer.analyse(data)
    assert before.matches[0].name == name
    monkeypatch.setattr(recognizer, "rerankers", (*recognizer.rerankers, Worst()))
    (after, *_), _ = recognizer.analyse(data)
    shortlist = min(max(40, recognizer.settings.search_k), recognizer.searcher.size)  # the layouts ask 40
    assert seen and all(n == shortlist for n in seen)  # the whole shortlist, not the k kept
    assert after.matches[0].name != name and after.matches[-1].name == name


@pytest.mark.parametrize("clear", [True, False])
def test_an_answer_the_art_leaves_unsure_is_named_by_a_clear_title(
        recognizer: Recognizer, demo_gallery: Path, demo_photos: list[tuple[bytes, str]],
        monkeypatch: pytest.MonkeyPatch, clear: bool) -> None:
    data, name = demo_photos[0]
    other = next(item.entry.name for item in read_gallery(demo_gallery) if item.entry.name != name)
    monkeypatch.setattr(Calibrator, "served_confidence", lambda *args: 0.1)  # the art can't tell
    reads: list[object] = []
    text = other if clear else "zqxj vwk"
    monkeypatch.setattr(recognizer.titles, "read", lambda strip: reads.append(strip) or Reading(text, 0.99))
    answers = recognizer.identify(data).cards
    assert reads  # the title of each unsure card is read
    if clear:
        named = [a for a in answers if a.match.name == other]
        assert named and all(not a.printing_known and not a.unsure for a in named)
        assert name in {m.name for a in named for m in a.alternatives}  # the art's name is offered
    else:
        assert name in {a.match.name for a in answers}
        assert all(a.unsure and a.printing_known for a in answers)


def test_the_crops_edges_are_compared_once_for_both_edge_checks(
        recognizer: Recognizer, demo_photos: list[tuple[bytes, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    found = max(recognizer.analyse(demo_photos[1][0])[0], key=lambda c: c.matches[0].score)
    maps = [recognizer.edges.edge_map(row) for row in (found.rows[0], *rival_rows(found))]
    expected_check = art_edges.edge_agreement(found.crop, maps[0])
    expected_lead = art_edges.edge_lead(found.crop, maps[0], maps[1:])
    calls: list[int] = []
    compare = stages.edge_agreements
    monkeypatch.setattr(stages, "edge_agreements", lambda crop, stored: calls.append(len(stored)) or compare(crop, stored))
    assert recognizer.edge_agreement(found) == pytest.approx(expected_check, abs=1e-6)
    assert recognizer.edge_lead(found) == pytest.approx(expected_lead, abs=1e-6)
    assert calls == [len(maps)]  # one pass over the crop for the top match and every rival
    absent = found.without_name(found.matches[0].name)  # calibration's copy shares what it can
    recognizer.edge_lead(absent)
    assert len(calls) == 2 and calls[1] < len(maps)
