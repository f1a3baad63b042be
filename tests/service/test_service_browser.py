"""The try-it page in a real headless Chromium: upload, outline, answers, token prompt.

Needs Debian's ``chromium`` package (or ``CARDSIGHT_CHROMIUM=/path/to/chrome``) and the
``playwright`` Python package, which drives that binary (no ``playwright install``). Skips with
the reason when either is missing. Screenshots land in the test's tmp dir.
"""

from __future__ import annotations

import io
import os
import shutil
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator

import pytest
from PIL import Image, ImageDraw

from service.app import create_app
from service.holder import EngineHolder
from service.settings import ServiceSettings
from tests.service_support import FakeRecognizer, serving

playwright_api = pytest.importorskip("playwright.async_api", reason="pip install playwright")

CHROMIUM = os.environ.get("CARDSIGHT_CHROMIUM") or next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium binary (apt-get install chromium, or set CARDSIGHT_CHROMIUM)"
)
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
CARD_COLOR = (200, 60, 40)


def table_photo() -> bytes:
    """A 'card' (red with a white title bar) in the middle half of a green playmat, where the
    fake engine puts its outline."""
    image = Image.new("RGB", (640, 480), (30, 110, 60))
    draw = ImageDraw.Draw(image)
    draw.rectangle((160, 120, 480, 360), fill=CARD_COLOR)
    draw.rectangle((170, 130, 470, 160), fill=(245, 245, 235))
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=92)
    return buf.getvalue()


@asynccontextmanager
async def open_page(tmp_path: Path, url: str) -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as pw:
        context = await pw.chromium.launch_persistent_context(
            user_data_dir=str(tmp_path / "chromium-profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1000, "height": 1100},
        )
        try:
            page = await context.new_page()
            await page.goto(url)
            yield page
        finally:
            await context.close()


async def served_app(token: str | None = None, cards: int = 1):
    holder = EngineHolder(lambda: FakeRecognizer(cards=cards))
    await holder.reload()
    return create_app(holder, ServiceSettings(), token)


async def test_upload_shows_outline_crop_and_answers(tmp_path: Path) -> None:
    async with serving(await served_app()) as client:
        async with open_page(tmp_path, str(client.make_url("/"))) as page:
            await page.set_input_files(
                "#file", files=[{"name": "table.jpg", "mimeType": "image/jpeg", "buffer": table_photo()}]
            )
            await page.wait_for_selector("#results li.card")
            title = await page.inner_text("#results li.card h2")
            assert "Lightning Bolt" in title
            assert await page.get_attribute("#results li.card h2 a", "href") == "https://scryfall.com/card/lea/10/x"
            assert "93% confident" in await page.inner_text("#results li.card")
            assert await page.inner_text(".prices") == "$420.00 · €380.50 (prices of 2024-05-01)"
            assert await page.inner_text(".legality") == "Legal: Modern, Vintage · Not legal: Standard"
            assert not await page.is_visible(".rules .oracle")  # behind "Details" until opened
            await page.click(".rules summary")
            assert await page.inner_text(".rules .oracle") == "Lightning Bolt deals 3 damage to any target."
            assert await page.inner_text(".rules .type-line") == "{R} — Instant"
            alternatives = await page.locator(".alternatives li").all_inner_texts()
            assert [a.split(" (")[0] for a in alternatives] == ["Llanowar Elves", "Counterspell"]
            assert await page.get_attribute("#overlay", "viewBox") == "0 0 640 480"
            points = await page.locator("#overlay polygon").evaluate_all("ps => ps.map(p => p.getAttribute('points'))")
            assert points == ["160,120 480,120 480,360 160,360"]
            box = await page.locator("#overlay polygon").bounding_box()
            assert box is not None and box["width"] > 100  # drawn, not collapsed
            # The crop thumbnail shows the card, not the playmat: its centre is the card colour.
            pixel = await page.evaluate(
                "() => Array.from(document.querySelector('#results canvas').getContext('2d')"
                ".getImageData(122, 200, 1, 1).data.slice(0, 3))"
            )
            assert all(abs(p - c) < 30 for p, c in zip(pixel, CARD_COLOR)), pixel
            assert "Found 1 card" in await page.inner_text("#status")
            assert not await page.is_visible("#token-form")
            assert not await page.is_visible("#catalog")  # no demo banner on a real catalog
            shot = tmp_path / "try-it.png"
            await page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
            print(f"screenshot: {shot}")


async def test_explain_swaps_the_crop_for_the_overlay_and_back(tmp_path: Path) -> None:
    async with serving(await served_app()) as client:
        async with open_page(tmp_path, str(client.make_url("/"))) as page:
            await page.set_input_files(
                "#file", files=[{"name": "table.jpg", "mimeType": "image/jpeg", "buffer": table_photo()}]
            )
            await page.wait_for_selector("#results li.card")
            await page.click("#results li.card button.explain")
            await page.wait_for_selector("#results li.card img.explained")
            assert await page.locator("#results li.card canvas").count() == 0
            assert await page.inner_text("#results li.card button.explain") == "Hide explanation"
            await page.wait_for_function("() => document.querySelector('img.explained').complete")
            size = await page.evaluate("() => { const i = document.querySelector('img.explained');"
                                       " return [i.naturalWidth, i.naturalHeight]; }")
            assert size == [160, 224], "the server's PNG is what is shown"
            await page.click("#results li.card button.explain")
            assert await page.locator("#results li.card canvas").count() == 1
            assert await page.locator("#results li.card img.explained").count() == 0


async def test_deck_spread_shows_an_importable_decklist(tmp_path: Path) -> None:
    async with serving(await served_app(cards=40)) as client:
        async with open_page(tmp_path, str(client.make_url("/"))) as page:
            await page.set_input_files(
                "#file", files=[{"name": "spread.jpg", "mimeType": "image/jpeg", "buffer": table_photo()}]
            )
            await page.wait_for_selector("#decklist:not([hidden])")
            expected = "14 Lightning Bolt\n13 Counterspell\n13 Llanowar Elves\n"
            assert await page.text_content("#decklist-text") == expected
            summary = await page.inner_text("#decklist-summary")
            assert summary.startswith("40 cards, 3 different.") and "Not sure about: Lightning Bolt." in summary
            assert await page.locator("#results li.card").count() == 40
            assert await page.get_attribute("#decklist-download", "download") == "decklist.txt"
            async with page.expect_download() as download_info:
                await page.click("#decklist-download")
            download = await download_info.value
            assert download.suggested_filename == "decklist.txt"
            assert Path(await download.path()).read_text() == expected
            await page.screenshot(path=str(tmp_path / "decklist.png"), full_page=True)


async def test_one_card_shows_no_decklist(tmp_path: Path) -> None:
    async with serving(await served_app()) as client:
        async with open_page(tmp_path, str(client.make_url("/"))) as page:
            await page.set_input_files(
                "#file", files=[{"name": "table.jpg", "mimeType": "image/jpeg", "buffer": table_photo()}]
            )
            await page.wait_for_selector("#results li.card")
            assert not await page.is_visible("#decklist")


async def test_bad_file_shows_the_servers_message(tmp_path: Path) -> None:
    async with serving(await served_app()) as client:
        async with open_page(tmp_path, str(client.make_url("/"))) as page:
            await page.set_input_files(
                "#file", files=[{"name": "notes.txt", "mimeType": "image/jpeg", "buffer": b"hello"}]
            )
            await page.wait_for_selector("#status.error")
            assert "doesn't look like an image" in await page.inner_text("#status")
            assert await page.locator("#results li").count() == 0


async def test_drop_with_token_prompt(tmp_path: Path) -> None:
    async with serving(await served_app(token="let-me-in")) as client:
        async with open_page(tmp_path, str(client.make_url("/"))) as page:
            data = list(table_photo())
            await page.evaluate(
                """(bytes) => {
                    const file = new File([new Uint8Array(bytes)], "drop.jpg", {type: "image/jpeg"});
                    const dt = new DataTransfer();
                    dt.items.add(file);
                    document.querySelector("#drop").dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true}));
                }""",
                data,
            )
            await page.wait_for_selector("#token-form", state="visible")
            await page.fill("#token", "let-me-in")
            await page.click("#token-form button")
            await page.wait_for_selector("#results li.card")
            assert "Lightning Bolt" in await page.inner_text("#results")


async def test_real_engine_names_a_real_photo_in_the_page(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    try:
        artifacts_dir = request.getfixturevalue("artifacts_dir")
        photos = request.getfixturevalue("demo_photos")
    except pytest.FixtureLookupError:
        pytest.skip("needs the 'artifacts_dir' and 'demo_photos' fixtures from tests/conftest.py")
    from engine.settings import EngineSettings
    from service.loaders import LocalLoader

    photo, expected = photos[0]
    holder = EngineHolder(LocalLoader(artifacts_dir, EngineSettings()))
    assert (await holder.reload()).ok
    try:
        async with serving(create_app(holder, ServiceSettings())) as client:
            async with open_page(tmp_path, str(client.make_url("/"))) as page:
                await page.set_input_files(
                    "#file", files=[{"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": photo}]
                )
                await page.wait_for_selector("#results li.card", timeout=60_000)
                assert expected in await page.inner_text("#results")
                assert await page.locator("#overlay polygon").count() >= 1
                shot = tmp_path / "try-it-real.png"
                await page.screenshot(path=str(shot), full_page=True)
                print(f"screenshot: {shot}")
    finally:
        await holder.close()
