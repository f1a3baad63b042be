"""Generated cards mixed into fine-tuning beside the real scans.

The team's scans cover two sets; the catalog users index has hundreds, in frame styles those
two sets never printed. Rendered cards in every frame (normal, borderless, showcase, extended,
full-art, basic land), with look-alike families among them, add that variety and harder
negatives to each batch, so the model learns what tells cards apart in general rather than
in Alpha and Duskmourn. They are rendered once per run folder, from the run's config alone,
so a resumed run trains on exactly the same images.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from training.cardgen import generate_gallery
from training.gallery import read_gallery

FOLDER = "generated"


def generated_references(run_dir: Path, count: int, seed: int) -> list[Path]:
    """Image paths of `count` generated cards under `run_dir/generated`, rendered if missing.

    Rendering goes to a sibling folder that is renamed when complete: a run killed while
    rendering leaves no partial set that a resumed run would train on.
    """
    if count <= 0:
        return []
    folder = Path(run_dir) / FOLDER
    stamp = folder / f".complete-{count}-{seed}"
    if not stamp.is_file():
        partial = folder.with_name(f".{FOLDER}-partial")
        shutil.rmtree(partial, ignore_errors=True)
        generate_gallery(partial, count, seed=seed)
        (partial / stamp.name).touch()
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(partial, folder)
    return [item.image_path for item in read_gallery(folder)]
