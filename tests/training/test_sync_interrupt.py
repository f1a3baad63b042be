"""Kill a real `cardsight sync` process with SIGKILL mid-download, then resume it.

Nothing half-written may survive under a real name, and the resumed run must fetch neither
the card list nor any image that was already on disk.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from PIL import Image

from tests.scryfall_stub import ScryfallStub, generate_cards

REPO = Path(__file__).resolve().parents[2]
# The sync command module alone, so the test does not depend on the other sub-commands.
RUN_SYNC_COMMAND = (
    "import argparse, sys\n"
    "from cardsight.commands import sync\n"
    "parser = argparse.ArgumentParser()\n"
    "sync.register(parser.add_subparsers())\n"
    "args = parser.parse_args(sys.argv[1:])\n"
    "sys.exit(args.func(args))\n"
)


async def start_sync(stub: ScryfallStub, workdir: Path, gallery: Path) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARDSIGHT_")}
    env.update(
        PYTHONPATH=str(REPO),
        CARDSIGHT_SYNC_API_BASE_URL=stub.api_base_url,
        CARDSIGHT_SYNC_IMAGE_CONCURRENCY="2",
        CARDSIGHT_SYNC_RETRIES="2",
        CARDSIGHT_SYNC_BACKOFF_BASE_S="0.01",
    )
    return await asyncio.create_subprocess_exec(
        sys.executable, "-c", RUN_SYNC_COMMAND, "sync", "--gallery", str(gallery), "--no-progress",
        cwd=workdir, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )


def stub_path_of(image_file: Path) -> str:
    """The stand-in's image path for a gallery file named ``<uuid>-<face>-<version>.jpg``."""
    card_id, face = image_file.stem[:36], image_file.stem[37:].split("-")[0]
    return f"/img/normal/{card_id}-{face}.jpg"


async def test_killed_sync_resumes_without_refetching_or_keeping_partial_files(tmp_path: Path) -> None:
    cards = generate_cards(40)  # 48 face images
    gallery = tmp_path / "gallery"
    async with ScryfallStub(cards) as stub:
        stub.image_delay_s = 0.04  # every image stalls half-way through its body
        proc = await start_sync(stub, tmp_path, gallery)
        async with asyncio.timeout(30):
            while len(stub.requests_to("/img/")) < 12:
                assert proc.returncode is None, (await proc.stdout.read()).decode()  # type: ignore[union-attr]
                await asyncio.sleep(0.005)
        proc.kill()
        await proc.wait()

        finished = sorted((gallery / "images").rglob("*.jpg"))
        assert 0 < len(finished) < 48, "the kill should land in the middle of the image downloads"
        for path in finished:  # nothing under a real name is half-written
            with Image.open(path) as image:
                image.load()
        leftover = gallery / "images" / "ab" / ".ab-0-0.jpg.deadbeef.part"  # as if killed mid-write
        leftover.parent.mkdir(parents=True, exist_ok=True)
        leftover.write_bytes(b"half an image")
        partials = list(gallery.rglob("*.part"))

        stub.requests.clear()
        proc = await start_sync(stub, tmp_path, gallery)
        async with asyncio.timeout(60):
            output, _ = await proc.communicate()
        resumed = [r.path for r in stub.requests]

    assert proc.returncode == 0, output.decode()
    assert f"removed {len(partials)} partial files" in output.decode()
    assert not any(p.startswith("/bulk/") for p in resumed), "the card list was already ingested"
    refetched = {stub_path_of(p) for p in finished} & set(resumed)
    assert not refetched, f"finished images fetched again: {sorted(refetched)}"
    image_requests = [p for p in resumed if p.startswith("/img/")]
    assert len(image_requests) == len(set(image_requests)) == 48 - len(finished)
    entries = [json.loads(line) for line in (gallery / "cards.jsonl").read_text().splitlines()]
    assert len(entries) == 48 and all((gallery / e["image"]).is_file() for e in entries)
    assert not list(gallery.rglob("*.part"))
