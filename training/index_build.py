"""Builds a complete artifact set from a gallery: model graph, index, catalog, calibration.

Everything goes into a `SetWriter` temp folder and is published atomically at the end, so a
build killed at any point leaves the previous set (if any) as the one that loads.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from engine import colour_layout
from engine.artifacts import ArtifactSet, SetWriter, sha256_file
from engine.catalog import write_catalog
from engine.colour_layout import LAYOUT_SIZE, LayoutSettings, layout, signatures
from engine.embed import Embedder
from engine.recognizer import Recognizer
from engine.search import build_index, save_index
from engine.settings import EngineSettings
from training import calibration
from training.config import RunConfig, load_run_config
from training.export import export_onnx
from training.gallery import GalleryItem, load_card_image, read_gallery
from training.model import CardEmbedder
from training.quantize import calibration_crops, quantize_embedder
from training.train import CONFIG, load_trained

log = logging.getLogger(__name__)


def embed_gallery(
    embedder: Embedder, items: list[GalleryItem], *, batch: int = 32, progress: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """(vectors, colour-layout signatures), each image read once.

    Vector rows: item 0 upright, item 0 turned 180°, item 1 upright, ... (see engine.search);
    signatures: one per item, upright.
    """
    size = embedder.input_size
    vectors = np.zeros((2 * len(items), embedder.dim), np.float32)
    stored = np.zeros((len(items), LAYOUT_SIZE[0] * LAYOUT_SIZE[1] * 3), np.int8)
    bar = tqdm(total=len(items), desc="embed gallery", unit="card", disable=not progress)
    for start in range(0, len(items), batch):
        images = [load_card_image(item.image_path, size) for item in items[start : start + batch]]
        crops = [c for image in images for c in (image, np.ascontiguousarray(image[::-1, ::-1]))]
        vectors[2 * start : 2 * start + len(crops)] = embedder.embed(crops)
        stored[start : start + len(images)] = signatures(np.stack([layout(image) for image in images]))
        bar.update(len(images))
    bar.close()
    return vectors, stored


def _export(model: CardEmbedder, path: Path, precision: str, items: Sequence[GalleryItem]) -> None:
    """The served network at `path`; int8 is calibrated on the gallery's own cards."""
    if precision == "float32":
        export_onnx(model, path)
        return
    with tempfile.TemporaryDirectory() as tmp:
        float_model = Path(tmp) / "float32.onnx"
        export_onnx(model, float_model)
        size = (model.cfg.input_width, model.cfg.input_height)
        quantize_embedder(float_model, path, calibration_crops(items, size))


def build_artifacts(
    gallery: Path, out_root: Path, *, model_dir: Path | None = None, cfg: RunConfig | None = None,
    progress: bool = True, calibrate_on: Sequence[GalleryItem] | None = None,
) -> ArtifactSet:
    """`model_dir`: a finished training run; None means the ImageNet-pretrained backbone.

    Calibration photographs random gallery cards, or `calibrate_on` where the gallery holds
    cards unlike the ones users photograph (the benchmark's generated padding).
    """
    started = time.perf_counter()
    items = read_gallery(gallery)
    if model_dir is not None:
        cfg = load_run_config(Path(model_dir) / CONFIG) if cfg is None else cfg
        model = load_trained(model_dir)
        model_source = str(model_dir)
    else:
        cfg = cfg or RunConfig()
        # The projection head starts random: seeded, so one config builds one artifact set,
        # whatever the process drew from torch's generator before.
        with torch.random.fork_rng():
            torch.manual_seed(cfg.train.seed)
            model = CardEmbedder(cfg.model).eval()
        model_source = f"{cfg.model.backbone} (ImageNet, not fine-tuned)"
    with SetWriter(out_root) as writer:
        _export(model, writer.path("model.onnx"), cfg.index.precision, items)
        embedder = Embedder(writer.path("model.onnx"))
        vectors, layout_signatures = embed_gallery(embedder, items, batch=cfg.index.batch, progress=progress)
        save_index(build_index(vectors, cfg.index.kind), writer.path("index.faiss"))
        reranking: dict = {}
        if cfg.index.layout_weight > 0:
            np.save(writer.path(colour_layout.FILE), layout_signatures)
            reranking = LayoutSettings(cfg.index.layout_weight, cfg.index.shortlist).to_manifest()
        write_catalog(writer.path("catalog.sqlite"), [it.entry for it in items])
        calibration.PROVISIONAL.save(writer.path("calibration.json"))
        cfg.save(writer.path("config.toml"))
        # Calibrated as served: with the same re-ranking the manifest will name.
        building = ArtifactSet(path=writer.tmp, manifest={"version": "building", **reranking})
        recognizer = Recognizer(building, EngineSettings())
        try:
            cal = calibration.calibrate_set(writer.tmp, calibrate_on or items, cfg.calibration, recognizer,
                                            progress=progress)
        finally:
            recognizer.close()
        manifest = {
            "model_version": sha256_file(writer.path("model.onnx"))[:12],
            "model_source": model_source,
            "embedding_dim": embedder.dim,
            "input_size": list(embedder.input_size),
            "index_kind": cfg.index.kind,
            "precision": cfg.index.precision,
            **reranking,
            "gallery": str(Path(gallery).resolve()),
            "gallery_size": len(items),
            "gallery_digest": hashlib.sha256(
                "\n".join(f"{i.entry.card_id}:{i.entry.face}" for i in items).encode()
            ).hexdigest()[:12],
            "calibration": {"fitted_on": cal.fitted_on, "ece": cal.expected_calibration_error},
            "build_seconds": round(time.perf_counter() - started, 1),
        }
        published = writer.commit(manifest)
    log.info("artifact set %s: %d cards in %.0f s", published.version, len(items),
             time.perf_counter() - started)
    return published
