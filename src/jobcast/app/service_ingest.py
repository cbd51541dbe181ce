"""Ingestion where teams keep their runs: a Spark History Server, event logs on any fsspec URL.

Also the service's background following of configured sources (:class:`SourceFollower`):
running applications are recorded iteration by iteration as live executions (so they
get an ETA), finished ones are recorded once.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select

from jobcast.collect.grouping import DEFAULT_ITERATIONS
from jobcast.collect.history_server import list_applications, read_application
from jobcast.collect.remote import fetch_remote_log, list_remote_logs
from jobcast.collect.rest import SparkRestError, SparkRestFollower
from jobcast.collect.store import iteration_table
from jobcast.errors import InputError, JobcastError, UnknownJobError
from jobcast.history import HistoryRepository, JobSpec
from jobcast.history.schema import ExecutionRow

__all__ = ["import_history_server", "import_remote_eventlogs", "SourceFollower"]

logger = logging.getLogger(__name__)

_ITERATION_VALUES = ("started_at", "finished_at", "duration_s", "scale_out", "records")


def _known(repo: HistoryRepository, app_id: str) -> bool:
    with repo.transaction() as s:
        hit = s.scalar(select(ExecutionRow.id).where(ExecutionRow.external_id == app_id).limit(1))
    return hit is not None


def _existing(repo: HistoryRepository, job: str) -> JobSpec | None:
    try:
        return repo.job(job)
    except UnknownJobError:
        return None


def import_history_server(
    repo: HistoryRepository,
    url: str,
    *,
    since: datetime | None = None,
    app_name: str | None = None,
    job: str | None = None,
    iterations: str = DEFAULT_ITERATIONS,
    context: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Import the finished applications of a Spark History Server, each once.

    Parameters
    ----------
    repo
        The history.
    url
        The History Server, ``http://host:18080``.
    since
        Only applications started at or after this time.
    app_name
        Regular expression the application's name must contain a match of.
    job
        Job name (default: each application's name).
    iterations
        How Spark jobs form iterations (see :mod:`jobcast.collect.grouping`).
    context
        Context attribute values of every imported run.

    Returns
    -------
    list of dict
        Per application: ``execution``, ``job``, ``iterations`` stored, ``skipped``
        (True when the history holds it already).
    """
    out = []
    for app in list_applications(url, since=since, app_name=app_name, completed_only=True):
        app_id = str(app["id"])
        name = job or str(app.get("name") or app_id)
        if _known(repo, app_id):
            out.append({"execution": app_id, "job": name, "iterations": 0, "skipped": True})
            continue
        run, frame = read_application(url, app_id, iterations=iterations)
        table = iteration_table(
            (run, frame, f"{url.rstrip('/')}/history/{app_id}"),
            job=name,
            existing=_existing(repo, name),
            context=context,
        )
        stored = repo.import_iterations(table).iterations
        out.append({"execution": run.app_id, "job": name, "iterations": stored, "skipped": False})
    return out


def import_remote_eventlogs(
    repo: HistoryRepository,
    url: str,
    *,
    job: str | None = None,
    iterations: str = "jobs",
    context: Mapping[str, Any] | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Import the finished event logs under an fsspec URL (``s3://bucket/prefix``), each once.

    Logs still being written (``.inprogress``) are left for a later import.
    """
    from jobcast.app.imports import import_eventlogs

    options = dict(storage_options or {})
    logs = [log for log in list_remote_logs(url, **options) if not log["in_progress"]]
    out: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="jobcast-logs-") as tmp:
        for log in logs:
            local = fetch_remote_log(log, Path(tmp), **options)
            for r in import_eventlogs(
                repo, [local], job=job, iterations=iterations, context=context
            ):
                out.append({**r.to_dict(), "path": log["url"]})
    return out


class SourceFollower:
    """One configured source of ``jobcast serve --source``, followed by repeated calls.

    ``http(s)://`` sources are Spark UIs or History Servers: every application that is
    running is followed by REST and recorded as a live execution, iteration by
    iteration, and finished when it ends; applications found finished are imported.
    Other URLs are event-log folders or object-store prefixes: finished logs are
    imported. An application the history holds already is never recorded again.

    Parameters
    ----------
    repo
        The history.
    source
        The URL.
    job
        Job name of everything found (default: each application's name).
    iterations
        How Spark jobs form iterations.
    """

    def __init__(
        self,
        repo: HistoryRepository,
        source: str,
        *,
        job: str | None = None,
        iterations: str = DEFAULT_ITERATIONS,
    ) -> None:
        self.repo = repo
        self.source = source
        self.job = job
        self.iterations = iterations
        self._live: dict[str, tuple[str, SparkRestFollower]] = {}
        self._done: set[str] = set()

    def __call__(self) -> None:
        """One pass over the source."""
        if self.source.startswith(("http://", "https://")):
            self._follow_http()
        else:
            self._import_logs()

    def _import_logs(self) -> None:
        for r in import_remote_eventlogs(
            self.repo, self.source, job=self.job, iterations=self.iterations
        ):
            if not r["skipped"]:
                logger.info("recorded %s from %s", r["execution"], r["path"])

    def _follow_http(self) -> None:
        try:
            apps = list_applications(self.source, timeout_s=5.0)
        except InputError as e:
            apps = []
            if not self._live:
                logger.debug("source %s: %s", self.source, e)
        for app in apps:
            app_id = str(app["id"])
            if app_id in self._live or app_id in self._done:
                continue
            name = self.job or str(app.get("name") or app_id)
            if _known(self.repo, app_id):
                self._done.add(app_id)
                continue
            if app.completed:
                run, frame = read_application(self.source, app_id, iterations=self.iterations)
                self.repo.import_iterations(
                    iteration_table(
                        (run, frame, f"{self.source.rstrip('/')}/{app_id}"),
                        job=name,
                        existing=_existing(self.repo, name),
                    )
                )
                self._done.add(app_id)
                continue
            follower = SparkRestFollower(
                self.source, app_id=app_id, iterations=self.iterations, timeout_s=5.0
            )
            self._live[app_id] = (name, follower)
        for app_id, (name, follower) in list(self._live.items()):
            try:
                self._poll(app_id, name, follower)
            except (SparkRestError, JobcastError) as e:
                logger.warning("following %s at %s failed: %s", app_id, self.source, e)
                follower.close()
                del self._live[app_id]

    def _poll(self, app_id: str, name: str, follower: SparkRestFollower) -> None:
        new = follower.poll()
        if follower.started_at is not None and not _known(self.repo, app_id):
            spec = _existing(self.repo, name) or JobSpec(name)
            first = new["scale_out"].dropna() if len(new) else pd.Series(dtype=float)
            self.repo.start_execution(
                spec,
                app_id,
                scale_out=int(first.iloc[0]) if len(first) else None,
                started_at=follower.started_at,
                origin=f"follow {self.source}",
            )
        for row in new.to_dict(orient="records"):
            values = {k: row.get(k) for k in _ITERATION_VALUES if k in row}
            self.repo.record_iteration(name, app_id, int(row["iteration"]), values=values)
        if follower.ended:
            run = follower.application_run()
            self.repo.finish_execution(
                name, app_id, finished_at=run.finished_at, completed=run.completed
            )
            follower.close()
            del self._live[app_id]
            self._done.add(app_id)
            logger.info("%s of %s ended after %.1f s", app_id, name, run.gross_runtime_s)
