"""Generated cards that pad a benchmark gallery to a real catalog's size.

Only their embeddings matter (no photo is taken of them), so they are rendered at half size
in two processes: 30,000 cards take minutes rather than the better part of an hour.
"""

from __future__ import annotations

import json
import uuid
from multiprocessing import Pool
from pathlib import Path

import cv2
import numpy as np

from training.cardgen import random_spec, render_card

SIZE = (244, 340)


def _render(job: tuple[int, str, str, int]) -> dict:
    index, name, folder, seed = job
    rng = np.random.default_rng([seed, index])
    spec = random_spec(name, rng)
    rel = Path("images") / f"{index // 1000:03d}" / f"{index}.jpg"
    path = Path(folder) / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(render_card(spec, SIZE), cv2.COLOR_RGB2BGR),
                [cv2.IMWRITE_JPEG_QUALITY, 90])
    return {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"cardsight-pad/{seed}/{index}")),
            "name": name, "set": spec.set_code, "collector_number": str(index),
            "scryfall_uri": f"https://scryfall.com/card/{spec.set_code}/{index}",
            "image": str(rel), "variant": spec.frame}


def make_padding(folder: Path, count: int, names: list[str], *, seed: int = 77, workers: int = 2) -> Path:
    """Writes `count` cards (names cycled from `names`) and their cards.jsonl; reuses a finished one."""
    index = folder / "cards.jsonl"
    if index.is_file() and sum(1 for _ in index.open()) >= count:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    jobs = [(i, names[i % len(names)], str(folder), seed) for i in range(count)]
    with Pool(workers) as pool:
        records = pool.map(_render, jobs, chunksize=64)
    tmp = index.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in records))
    tmp.replace(index)
    return folder
