"""Builds a complete artifact set from a gallery: model graph, index, catalog, calibration.

Everything goes into a `SetWriter` temp folder and is published atomically at the end, so a
build killed at any point leaves the previous set (if any) as the one that loads. Gallery
embeddings are kept in the root's embedding cache (training/embedding_cache.py), so a
rebuild after a sync embeds only the new or changed images. Torch is loaded only to export
a training run or the ImageNet baseline: the shipped network is built into a set without it.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
from tqdm import tqdm

from engine import art_edges, artifacts, colour_layout
from engine.artifacts import ArtifactSet, SetWriter, sha256_file
from engine.calibrate import Calibrator
from engine.catalog import write_catalog
from engine.colour_layout import LAYOUT_SIZE, LayoutSettings, layout, signatures
from engine.embed import Embedder
from engine.errors import ArtifactError
from engine.recognizer import Recognizer
from engine.search import build_index, resolve_kind, save_index
from engine.settings import EngineSettings
from training import calibration, networks
from training.config import RunConfig, load_run_config
from training.embedding_cache import FOLDER as EMBEDDING_CACHE_FOLDER, EmbeddingCache
from training.gallery import GalleryItem, load_card_image, read_gallery
from training.photosim import augment_crop
from training.quantize import int8_network, served_precision

log = logging.getLogger(__name__)

CARRY_CALIBRATION_UP_TO = 0.02
"""Share of a gallery that may be new or gone for a rebuild to keep the live set's calibration.

The confidence maps a network's scores to the chance the name is right; a few hundred cards
more among 100,000 do not move that mapping, but re-fitting it photographs and reads 500
simulated photos (~1.5 min of a 2-minute new-set-day build on two cores). `--recalibrate`
fits it anyway."""

VIEW_HARDNESS = 0.5
"""Hardness of the simulated views averaged into a reference: 0.3, 0.5 and 1.0 read alike."""

CALIBRATION_FORMAT = 7
"""Kept calibrations must be of this format: 2 is the open-set fit (art agreement, card floor),
3 adds the title check, 4 the title's vote against a clearly read word the name lacks
(engine.title_read.title_vote), 5 cards read without their Arena rebalancing too
(training.calibration.without_card) and the art edge check (engine.art_edges), 6 the edge lead
over the next names' matches (engine.art_edges.edge_lead), 7 the second look at unsure answers
through rebuilt outlines (engine.outline_retry); a set built before it is calibrated
again rather than carry a fit whose weights were learnt from other evidence."""


class GalleryEmbeddings(NamedTuple):
    vectors: np.ndarray
    """Rows: item 0 upright, item 0 turned 180°, item 1 upright, ... (see engine.search)."""
    signatures: np.ndarray
    """Colour-layout signatures, one per item, upright."""
    edges: np.ndarray
    """Art edge maps (engine.art_edges), one per item, upright."""
    embedded: int
    """Images run through the network; the others came from the embedding cache."""


def embed_gallery(
    embedder: Embedder, items: list[GalleryItem], cache: EmbeddingCache, *, batch: int = 32,
    progress: bool = True, views: int = 0,
) -> GalleryEmbeddings:
    """Each new image read and embedded once, the rest taken from `cache`, which is then
    rewritten with exactly these items. With `views`, each reference's vector is the mean of
    its clean scan's and of that many simulated photo crops of it (`reference_vectors`)."""
    size = embedder.input_size
    vectors = np.zeros((len(items), 2, embedder.dim), np.float32)
    stored = np.zeros((len(items), LAYOUT_SIZE[0] * LAYOUT_SIZE[1] * 3), np.int8)
    edges = np.zeros((len(items), *art_edges.SHAPE), np.uint8)
    digests = [sha256_file(item.image_path) for item in items]
    todo, edges_todo = [], []
    for row, digest in enumerate(digests):
        hit = cache.get(digest)
        if hit is None:
            todo.append(row)
            continue
        vectors[row], stored[row], cached_edges = hit
        if cached_edges is None:
            edges_todo.append(row)
        else:
            edges[row] = cached_edges
    for row in edges_todo:  # a cache from before edge maps: the image is read, not embedded
        edges[row] = art_edges.edge_map(load_card_image(items[row].image_path, art_edges.CARD_SIZE))
    log.info("embedding %d gallery images (%d from the embedding cache)", len(todo), len(items) - len(todo))
    bar = tqdm(total=len(todo), desc="embed gallery", unit="card", disable=not progress)
    for start in range(0, len(todo), batch):
        rows = todo[start : start + batch]
        images = [load_card_image(items[row].image_path, size) for row in rows]
        vectors[rows] = reference_vectors(embedder, images, views, [digests[row] for row in rows], 2 * batch)
        stored[rows] = signatures(np.stack([layout(image) for image in images]))
        edges[rows] = [art_edges.edge_map(image) for image in images]
        bar.update(len(rows))
    bar.close()
    cache.save(digests, vectors, stored, edges)
    return GalleryEmbeddings(vectors.reshape(2 * len(items), embedder.dim), stored, edges, len(todo))


def reference_vectors(embedder: Embedder, images: Sequence[np.ndarray], views: int, digests: Sequence[str],
                      batch: int = 64) -> np.ndarray:
    """(N, 2, D) unit vectors of references, upright and turned 180°: each the normalised mean of
    the clean image's embedding and of `views` simulated photo crops of it (`VIEW_HARDNESS`),
    embedded `batch` crops a call (one reference a call ran the scans alone 28% slower).

    A network meets a set it never trained on through its references alone, and a clean scan
    lies off the cloud of photos of it that the network maps around it: the mean of a few
    simulated photos sits in that cloud's middle. With 8 views, raw nearest-neighbour top-1
    on 300 simulated photos of Duskmourn rose from 81.0% to 87.3% for a network trained
    without it, and 88.3-90.0% to 90.3-91.3% for sets it trained on (2026-12-07). The views
    are drawn from each image's digest, so an image always gets the same vector."""
    shots = []
    for image, digest in zip(images, digests):
        rng = np.random.default_rng(int(digest[:16], 16))
        shots += [image] + [augment_crop(image, rng, hardness=VIEW_HARDNESS, out_size=embedder.input_size)
                            for _ in range(views)]
    crops = [c for shot in shots for c in (shot, np.ascontiguousarray(shot[::-1, ::-1]))]
    vectors = embedder.embed_batched(crops, batch)
    mean = vectors.reshape(len(images), views + 1, 2, embedder.dim).mean(axis=1)
    return mean / np.linalg.norm(mean, axis=2, keepdims=True)


def _write_network(model: networks.ModelChoice, cfg: RunConfig, precision: str, path: Path, out_root: Path) -> None:
    """The served network at `path` in `precision` (float32 or int8); an int8 one is kept in the
    root's embedding-cache folder for the next build of the same network
    (training/quantize.int8_network)."""
    if precision == "float32":
        networks.write_float_network(model, cfg, path)
        return
    with tempfile.TemporaryDirectory() as tmp:
        float_model = Path(tmp) / "float32.onnx"
        networks.write_float_network(model, cfg, float_model)
        int8_network(float_model, path, Path(out_root) / EMBEDDING_CACHE_FOLDER)


def _calibration_to_carry(out_root: Path, model_version: str, cfg: RunConfig, gallery_size: int,
                          embedded: int) -> ArtifactSet | None:
    """The live set under `out_root` whose calibration this build may keep: a fit of this
    CALIBRATION_FORMAT, the same network, the same index and calibration settings, and at most
    CARRY_CALIBRATION_UP_TO of the gallery new or removed."""
    try:
        live = artifacts.open_set(out_root, verify=False)
        live_cfg = load_run_config(live.file("config.toml"))
    except (ArtifactError, OSError, ValueError):
        return None
    live_size = int(live.manifest.get("gallery_size", 0))
    changed = embedded + max(0, live_size - (gallery_size - embedded))
    if (live.manifest.get("calibration", {}).get("format") != CALIBRATION_FORMAT
            or live.manifest.get("model_version") != model_version or live_cfg.index != cfg.index
            or live_cfg.calibration != cfg.calibration or changed > CARRY_CALIBRATION_UP_TO * gallery_size):
        return None
    return live


def _calibrate(set_dir: Path, items: Sequence[GalleryItem], cfg: RunConfig, reranking: dict,
               progress: bool) -> Calibrator:
    """Fits the confidence on the set being built, served as it will be: with the re-ranking
    its manifest will name."""
    calibration.PROVISIONAL.save(set_dir / "calibration.json")  # the recognizer needs one to load
    building = ArtifactSet(path=set_dir, manifest={"version": "building", **reranking})
    recognizer = Recognizer(building, EngineSettings())
    try:
        return calibration.calibrate_set(set_dir, items, cfg.calibration, recognizer, progress=progress)
    finally:
        recognizer.close()


def build_artifacts(
    gallery: Path, out_root: Path, *, model: networks.ModelChoice = None, cfg: RunConfig | None = None,
    progress: bool = True, calibrate_on: Sequence[GalleryItem] | None = None, recalibrate: bool = False,
) -> ArtifactSet:
    """`model`: None for the shipped network, else a training run, an `.onnx` file or
    `networks.IMAGENET`; `cfg` defaults to the one that network was trained with.

    Calibration photographs random gallery cards, or `calibrate_on` where the gallery holds
    cards unlike the ones users photograph (the benchmark's generated padding). A rebuild that
    changes little keeps the live set's calibration (CARRY_CALIBRATION_UP_TO) unless
    `recalibrate`.
    """
    started = time.perf_counter()
    items = read_gallery(gallery)
    cfg = cfg or networks.run_config(model)
    precision = served_precision(cfg.index.precision)
    with SetWriter(out_root) as writer:
        _write_network(model, cfg, precision, writer.path("model.onnx"), out_root)
        model_version = sha256_file(writer.path("model.onnx"))[:12]
        embedder = Embedder(writer.path("model.onnx"))
        embedded = embed_gallery(embedder, items, EmbeddingCache(out_root, model_version, cfg.index.views),
                                 batch=cfg.index.batch, progress=progress, views=cfg.index.views)
        embedded_at = time.perf_counter()
        save_index(build_index(embedded.vectors, cfg.index.kind), writer.path("index.faiss"))
        np.save(writer.path(art_edges.FILE), embedded.edges)
        reranking: dict = {}
        if cfg.index.layout_weight > 0:
            np.save(writer.path(colour_layout.FILE), embedded.signatures)
            reranking = LayoutSettings(cfg.index.layout_weight, cfg.index.shortlist).to_manifest()
        write_catalog(writer.path("catalog.sqlite"), [it.entry for it in items])
        cfg.save(writer.path("config.toml"))
        carried = None if recalibrate or calibrate_on is not None else _calibration_to_carry(
            out_root, model_version, cfg, len(items), embedded.embedded)
        if carried is not None:
            shutil.copyfile(carried.file("calibration.json"), writer.path("calibration.json"))
            cal = Calibrator.load(writer.path("calibration.json"))
            log.info("calibration kept from set %s (%d new images of %d)", carried.version,
                     embedded.embedded, len(items))
        else:
            cal = _calibrate(writer.tmp, calibrate_on or items, cfg, reranking, progress)
        manifest = {
            "model_version": model_version,
            "model_source": networks.describe(model),
            "embedding_dim": embedder.dim,
            "input_size": list(embedder.input_size),
            "index_kind": resolve_kind(cfg.index.kind, len(embedded.vectors)),
            "precision": precision,
            **reranking,
            "gallery": str(Path(gallery).resolve()),
            "gallery_size": len(items),
            "gallery_digest": hashlib.sha256(
                "\n".join(f"{i.entry.card_id}:{i.entry.face}" for i in items).encode()
            ).hexdigest()[:12],
            "calibration": {"fitted_on": cal.fitted_on, "ece": cal.expected_calibration_error,
                            "format": CALIBRATION_FORMAT,
                            **({"kept_from": carried.version} if carried is not None else {})},
            "build_seconds": round(time.perf_counter() - started, 1),
            "embed_seconds": round(embedded_at - started, 1),
            "images_embedded": embedded.embedded,
            "embeddings_cached": len(items) - embedded.embedded,
        }
        published = writer.commit(manifest)
    log.info("artifact set %s: %d cards in %.0f s", published.version, len(items),
             time.perf_counter() - started)
    return published
