"""Nearest gallery entries by inner product (cosine, on unit vectors) with Faiss.

Every gallery image is indexed twice: upright and turned 180°. A detected card's crop is
upright up to a half turn that geometry alone can't settle, so the query is embedded once and
matched against both; Faiss id = 2·row + turned. That halves model time per card compared
with embedding the query both ways.
"""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np

faiss.omp_set_num_threads(1)

KINDS = ("flat", "hnsw", "ivf")


def build_index(vectors: np.ndarray, kind: str = "flat") -> faiss.Index:
    """`vectors` rows are (row 0 upright, row 0 turned, row 1 upright, ...)."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n, dim = vectors.shape
    if kind == "flat":
        index: faiss.Index = faiss.IndexFlatIP(dim)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = 128
    elif kind == "ivf":
        nlist = max(1, min(4096, n, int(4 * np.sqrt(n))))  # k-means needs n >= nlist
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.train(vectors)
        index.nprobe = min(nlist, 16)
    else:
        raise ValueError(f"unknown index kind {kind!r}; choose one of {', '.join(KINDS)}")
    index.add(vectors)
    return index


def save_index(index: faiss.Index, path: Path) -> None:
    faiss.write_index(index, str(path))


class Searcher:
    def __init__(self, path: Path) -> None:
        self._index = faiss.read_index(str(path))
        self.size = self._index.ntotal // 2

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Per query, the best `k` distinct rows: (scores, row ids), best first.

        A row's score is its better orientation's; row id -1 pads when the gallery is small.
        """
        k_raw = min(2 * k, self._index.ntotal)
        scores, ids = self._index.search(np.ascontiguousarray(queries, np.float32), k_raw)
        out_scores = np.full((len(queries), k), -1.0, np.float32)
        out_rows = np.full((len(queries), k), -1, np.int64)
        for q in range(len(queries)):
            seen: set[int] = set()
            j = 0
            for score, fid in zip(scores[q], ids[q]):
                if fid < 0:
                    continue
                row = int(fid) // 2
                if row in seen:
                    continue
                seen.add(row)
                out_scores[q, j], out_rows[q, j] = score, row
                j += 1
                if j == k:
                    break
        return out_scores, out_rows
