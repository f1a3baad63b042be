"""Gallery folders: bad records are skipped with a log line, never loaded and never fatal."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import cv2
import numpy as np
import pytest

from training.gallery import GalleryError, load_card_image, read_gallery


def card_image(path: Path, width: int = 63, height: int = 88, colour: int = 120) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = np.full((height, width, 3), colour, np.uint8)
    image[: height // 4] = (0, 0, 255)  # a red band on top (BGR) so orientation is checkable
    assert cv2.imwrite(str(path), image)


def record(name: str, image: str, **fields: object) -> dict:
    return {"id": f"id-{name}", "name": name, "set": "tst", "collector_number": name[-1],
            "image": image, **fields}


def write_gallery(folder: Path, lines: list[object]) -> None:
    text = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines)
    (folder / "cards.jsonl").write_text(text + "\n", encoding="utf-8")


def test_good_records_load(tmp_path: Path) -> None:
    card_image(tmp_path / "img" / "a.png")
    write_gallery(tmp_path, [record("Card A", "img/a.png", scryfall_uri="https://s/a", oracle_id="o",
                                    image_uris={"normal": "https://i/a.jpg"}, face=1)])
    (item,) = read_gallery(tmp_path)
    e = item.entry
    assert (e.card_id, e.name, e.face, e.oracle_id) == ("id-Card A", "Card A", 1, "o")
    assert e.scryfall_uri == "https://s/a" and e.image_uri == "https://i/a.jpg"
    assert item.image_path == tmp_path / "img" / "a.png"


def test_malformed_lines_skipped_with_a_log_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    card_image(tmp_path / "a.png")
    write_gallery(tmp_path, [
        "{not json",                                      # line 1
        {"name": "No Image", "set": "tst", "collector_number": "1"},  # line 2: no image
        record("  ", "a.png"),                            # line 3: empty name
        [1, 2, 3],                                        # line 4: not an object
        record("Bad Face", "a.png", face="back"),         # line 5
        record("Bad Uris", "a.png", image_uris="https://x"),  # line 6
        record("Missing", "gone.png"),                    # line 7
        "",                                               # blank lines are fine
        record("Good", "a.png"),                          # line 9
    ])
    with caplog.at_level(logging.WARNING, logger="training.gallery"):
        items = read_gallery(tmp_path)
    assert [i.entry.name for i in items] == ["Good"]
    for line in (1, 2, 3, 4, 5, 6, 7):
        assert f"cards.jsonl:{line}:" in caplog.text
    assert "not JSON" in caplog.text and "missing" in caplog.text


def test_path_traversal_skipped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    gallery = tmp_path / "gallery"
    card_image(tmp_path / "outside.png")
    card_image(gallery / "inside.png")
    (gallery / "link.png").symlink_to(tmp_path / "outside.png")
    write_gallery(gallery, [
        record("Up", "../outside.png"),
        record("Absolute", str(tmp_path / "outside.png")),
        record("Link", "link.png"),
        record("Inside", "inside.png"),
    ])
    with caplog.at_level(logging.WARNING, logger="training.gallery"):
        items = read_gallery(gallery)
    assert [i.entry.name for i in items] == ["Inside"]
    assert caplog.text.count("leaves the gallery") == 3


def test_duplicates_skipped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    card_image(tmp_path / "a.png")
    card_image(tmp_path / "b.png")
    write_gallery(tmp_path, [
        record("Front", "a.png", id="x"),
        record("Front again", "b.png", id="x"),
        record("Back", "b.png", id="x", face=1),
    ])
    with caplog.at_level(logging.WARNING, logger="training.gallery"):
        items = read_gallery(tmp_path)
    assert [(i.entry.name, i.entry.face) for i in items] == [("Front", 0), ("Back", 1)]
    assert "duplicate entry x face 0" in caplog.text


def test_null_id_keyed_by_set_and_number(tmp_path: Path) -> None:
    card_image(tmp_path / "a.png")
    write_gallery(tmp_path, [
        record("Deathgrip", "a.png", id=None, set="lea", collector_number="1"),
        record("Deathgrip", "a.png", id=None, set="lea", collector_number="2"),
        record("Deathgrip", "a.png", id=None, set="lea", collector_number="1"),  # duplicate
    ])
    items = read_gallery(tmp_path)
    assert [i.entry.card_id for i in items] == ["lea-1", "lea-2"]
    assert items[0].entry.scryfall_uri == "https://scryfall.com/card/lea/1"


def test_missing_or_empty_gallery(tmp_path: Path) -> None:
    with pytest.raises(GalleryError, match="no cards.jsonl"):
        read_gallery(tmp_path)
    write_gallery(tmp_path, ["{bad"])
    with pytest.raises(GalleryError, match="no usable records"):
        read_gallery(tmp_path)


def test_landscape_image_turned_portrait(tmp_path: Path) -> None:
    card_image(tmp_path / "land.png", width=88, height=63)
    image = load_card_image(tmp_path / "land.png")
    assert image.shape == (88, 63, 3)
    # The red band on the landscape image's top edge is now on its right edge (a clockwise turn).
    assert (image[:, -5:, 0] > 200).all() and (image[:, :5, 0] < 200).all()
    resized = load_card_image(tmp_path / "land.png", (32, 44))
    assert resized.shape == (44, 32, 3) and resized.dtype == np.uint8


def test_portrait_image_read_as_rgb(tmp_path: Path) -> None:
    card_image(tmp_path / "p.png")
    image = load_card_image(tmp_path / "p.png")
    assert image.shape == (88, 63, 3)
    assert tuple(image[0, 0]) == (255, 0, 0)  # red, converted from OpenCV's BGR


def test_unreadable_image(tmp_path: Path) -> None:
    (tmp_path / "x.png").write_text("not an image", encoding="utf-8")
    with pytest.raises(GalleryError, match="not a readable image"):
        load_card_image(tmp_path / "x.png")
