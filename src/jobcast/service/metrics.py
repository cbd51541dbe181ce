"""Prometheus metrics of one service instance: requests, collector submissions, running ETAs."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = ["ServiceMetrics", "CONTENT_TYPE"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# a request's counter, latency histogram and collector submission counter (or None)
_Series = tuple[Counter, Histogram, Counter | None]

_MAX_SERIES = 10_000

#: The latest ETA record of every running execution, by (job, execution id).
Snapshot = Callable[[], Mapping[tuple[str, str], Mapping[str, Any]]]


class _RunningCollector(Collector):
    """Gauges per running execution, read from the watcher's latest snapshot at scrape time."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterable[Metric]:
        labels = ["job", "execution"]
        progress = GaugeMetricFamily(
            "jobcast_execution_progress",
            "Estimated progress of a running execution (0..1)",
            labels=labels,
        )
        remaining = GaugeMetricFamily(
            "jobcast_execution_remaining_seconds",
            "Estimated remaining wall-clock seconds of a running execution",
            labels=labels,
        )
        risk = GaugeMetricFamily(
            "jobcast_execution_deadline_risk",
            "Probability that a running execution misses its job's deadline",
            labels=labels,
        )
        for (job, execution), eta in sorted(self.snapshot().items()):
            key = [job, execution]
            if eta.get("progress") is not None:
                progress.add_metric(key, float(eta["progress"]))
            if eta.get("remaining_s") is not None:
                remaining.add_metric(key, float(eta["remaining_s"]))
            if eta.get("deadline_risk") is not None:
                risk.add_metric(key, float(eta["deadline_risk"]))
        yield progress
        yield remaining
        yield risk


class ServiceMetrics:
    """The metrics of one service (its own registry, so several apps never collide).

    Parameters
    ----------
    snapshot
        Returns the latest ETA record per running execution, by (job, execution id).
    """

    def __init__(self, snapshot: Snapshot) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "jobcast_http_requests",
            "HTTP requests answered",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "jobcast_http_request_seconds",
            "Time to answer an HTTP request",
            ["route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
        )
        self.submissions = Counter(
            "jobcast_collector_submissions",
            "Collector submissions accepted, by kind",
            ["kind"],
            registry=self.registry,
        )
        self.webhooks = Counter(
            "jobcast_webhook_calls",
            "Deadline-risk webhook calls, by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.registry.register(_RunningCollector(snapshot))
        # the metrics of each (method, route, status) seen: a label lookup takes a lock
        # and builds keys, on every request otherwise
        self._series: dict[tuple[str, str, int], _Series] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request."""
        key = (method, route, status)
        series = self._series.get(key)
        if series is None:
            series = self._new_series(method, route, status)
            if len(self._series) < _MAX_SERIES:
                self._series[key] = series
        requests, latency, submissions = series
        requests.inc()
        latency.observe(seconds)
        if submissions is not None:
            submissions.inc()

    def _new_series(self, method: str, route: str, status: int) -> _Series:
        submissions = None
        if method == "POST" and route.startswith("/api/v1/collector/") and status < 300:
            submissions = self.submissions.labels(route.rsplit("/collector/", 1)[1])
        return (
            self.requests.labels(method, route, str(status)),
            self.latency.labels(route),
            submissions,
        )

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)
