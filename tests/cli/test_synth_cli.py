"""`cardsight synth cards|photos`: files written, truth.jsonl format, errors."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from cardsight.commands import synth


def run_synth(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="cardsight")
    synth.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["synth", *argv])
    return args.func(args)


def test_cards_then_photos_write_gallery_and_truth(tmp_path: Path) -> None:
    names = tmp_path / "names.txt"
    names.write_text("Deathgrip\nDemonic Attorney\n\nLightning Bolt\n", encoding="utf-8")
    assert run_synth("cards", "--out", str(tmp_path / "g"), "-n", "6", "--seed", "2", "--names", str(names)) == 0
    records = [json.loads(line) for line in (tmp_path / "g" / "cards.jsonl").read_text().splitlines()]
    assert len(records) == 6 and {r["name"] for r in records} >= {"Deathgrip", "Demonic Attorney", "Lightning Bolt"}

    assert run_synth("photos", "--gallery", str(tmp_path / "g"), "--out", str(tmp_path / "p"), "-n", "3",
                     "--cards-per-photo", "2", "--size", "400x300", "--hardness", "0.5") == 0
    lines = [json.loads(line) for line in (tmp_path / "p" / "truth.jsonl").read_text().splitlines()]
    assert len(lines) == 3
    ids = {r["id"]: r for r in records}
    for line in lines:
        image = cv2.imread(str(tmp_path / "p" / line["photo"]))
        assert image.shape == (300, 400, 3)
        assert 1 <= len(line["cards"]) <= 2
        for card in line["cards"]:
            assert card["name"] == ids[card["id"]]["name"]
            quad = np.array(card["quad"], np.float32)
            assert quad.shape == (4, 2) and cv2.contourArea(quad) > 100


def test_photos_from_a_gallery_without_ids(tmp_path: Path) -> None:
    """The shared real-scan format may have null ids: set + collector_number identify cards."""
    (tmp_path / "scans").mkdir()
    card = np.full((340, 244, 3), 90, np.uint8)
    cv2.imwrite(str(tmp_path / "scans" / "lea-1.jpg"), card)
    record = {"id": None, "name": "Deathgrip", "set": "lea", "collector_number": "1", "variant": "normal",
              "image": "scans/lea-1.jpg", "scryfall_uri": "https://scryfall.com/card/lea/1/deathgrip"}
    (tmp_path / "cards.jsonl").write_text(json.dumps(record) + "\n")
    assert run_synth("photos", "--gallery", str(tmp_path), "--out", str(tmp_path / "p"), "-n", "1",
                     "--size", "320x240") == 0
    (line,) = [json.loads(x) for x in (tmp_path / "p" / "truth.jsonl").read_text().splitlines()]
    (entry,) = line["cards"]
    assert entry["id"] is None and (entry["set"], entry["collector_number"], entry["name"]) == ("lea", "1", "Deathgrip")


def test_bad_arguments_and_missing_gallery(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        run_synth("photos", "--gallery", str(tmp_path), "--out", str(tmp_path), "--size", "big")
    with pytest.raises(SystemExit):
        run_synth("photos", "--gallery", str(tmp_path), "--out", str(tmp_path), "--hardness", "3")
    with pytest.raises(FileNotFoundError, match="cards.jsonl"):
        run_synth("photos", "--gallery", str(tmp_path / "nowhere"), "--out", str(tmp_path / "p"))
