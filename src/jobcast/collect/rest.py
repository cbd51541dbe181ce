"""Follow a running Spark application through its REST API and hand out finished iterations."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

from jobcast.collect.eventlog import EventLogImport, SparkSettings, read_event_log
from jobcast.collect.grouping import DEFAULT_ITERATIONS, IterationMode, IterationRule
from jobcast.collect.rest_jobs import RestJob, add_stage_totals, iteration_row
from jobcast.collect.runs import ApplicationRun, iterations_frame
from jobcast.collect.sources import find_application_log
from jobcast.collect.spark_env import (
    SPARK_EVENT_LOG_DIR,
    event_log_dir_from_properties,
    parse_spark_time,
)
from jobcast.collect.timeline import ExecutorTimeline
from jobcast.errors import InputError, JobcastError, SparkRestError

__all__ = [
    "SparkRestFollower",
    "SparkRestError",
    "event_log_dir_from_properties",
    "parse_spark_time",
]

logger = logging.getLogger(__name__)

_API = "/api/v1"


class SparkRestFollower:
    """Follow one running Spark application through its UI's REST API.

    Every :meth:`poll` asks for the application's jobs, remembers the newly finished ones
    with their stage metrics (the UI keeps only the last ``spark.ui.retainedJobs``), and
    returns the iterations that finished since the previous poll, in the layout of
    :data:`jobcast.collect.runs.ITERATION_COLUMNS`.

    The application ends in one of two ways. Either the REST API reports its attempt as
    completed (a history server does; so may a live UI for a moment while Spark stops):
    the jobs are then read after that report, so they are all finished and all seen.
    Or the UI goes away with the application, and jobs that finished after the last
    successful poll were never seen by the REST API. To lose none of them, the follower
    then reads the application's event log, which Spark finishes writing after its UI
    stops: it waits up to ``log_grace_s`` for Spark to close the log (its ``.inprogress``
    mark goes), reads it, and hands out the iterations the REST API missed; the
    application's end time then comes from the log as well. The log is looked for in
    ``event_log_dir``, by default the application's own ``spark.eventLog.dir`` as its
    environment reports it, when that is a local path. Without a readable log (event logs
    off, on HDFS or S3, or on another machine) the follower ends at once and logs a
    warning: iterations finished in the last poll interval are then lost, and with
    ``job-groups`` or a REGEX the last iteration may be cut short.

    Parameters
    ----------
    ui_url
        The Spark UI (``http://host:4040``) or a history server.
    app_id
        The application to follow; the UI's only (or most recent) application when None.
    iterations
        How Spark jobs form iterations, as for event logs (see
        :data:`jobcast.collect.grouping.IterationMode`; ``"auto"`` by default).
    timeout_s
        Timeout of one HTTP request.
    event_log_dir
        Local folder holding the application's event log (its ``spark.eventLog.dir``, as
        seen from this machine); when None, the application's own setting is used if it
        is a local path.
    log_grace_s
        Seconds to wait, after the UI went away, for Spark to finish the event log.
    transport
        httpx transport (tests); the network when None.

    Attributes
    ----------
    ended
        True once the application ended and nothing more will be handed out.
    completed
        True when the application's end was reported (by the REST API or the event log).
    event_log
        The event log read after the UI went away, if one was.

    Raises
    ------
    InputError
        A URL that is not http(s), an invalid iteration mode, or a negative grace period.

    Examples
    --------
    >>> follower = SparkRestFollower("http://localhost:4040", iterations="job-groups")
    ... # doctest: +SKIP
    >>> while not follower.ended:  # doctest: +SKIP
    ...     new = follower.poll(); time.sleep(2)
    """

    def __init__(
        self,
        ui_url: str,
        *,
        app_id: str | None = None,
        iterations: IterationMode = DEFAULT_ITERATIONS,
        timeout_s: float = 5.0,
        event_log_dir: str | Path | None = None,
        log_grace_s: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not ui_url.startswith(("http://", "https://")):
            raise InputError(f"Spark UI URL must start with http:// or https://, got {ui_url!r}")
        if not math.isfinite(log_grace_s) or log_grace_s < 0:
            raise InputError(f"log_grace_s must be a finite number >= 0, got {log_grace_s!r}")
        self.ui_url = ui_url.rstrip("/")
        self.app_id = app_id
        self.mode = iterations
        self.rule = IterationRule(iterations)
        self.event_log_dir = None if event_log_dir is None else Path(event_log_dir)
        self._log_dir_given = event_log_dir is not None
        self.log_grace_s = float(log_grace_s)
        self._attempt_id: str | None = None
        self._environment_read = False
        self.settings = SparkSettings()  # a local run's threads, the attributes it carries
        self._ui_gone_at: float | None = None
        self._final: EventLogImport | None = None
        self.event_log: Path | None = None
        self._http = httpx.Client(base_url=self.ui_url, timeout=timeout_s, transport=transport)
        self._jobs: dict[int, RestJob] = {}
        self._running_keys: dict[str, datetime] = {}
        self._counted_stages: set[tuple[int, int]] = set()
        self.executors = ExecutorTimeline()
        self._reported: set[str] = set()
        self.app_name = ""
        self.started_at: datetime | None = None
        self.finished_at: datetime | None = None
        self.last_seen: datetime | None = None
        self.ended = False
        self.completed = False
        self.polls = 0

    # -- HTTP ----------------------------------------------------------------------------

    def _get(self, path: str, **params: Any) -> Any:
        response = self._http.get(f"{_API}{path}", params=params or None)
        if response.status_code == 404:
            raise SparkRestError(f"{self.ui_url}{_API}{path}: not found ({response.text[:200]})")
        response.raise_for_status()
        try:
            return response.json()
        except ValueError as e:
            # e.g. "Spark is starting up. Please wait a while until it's ready."
            raise SparkRestError(
                f"{self.ui_url}{_API}{path} answered {response.text[:120]!r}, not JSON"
            ) from e

    def close(self) -> None:
        """Close the HTTP connection."""
        self._http.close()

    def __enter__(self) -> SparkRestFollower:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- polling -------------------------------------------------------------------------

    def poll(self) -> pd.DataFrame:
        """Fetch the application's state; return the iterations finished since the last poll.

        After the UI went away, polls read the application's event log instead (see the
        class description) until :attr:`ended`.

        Raises
        ------
        SparkRestError
            The UI cannot be reached before the application was ever seen, or it does not
            know the requested application.
        """
        self.polls += 1
        if not self.ended and self._ui_gone_at is None:
            try:
                self._refresh()
            except SparkRestError:
                if self.started_at is None:
                    raise
                logger.info("%s answered nonsense; trying again at the next poll", self.ui_url)
            except (httpx.TransportError, httpx.HTTPStatusError) as e:
                if self.started_at is None:
                    raise SparkRestError(
                        f"cannot reach the Spark REST API at {self.ui_url}: {e}; is the "
                        "application running with its UI on (spark.ui.enabled)?"
                    ) from e
                logger.info("%s stopped answering (%s): application ended", self.ui_url, e)
                self._ui_gone_at = time.monotonic()
        if not self.ended and self._ui_gone_at is not None:
            self._read_final_log(time.monotonic() - self._ui_gone_at)
        frame = self.settings.localised(self.iterations_frame())
        new = frame[~frame["label"].isin(self._reported)].reset_index(drop=True)
        self._reported.update(new["label"].tolist())
        return new

    def _refresh(self) -> None:
        apps = self._get("/applications")
        if not isinstance(apps, list) or not apps:
            raise SparkRestError(f"{self.ui_url} lists no applications")
        app = None
        if self.app_id is None:
            app = apps[0]
            self.app_id = str(app["id"])
        else:
            app = next((a for a in apps if str(a.get("id")) == self.app_id), None)
            if app is None:
                raise SparkRestError(
                    f"{self.ui_url} does not know application {self.app_id!r}; it has "
                    f"{', '.join(str(a.get('id')) for a in apps)}"
                )
        self.app_name = str(app.get("name", ""))
        attempt = (app.get("attempts") or [{}])[0]  # the latest attempt comes first
        self._attempt_id = str(attempt["attemptId"]) if attempt.get("attemptId") else None
        self.started_at = parse_spark_time(attempt.get("startTime")) or self.started_at
        if not self._environment_read:
            try:
                self._read_environment()
            except (SparkRestError, httpx.HTTPStatusError) as e:
                if isinstance(e, httpx.HTTPStatusError) and e.response.status_code >= 500:
                    raise  # the UI is going away (or broken): as for any other request
                self._environment_read = True
                logger.warning(
                    "%s: cannot read the application's environment (%s); without its "
                    "event-log folder, iterations that finish after the last poll may be lost",
                    self.app_id,
                    e,
                )
        jobs = self._get(f"{self._app_path}/jobs")
        executors = self._get(f"{self._app_path}/allexecutors")
        self._update_executors(executors)
        newly_done = []
        self._running_keys.clear()
        for job in jobs:
            job_id = int(job["jobId"])
            submitted = parse_spark_time(job.get("submissionTime"))
            if submitted is None:
                continue
            self._seen(submitted)
            key = self._key(job_id, job)
            if job.get("status") == "RUNNING":
                if key is not None:
                    self._running_keys[key] = submitted
                continue
            if job_id in self._jobs:
                continue
            done = parse_spark_time(job.get("completionTime")) or submitted
            self._seen(done)
            record = RestJob(job_id, key, submitted, done)
            self._jobs[job_id] = record
            newly_done.append((record, [int(s) for s in job.get("stageIds", [])]))
        if newly_done:
            self._add_stage_metrics(newly_done)
        if attempt.get("completed"):
            self.ended = True
            self.completed = True
            self.finished_at = parse_spark_time(attempt.get("endTime"))

    @property
    def _app_path(self) -> str:
        # a History Server knows an application run in attempts (YARN cluster mode) only
        # by its attempt's path; a live UI answers both
        attempt = f"/{self._attempt_id}" if self._attempt_id else ""
        return f"/applications/{self.app_id}{attempt}"

    @property
    def context(self) -> dict[str, float | str]:
        """Context attributes the application carries (``spark.jobcast.context.*``)."""
        return self.settings.context

    def _read_environment(self) -> None:
        # the settings do not change while the application runs: ask once
        env = self._get(f"{self._app_path}/environment")
        self._environment_read = True
        pairs = env.get("sparkProperties", []) if isinstance(env, dict) else []
        props = {str(p[0]): str(p[1]) for p in pairs if isinstance(p, list) and len(p) == 2}
        self.settings.properties = props
        if self._log_dir_given:
            return
        self.event_log_dir = event_log_dir_from_properties(props)
        if self.event_log_dir is None:
            logger.warning(
                "%s: no local event log (spark.eventLog.enabled=%s, spark.eventLog.dir=%s); "
                "iterations that finish after the last poll will be lost when the UI goes "
                "away",
                self.app_id,
                props.get("spark.eventLog.enabled", "false"),
                props.get("spark.eventLog.dir", SPARK_EVENT_LOG_DIR),
            )

    def _read_final_log(self, waited: float) -> None:
        """After the UI went away ``waited`` s ago: take what the REST API missed from the log."""
        source = None
        if self.event_log_dir is not None and self.app_id is not None:
            try:
                source = find_application_log(
                    self.event_log_dir, self.app_id, attempt_id=self._attempt_id
                )
            except (JobcastError, OSError) as e:
                logger.warning("%s: cannot use the event log: %s", self.app_id, e)
        if source is None:
            logger.warning(
                "%s: the UI went away and %s; iterations that finished after the last poll "
                "are lost",
                self.app_id,
                "no event log is known"
                if self.event_log_dir is None
                else f"no event log was found in {self.event_log_dir}",
            )
            self.ended = True
            return
        if source.in_progress and waited < self.log_grace_s:
            return  # Spark writes the last events and closes the log after its UI stops
        try:
            final = read_event_log(source, iterations=self.mode)
        except (JobcastError, OSError) as e:
            if waited < self.log_grace_s:
                return  # e.g. renamed from .inprogress while being opened: next poll
            logger.warning("%s: cannot read the event log %s: %s", self.app_id, source.path, e)
            self.ended = True
            return
        if source.in_progress:
            logger.warning(
                "%s: the event log %s was not closed within %g s; using it as it is",
                self.app_id,
                source.path,
                self.log_grace_s,
            )
        self._final = final
        self.event_log = source.path
        self.ended = True
        self.completed = final.run.completed
        if final.run.completed:
            self.finished_at = final.run.finished_at
        self._seen(final.run.finished_at)

    def _add_stage_metrics(self, done: list[tuple[RestJob, list[int]]]) -> None:
        stages = self._get(f"{self._app_path}/stages")
        add_stage_totals(done, stages, self._counted_stages)

    def _update_executors(self, executors: list[dict[str, Any]]) -> None:
        for ex in executors:
            added = parse_spark_time(ex.get("addTime"))
            if added is None:
                continue
            removed = parse_spark_time(ex.get("removeTime"))
            if ex.get("isActive", True):
                removed = None
            self.executors.set(
                str(ex["id"]), added.timestamp(), None if removed is None else removed.timestamp()
            )

    def _seen(self, t: datetime) -> None:
        if self.last_seen is None or t > self.last_seen:
            self.last_seen = t

    def _key(self, job_id: int, job: dict[str, Any]) -> str | None:
        return self.rule.key(job_id, job.get("jobGroup"), job.get("description"))

    # -- results -------------------------------------------------------------------------

    def iterations_frame(self) -> pd.DataFrame:
        """Return every finished iteration recorded so far.

        Once the event log was read (see the class description), its iterations stand for
        the ones it holds, and the REST API's only for those it does not.
        """
        rest = self._rest_frame()
        if self._final is None:
            return rest
        log = self._final.iterations.assign(execution=self.app_id or self.ui_url)
        missing = rest[~rest["label"].isin(log["label"])]
        if missing.empty:
            return log
        rows = pd.concat([log, missing], ignore_index=True).drop(columns="iteration")
        return iterations_frame({str(k): v for k, v in r.items()} for r in rows.to_dict("records"))

    def _rest_frame(self) -> pd.DataFrame:
        groups: dict[str, list[RestJob]] = {}
        for job in self._jobs.values():
            if job.key is not None:
                groups.setdefault(job.key, []).append(job)
        latest_start = max(
            [min(j.submitted for j in js) for js in groups.values()]
            + list(self._running_keys.values()),
            default=None,
        )
        rows = []
        for key, js in groups.items():
            if key in self._running_keys:
                continue
            start = min(j.submitted for j in js)
            end = max(j.completed for j in js)
            if not self.rule.keeps(key):
                continue
            closed = (
                self.rule.closes_with_its_job(key)
                or self.ended
                or (latest_start is not None and latest_start > end)
            )
            if not closed:
                continue
            scale_out = self.executors.scale_out(start.timestamp(), end.timestamp())
            rows.append(
                iteration_row(key, js, execution=self.app_id or self.ui_url, scale_out=scale_out)
            )
        return iterations_frame(rows)

    def application_run(self) -> ApplicationRun:
        """Summarise the application as seen so far.

        Raises
        ------
        SparkRestError
            The application was never seen.
        """
        if self.app_id is None or self.started_at is None:
            raise SparkRestError(f"no application seen at {self.ui_url} yet; call poll() first")
        if self._final is not None:
            return replace(self._final.run, app_id=self.app_id)
        end = self.finished_at or self.last_seen or self.started_at
        end = max(end, self.started_at)
        final = (
            self.executors.alive_at(end.timestamp()) if self.ended else self.executors.alive_now()
        )
        return ApplicationRun(
            app_id=self.app_id,
            app_name=self.app_name,
            started_at=self.started_at,
            finished_at=end,
            gross_runtime_s=(end - self.started_at).total_seconds(),
            final_executors=final,
            max_executors=max(self.executors.max_alive(), final),
            completed=self.completed,
        )
