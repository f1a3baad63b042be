"""Prometheus metrics of one service instance.

Each app gets its own `CollectorRegistry` so several apps in one process (tests, or a future
multi-tenant setup) never collide on metric names. Engine state (queue depth, versions,
generation) is read at scrape time by a custom collector, so it is never stale and the holder
does not need to know about Prometheus.
"""

from __future__ import annotations

from typing import Callable, Iterable, Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, CounterMetricFamily
from prometheus_client.registry import Collector

STAGES = ("decode", "detect", "embed", "search", "total")

# Pipeline stages range from ~1 ms (search) to seconds (a big photo on a slow CPU).
STAGE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class EngineCollector(Collector):
    """Reads `info()` of the engine holder when Prometheus scrapes."""

    def __init__(self, info: Callable[[], dict[str, Any]]) -> None:
        self._info = info

    def collect(self) -> Iterable[Any]:
        info = self._info()
        ready = GaugeMetricFamily("cardsight_engine_ready", "1 once an artifact set is loaded")
        ready.add_metric([], 1.0 if info.get("ready") else 0.0)
        yield ready
        depth = GaugeMetricFamily("cardsight_queue_depth", "Images waiting for the engine")
        depth.add_metric([], float(info.get("queue_depth") or 0))
        yield depth
        gallery = GaugeMetricFamily("cardsight_gallery_size", "Printings in the search index")
        gallery.add_metric([], float(info.get("gallery_size") or 0))
        yield gallery
        generation = GaugeMetricFamily(
            "cardsight_engine_generation", "How many artifact sets were loaded since start"
        )
        generation.add_metric([], float(info.get("generation") or 0))
        yield generation
        reloads = CounterMetricFamily(
            "cardsight_reloads", "Artifact (re)loads by outcome", labels=["outcome"]
        )
        reloads.add_metric(["ok"], float(info.get("reloads_ok") or 0))
        reloads.add_metric(["failed"], float(info.get("reloads_failed") or 0))
        yield reloads
        version = InfoMetricFamily("cardsight_artifacts", "Model and index of the live engine")
        version.add_metric(
            [],
            {
                "model_version": str(info.get("model_version", "")),
                "index_version": str(info.get("index_version", "")),
            },
        )
        yield version


class ServiceMetrics:
    def __init__(self, engine_info: Callable[[], dict[str, Any]]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "cardsight_http_requests",
            "HTTP requests by route, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "cardsight_http_request_seconds",
            "HTTP request latency by route",
            ["route"],
            buckets=STAGE_BUCKETS,
            registry=self.registry,
        )
        self.stage = Histogram(
            "cardsight_stage_seconds",
            "Engine time per pipeline stage of POST /identify",
            ["stage"],
            buckets=STAGE_BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter(
            "cardsight_errors",
            "Failed API requests by error code (bad_image, too_large, busy, timeout, ...)",
            ["code"],
            registry=self.registry,
        )
        self.cards = Histogram(
            "cardsight_cards_per_image",
            "Cards found per identified image",
            buckets=(0, 1, 2, 3, 5, 8, 13),
            registry=self.registry,
        )
        self.registry.register(EngineCollector(engine_info))

    def observe_identification(self, timings_ms: dict[str, float], cards: int) -> None:
        for stage in STAGES:
            if stage in timings_ms:
                self.stage.labels(stage).observe(timings_ms[stage] / 1000.0)
        self.cards.observe(cards)

    def render(self) -> bytes:
        return generate_latest(self.registry)
