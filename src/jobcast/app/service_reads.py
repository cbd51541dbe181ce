"""Reading jobs, executions and iterations as plain records for the service's API and pages."""

from __future__ import annotations

import math
from collections.abc import Collection
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from jobcast.errors import ConflictError, InputError
from jobcast.history import HistoryRepository
from jobcast.history.execution_reads import (
    State,
    StoredExecution,
    execution_with_iterations,
    find_execution,
    finished_version,
    finished_versions,
    ids_of_several_jobs,
    running_iterations,
    stored_executions,
)
from jobcast.history.records import ITERATION_COLUMNS
from jobcast.history.values import utc

if TYPE_CHECKING:
    import pandas as pd
    from typing_extensions import Unpack

    from jobcast.app.progress import Eta, EtaOptions

__all__ = [
    "State",
    "list_executions",
    "execution_page",
    "execution_record",
    "execution_iterations",
    "running_job",
    "job_version",
    "job_versions",
    "running_iteration_counts",
    "running_eta",
]


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat()


def _num(v: float | None) -> float | None:
    return None if v is None or not math.isfinite(v) else float(v)


def _record(e: StoredExecution) -> dict[str, Any]:
    running = e.gross_runtime is None and e.finished_at is None
    return {
        "id": e.external_id or str(e.row_id),
        "job": e.job,
        "state": "running" if running else "finished",
        "scale_out": e.scale_out,
        "machine_type": e.machine_type,
        "gross_runtime": _num(e.gross_runtime),
        "started_at": _iso(e.started_at),
        "finished_at": _iso(e.finished_at),
        "source": e.source,
        "origin": e.origin,
        "attributes": dict(e.attributes or {}),
    }


def list_executions(
    repo: HistoryRepository,
    *,
    job: str | None = None,
    state: State = "all",
    limit: int | None = None,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Executions as records (newest first), optionally of one job and in one state.

    Parameters
    ----------
    repo
        The history.
    job
        Only this job's executions (raises :class:`~jobcast.errors.UnknownJobError`).
    state
        ``running`` (started, no finish and no runtime yet), ``finished`` or ``all``.
    limit
        At most this many records.
    offset
        Skip this many of the newest first.
    """
    if state not in ("running", "finished", "all"):
        raise InputError(f"state must be running, finished or all, got {state!r}")
    found = stored_executions(repo, job=job, state=state, limit=limit, offset=offset)
    return [_record(e) for e in found]


def execution_page(
    repo: HistoryRepository,
    *,
    job: str | None = None,
    state: State = "all",
    limit: int = 1000,
    offset: int = 0,
) -> dict[str, Any]:
    """One page of :func:`list_executions`: ``executions`` and ``next_offset``.

    ``next_offset`` is the ``offset`` of the next page, None on the last one.
    """
    found = list_executions(repo, job=job, state=state, limit=limit + 1, offset=offset)
    more = len(found) > limit
    return {"executions": found[:limit], "next_offset": offset + limit if more else None}


def _running(e: StoredExecution, external_id: str) -> None:
    """Refuse an ETA of a finished execution, saying when it finished and how long it ran."""
    if e.gross_runtime is None and e.finished_at is None:
        return
    start, end = utc(e.started_at), utc(e.finished_at)
    runtime = e.gross_runtime
    if runtime is None and start is not None and end is not None:
        runtime = (end - start).total_seconds()
    ran = "" if runtime is None or not math.isfinite(runtime) else f" after {_secs(runtime)} s"
    at = "" if end is None else f" at {end.isoformat()}"
    failed = " (failed)" if e.status == "failed" else ""
    raise ConflictError(
        f"execution {external_id!r} of job {e.job!r} has finished{failed}{at}{ran}; an ETA "
        "is only for running executions (read the finished one's record and iterations)"
    )


def _secs(v: float) -> str:
    return f"{v:,.1f}".removesuffix(".0")


def execution_record(
    repo: HistoryRepository, external_id: str, *, job: str | None = None
) -> dict[str, Any]:
    """One execution by its id (as reported by the collector or imported), of ``job``.

    Without ``job`` the id must name executions of one job only (see
    :func:`~jobcast.history.execution_reads.find_execution`).
    """
    return _record(find_execution(repo, external_id, job=job))


def running_job(repo: HistoryRepository, external_id: str, *, job: str | None = None) -> str:
    """The job of the running execution ``external_id`` (of ``job`` when given).

    Raises
    ------
    jobcast.errors.ConflictError
        When the execution has finished (the message says when and its runtime), or
        ``job`` is not given and several jobs have an execution of this id.
    UnknownExecutionError
        When no execution (of ``job``) has this id.
    """
    e = find_execution(repo, external_id, job=job)
    _running(e, external_id)
    return e.job


def execution_iterations(
    repo: HistoryRepository, external_id: str, *, job: str | None = None
) -> list[dict[str, Any]]:
    """The iterations of one execution in order (of ``job`` when given)."""
    _, out = execution_with_iterations(repo, external_id, job=job)
    for rec in out:
        for k in ("started_at", "finished_at"):
            rec[k] = _iso(rec[k])
        for k in ("duration_s", "records", "cpu", "disk", "net"):
            rec[k] = _num(rec[k])
    return out


def job_version(repo: HistoryRepository, job: str) -> tuple[int, int, int, float]:
    """What changes whenever a job's finished executions change.

    (how many, largest id, latest import, sum of runtimes). Models fitted on the job
    (runtime models, the progress estimator) stay valid while this is unchanged: new,
    deleted, re-imported, replaced and newly finished executions all change it; a run
    that starts or reports an iteration does not.
    """
    return finished_version(repo, job)


def job_versions(
    repo: HistoryRepository, *, job: str | None = None
) -> dict[str, tuple[int, int, int, float, str]]:
    """What a job's progress model is fitted from, for every job with finished executions.

    :func:`job_version` and when the job's progress parameters were trained (``""``
    without stored ones), read in one query: a finished run or a ``jobcast train
    progress`` changes it, a running execution reporting iterations does not.
    """
    return finished_versions(repo, job=job)


def running_iteration_counts(repo: HistoryRepository) -> dict[tuple[str, str], int]:
    """Recorded iterations of every running execution, by (job, execution id) (one query)."""
    return running_iterations(repo)


def shared_ids(repo: HistoryRepository, ids: Collection[str]) -> set[str]:
    """Those of ``ids`` that executions of several jobs are listed under (one query)."""
    return ids_of_several_jobs(repo, ids)


def _current(
    repo: HistoryRepository, external_id: str, default_scale_out: float, job: str | None
) -> tuple[str, Any, pd.DataFrame]:
    """One execution's job, start and finished iterations as the progress model reads them.

    The frame has the columns and types of ``repo.iterations(job, include_running=True)``
    restricted to this execution and cut as :func:`jobcast.progress.usable.finished_prefix`
    cuts it (``default_scale_out`` where nothing reports one), read with one query
    instead of the job's whole history.
    """
    import numpy as np
    import pandas as pd

    from jobcast.progress.usable import MIN_DURATION_S, filled_scale_out, prefix_length

    e, rows = execution_with_iterations(repo, external_id, job=job)
    _running(e, external_id)
    job = e.job
    spec = repo.job(job)
    context = {k: (e.attributes or {}).get(k) for k in spec.attribute_names}
    started, scale_out = e.started_at, e.scale_out
    # the rows the model reads: 0, 1, 2, ... finished, scale-outs filled in
    # (jobcast.progress.usable's rules, on arrays: pandas costs more than the estimate)
    rows.sort(key=lambda r: int(r["iteration"]))
    reported = np.array(
        [np.nan if r["scale_out"] is None else r["scale_out"] for r in rows], dtype=np.float64
    )
    filled = filled_scale_out(reported, scale_out)
    filled = np.where(np.isnan(filled), default_scale_out, filled)
    duration = np.array(
        [np.nan if r["duration_s"] is None else r["duration_s"] for r in rows], dtype=np.float64
    )
    n = prefix_length(np.array([r["iteration"] for r in rows]), duration, filled)
    rows = rows[:n]
    data: dict[str, Any] = {
        "execution": [external_id] * n,
        "iteration": np.arange(n, dtype=np.int64),
        "scale_out": np.round(filled[:n]).astype(np.int64),
    }
    data["duration_s"] = np.maximum(duration[:n], MIN_DURATION_S)
    for c in ("records", "cpu", "disk", "net"):
        data[c] = np.array([np.nan if r[c] is None else r[c] for r in rows], dtype=np.float64)
    for c in ("started_at", "finished_at"):
        data[c] = pd.to_datetime(pd.Series([r[c] for r in rows], dtype=object))
    for a in spec.attributes:
        value = context[a.name]
        column = pd.Series([value] * len(rows), dtype=object)
        data[a.name] = pd.to_numeric(column).astype("float64") if a.numeric else column
    frame = pd.DataFrame(data, columns=[*ITERATION_COLUMNS, *spec.attribute_names])
    return job, started, frame


def running_eta(
    model: Any,
    repo: HistoryRepository,
    execution: str,
    *,
    job: str | None = None,
    **options: Unpack[EtaOptions],
) -> Eta:
    """:func:`jobcast.app.progress.eta_with` reading only the running execution's rows.

    The model (:func:`jobcast.app.progress.fit_wall_clock`) holds the prepared history;
    this reads the one execution (a single query) and estimates it: the same answer as
    ``eta_with`` at a cost independent of the history's size. ``job`` picks the execution
    among those of several jobs with this id; ``options`` are
    :func:`jobcast.app.progress.eta`'s ``deadline_s`` and ``now``.

    Raises
    ------
    UnknownExecutionError
        When no execution (of ``job``) has this id.
    jobcast.errors.ConflictError
        When the execution has finished, or ``job`` is not given and several jobs have
        an execution of this id.
    """
    from jobcast.app.progress import Eta

    at = utc(options.get("now")) or datetime.now(UTC)
    job, started, current = _current(repo, execution, model.typical_scale_out_, job)
    start = utc(started)
    if start is None:
        start = utc(current["started_at"].iloc[0]) if len(current) else None
    est = model.predict(
        current, started_at=start or at, now=at, deadline_s=options.get("deadline_s")
    )
    return Eta.of(est, job=job, execution=str(execution))
