"""A followed run: reading its follower, judging it (estimates, abandoned log), recording it."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from jobcast.errors import ImportFormatError, InputError, JobcastError, UnknownJobError

if TYPE_CHECKING:  # pragma: no cover - typing only
    from collections.abc import Mapping
    from pathlib import Path

    from jobcast.collect.runs import ApplicationRun
    from jobcast.history import HistoryRepository
    from jobcast.progress.eta import WallClockEstimate

__all__ = [
    "PLAUSIBLE_FACTOR",
    "STALE_AFTER_S",
    "app_ended",
    "app_run",
    "app_started_at",
    "hidden_loop",
    "iteration_estimates",
    "iteration_rule",
    "live_estimate",
    "log_written_at",
    "longest_run",
    "ordered",
    "poll_new",
    "record_run",
    "seconds_off",
    "seen_late",
    "stale_reason",
]

logger = logging.getLogger(__name__)

#: How long to wait for the UI or the log to appear without a timeout.
_APPEAR_WITHIN_S = 300.0

#: An event log not written for this long while its application has not ended looks
#: abandoned (a driver that died leaves its ``.inprogress`` log behind, never growing).
STALE_AFTER_S = 600.0

#: An application running this many times longer than the longest run of the job's
#: history (and at least :data:`STALE_AFTER_S`) started implausibly long ago.
PLAUSIBLE_FACTOR = 10.0


def log_written_at(path: Path | None) -> datetime | None:
    """When the event log (a file, or a rolling log's folder) was last written; None: unknown.

    Parameters
    ----------
    path
        The event log (None or ``-``: none, or standard input).

    Returns
    -------
    datetime or None
        The last modification (UTC) of the file or of the folder's newest file.
    """
    if path is None or str(path) == "-":
        return None
    try:
        files = [path] if not path.is_dir() else [p for p in path.iterdir() if p.is_file()]
        stamps = [p.stat().st_mtime for p in files]
    except OSError:
        return None
    return datetime.fromtimestamp(max(stamps), UTC) if stamps else None


def stale_reason(
    app_start: datetime,
    now: datetime,
    *,
    written_at: datetime | None,
    longest_s: float | None,
) -> str | None:
    """Why a running application's log looks abandoned, or None when nothing says so.

    The log has not been written for :data:`STALE_AFTER_S`, or the application started
    more than :data:`PLAUSIBLE_FACTOR` times the history's longest run ago (and over
    :data:`STALE_AFTER_S`): both are what a driver that died long ago leaves behind.

    Parameters
    ----------
    app_start, now
        The application's start and the moment of the check.
    written_at
        When its log was last written (None: unknown).
    longest_s
        The job's longest recorded run in seconds (None: none).

    Returns
    -------
    str or None
        The reasons, joined by "and".
    """
    reasons = []
    if written_at is not None and (now - written_at).total_seconds() > STALE_AFTER_S:
        reasons.append(
            f"its log was last written {_span((now - written_at).total_seconds())} ago "
            f"({written_at:%Y-%m-%d %H:%M} UTC)"
        )
    elapsed = (now - app_start).total_seconds()
    if longest_s is not None and elapsed > max(PLAUSIBLE_FACTOR * longest_s, STALE_AFTER_S):
        reasons.append(
            f"it started {_span(elapsed)} ago ({app_start:%Y-%m-%d %H:%M} UTC), over "
            f"{PLAUSIBLE_FACTOR:g} times the job's longest recorded run ({longest_s:.0f} s)"
        )
    return " and ".join(reasons) if reasons else None


def _span(seconds: float) -> str:
    """A duration in the largest fitting unit (``3.2 h``, ``1971 days``)."""
    for unit, size in (("days", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if seconds >= 2 * size:
            digits = 0 if unit == "days" else 1
            return f"{seconds / size:.{digits}f} {unit}"
    return f"{seconds:.0f} s"


def longest_run(repo: HistoryRepository, job: str) -> float | None:
    """The longest recorded run of the job in seconds (None: no finished run, or no job)."""
    try:
        runs = repo.executions(job)
    except JobcastError:
        return None
    if "gross_runtime" not in runs.columns:
        return None
    runtime = pd.to_numeric(runs["gross_runtime"], errors="coerce")
    return float(runtime.max()) if runtime.notna().any() else None


def seconds_off(finish_at: str, end: datetime) -> float:
    """Seconds between an estimate's ``finish_at`` (ISO 8601) and the actual end."""
    return abs((datetime.fromisoformat(finish_at) - end).total_seconds())


def ordered(current: pd.DataFrame) -> pd.DataFrame:
    """The iterations in the order they ran (by start when known)."""
    if "started_at" not in current.columns or current["started_at"].isna().any():
        return current.reset_index(drop=True)
    return current.sort_values("started_at", kind="stable").reset_index(drop=True)


def iteration_estimates(
    model: Any,
    current: pd.DataFrame,
    app_start: datetime,
    deadline: float | None,
    *,
    done_before: int,
    end: datetime | None,
    now: datetime,
) -> list[dict[str, Any]]:
    """One estimate for each iteration finished beyond the first ``done_before``.

    Each is made with the iterations finished up to it, at the moment it finished (its
    ``finished_at``; ``now`` when unknown), never after the application's ``end``: several
    iterations arriving in one poll (or a finished log read at once) get one estimate
    each, as they would have live. An estimate the model cannot make is left out.

    Parameters
    ----------
    model
        The fitted wall-clock model (None: no estimates).
    current
        Every iteration seen so far, with the run's context attributes.
    app_start, deadline
        The application's start and the deadline in seconds after it (or None).
    done_before
        Iterations estimated already.
    end
        The application's end when it ended, else None.
    now
        The moment of the poll.

    Returns
    -------
    list of dict
        The JSON payloads (``--json`` lines), in the order of the iterations.
    """
    if model is None or len(current) <= done_before:
        return []
    rows = ordered(current)
    if "finished_at" in rows.columns:
        moments = pd.to_datetime(rows["finished_at"], utc=True).cummax()
    else:
        moments = pd.Series(pd.NaT, index=rows.index, dtype="datetime64[ns, UTC]")
    out = []
    for k in range(done_before + 1, len(rows) + 1):
        at = moments.iloc[k - 1]
        moment = now if pd.isna(at) else at.to_pydatetime()
        if end is not None:
            moment = min(moment, end)
        try:
            est = model.predict(
                rows.iloc[:k], started_at=app_start, now=moment, deadline_s=deadline
            )
        except JobcastError:
            continue
        out.append(est.to_dict())
    return out


def live_estimate(
    model: Any,
    current: pd.DataFrame | None,
    app_start: datetime,
    deadline: float | None,
    *,
    now: datetime,
    lag_s: float = 0.0,
) -> tuple[WallClockEstimate | None, str | None]:
    """The estimate of a running application at ``now``, or why the model made none.

    Parameters
    ----------
    model
        The fitted wall-clock model (None: no estimate, and no reason).
    current
        Every iteration seen so far, with the run's context attributes (None: none yet).
    app_start, deadline
        The application's start and the deadline in seconds after it (or None).
    now
        The moment of the estimate.
    lag_s
        How late the iterations' ends were seen so far (see :func:`seen_late`).

    Returns
    -------
    tuple
        The estimate and None, or None and the model's error (None without a model).
    """
    if model is None:
        return None, None
    frame = ordered(current) if current is not None else pd.DataFrame()
    try:
        est = model.predict(frame, started_at=app_start, now=now, deadline_s=deadline, lag_s=lag_s)
        return est, None
    except JobcastError as e:
        return None, str(e)


def seen_late(new: pd.DataFrame, seen_at: datetime) -> float:
    """How long after its end the latest of the ``new`` iterations was seen (s, >= 0).

    A log is read once per poll and Spark writes its events with a delay, so an end is
    seen up to a second or two late; until then the iteration looks like it runs on.
    """
    if not len(new) or "finished_at" not in new.columns:
        return 0.0
    ended = pd.to_datetime(new["finished_at"], utc=True).max()
    if pd.isna(ended):
        return 0.0
    return max((seen_at - ended.to_pydatetime()).total_seconds(), 0.0)


def hidden_loop(iterations: pd.DataFrame) -> str | None:
    """A warning when one iteration probably holds the whole loop (as ``import eventlog``).

    See :func:`jobcast.collect.grouping.hidden_loop`; None without iterations or tasks.
    """
    if not len(iterations) or "tasks" not in iterations.columns:
        return None
    from jobcast.collect.grouping import hidden_loop as loop_warning

    return loop_warning(iterations["duration_s"].tolist(), iterations["tasks"].tolist())


def record_run(
    repo: HistoryRepository,
    job: str,
    run: ApplicationRun,
    everything: pd.DataFrame,
    *,
    source: str,
    context: Mapping[str, Any],
) -> str | None:
    """Record a followed run with its iterations, unless the job holds it already.

    Parameters
    ----------
    repo
        The history.
    job
        The job to record the run in (created when new).
    run
        The application as its follower saw it.
    everything
        Its iterations (none: nothing is recorded).
    source
        Where it was read (the UI's URL or the log's path).
    context
        Its context attributes.

    Returns
    -------
    str or None
        ``"recorded"``, ``"completed"`` (held as running: now complete), ``"already"``
        (the job holds it already), or None (no iteration: nothing recorded).

    Raises
    ------
    jobcast.errors.InputError
        When the history refuses the run (not because it holds it already).
    """
    from jobcast.app.imports import holds_run
    from jobcast.collect.store import iteration_table

    if not len(everything):
        return None
    try:
        existing = repo.job(job)
    except UnknownJobError:
        existing = None
    table = iteration_table((run, everything, source), job=job, existing=existing, context=context)
    try:
        summary = repo.import_iterations(table, complete_running=True)
    except InputError:
        if existing is not None and holds_run(repo, job, run.app_id, finished_only=False):
            return "already"  # stored in between, by the workload itself
        raise
    if summary.executions:
        return "recorded"
    return "completed" if summary.completed else "already"


def iteration_rule(follower: Any) -> Any:
    """The follower's :class:`~jobcast.collect.grouping.IterationRule` (None: none yet)."""
    return getattr(follower, "rule", None)


def poll_new(
    follower: Any, source: str, waited: float, timeout: float | None
) -> pd.DataFrame | None:
    """New iterations, or None while the UI or the log is not there yet (up to the timeout).

    Parameters
    ----------
    follower
        An :class:`~jobcast.collect.EventLogFollower` or a
        :class:`~jobcast.collect.SparkRestFollower`.
    source
        The UI's URL or the log's path (logged while waiting for it).
    waited
        Seconds waited so far.
    timeout
        Seconds to wait for the UI or the log to appear (None: 300).

    Returns
    -------
    pandas.DataFrame or None
        The iterations finished since the last poll.

    Raises
    ------
    jobcast.collect.SparkRestError, jobcast.errors.ImportFormatError
        When the UI or the log is not there after the start or the waiting time.
    """
    from jobcast.collect import SparkRestError

    limit = _APPEAR_WITHIN_S if timeout is None else timeout
    try:
        return follower.poll()  # type: ignore[no-any-return]
    except (SparkRestError, ImportFormatError) as e:
        if app_started_at(follower) is not None or waited > limit:
            raise
        logger.info("waiting for %s: %s", source, e)
        return None


def app_started_at(follower: Any) -> datetime | None:
    """The application's start as the follower saw it (None: not seen yet)."""
    started = getattr(follower, "started_at", None)
    if started is not None:
        return started  # type: ignore[no-any-return]
    try:
        return follower.run.started_at  # type: ignore[no-any-return]
    except (JobcastError, AttributeError):
        return None


def app_ended(follower: Any) -> bool:
    """True once the followed application ended."""
    done = getattr(follower, "ended", None)
    return bool(follower.completed if done is None else done)


def app_run(follower: Any) -> ApplicationRun:
    """The application as the follower saw it so far."""
    run = follower.application_run() if hasattr(follower, "application_run") else follower.run
    return run  # type: ignore[no-any-return]
