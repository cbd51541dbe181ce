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

from jobcast.app.imports import finished_runs, holds_run
from jobcast.collect.grouping import DEFAULT_ITERATIONS
from jobcast.collect.history_server import (
    Application,
    download_event_log,
    list_applications,
)
from jobcast.collect.remote import fetch_remote_log, list_remote_logs
from jobcast.collect.rest import SparkRestError, SparkRestFollower
from jobcast.errors import InputError, JobcastError, UnknownJobError
from jobcast.history import HistoryRepository, JobSpec
from jobcast.history.execution_reads import held_iterations
from jobcast.history.importers.kinds import live_context, live_job_spec

__all__ = ["import_history_server", "import_remote_eventlogs", "SourceFollower"]

logger = logging.getLogger(__name__)

_ITERATION_VALUES = ("started_at", "finished_at", "duration_s", "scale_out", "records")


def _existing(repo: HistoryRepository, job: str) -> JobSpec | None:
    try:
        return repo.job(job)
    except UnknownJobError:
        return None


def history_origin(url: str, app: Application) -> str:
    """Where a History Server's application is recorded as coming from (every route)."""
    return f"{url.rstrip('/')}/history/{app['id']}" + (
        f"/{app.attempt_id}" if app.attempt_id else ""
    )


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
    """Import the finished applications of a Spark History Server in one transaction.

    Each application's event log is read through the server (its ``/logs`` endpoint),
    so every job is imported (the REST API keeps only the last ``spark.ui.retainedJobs``)
    with the context attributes the run carries, and a run gets the same id as from
    ``import eventlog`` (the application id, with ``_ATTEMPT`` when Spark ran it in
    attempts). Runs the target job holds finished already are skipped, as by
    ``import eventlog``; runs it holds as still running are completed.

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
        (True when the history holds it already), ``status``: ``"recorded"``,
        ``"completed"`` (held as running), ``"already there"``, ``"running"`` (left
        for a later import) or ``"unreadable: WHY"`` (the others are imported).

    Raises
    ------
    jobcast.errors.InputError
        When the server cannot be reached (then nothing is written).
    """
    from jobcast.app.imports import import_eventlogs

    out: list[dict[str, Any]] = []
    paths: list[Path] = []
    origins: dict[str, str] = {}
    held: list[tuple[str, str]] = []  # skipped before download: their held iterations
    apps = list_applications(url, since=since, app_name=app_name)
    with tempfile.TemporaryDirectory(prefix="jobcast-history-") as tmp:
        for k, app in enumerate(apps):
            ext = app.external_id
            name = job or str(app.get("name") or ext)
            entry = {"execution": ext, "job": name, "iterations": 0, "skipped": True}
            if not app.completed:
                out.append({**entry, "status": "running"})
                continue
            if holds_run(repo, name, ext):
                out.append({**entry, "status": "already there"})
                held.append((name, ext))
                continue
            try:
                found = download_event_log(url, app, Path(tmp) / str(k))
            except SparkRestError as e:
                logger.warning("%s: left out: %s", ext, e)
                out.append({**entry, "status": f"unreadable: {e}"})
                continue
            for local in found:
                paths.append(local)
                origins[str(local)] = history_origin(url, app)
        results = (
            import_eventlogs(
                repo, paths, job=job, iterations=iterations, context=context, origins=origins
            )
            if paths
            else []
        )
    for r in results:
        out.append(
            {
                "execution": r.execution,
                "job": r.job,
                "iterations": r.iterations,
                "skipped": r.skipped,
                "status": r.status,
            }
        )
    counts = held_iterations(repo, held)  # the imported ones' results hold theirs
    for entry in out:
        key = (entry["job"], entry["execution"])
        if key in counts and entry["status"] == "already there":
            entry["iterations"] = counts[key]
    return out


def import_remote_eventlogs(
    repo: HistoryRepository,
    url: str,
    *,
    job: str | None = None,
    iterations: str = DEFAULT_ITERATIONS,
    context: Mapping[str, Any] | None = None,
    storage_options: Mapping[str, Any] | None = None,
    skip_names: set[str] | None = None,
    refuse_empty: bool = True,
) -> list[dict[str, Any]]:
    """Import the finished event logs under an fsspec URL (``s3://bucket/prefix``) at once.

    Every log is copied and read before anything is written, in one transaction: a log
    that cannot be read (named by its URL) leaves the history as it was. Logs still
    being written (``.inprogress``) are left for a later import; runs the target job
    holds finished already are skipped (as by ``import eventlog``).

    Parameters
    ----------
    skip_names
        Names of logs not to copy (the service's following: logs imported before).
    refuse_empty
        As :func:`~jobcast.app.imports.import_eventlogs`' (False: a log without
        iterations is left out with a warning).

    Raises
    ------
    jobcast.errors.InputError
        Nothing at ``url``, no event log there, a log that cannot be read, or no
        endpoint or credentials to reach the store.
    """
    from jobcast.app.imports import import_eventlogs

    options = dict(storage_options or {})
    found = list_remote_logs(url, **options)
    if not found:
        raise InputError(
            f"{url}: no Spark event logs there (only sub-folders, or hidden files); give "
            "the prefix that holds the logs (spark.eventLog.dir)"
        )
    logs = [
        log for log in found if not log["in_progress"] and log["name"] not in (skip_names or set())
    ]
    for log in found:
        if log["in_progress"]:
            logger.info("%s: still being written; left for a later import", log["url"])
    if not logs:
        return []
    with tempfile.TemporaryDirectory(prefix="jobcast-logs-") as tmp:
        origins = {}
        for log in logs:
            local = fetch_remote_log(log, Path(tmp), **options)
            origins[str(local)] = str(log["url"])
        results = import_eventlogs(
            repo,
            sorted(origins),
            job=job,
            iterations=iterations,
            context=context,
            origins=origins,
            refuse_empty=refuse_empty,
        )
    return [{**r.to_dict(), "name": _name(r.path)} for r in results]


def _name(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


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
        self._started: set[str] = set()
        self._origins: dict[str, str] = {}
        self._imported_names: set[str] = set()
        self._last_error: str | None = None

    def __call__(self) -> None:
        """One pass over the source."""
        if self.source.startswith(("http://", "https://")):
            self._follow_http()
        else:
            self._import_logs()

    def _warn_once(self, message: str) -> None:
        if message != self._last_error:
            logger.warning("source %s: %s", self.source, message)
        self._last_error = message

    def _import_logs(self) -> None:
        try:
            done = import_remote_eventlogs(
                self.repo,
                self.source,
                job=self.job,
                iterations=self.iterations,
                skip_names=self._imported_names,
                refuse_empty=False,  # one such log must not block the source's later ones
            )
        except JobcastError as e:
            self._warn_once(str(e))
            return
        self._last_error = None
        for r in done:
            if r["completed"]:  # a finished run, recorded now or before: never copied again
                self._imported_names.add(r["name"])
            if not r["skipped"]:
                logger.info("recorded %s from %s", r["execution"], r["path"])

    def _import_finished(self, app: Application, name: str) -> None:
        from jobcast.app.imports import import_eventlogs

        with tempfile.TemporaryDirectory(prefix="jobcast-history-") as tmp:
            found = download_event_log(self.source, app, Path(tmp))
            origin = history_origin(self.source, app)
            for r in import_eventlogs(
                self.repo,
                found,
                job=self.job,
                iterations=self.iterations,
                origins={str(p): origin for p in found},
                refuse_empty=False,
            ):
                if not r.skipped:
                    logger.info("recorded %s of %s from %s", r.execution, name, origin)

    def _follow_http(self) -> None:
        try:
            apps = list_applications(self.source, timeout_s=5.0)
        except InputError as e:
            apps = []
            if not self._live:
                logger.debug("source %s: %s", self.source, e)
        for app in apps:
            app_id = app.external_id
            if app_id in self._live or app_id in self._done:
                continue
            name = self.job or str(app.get("name") or app_id)
            if holds_run(self.repo, name, app_id):
                self._done.add(app_id)
                continue
            if app.completed:
                try:
                    self._import_finished(app, name)
                except JobcastError as e:
                    logger.warning("source %s: %s left out: %s", self.source, app_id, e)
                self._done.add(app_id)
                continue
            if app_id in finished_runs(self.repo, name)[2]:
                # recorded as running by another route (an import of its .inprogress log):
                # not followed here; imported, which completes it, once it has ended
                continue
            follower = SparkRestFollower(
                self.source, app_id=str(app["id"]), iterations=self.iterations, timeout_s=5.0
            )
            self._live[app_id] = (name, follower)
            self._origins[app_id] = history_origin(self.source, app)
        for app_id, (name, follower) in list(self._live.items()):
            try:
                self._poll(app_id, name, follower)
            except (SparkRestError, JobcastError) as e:
                logger.warning("following %s at %s failed: %s", app_id, self.source, e)
                follower.close()
                del self._live[app_id]

    def _poll(self, app_id: str, name: str, follower: SparkRestFollower) -> None:
        new = follower.poll()
        if follower.started_at is not None and app_id not in self._started:
            context = live_context(follower.context)
            spec = _existing(self.repo, name) or live_job_spec(name, context)
            first = new["scale_out"].dropna() if len(new) else pd.Series(dtype=float)
            self.repo.start_execution(
                spec,
                app_id,
                scale_out=int(first.iloc[0]) if len(first) else None,
                attributes={k: v for k, v in context.items() if k in spec.attribute_names},
                started_at=follower.started_at,
                origin=self._origins.get(app_id, self.source),
            )
            self._started.add(app_id)
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
