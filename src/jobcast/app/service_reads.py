"""Reading jobs, executions and iterations as plain records for the service's API and pages."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import func, select

from jobcast.errors import InputError
from jobcast.history import HistoryRepository
from jobcast.history.readers import iteration_values
from jobcast.history.records import ITERATION_COLUMNS
from jobcast.history.schema import ExecutionRow, IterationRow, JobRow, ProgressParametersRow
from jobcast.history.values import utc

if TYPE_CHECKING:
    import pandas as pd
    from typing_extensions import Unpack

    from jobcast.app.progress import Eta, EtaOptions

__all__ = [
    "State",
    "list_executions",
    "execution_record",
    "execution_iterations",
    "job_version",
    "job_versions",
    "running_iteration_counts",
    "running_eta",
]

State = Literal["running", "finished", "all"]


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat()


def _num(v: float | None) -> float | None:
    return None if v is None or not math.isfinite(v) else float(v)


def _record(job: str, e: ExecutionRow) -> dict[str, Any]:
    running = e.gross_runtime is None and e.finished_at is None
    return {
        "id": e.external_id or str(e.id),
        "job": job,
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
    """
    if state not in ("running", "finished", "all"):
        raise InputError(f"state must be running, finished or all, got {state!r}")
    if job is not None:
        repo.job(job)
    q = select(JobRow.name, ExecutionRow).join(JobRow, JobRow.id == ExecutionRow.job_id)
    if job is not None:
        q = q.where(JobRow.name == job)
    if state == "running":
        q = q.where(ExecutionRow.gross_runtime.is_(None), ExecutionRow.finished_at.is_(None))
    elif state == "finished":
        q = q.where(
            (ExecutionRow.gross_runtime.is_not(None)) | (ExecutionRow.finished_at.is_not(None))
        )
    q = q.order_by(ExecutionRow.id.desc())
    if limit is not None:
        q = q.limit(limit)
    with repo.transaction() as s:
        return [_record(name, e) for name, e in s.execute(q)]


def _row(repo: HistoryRepository, s: Any, external_id: str) -> tuple[str, ExecutionRow]:
    found = s.execute(
        select(JobRow.name, ExecutionRow)
        .join(JobRow, JobRow.id == ExecutionRow.job_id)
        .where(ExecutionRow.external_id == external_id)
    ).all()
    if not found:
        raise InputError(f"no execution {external_id!r} is in the history")
    if len(found) > 1:
        jobs = ", ".join(sorted(str(f[0]) for f in found))
        raise InputError(f"execution id {external_id!r} exists in several jobs ({jobs})")
    return str(found[0][0]), found[0][1]


def execution_record(repo: HistoryRepository, external_id: str) -> dict[str, Any]:
    """One execution by its id (as reported by the collector or imported)."""
    with repo.transaction() as s:
        job, e = _row(repo, s, external_id)
        return _record(job, e)


def execution_iterations(repo: HistoryRepository, external_id: str) -> list[dict[str, Any]]:
    """The iterations of one execution in order."""
    with repo.transaction() as s:
        _, e = _row(repo, s, external_id)
        out = [iteration_values(i) for i in _iteration_rows(s, e)]
    for rec in out:
        for k in ("started_at", "finished_at"):
            rec[k] = _iso(rec[k])
        for k in ("duration_s", "records", "cpu", "disk", "net"):
            rec[k] = _num(rec[k])
    return out


def _iteration_rows(s: Any, e: ExecutionRow) -> list[IterationRow]:
    q = select(IterationRow).where(IterationRow.execution_id == e.id)
    return list(s.scalars(q.order_by(IterationRow.index)))


def job_version(repo: HistoryRepository, job: str) -> tuple[int, int]:
    """What changes whenever a job's finished executions change: (how many, largest id).

    Models fitted on the job (runtime models, the progress estimator) stay valid while
    this is unchanged: new, deleted, re-imported and newly finished executions all change
    it; a run that starts or reports an iteration does not.
    """
    q = (
        select(func.count(ExecutionRow.id), func.coalesce(func.max(ExecutionRow.id), 0))
        .join(JobRow, JobRow.id == ExecutionRow.job_id)
        .where(JobRow.name == job, ExecutionRow.gross_runtime.is_not(None))
    )
    with repo.transaction() as s:
        n, top = s.execute(q).one()
    return int(n), int(top)


def job_versions(
    repo: HistoryRepository, *, job: str | None = None
) -> dict[str, tuple[int, int, str]]:
    """What a job's progress model is fitted from, for every job with finished executions.

    :func:`job_version` and when the job's progress parameters were trained (``""``
    without stored ones), read in one query: a finished run or a ``jobcast train
    progress`` changes it, a running execution reporting iterations does not.
    """
    trained = ProgressParametersRow.trained_at
    q = (
        select(JobRow.name, func.count(ExecutionRow.id), func.max(ExecutionRow.id), trained)
        .join(ExecutionRow, JobRow.id == ExecutionRow.job_id)
        .outerjoin(ProgressParametersRow, ProgressParametersRow.job_id == JobRow.id)
        .where(ExecutionRow.gross_runtime.is_not(None))
        .group_by(JobRow.name, trained)
    )
    if job is not None:
        q = q.where(JobRow.name == job)
    with repo.transaction() as s:
        return {
            str(name): (int(n), int(top), "" if at is None else str(at))
            for name, n, top, at in s.execute(q)
        }


def running_iteration_counts(repo: HistoryRepository) -> dict[str, int]:
    """Recorded iterations of every running execution, by execution id (one query)."""
    q = (
        select(ExecutionRow.external_id, ExecutionRow.id, func.count(IterationRow.id))
        .outerjoin(IterationRow, IterationRow.execution_id == ExecutionRow.id)
        .where(ExecutionRow.gross_runtime.is_(None), ExecutionRow.finished_at.is_(None))
        .group_by(ExecutionRow.id, ExecutionRow.external_id)
    )
    with repo.transaction() as s:
        return {str(ext or eid): int(n) for ext, eid, n in s.execute(q)}


def _current(
    repo: HistoryRepository, external_id: str, default_scale_out: float
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

    with repo.transaction() as s:
        job, e = _row(repo, s, external_id)
        spec = repo.job(job)
        context = {k: (e.attributes or {}).get(k) for k in spec.attribute_names}
        rows = [iteration_values(i) for i in _iteration_rows(s, e)]
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
    model: Any, repo: HistoryRepository, execution: str, **options: Unpack[EtaOptions]
) -> Eta:
    """:func:`jobcast.app.progress.eta_with` reading only the running execution's rows.

    The model (:func:`jobcast.app.progress.fit_wall_clock`) holds the prepared history;
    this reads the one execution (a single query) and estimates it: the same answer as
    ``eta_with`` at a cost independent of the history's size. ``options`` are
    :func:`jobcast.app.progress.eta`'s ``deadline_s`` and ``now``.

    Raises
    ------
    jobcast.errors.InputError
        When no execution (or several of different jobs) has this id.
    """
    from jobcast.app.progress import Eta

    at = utc(options.get("now")) or datetime.now(UTC)
    job, started, current = _current(repo, execution, model.typical_scale_out_)
    start = utc(started)
    if start is None:
        start = utc(current["started_at"].iloc[0]) if len(current) else None
    est = model.predict(
        current, started_at=start or at, now=at, deadline_s=options.get("deadline_s")
    )
    return Eta.of(est, job=job, execution=str(execution))
