"""Gallery embeddings kept between index builds, keyed by image checksum, model version and views.

Images are keyed by `engine.artifacts.sha256_file` of their bytes: a re-scanned image is a new
image, a moved one is not.

On the day a new set comes out, a sync adds a few hundred images to a catalog of 100,000.
Embedding every image again would take the better part of an hour on two cores; with this
cache `cardsight index` embeds only images it has not seen under the same network, and a
set built that way holds the same vectors as a full rebuild.

One file per artifact root (`embedding-cache/<model version>-views<N>.npz`: the simulated views
averaged into each reference, training.index_build.reference_vectors), outside the sets, so it
is never loaded by the engine and never part of a set's checksums. It is rewritten after
every build with exactly the gallery just indexed (removed cards drop out), atomically: a
build killed midway leaves the previous cache as it was. A cache that cannot be read is
ignored (with a warning) and the build embeds everything. A cache written before sets stored
art edge maps (engine/art_edges.py) still gives its vectors and layouts; only the edge maps are
computed, from the images, which costs a read and not an embedding.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Sequence

import numpy as np

log = logging.getLogger(__name__)

FOLDER = "embedding-cache"


class EmbeddingCache:
    """Rows of (both half-turn vectors, colour-layout signature, art edge map) by image digest,
    for one network and number of views."""

    def __init__(self, root: Path, model_version: str, views: int) -> None:
        self.folder = Path(root) / FOLDER
        self.file = self.folder / f"{model_version}-views{views}.npz"
        self._rows: dict[str, int] = {}
        self._vectors = np.zeros((0, 2, 0), np.float32)
        self._layouts = np.zeros((0, 0), np.int8)
        self._edges: np.ndarray | None = None
        if self.file.is_file():
            try:
                with np.load(self.file, allow_pickle=False) as data:
                    digests = [str(d) for d in data["digests"]]
                    self._vectors, self._layouts = data["vectors"], data["layouts"]
                    self._edges = data["edges"] if "edges" in data.files else None
                self._rows = {d: i for i, d in enumerate(digests)}
            except (OSError, ValueError, KeyError) as exc:
                log.warning("ignoring unreadable embedding cache %s (%s)", self.file, exc)
                self._rows = {}

    def __len__(self) -> int:
        return len(self._rows)

    def get(self, digest: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None] | None:
        """(2, D) vectors, the layout signature and the edge map (None in a cache from before
        edge maps) of an image seen before, else None."""
        row = self._rows.get(digest)
        if row is None:
            return None
        return self._vectors[row], self._layouts[row], None if self._edges is None else self._edges[row]

    def save(self, digests: Sequence[str], vectors: np.ndarray, layouts: np.ndarray, edges: np.ndarray) -> None:
        """Replace the cache with these rows (`vectors`: (N, 2, D)) and drop other networks' and
        views' files."""
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.file.with_name(f".{self.file.name}.tmp")
        with tmp.open("wb") as fh:
            np.savez(fh, digests=np.array(digests, dtype="U64"), vectors=vectors, layouts=layouts, edges=edges)
        os.replace(tmp, self.file)
        for other in self.folder.glob("*.npz"):
            if other != self.file:
                other.unlink(missing_ok=True)
