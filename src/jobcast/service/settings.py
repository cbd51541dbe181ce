"""What a running service is configured with (``jobcast serve`` options), frozen."""

from __future__ import annotations

import math
from dataclasses import dataclass

from jobcast.errors import InputError

__all__ = ["ServiceSettings"]


@dataclass(frozen=True)
class ServiceSettings:
    """Options of one service instance.

    Attributes
    ----------
    anonymous_read
        Let requests without a token read (jobs, executions, ETAs, predictions, the
        dashboard); writes always need a token.
    require_tokens
        False only for a service behind an authenticating proxy, and for tests: every
        request then acts as an ``admin`` of the service's own team.
    webhook_url
        Called with a JSON body when a running execution's deadline risk crosses
        ``risk_threshold`` upwards (and again once it fell back below it).
    risk_threshold
        Deadline risk in (0, 1) that triggers the webhook.
    watch_interval_s
        Seconds between two passes over running executions (ETAs for metrics and
        the webhook) and over the configured sources.
    sources
        Sources followed in the background: ``http(s)://`` Spark UI or History Server
        URLs, event-log directories or object-store prefixes (any fsspec URL).
    source_job
        Job name recorded for applications found in ``sources`` (default: the
        application's name).
    deadlines
        ``(job, seconds)`` pairs: the runtime each job's executions should stay within;
        their ETAs carry the deadline risk the metrics and the webhook report.
    model_workers
        Processes fitting progress models and answering predictions off the request
        path; 0 fits in a thread of the service.
    opentelemetry
        Let FastAPI send traces, metrics and logs of every request to the global
        OpenTelemetry providers, when some are configured. Off by default: the service
        has its Prometheus metrics and JSON access records, and looking for the
        providers on every request took 5 % of a collector report's CPU.
    """

    anonymous_read: bool = False
    require_tokens: bool = True
    webhook_url: str | None = None
    risk_threshold: float = 0.5
    watch_interval_s: float = 5.0
    sources: tuple[str, ...] = ()
    source_job: str | None = None
    deadlines: tuple[tuple[str, float], ...] = ()
    model_workers: int = 2
    opentelemetry: bool = False

    def __post_init__(self) -> None:
        if not (0.0 < self.risk_threshold < 1.0):
            raise InputError(
                f"--risk-threshold must lie strictly between 0 and 1, got {self.risk_threshold}"
            )
        if not (math.isfinite(self.watch_interval_s) and self.watch_interval_s > 0):
            raise InputError(
                f"--watch-interval must be a positive number of seconds, "
                f"got {self.watch_interval_s}"
            )
        if self.webhook_url is not None and not self.webhook_url.startswith(
            ("http://", "https://")
        ):
            raise InputError(f"--webhook must be an http(s):// URL, got {self.webhook_url!r}")
        if self.model_workers < 0:
            raise InputError(f"model_workers must be 0 or more, got {self.model_workers}")
        for job, seconds in self.deadlines:
            if not (math.isfinite(seconds) and seconds > 0):
                raise InputError(f"--deadline {job}=SECONDS needs positive seconds, got {seconds}")
