"""The embedding space of an evaluation, for looking at: TensorBoard projector files and a 2-D map.

`cardsight eval --projector DIR` writes, for the query crops the engine answered and the
gallery cards they were or should have been (their truth and their top answer):
  tensors.tsv            one embedding per row, tab-separated
  metadata.tsv           a header, then kind (gallery/query), name, truth, answer, right per row
  sprite.png             every row's thumbnail, row-major in a square grid
  projector_config.pbtxt what TensorBoard's projector reads to find the three
They are plain files, written without tensorflow or tensorboard: open them with
`tensorboard --logdir DIR` (Projector tab), or load tensors.tsv and metadata.tsv at
https://projector.tensorflow.org. The same rows, brought to 2-D by PCA, make the map in the
report PNG, with the worst confusions drawn from the query to the card it was taken for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import cv2
import numpy as np

from engine.recognizer import Recognizer
from training.evaluate import EvalResult, worst_misses
from training.gallery import GalleryItem, load_card_image

if TYPE_CHECKING:
    from matplotlib.axes import Axes

THUMB = (32, 44)
"""(W, H) of a sprite thumbnail: a card's aspect; 8192 px (TensorBoard's sprite limit) holds
186 × 186 of them."""

METADATA_COLUMNS = ("kind", "name", "truth", "answer", "right")


@dataclass
class EmbeddingView:
    vectors: np.ndarray
    metadata: list[tuple[str, ...]]
    """Per row, the METADATA_COLUMNS values."""
    thumbs: list[np.ndarray]
    confusions: list[tuple[int, int]]
    """(query row, row of the card it was wrongly taken for), the most confident first."""


def embedding_view(recognizer: Recognizer, result: EvalResult, items: Sequence[GalleryItem],
                   confusions: int = 8) -> EmbeddingView:
    """Rows for the answered crops of `result` and the gallery cards among their truths and
    top answers, embedded by the evaluated set's own network."""
    answered = [o for o in result.outcomes if o.found is not None and o.found.matches]
    wanted = {o.truth.card_id for o in answered} | {o.found.matches[0].card_id for o in answered}
    gallery = [i for i in items if i.entry.card_id in wanted]
    size = recognizer.embedder.input_size
    images = [load_card_image(i.image_path, size) for i in gallery]
    crops = [o.found.crop for o in answered]
    vectors = recognizer.embed_crops(images + crops) if images or crops else np.zeros((0, 1), np.float32)
    metadata = [("gallery", i.entry.name, i.entry.name, "", "") for i in gallery]
    for o in answered:
        top = o.found.matches[0].name
        metadata.append(("query", o.truth.name, o.truth.name, top, "yes" if top == o.truth.name else "no"))
    row_of_card = {i.entry.card_id: n for n, i in enumerate(gallery)}
    row_of_outcome = {id(o): len(gallery) + n for n, o in enumerate(answered)}
    pairs = [(row_of_outcome[id(o)], row_of_card[o.found.matches[0].card_id])
             for o in worst_misses(result, confusions) if id(o) in row_of_outcome]
    return EmbeddingView(vectors, metadata, images + crops, pairs)


def write_projector(view: EmbeddingView, out_dir: Path) -> list[Path]:
    """The four projector files in `out_dir`; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tensors, metadata, sprite, config = (out_dir / n for n in
                                         ("tensors.tsv", "metadata.tsv", "sprite.png", "projector_config.pbtxt"))
    tensors.write_text("".join("\t".join(f"{x:.6g}" for x in row) + "\n" for row in view.vectors), encoding="utf-8")
    clean = [tuple(v.replace("\t", " ").replace("\n", " ") for v in row) for row in view.metadata]
    metadata.write_text("\t".join(METADATA_COLUMNS) + "\n" + "".join("\t".join(r) + "\n" for r in clean),
                        encoding="utf-8")
    ok, encoded = cv2.imencode(".png", sprite_image(view.thumbs)[..., ::-1])
    if not ok:
        raise RuntimeError("OpenCV could not encode the sprite")
    sprite.write_bytes(encoded.tobytes())
    config.write_text(
        "embeddings {\n"
        '  tensor_name: "cardsight"\n'
        f'  tensor_path: "{tensors.name}"\n'
        f'  metadata_path: "{metadata.name}"\n'
        "  sprite {\n"
        f'    image_path: "{sprite.name}"\n'
        f"    single_image_dim: {THUMB[0]}\n"
        f"    single_image_dim: {THUMB[1]}\n"
        "  }\n"
        "}\n", encoding="utf-8")
    return [tensors, metadata, sprite, config]


def sprite_image(images: Sequence[np.ndarray]) -> np.ndarray:
    """RGB grid of THUMB-sized thumbnails, `ceil(sqrt(n))` a side, row-major as TensorBoard reads it."""
    side = max(1, math.ceil(math.sqrt(len(images))))
    width, height = THUMB
    grid = np.zeros((side * height, side * width, 3), np.uint8)
    for n, image in enumerate(images):
        r, c = divmod(n, side)
        grid[r * height:(r + 1) * height, c * width:(c + 1) * width] = cv2.resize(
            image, THUMB, interpolation=cv2.INTER_AREA)
    return grid


def map_2d(vectors: np.ndarray) -> np.ndarray:
    """(N, 2) PCA of the rows: linear, so distances on the map keep their order roughly and the
    same evaluation draws the same map (t-SNE would separate clusters more, but moves between runs)."""
    from sklearn.decomposition import PCA

    if len(vectors) < 2:
        return np.zeros((len(vectors), 2))
    return PCA(n_components=2, random_state=0).fit_transform(vectors)


def draw_map(ax: Axes, view: EmbeddingView) -> None:
    """Gallery cards as squares, right answers as green dots, wrong ones as red crosses, and a
    line from each of the worst confusions to the card it was taken for."""
    points = map_2d(view.vectors)
    kinds = np.array([m[0] for m in view.metadata])
    right = np.array([m[4] == "yes" for m in view.metadata])
    gallery, query = kinds == "gallery", kinds == "query"
    ax.scatter(*points[gallery].T, s=14, marker="s", c="#888888", label="gallery card")
    ax.scatter(*points[query & right].T, s=10, c="#2a8f4a", label="query, named right")
    ax.scatter(*points[query & ~right].T, s=22, marker="x", c="#c0392b", label="query, named wrong")
    for q, g in view.confusions:
        ax.plot(*np.stack([points[q], points[g]]).T, color="#c0392b", lw=1)
        ax.annotate(view.metadata[q][1][:16], points[q], fontsize=6, color="#c0392b")
    ax.set(title="embedding map (PCA): worst confusions joined to the card they were taken for",
           xticks=[], yticks=[])
    ax.legend(fontsize=7, loc="best")
