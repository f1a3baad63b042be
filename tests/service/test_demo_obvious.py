"""Nobody mistakes the demo for the real catalog: the log, `/health`, the page and the bots'
start-up say "demo catalog (N generated cards)", bots started on it warn loudly, and the page
gets the demo gallery's own card images instead of Scryfall links to cards that do not exist.

The demo set here is the session's small generated set, copied, with its manifest pointing at a
copy of its gallery in a folder named as `training.demo` names the real demo's.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest

from bot.runner import _announce_catalog
from engine import artifacts
from engine.demo_set import DEMO_GALLERY_DIR, catalog_label, demo_gallery, gallery_images, is_demo
from engine.recognizer import Recognizer
from service.app import create_app
from service.holder import EngineHolder
from service.settings import ServiceSettings
from tests.bot_engine import FakeEngine
from tests.service_support import serving

ASYNC = pytest.mark.asyncio(loop_scope="session")
pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def demo_artifacts(artifacts_dir: Path, demo_gallery: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo")
    gallery = root / DEMO_GALLERY_DIR
    shutil.copytree(demo_gallery, gallery)
    shutil.copytree(artifacts_dir, root / "artifacts")
    manifest_path = artifacts.resolve(root / "artifacts") / artifacts.MANIFEST
    manifest = json.loads(manifest_path.read_text())
    manifest["gallery"] = str(gallery)
    manifest_path.write_text(json.dumps(manifest))
    return root / "artifacts"


@pytest.fixture(scope="module")
def demo_recognizer(demo_artifacts: Path):
    rec = Recognizer.load(demo_artifacts)
    yield rec
    rec.close()


def test_labels() -> None:
    assert catalog_label({"gallery": f"/srv/var/{DEMO_GALLERY_DIR}"}, 100) == "demo catalog (100 generated cards)"
    assert catalog_label({"demo": True}, 7) == "demo catalog (7 generated cards)"
    assert catalog_label({"gallery": "/srv/var/gallery"}, 35412) == "catalog of 35,412 cards"
    assert not is_demo({}) and demo_gallery({"gallery": "/x/gallery"}) is None


def test_gallery_images_stay_inside_the_gallery(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "a.jpg").write_bytes(b"jpeg")
    (tmp_path / "secret.txt").write_text("no")
    records = [{"id": "a", "image": "images/a.jpg"}, {"id": "b", "image": "../secret.txt"},
               {"id": "c", "image": "/etc/passwd"}, {"id": "d", "image": "images/missing.jpg"}]
    sub = tmp_path / "g"
    sub.mkdir()
    shutil.move(tmp_path / "images", sub / "images")
    (sub / "cards.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    assert gallery_images(sub) == {"a": (sub / "images" / "a.jpg").resolve()}


def test_engine_info_names_its_catalog(demo_recognizer: Recognizer, recognizer: Recognizer) -> None:
    size = recognizer.info()["gallery_size"]
    assert demo_recognizer.info()["catalog"] == f"demo catalog ({size} generated cards)"
    assert demo_recognizer.info()["demo"] is True
    assert recognizer.info()["catalog"] == f"catalog of {size} cards" and recognizer.info()["demo"] is False


@ASYNC
async def test_service_says_demo_and_serves_the_demo_images(
        demo_recognizer: Recognizer, demo_gallery: Path, demo_photos: list[tuple[bytes, str]],
        caplog: pytest.LogCaptureFixture) -> None:
    holder = EngineHolder(lambda: demo_recognizer)
    with caplog.at_level(logging.INFO, logger="service.holder"):
        assert (await holder.reload()).ok
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "demo catalog (" in logged and "DEMO catalog" in logged
    async with serving(create_app(holder, ServiceSettings())) as client:
        health = await (await client.get("/health")).json()
        assert health["demo"] is True and health["catalog"].startswith("demo catalog (")
        body = await (await client.post("/identify", data=demo_photos[0][0])).json()
        card = body["cards"][0]
        assert card["image_uri"] == f"demo-gallery/{card['card_id']}"
        assert all(a["image_uri"] == f"demo-gallery/{a['card_id']}" for a in card["alternatives"])
        image = await client.get("/" + card["image_uri"])
        assert image.status == 200 and image.content_type == "image/jpeg"
        record = next(json.loads(line) for line in (demo_gallery / "cards.jsonl").read_text().splitlines()
                      if json.loads(line)["id"] == card["card_id"])
        assert await image.read() == (demo_gallery / record["image"]).read_bytes()
        missing = await client.get("/demo-gallery/not-a-card")
        assert missing.status == 404 and (await missing.json())["error"]["code"] == "not_found"


@ASYNC
async def test_a_real_set_keeps_its_links(recognizer: Recognizer, demo_photos: list[tuple[bytes, str]]) -> None:
    holder = EngineHolder(lambda: recognizer)
    assert (await holder.reload()).ok
    async with serving(create_app(holder, ServiceSettings())) as client:
        health = await (await client.get("/health")).json()
        assert health["demo"] is False and health["catalog"].startswith("catalog of ")
        body = await (await client.post("/identify", data=demo_photos[0][0])).json()
        assert body["cards"][0]["image_uri"].startswith("https://")
        some_id = body["cards"][0]["card_id"]
        assert (await client.get(f"/demo-gallery/{some_id}")).status == 404


class _Engine(FakeEngine):
    def __init__(self, info: dict[str, object]) -> None:
        super().__init__()
        self._info = info

    def info(self) -> dict[str, object]:
        return self._info


def test_bots_on_the_demo_warn_loudly(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="cardsight.bot"):
        _announce_catalog(_Engine({"demo": True, "catalog": "demo catalog (100 generated cards)"}), ["discord"])
    warning = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warning) == 1
    text = warning[0].getMessage()
    assert "discord are answering real users from the demo catalog (100 generated cards)" in text
    assert "Quick-start to the real catalog" in text


def test_bots_on_a_real_catalog_just_say_which(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="cardsight.bot"):
        _announce_catalog(_Engine({"demo": False, "catalog": "catalog of 35,412 cards"}), ["discord", "telegram"])
    assert [r.levelno for r in caplog.records] == [logging.INFO]
    assert caplog.records[0].getMessage() == "discord and telegram answering from the catalog of 35,412 cards"


@ASYNC
async def test_page_shows_the_demo_banner_and_the_cards_own_image(
        demo_recognizer: Recognizer, demo_photos: list[tuple[bytes, str]], tmp_path: Path) -> None:
    browser = pytest.importorskip("tests.service.test_service_browser")
    if browser.CHROMIUM is None:
        pytest.skip("no chromium binary (apt-get install chromium, or set CARDSIGHT_CHROMIUM)")
    holder = EngineHolder(lambda: demo_recognizer)
    assert (await holder.reload()).ok
    async with serving(create_app(holder, ServiceSettings())) as client:
        async with browser.open_page(tmp_path, str(client.make_url("/"))) as page:
            await page.wait_for_selector("#catalog", state="visible")
            assert "demo catalog (" in await page.inner_text("#catalog")
            await page.set_input_files(
                "#file", files=[{"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": demo_photos[0][0]}])
            await page.wait_for_selector("#results li.card img", timeout=60_000)
            loaded = await page.locator("#results li.card img").first.evaluate(
                "img => img.decode().then(() => img.naturalWidth)")
            assert loaded > 100  # the generated card image itself, beside the crop
            await page.screenshot(path=str(tmp_path / "demo-page.png"), full_page=True)
