"""Writes an evaluation's JSON report and its PNG: recall@k, reliability diagram, worst misses."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from training.evaluate import EvalResult, worst_misses
from training.projector import EmbeddingView


def write_report(result: EvalResult, out_dir: Path, extra: dict | None = None,
                 view: EmbeddingView | None = None) -> dict:
    """report.json and report.png in `out_dir`; with `view` (`eval --projector`) the PNG gets
    a third row, the 2-D map of the embedding space."""
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = {**result.summary(), **(extra or {})}
    summary["worst_misses"] = [
        {"photo": o.label, "truth": o.truth.name, "answer": o.found.matches[0].name,
         "confidence": o.confidence}
        for o in worst_misses(result)
    ]
    (out_dir / "report.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    _plot(result, summary, out_dir / "report.png", view)
    return summary


def _plot(result: EvalResult, summary: dict, path: Path, view: EmbeddingView | None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    misses = worst_misses(result, 6)
    fig = plt.figure(figsize=(13, 13 if view else 7))
    grid = fig.add_gridspec(3 if view else 2, 6, height_ratios=(1, 1, 2) if view else None)
    ax = fig.add_subplot(grid[0, :3])
    ks = sorted(int(k) for k in summary["recall_at_k"])
    ax.plot(ks, [summary["recall_at_k"][k] for k in ks], marker="o")
    ax.set(xlabel="k", ylabel="right name in top k", title="recall@k", ylim=(0, 1.01))
    ax.grid(alpha=0.3)

    ax = fig.add_subplot(grid[0, 3:])
    detected = [o for o in result.outcomes if o.found is not None]
    conf = np.array([o.confidence for o in detected], float)
    right = np.array([o.name_rank() == 1 for o in detected], float)
    edges = np.linspace(0, 1, 11)
    centres, rates, counts = [], [], []
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (conf >= lo) & (conf < hi if hi < 1 else conf <= hi)
        if sel.any():
            centres.append(conf[sel].mean())
            rates.append(right[sel].mean())
            counts.append(int(sel.sum()))
    ax.plot([0, 1], [0, 1], "--", color="grey")
    ax.scatter(centres, rates, s=[12 + 3 * c for c in counts])
    ax.set(xlabel="confidence", ylabel="fraction right",
           title=f"reliability (ECE {summary['ece'] or 0:.3f})", xlim=(0, 1), ylim=(0, 1))
    ax.grid(alpha=0.3)

    for i, o in enumerate(misses):
        ax = fig.add_subplot(grid[1, i])
        ax.imshow(o.found.crop)
        ax.set_title(f"{o.truth.name[:18]}\n→ {o.found.matches[0].name[:18]}\n{o.confidence:.0%}",
                     fontsize=7)
        ax.axis("off")
    if view is not None:
        from training.projector import draw_map

        draw_map(fig.add_subplot(grid[2, :]), view)
    fig.suptitle(f"top-1 {summary['top1']:.1%}  top-5 {summary['top5']:.1%}  "
                 f"detected {summary['detection_rate']:.1%}  ({summary['cards']} cards)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
