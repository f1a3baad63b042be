"""`cardsight train --photos`: a feedback folder's crops become positive pairs in training."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from bot.feedback import FeedbackStore, Scope
from bot.settings import FeedbackSettings
from training.cardgen import generate_gallery
from training.gallery import read_gallery
from training.pairs import PairDataset
from training.real_photos import real_photo_pairs

GUILD = 5


def feedback_folder(tmp_path: Path, labels: list[tuple[str, str]], colour: tuple[int, int, int]) -> Path:
    """Records written the way the bots write them: a held crop, then the poster's pick."""
    store = FeedbackStore(FeedbackSettings(discord_guild_ids=(GUILD,), folder=str(tmp_path / "fb")))
    crop = np.zeros((680, 488, 3), np.uint8)
    crop[:] = colour
    jpeg = cv2.imencode(".jpg", crop)[1].tobytes()
    for card_id, name in labels:
        token = store.hold(jpeg, {card_id: name}, Scope("discord", GUILD, 1))
        assert store.record(token, card_id, "discord", 1)
    return tmp_path / "fb"


@pytest.fixture()
def gallery(tmp_path: Path) -> Path:
    generate_gallery(tmp_path / "gallery", 12, seed=3, hard_negative_fraction=0.0)
    return tmp_path / "gallery"


def test_records_map_to_gallery_cards_and_strangers_are_skipped(tmp_path: Path, gallery: Path) -> None:
    items = read_gallery(gallery)
    labels = [(items[2].entry.card_id, items[2].entry.name), (items[2].entry.card_id, items[2].entry.name),
              (items[7].entry.card_id, items[7].entry.name), ("not-in-gallery", "Nobody")]
    folder = feedback_folder(tmp_path, labels, (0, 200, 0))
    with (folder / "truth.jsonl").open("a") as fh:  # a whole scene of two cards is no crop
        fh.write(json.dumps({"photo": "photos/x.jpg", "cards": [{"id": "a"}, {"id": "b"}]}) + "\n")
    pairs = real_photo_pairs(folder, items)
    assert sorted(pairs) == [2, 7] and len(pairs[2]) == 2 and all(p.is_file() for p in pairs[2])


def test_batches_pair_those_cards_with_their_real_crops(tmp_path: Path, gallery: Path) -> None:
    items = read_gallery(gallery)
    folder = feedback_folder(tmp_path, [(items[4].entry.card_id, items[4].entry.name)], (0, 220, 0))
    real = real_photo_pairs(folder, items)
    data = PairDataset([i.image_path for i in items], (64, 96), batch=8, seed=0, hardness=0.5, steps=6, real=real)
    for step in range(6):
        _, photos, cards, _ = data[step]
        assert len(set(cards.tolist())) == 8
        assert 4 in cards.tolist()  # the card users corrected is in every batch
        photo = photos[cards.tolist().index(4)].numpy().astype(int)
        green = (photo[..., 1] - photo[..., [0, 2]].max(axis=-1)).mean()
        assert green > 100, green  # the real (green) crop, not a simulated photo of the reference
    assert np.array_equal(data[3][1].numpy(), data[3][1].numpy())  # a pure function of the step


def test_train_with_photos_runs_and_resumes_only_with_the_same_photos(tmp_path: Path, gallery: Path) -> None:
    from configuration import ConfigError
    from training.config import RunConfig, TrainConfig
    from training.model import ModelConfig
    from training.train import train

    items = read_gallery(gallery)
    folder = feedback_folder(tmp_path, [(items[1].entry.card_id, items[1].entry.name)], (0, 220, 0))
    cfg = RunConfig(model=ModelConfig(input_width=64, input_height=96, embedding_dim=32),
                    train=TrainConfig(steps=2, batch_pairs=4, frozen_blocks=8, checkpoint_every=1, workers=0,
                                      generated_cards=0))
    images = [i.image_path for i in items]
    weights = train(images, tmp_path / "run", cfg, progress=False, real=real_photo_pairs(folder, items))
    assert weights.is_file()
    more = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, steps=3))
    with pytest.raises(ConfigError):  # another set of photos is another run
        train(images, tmp_path / "run", more, progress=False)
    tuned = train(images, tmp_path / "tuned", cfg, progress=False, init=weights,
                  real=real_photo_pairs(folder, items))
    assert tuned.is_file()
