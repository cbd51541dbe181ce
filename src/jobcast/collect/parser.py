"""The streaming Spark event-log parser: lines in, per-iteration figures out.

The parser keeps one small aggregate per iteration and forgets jobs and stages when they
end, so its memory does not grow with the length of the log. Only the events that matter
are decoded: the event type is read from the start of each line, and for the bulky
``SparkListenerTaskEnd`` lines only the trailing ``"Task Metrics"`` object is parsed.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable
from typing import Any

import pandas as pd

from jobcast.collect.grouping import (
    DEFAULT_ITERATIONS,
    IterationMode,
    IterationRule,
    JobLabels,
)
from jobcast.collect.runs import ApplicationRun, iterations_frame, ms_to_datetime
from jobcast.collect.timeline import ExecutorTimeline
from jobcast.errors import ImportFormatError

__all__ = ["EventLogParser"]

logger = logging.getLogger(__name__)

_PREFIX = b'{"Event":"'
_PREFIX_LEN = len(_PREFIX)
_STAGE_ID = re.compile(rb'"Stage ID":(\d+)')
_TASK_METRICS = b'"Task Metrics":'
_UPDATED_BLOCKS = b',"Updated Blocks":'
_STAGE_IDS = b'"Stage IDs":'
_JOB_HEAD = re.compile(rb'"Job ID":(\d+),"Submission Time":(\d+),')
_GROUP = "spark.jobGroup.id"
_DESCRIPTION = "spark.job.description"
_PROGRESS_EVERY = 1 << 24  # report progress every 16 MiB of uncompressed log


class _Iteration:
    """Running aggregate of one iteration (a handful of numbers, whatever the log size)."""

    __slots__ = (
        "label",
        "first_submit",
        "last_complete",
        "active_jobs",
        "jobs",
        "tasks",
        "records",
        "cpu_ns",
        "run_ms",
        "disk",
        "net",
    )

    def __init__(self, label: str, submit: int) -> None:
        self.label = label
        self.first_submit = submit
        self.last_complete: int | None = None
        self.active_jobs = 0
        self.jobs = 0
        self.tasks = 0
        self.records = 0
        self.cpu_ns = 0
        self.run_ms = 0
        self.disk = 0
        self.net = 0


class EventLogParser:
    """Incremental Spark event-log parser: feed it lines, ask for the figures at any time.

    Parameters
    ----------
    iterations
        How Spark jobs form iterations; see :data:`IterationMode`.
    name
        Name of the log, used in warnings and errors.

    Raises
    ------
    InputError
        ``iterations`` is an invalid regular expression.

    Examples
    --------
    >>> parser = EventLogParser(iterations="job-groups")
    >>> parser.feed(b'{"Event":"SparkListenerApplicationStart","App Name":"a","App ID":"x",'
    ...             b'"Timestamp":1000}')
    >>> parser.application_run().app_id
    'x'
    """

    def __init__(
        self, *, iterations: IterationMode = DEFAULT_ITERATIONS, name: str = "<event log>"
    ) -> None:
        self.name = name
        self.mode = iterations
        self.rule = IterationRule(iterations)
        self.labels = JobLabels()
        self.lines = 0
        self.corrupt_lines = 0
        #: the first line skipped and why (a damaged start event explains a log "without" one)
        self.first_corrupt: tuple[int, str] | None = None
        self.app_id: str | None = None
        self.app_name = ""
        self.spark_version: str | None = None
        self.start_ms: int | None = None
        self.end_ms: int | None = None
        self.last_ms: int | None = None
        self.executors = ExecutorTimeline()
        self._iterations: dict[str, _Iteration] = {}
        self._job_iteration: dict[int, _Iteration | None] = {}
        self._job_stages: dict[int, list[int]] = {}
        self._stage_job: dict[int, int] = {}
        self._orphan_ends = 0  # job ends whose start line was lost
        self._handlers: dict[bytes, Callable[[bytes], None]] = {
            b"SparkListenerTaskEnd": self._task_end,
            b"SparkListenerJobStart": self._job_start,
            b"SparkListenerJobEnd": self._job_end,
            b"SparkListenerExecutorAdded": self._executor_added,
            b"SparkListenerExecutorRemoved": self._executor_removed,
            b"SparkListenerApplicationStart": self._app_start,
            b"SparkListenerApplicationEnd": self._app_end,
            b"SparkListenerLogStart": self._log_start,
        }

    # -- feeding -------------------------------------------------------------------------

    def feed(self, line: bytes) -> None:
        """Parse one line of the log (with or without its line break)."""
        if not line.startswith(_PREFIX):
            if line.strip():
                self.lines += 1
                self._corrupt("not a JSON event")
            return
        self.lines += 1
        end = line.find(b'"', _PREFIX_LEN)
        handler = self._handlers.get(line[_PREFIX_LEN:end]) if end > 0 else None
        if handler is None:
            # events not needed are only checked for their framing (no copy, no decoding)
            if end < 0 or not (line.endswith(b"}\n") or line.endswith(b"}")):
                if not line.rstrip().endswith(b"}"):
                    self._corrupt("not a JSON event")
            return
        if not line.endswith(b"}"):
            line = line.rstrip()
            if not line.endswith(b"}"):
                self._corrupt("not a JSON event")
                return
        try:
            handler(line)
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            self._corrupt(f"{type(e).__name__}: {e}")

    def feed_lines(
        self, lines: Iterable[bytes], *, callback: Callable[[int], None] | None = None
    ) -> None:
        """Parse many lines; ``callback`` gets the bytes parsed so far every 16 MiB."""
        if callback is None:
            feed = self.feed
            for line in lines:
                feed(line)
            return
        seen = 0
        next_report = _PROGRESS_EVERY
        for line in lines:
            self.feed(line)
            seen += len(line)
            if seen >= next_report:
                callback(seen)
                next_report += _PROGRESS_EVERY
        callback(seen)

    def _corrupt(self, why: str) -> None:
        self.corrupt_lines += 1
        if self.first_corrupt is None:
            self.first_corrupt = (self.lines, why)
        logger.debug("%s: line %d skipped (%s)", self.name, self.lines, why)

    # -- results -------------------------------------------------------------------------

    @property
    def completed(self) -> bool:
        """True once the application's end event was read."""
        return self.end_ms is not None

    def application_run(self) -> ApplicationRun:
        """Summarise the application as read so far.

        Raises
        ------
        ImportFormatError
            No ``SparkListenerApplicationStart`` event was read.
        """
        if self.app_id is None or self.start_ms is None:
            raise ImportFormatError(
                self.name,
                "no SparkListenerApplicationStart event; is this a Spark event log?",
            )
        end = self.end_ms if self.end_ms is not None else max(self.last_ms or 0, self.start_ms)
        end = max(end, self.start_ms)
        final = self.executors.alive_now()
        return ApplicationRun(
            app_id=self.app_id,
            app_name=self.app_name,
            started_at=ms_to_datetime(self.start_ms),
            finished_at=ms_to_datetime(end),
            gross_runtime_s=(end - self.start_ms) / 1000.0,
            final_executors=final,
            max_executors=max(self.executors.max_alive(), final),
            completed=self.completed,
            spark_version=self.spark_version,
        )

    def iterations_frame(self, *, include_open: bool = False) -> pd.DataFrame:
        """Return the iterations read so far.

        Parameters
        ----------
        include_open
            Also return iterations that may still get more work: with running jobs, or, when
            iterations are job groups or regex matches, the last one of an application that
            has not ended (a later job may join it).

        Returns
        -------
        pandas.DataFrame
            See :data:`jobcast.collect.runs.ITERATION_COLUMNS`.
        """
        execution = self.app_id or self.name
        rows = []
        latest_start = max((it.first_submit for it in self._iterations.values()), default=0)
        for it in self._iterations.values():
            if it.last_complete is None:
                continue
            if not include_open and not self._is_closed(it, latest_start):
                continue
            if not self.rule.keeps(it.label):
                continue
            span = it.last_complete - it.first_submit
            if span < 0:
                raise ImportFormatError(
                    self.name,
                    f"iteration {it.label!r}: its Spark job(s) complete at "
                    f"{ms_to_datetime(it.last_complete).isoformat()}, before their submission "
                    f"at {ms_to_datetime(it.first_submit).isoformat()}: the log is damaged "
                    "(or the driver's clock jumped back); copy it again from the cluster",
                )
            scale_out = self.executors.scale_out(it.first_submit, it.last_complete)
            rows.append(
                {
                    "execution": execution,
                    "started_at": ms_to_datetime(it.first_submit),
                    "finished_at": ms_to_datetime(it.last_complete),
                    "duration_s": span / 1000.0,
                    "scale_out": max(1, scale_out),
                    "records": it.records,
                    "cpu": (it.cpu_ns / (it.run_ms * 1e6)) if it.run_ms > 0 else float("nan"),
                    "disk": it.disk,
                    "net": it.net,
                    "label": it.label,
                    "jobs": it.jobs,
                    "tasks": it.tasks,
                }
            )
        return iterations_frame(rows)

    @property
    def lost_jobs(self) -> int:
        """Spark jobs of an ended application whose start or end the log lacks.

        Spark writes both for every job, so in a finished log they mean corrupt lines:
        the iterations these jobs belong to are missing or cut short.
        """
        if not self.completed:
            return 0
        never_ended = sum(
            1 for job, it in self._job_iteration.items() if it is not None and job >= 0
        )
        return never_ended + self._orphan_ends

    def _is_closed(self, it: _Iteration, latest_start: int) -> bool:
        if it.active_jobs > 0:
            return False
        if self.rule.closes_with_its_job(it.label) or self.completed:
            return True
        return latest_start > (it.last_complete or 0)

    # -- executors -----------------------------------------------------------------------

    def _executor_added(self, line: bytes) -> None:
        ev = json.loads(line)
        ts = int(ev["Timestamp"])
        self.executors.add(str(ev["Executor ID"]), ts)
        self._seen(ts)

    def _executor_removed(self, line: bytes) -> None:
        ev = json.loads(line)
        ts = int(ev["Timestamp"])
        self.executors.remove(str(ev["Executor ID"]), ts)
        self._seen(ts)

    def _seen(self, ts: int) -> None:
        if self.last_ms is None or ts > self.last_ms:
            self.last_ms = ts

    # -- application ---------------------------------------------------------------------

    def _log_start(self, line: bytes) -> None:
        self.spark_version = str(json.loads(line).get("Spark Version"))

    def _app_start(self, line: bytes) -> None:
        ev = json.loads(line)
        app_id = str(ev.get("App ID") or ev.get("App Name") or self.name)
        attempt = ev.get("App Attempt ID")
        self.app_id = f"{app_id}_{attempt}" if attempt not in (None, "") else app_id
        self.app_name = str(ev.get("App Name", ""))
        self.start_ms = int(ev["Timestamp"])
        self._seen(self.start_ms)

    def _app_end(self, line: bytes) -> None:
        ts = int(json.loads(line)["Timestamp"])
        self.end_ms = ts
        self._seen(ts)

    # -- jobs ----------------------------------------------------------------------------

    def _iteration_key(self, job_id: int, props: dict[str, Any]) -> str | None:
        group, description = props.get(_GROUP), props.get(_DESCRIPTION)
        key = self.rule.key(job_id, group, description)
        self.labels.add(group, description, left_out=key is None)
        return key

    def _job_start(self, line: bytes) -> None:
        # JobStart lines carry every stage's RDD lineage (tens of kB in iterative jobs);
        # the ids, time, stage ids and properties sit at the start and the end
        head = _JOB_HEAD.match(line, _PREFIX_LEN + len(b"SparkListenerJobStart") + 2)
        idx = line.rfind(_STAGE_IDS)
        ev: dict[str, Any] | None = None
        if head is not None and idx > 0:
            try:
                ev = json.loads(b"{" + line[idx:])
            except ValueError:
                ev = None
            if not isinstance(ev, dict) or "Stage IDs" not in ev:
                ev = None
        if ev is None or head is None:
            ev = json.loads(line)
            job_id = int(ev["Job ID"])
            submit = int(ev["Submission Time"])
        else:
            job_id, submit = int(head.group(1)), int(head.group(2))
        props = ev.get("Properties") or {}
        stages = [int(s) for s in ev.get("Stage IDs", [])]
        key = self._iteration_key(job_id, props)
        it: _Iteration | None = None
        if key is not None:
            it = self._iterations.get(key)
            if it is None:
                it = _Iteration(key, submit)
                self._iterations[key] = it
            elif submit < it.first_submit:
                it.first_submit = submit
            it.active_jobs += 1
            it.jobs += 1
        self._job_iteration[job_id] = it
        self._job_stages[job_id] = stages
        for s in stages:
            # a stage belongs to the latest job that lists it: earlier jobs only list it
            # when its output is reused (skipped), so its tasks run in the latest one
            self._stage_job[s] = job_id
        self._seen(submit)

    def _job_end(self, line: bytes) -> None:
        ev = json.loads(line)
        job_id = int(ev["Job ID"])
        done = int(ev["Completion Time"])
        if job_id not in self._job_iteration:
            self._orphan_ends += 1
        it = self._job_iteration.pop(job_id, None)
        for s in self._job_stages.pop(job_id, ()):
            if self._stage_job.get(s) == job_id:
                del self._stage_job[s]
        self._seen(done)
        if it is None:
            return
        it.active_jobs = max(0, it.active_jobs - 1)
        if it.last_complete is None or done >= it.last_complete:
            it.last_complete = done

    # -- tasks ---------------------------------------------------------------------------

    def _task_end(self, line: bytes) -> None:
        m = _STAGE_ID.search(line, _PREFIX_LEN, 80)
        if m is None:
            raise ValueError("TaskEnd without Stage ID")
        job = self._stage_job.get(int(m.group(1)))
        it = self._job_iteration.get(job) if job is not None else None
        if it is None:
            return
        idx = line.rfind(_TASK_METRICS)
        metrics: dict[str, Any] | None
        if idx < 0:
            metrics = json.loads(line).get("Task Metrics")
        else:
            # "Updated Blocks" (last, and long for cached data) is not needed
            cut = line.find(_UPDATED_BLOCKS, idx)
            tail = (
                line[idx + len(_TASK_METRICS) : cut] + b"}"
                if cut > 0
                else line[idx + len(_TASK_METRICS) : -1]
            )
            try:
                metrics = json.loads(tail)
            except ValueError:
                # "Task Metrics" is not the last field (another Spark version): decode it all
                metrics = json.loads(line).get("Task Metrics")
        it.tasks += 1
        if not metrics:
            return
        inp = metrics.get("Input Metrics") or {}
        out = metrics.get("Output Metrics") or {}
        sr = metrics.get("Shuffle Read Metrics") or {}
        sw = metrics.get("Shuffle Write Metrics") or {}
        push = sr.get("Push Based Shuffle") or {}
        it.records += int(inp.get("Records Read", 0)) + int(sr.get("Total Records Read", 0))
        it.cpu_ns += int(metrics.get("Executor CPU Time", 0))
        it.run_ms += int(metrics.get("Executor Run Time", 0))
        it.disk += (
            int(inp.get("Bytes Read", 0))
            + int(out.get("Bytes Written", 0))
            + int(sw.get("Shuffle Bytes Written", 0))
            + int(sr.get("Local Bytes Read", 0))
            + int(metrics.get("Disk Bytes Spilled", 0))
        )
        it.net += int(sr.get("Remote Bytes Read", 0)) + int(push.get("Merged Remote Bytes Read", 0))
