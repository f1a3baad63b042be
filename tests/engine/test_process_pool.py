"""The engine in child processes (`[engine] processes`): the same answers and errors as in
this process, a full queue refused, and a dead child costing only the photos it held."""

from __future__ import annotations

import asyncio
import dataclasses
import os
from pathlib import Path

import pytest

from engine.errors import EngineBusy, ImageError, RecognizerError
from engine.process_pool import ProcessRecognizer
from engine.settings import EngineSettings
from service.loaders import LocalLoader

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def pool(artifacts_dir: Path):
    engine = ProcessRecognizer(artifacts_dir, EngineSettings(), 2)
    yield engine
    engine.close()


def test_children_answer_as_the_engine_in_this_process(pool: ProcessRecognizer, recognizer,
                                                       demo_photos: list[tuple[bytes, str]]) -> None:
    async def both() -> list:
        return await asyncio.gather(*(pool.identify_async(data) for data, _ in demo_photos))

    for (data, _), answered in zip(demo_photos, asyncio.run(both())):
        here = recognizer.identify(data)
        assert [c.match.card_id for c in answered.cards] == [c.match.card_id for c in here.cards]
        assert [c.confidence for c in answered.cards] == pytest.approx([c.confidence for c in here.cards], abs=1e-6)
    assert sum(bool(a.cards) for a in asyncio.run(both())) >= len(demo_photos) - 1


def test_errors_cross_with_their_user_message(pool: ProcessRecognizer, recognizer) -> None:
    with pytest.raises(ImageError) as here:
        recognizer.identify(b"\xff\xd8 not a jpeg")
    with pytest.raises(ImageError) as there:
        asyncio.run(pool.identify_async(b"\xff\xd8 not a jpeg"))
    assert there.value.user_message == here.value.user_message
    assert there.value.code == "bad_image"


def test_lookups_and_info_come_from_the_same_set(pool: ProcessRecognizer, recognizer) -> None:
    name = recognizer.catalog.names()[0]
    found = asyncio.run(pool.lookup_async(name, 1))
    assert found and found[0].name == name
    card = asyncio.run(pool.card_async(found[0].card_id))
    assert card is not None and card.card_id == found[0].card_id
    info = pool.info()
    assert info["index_version"] == recognizer.info()["index_version"]
    assert info["processes"] == 2 and info["queue_depth"] == 0


def test_a_full_queue_is_refused_busy(artifacts_dir: Path, demo_photos: list[tuple[bytes, str]]) -> None:
    engine = ProcessRecognizer(artifacts_dir, EngineSettings(max_queue=1, workers=2, max_batch=1), 2)
    try:
        async def burst() -> list:
            return await asyncio.gather(*(engine.identify_async(demo_photos[0][0]) for _ in range(8)),
                                        return_exceptions=True)

        results = asyncio.run(burst())
        busy = [r for r in results if isinstance(r, EngineBusy)]
        assert engine.capacity == 3 and len(busy) == 8 - 3  # as the engine in one process would hold
        assert all(not isinstance(r, BaseException) for r in results if not isinstance(r, EngineBusy))
    finally:
        engine.close()


def test_a_dead_child_fails_its_photos_and_the_next_get_a_fresh_pool(
        artifacts_dir: Path, demo_photos: list[tuple[bytes, str]]) -> None:
    engine = ProcessRecognizer(artifacts_dir, EngineSettings(), 2)
    try:
        engine._pool.submit(os._exit, 1)  # what a native crash on some photo does to its child

        async def after_the_crash() -> list:
            first = await asyncio.gather(engine.identify_async(demo_photos[0][0]), return_exceptions=True)
            return first + [await engine.identify_async(data) for data, _ in demo_photos[:2]]

        first, *later = asyncio.run(after_the_crash())
        assert isinstance(first, RecognizerError) or first.cards  # it may have run before the child died
        assert all(answer.cards for answer in later)
    finally:
        engine.close()


def test_the_service_loads_a_process_pool_when_asked(artifacts_dir: Path) -> None:
    engine = LocalLoader(artifacts_dir, dataclasses.replace(EngineSettings(), processes=2))()
    try:
        assert isinstance(engine, ProcessRecognizer)
    finally:
        engine.close()
