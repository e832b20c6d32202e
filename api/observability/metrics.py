"""Prometheus metrics of one app, in its own registry (several apps may share a process).

Request latency is labelled by route *template* (``/v1/runs/{run_id}``), never the raw
path, so the number of series stays bounded. Run and queue gauges are read from the
database at scrape time: the database is the source of truth and a scrape every few
seconds costs one grouped count.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from api.db import RunStatus, SessionFactory
from api.observability import repository

log = logging.getLogger(__name__)

#: Seconds; predictions take milliseconds, run listings tens of them, a registration seconds.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class _DatabaseCollector(Collector):
    """Runs by state, queue depth and the production version, counted when scraped."""

    def __init__(
        self,
        session_factory: Callable[[], SessionFactory],
        served_version: Callable[[], int | None],
    ) -> None:
        self._session_factory = session_factory
        self._served_version = served_version

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "cricket_gnn_database_up", "1 when the scrape could read the database, else 0."
        )
        served = GaugeMetricFamily(
            "cricket_gnn_served_model_version",
            "The model version this API process has loaded and predicts with.",
        )
        served_version = self._served_version()
        if served_version is not None:
            served.add_metric([], served_version)
        yield served
        try:
            with self._session_factory()() as session:
                counts = repository.run_counts_by_status(session)
                production = repository.production_version(session)
        except Exception as exc:  # a scrape must still answer when the database is down
            log.warning("metrics: database not readable: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        runs = GaugeMetricFamily("cricket_gnn_runs", "Runs by state.", labels=["state"])
        for status in RunStatus:
            runs.add_metric([status.value], counts.get(status.value, 0))
        yield runs
        yield GaugeMetricFamily(
            "cricket_gnn_queue_depth",
            "Runs queued and waiting for a training worker.",
            value=counts.get(RunStatus.QUEUED.value, 0),
        )
        production_gauge = GaugeMetricFamily(
            "cricket_gnn_production_model_version",
            "The model version the 'production' alias points at (absent when none).",
        )
        if production is not None:
            production_gauge.add_metric([], production)
        yield production_gauge


class ServiceMetrics:
    """The app's registry and the instruments its middleware and routes update."""

    def __init__(
        self,
        *,
        session_factory: Callable[[], SessionFactory],
        served_version: Callable[[], int | None],
    ) -> None:
        self.registry = CollectorRegistry()
        self.request_seconds = Histogram(
            "cricket_gnn_http_request_duration_seconds",
            "Time to answer a request, by method, route template and status.",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.predictions = Counter(
            "cricket_gnn_predictions",
            "Balls predicted, by the model version that predicted them.",
            ["model_version"],
            registry=self.registry,
        )
        self.registry.register(_DatabaseCollector(session_factory, served_version))

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Record one answered request under its route template."""
        self.request_seconds.labels(method, route, str(status)).observe(seconds)

    def count_predictions(self, model_version: int, num_balls: int = 1) -> None:
        """Add ``num_balls`` predictions made by ``model_version``."""
        self.predictions.labels(str(model_version)).inc(num_balls)
