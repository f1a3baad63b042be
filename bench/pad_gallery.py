"""Generated cards that pad a benchmark gallery to a real catalog's size.

Only their embeddings matter (no photo is taken of them), so they are rendered at half size
in two processes: 30,000 cards take minutes rather than the better part of an hour.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from multiprocessing import Pool
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from training.cardgen import random_spec, render_card
from training.gallery import GalleryItem, read_gallery

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


def padded_gallery(work: Path, gallery: Path, items: Sequence[GalleryItem], pad_to: int) -> Path:
    """`work/gallery-<pad_to>`: the gallery's cards plus generated ones up to `pad_to` entries.

    Images are hard-linked where the file system allows (a 100,000-card gallery is ~2 GB of
    padding), else copied; names for the padding come from the gallery's card-names.txt.
    """
    combined = work / f"gallery-{pad_to}"
    if (combined / "cards.jsonl").is_file():
        return combined
    names_file = gallery / "card-names.txt"
    names = names_file.read_text().split("\n") if names_file.is_file() else [i.entry.name for i in items]
    pad_dir = work / f"padding-{pad_to}"
    started = time.perf_counter()
    make_padding(pad_dir, pad_to - len(items), [n for n in names if n.strip()])
    print(f"# {pad_to - len(items)} padding cards ready in {time.perf_counter() - started:.0f} s")
    partial = combined.with_name(combined.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    lines = []
    for prefix, group, root in (("real", items, gallery), ("pad", read_gallery(pad_dir), pad_dir)):
        for item in group:
            rel = Path("images") / prefix / item.image_path.relative_to(root)
            (partial / rel).parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(item.image_path, partial / rel)
            except OSError:
                shutil.copyfile(item.image_path, partial / rel)
            e = item.entry
            lines.append(json.dumps({
                "id": e.card_id, "name": e.name, "set": e.set_code,
                "collector_number": e.collector_number, "scryfall_uri": e.scryfall_uri,
                "image": str(rel), "face": e.face, "variant": e.variant}))
    (partial / "cards.jsonl").write_text("\n".join(lines) + "\n")
    partial.replace(combined)
    return combined
