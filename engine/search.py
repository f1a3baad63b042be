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

from engine.index_layout import resolve_kind

HNSW_EF_SEARCH = 128
"""Graph candidates kept per query: 64 lost exact neighbours on photo crops at 100K faces."""
IVF_NPROBE = 64
"""Lists scanned per query: crops of photos sit far from their gallery vectors, so fewer
lists miss them (bench/results/search-scale-2026-12-06.txt)."""


def build_index(vectors: np.ndarray, kind: str = "auto") -> faiss.Index:
    """`vectors` rows are (row 0 upright, row 0 turned, row 1 upright, ...)."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n, dim = vectors.shape
    kind = resolve_kind(kind, n)
    ip = faiss.METRIC_INNER_PRODUCT
    if kind == "flat":
        index: faiss.Index = faiss.IndexFlatIP(dim)
    elif kind == "flat-fp16":
        index = faiss.IndexScalarQuantizer(dim, faiss.ScalarQuantizer.QT_fp16, ip)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, 32, ip)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = HNSW_EF_SEARCH
    else:
        nlist = max(1, min(4096, n, int(4 * np.sqrt(n))))  # k-means needs n >= nlist
        quantizer = faiss.IndexFlatIP(dim)
        if kind == "ivf":
            index = faiss.IndexIVFFlat(quantizer, dim, nlist, ip)
        else:
            index = faiss.IndexIVFScalarQuantizer(quantizer, dim, nlist, faiss.ScalarQuantizer.QT_fp16, ip)
        index.nprobe = min(nlist, IVF_NPROBE)
    index.train(vectors)
    index.add(vectors)
    return index


def save_index(index: faiss.Index, path: Path) -> None:
    faiss.write_index(index, str(path))


def read_index(path: Path, *, mmap: bool = False) -> faiss.Index:
    """`mmap`: map the file's vectors instead of copying them into the heap.

    Mapped pages are the page cache's: they count once however many serving processes map
    the same set, and the kernel can drop them under pressure (bench/search_scale.py).
    """
    return faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY if mmap else 0)


class Searcher:
    def __init__(self, index: faiss.Index) -> None:
        self._index = index
        self.size = index.ntotal // 2

    @classmethod
    def load(cls, path: Path, *, mmap: bool = True) -> "Searcher":
        return cls(read_index(path, mmap=mmap))

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
