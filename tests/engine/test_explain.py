"""Explaining a match: the overlay marks where a crop differs from its reference, on the CLI
(`compare --explain`), the API (`POST /explain`) and through a remote engine alike."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest

from cardsight.cli import main
from engine.errors import RecognizerError
from engine.explain import agreement_map, image_signature, overlay
from engine.settings import EngineSettings
from engine.verify import ART_CELLS
from service.app import create_app
from service.client import RemoteRecognizer
from service.holder import EngineHolder
from service.loaders import LocalLoader
from service.settings import ServiceSettings
from tests.service_support import serving
from tests.cli.test_cli import photo_of
from training.cardgen import random_spec, render_card

ART = np.zeros((33, 24), bool)
ART[ART_CELLS] = True


@pytest.mark.parametrize("seed", [3, 8])
def test_map_is_lower_in_the_art_box_of_a_card_with_other_art(seed: int) -> None:
    spec = random_spec("Twin Card", np.random.default_rng(seed), frame="normal")
    card = cv2.resize(render_card(spec), (160, 224), interpolation=cv2.INTER_AREA)
    other_art = render_card(dataclasses.replace(spec, art_seed=spec.art_seed + 1))
    differs = agreement_map(card, image_signature(other_art))
    assert differs[ART].mean() + 0.2 < differs[~ART].mean(), "the art box must stand out"
    same = agreement_map(card, image_signature(render_card(spec)))
    assert same.min() > 0.9 and same[ART].mean() > differs[ART].mean() + 0.3
    turned = agreement_map(np.ascontiguousarray(card[::-1, ::-1]), image_signature(other_art))
    assert np.allclose(turned[::-1, ::-1], differs, atol=0.05), "a half-turned crop gets its map turned"

    picture = overlay(card, differs)
    assert picture.shape == card.shape and picture.dtype == np.uint8
    art_box = picture[int(0.15 * 224):int(0.5 * 224), 30:130].astype(int)
    frame = picture[int(0.65 * 224):, :].astype(int)
    redness = lambda px: (px[..., 0] - px[..., 1]).mean()  # noqa: E731
    assert redness(art_box) > redness(frame) + 20


def test_compare_explain_writes_an_overlay_of_the_first_crop(artifacts_dir: Path, demo_gallery: Path,
                                                            tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first, other = photo_of(demo_gallery, 7, seed=1, folder=tmp_path), photo_of(demo_gallery, 8, seed=4, folder=tmp_path)
    out = tmp_path / "why.png"
    assert main(["compare", "--artifacts", str(artifacts_dir), str(first), str(other), "--explain", str(out)]) == 0
    assert f"explanation: {out}" in capsys.readouterr().out
    picture = cv2.imread(str(out))
    assert picture is not None and picture.shape == (224, 160, 3)


async def test_explain_route_returns_a_png_of_the_answered_crop(artifacts_dir: Path,
                                                               demo_photos: list[tuple[bytes, str]]) -> None:
    holder = EngineHolder(LocalLoader(artifacts_dir, EngineSettings()))
    assert (await holder.reload()).ok
    photo, _ = demo_photos[0]
    try:
        async with serving(create_app(holder, ServiceSettings())) as client:
            body = await (await client.post("/identify", data=photo, headers={"Content-Type": "image/jpeg"})).json()
            card_id = body["cards"][0]["card_id"]
            resp = await client.post("/explain", params={"card": card_id}, data=photo,
                                     headers={"Content-Type": "image/jpeg"})
            assert resp.status == 200 and resp.content_type == "image/png"
            body = await resp.read()
            picture = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)
            assert picture.shape == (224, 160, 3)
            remote = RemoteRecognizer(str(client.make_url("/")).rstrip("/"))
            try:
                assert await remote.explain_async(photo, card_id) == body, "a split deployment explains alike"
                with pytest.raises(RecognizerError, match="answered 500"):
                    await remote.explain_async(photo, "no-such-card")
            finally:
                await remote.close()
            missing = await client.post("/explain", params={"card": "no-such-card"}, data=photo,
                                        headers={"Content-Type": "image/jpeg"})
            assert missing.status == 500 and (await missing.json())["error"]["code"] == "error"
            assert (await client.post("/explain", data=photo)).status == 400
    finally:
        await holder.close()
