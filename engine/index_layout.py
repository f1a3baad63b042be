"""Which Faiss layout a set's index is built with: the one place that says so.

Kept free of Faiss so the CLI can offer the choices without loading it; engine/search.py builds
and loads them.
"""

from __future__ import annotations

KINDS = ("auto", "flat", "flat-fp16", "hnsw", "ivf", "ivf-fp16")
"""Index layouts a set can be built with; bench/search_scale.py measures them side by side.

flat: exact, float32. flat-fp16: exact scan of float16 vectors, half the bytes (scores differ
from float32 by ~1e-3). hnsw: graph over float32 vectors. ivf / ivf-fp16: inverted lists.
auto: EXACT_UP_TO decides."""

EXACT_UP_TO = 50_000
"""Vectors (two per gallery face) up to which `auto` builds the exact float32 index: its search
is under 4 ms there and every answer is the exact one."""

LARGE = "flat-fp16"
"""What `auto` builds beyond EXACT_UP_TO. At 100,000 faces (200,000 vectors) it searched in
0.56-0.66 of float32's time for half the memory with the same top-1 (95.0%) on simulated
photos; HNSW and IVF searched in under 1.5 ms but lost 0.7-12 points of top-1
(bench/results/search-scale-2026-12-06.txt)."""


def resolve_kind(kind: str, vectors: int) -> str:
    """The concrete layout `kind` means for a gallery of `vectors` vectors."""
    if kind not in KINDS:
        raise ValueError(f"unknown index kind {kind!r}; choose one of {', '.join(KINDS)}")
    if kind == "auto":
        return "flat" if vectors <= EXACT_UP_TO else LARGE
    return kind
