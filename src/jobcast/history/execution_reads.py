"""Reading single executions, their iterations and per-job summaries, one query each."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote

from sqlalchemy import String, and_, cast, func, or_, select
from sqlalchemy.orm import Session

from jobcast.errors import ConflictError, UnknownExecutionError
from jobcast.history.base import RepositoryBase
from jobcast.history.readers import iteration_values
from jobcast.history.schema import ExecutionRow, IterationRow, JobRow, ProgressParametersRow

__all__ = [
    "State",
    "RunStatus",
    "RUN_STATUSES",
    "StoredExecution",
    "JobRuns",
    "stored_executions",
    "job_runs",
    "iteration_counts",
    "held_iterations",
    "find_execution",
    "execution_with_iterations",
    "finished_version",
    "finished_versions",
    "running_iterations",
    "ids_of_several_jobs",
]

State = Literal["running", "finished", "all"]

#: How a run stands: no end and no runtime yet, ended, or ended as failed (live runs only:
#: an imported run is completed once its trace or log gives an end or a runtime).
RunStatus = Literal["running", "completed", "failed"]
RUN_STATUSES: tuple[RunStatus, ...] = ("running", "completed", "failed")


@dataclass(frozen=True)
class StoredExecution:
    """One execution as stored, with its job's name: plain values, read in one transaction.

    Attributes
    ----------
    job
        The job's name.
    row_id
        The execution's row id (what an execution without ``external_id`` is listed by).
    external_id
        Its own id (as reported by the collector or imported), or None.
    scale_out, machine_type, gross_runtime, started_at, finished_at
        The stored columns (``gross_runtime`` and ``finished_at`` are None while it runs).
    attributes, source, origin, status
        Its context attributes, where it came from, and how it ended (or None).
    """

    job: str
    row_id: int
    external_id: str | None
    scale_out: int | None
    machine_type: str | None
    gross_runtime: float | None
    started_at: datetime | None
    finished_at: datetime | None
    attributes: dict[str, Any]
    source: str
    origin: str | None
    status: str | None

    @property
    def run_status(self) -> RunStatus:
        """``running``, ``completed`` or ``failed`` (see :data:`RunStatus`)."""
        if self.gross_runtime is None and self.finished_at is None:
            return "running"
        return "failed" if self.status == "failed" else "completed"


def _stored(job: str, e: ExecutionRow) -> StoredExecution:
    return StoredExecution(
        job=job,
        row_id=e.id,
        external_id=e.external_id,
        scale_out=e.scale_out,
        machine_type=e.machine_type,
        gross_runtime=e.gross_runtime,
        started_at=e.started_at,
        finished_at=e.finished_at,
        attributes=e.attributes,
        source=e.source,
        origin=e.origin,
        status=e.status,
    )


def stored_executions(
    repo: RepositoryBase,
    *,
    job: str | None = None,
    state: State = "all",
    limit: int | None = None,
    offset: int = 0,
) -> list[StoredExecution]:
    """Executions, newest first, optionally of one job and in one state.

    Parameters
    ----------
    repo
        The history.
    job
        Only this job's executions (raises :class:`~jobcast.errors.UnknownJobError`).
    state
        ``running`` (started, no finish and no runtime yet), ``finished`` or ``all``
        (checked by the caller).
    limit
        At most this many.
    offset
        Skip this many of the newest first (a page of a long listing).

    Raises
    ------
    jobcast.errors.UnknownJobError
        When ``job`` is given and not in the history.
    """
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
    if offset:
        q = q.offset(offset)
    with repo.transaction() as s:
        return [_stored(name, e) for name, e in s.execute(q)]


def _status_filter(status: RunStatus) -> Any:
    """The SQL condition of :attr:`StoredExecution.run_status` being ``status``."""
    running = and_(ExecutionRow.gross_runtime.is_(None), ExecutionRow.finished_at.is_(None))
    if status == "running":
        return running
    failed = ExecutionRow.status == "failed"
    if status == "failed":
        return and_(~running, failed)
    return and_(~running, or_(ExecutionRow.status.is_(None), ~failed))


@dataclass(frozen=True)
class JobRuns:
    """Runs of one job, most recent first, with their iteration counts.

    Attributes
    ----------
    runs
        The runs read (at most the limit asked for), each with its stored iterations.
    total
        How many runs (of the status asked for) the job has, read or not.
    """

    runs: tuple[tuple[StoredExecution, int], ...]
    total: int


def job_runs(
    repo: RepositoryBase,
    job: str,
    *,
    status: RunStatus | None = None,
    limit: int | None = None,
) -> JobRuns:
    """The runs of ``job``, most recent first, read in one transaction.

    Most recent is the latest start; runs without a start (a C3O trace records none)
    come after those with one, the latest stored first.

    Parameters
    ----------
    repo
        The history.
    job
        The job's name.
    status
        Only runs of this :attr:`StoredExecution.run_status` (None: all).
    limit
        At most this many runs (None: all); :attr:`JobRuns.total` counts them all.

    Raises
    ------
    jobcast.errors.UnknownJobError
        When ``job`` is not in the history (the message lists the known ones).
    """
    counts = (
        select(IterationRow.execution_id, func.count(IterationRow.id).label("n"))
        .group_by(IterationRow.execution_id)
        .subquery()
    )
    where = [JobRow.name == job]
    if status is not None:
        where.append(_status_filter(status))
    q = (
        select(ExecutionRow, func.coalesce(counts.c.n, 0))
        .join(JobRow, JobRow.id == ExecutionRow.job_id)
        .outerjoin(counts, counts.c.execution_id == ExecutionRow.id)
        .where(*where)
        # a portable "NULLS LAST": runs with a start first, the latest start first
        .order_by(
            ExecutionRow.started_at.is_(None),
            ExecutionRow.started_at.desc(),
            ExecutionRow.id.desc(),
        )
    )
    if limit is not None:
        q = q.limit(limit)
    total = (
        select(func.count(ExecutionRow.id))
        .join(JobRow, JobRow.id == ExecutionRow.job_id)
        .where(*where)
    )
    repo.job(job)  # an unknown job is named as such, with the known ones
    with repo.transaction() as s:
        runs = tuple((_stored(job, e), int(n)) for e, n in s.execute(q))
        return JobRuns(runs=runs, total=int(s.execute(total).scalar_one()))


def iteration_counts(
    repo: RepositoryBase, job: str, external_ids: Collection[str]
) -> dict[str, int]:
    """Stored iterations of the runs of ``job`` listed under ``external_ids`` (one query).

    Runs the job does not hold (or an unknown job) are left out of the answer.
    """
    if not external_ids:
        return {}
    q = (
        select(ExecutionRow.external_id, func.count(IterationRow.id))
        .join(JobRow, JobRow.id == ExecutionRow.job_id)
        .outerjoin(IterationRow, IterationRow.execution_id == ExecutionRow.id)
        .where(JobRow.name == job, ExecutionRow.external_id.in_([str(x) for x in external_ids]))
        .group_by(ExecutionRow.id, ExecutionRow.external_id)
    )
    with repo.transaction() as s:
        return {str(ext): int(n) for ext, n in s.execute(q)}


def held_iterations(
    repo: RepositoryBase, runs: Collection[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """Stored iterations of each ``(job, external_id)`` in ``runs`` (one query per job).

    Runs the history does not hold are left out of the answer.
    """
    by_job: dict[str, set[str]] = {}
    for job, external_id in runs:
        by_job.setdefault(job, set()).add(external_id)
    return {
        (job, ext): n
        for job, ids in by_job.items()
        for ext, n in iteration_counts(repo, job, ids).items()
    }


def _id_matches(external_id: str) -> Any:
    """Executions listed under ``external_id``: their own id, or the row id of one without."""
    match = ExecutionRow.external_id == external_id
    # an imported run without an id of its own (a C3O trace) is listed by its row id
    digits = external_id.isascii() and external_id.isdigit() and len(external_id) <= 10
    # (row ids are 32-bit integers: PostgreSQL refuses to compare them with more)
    if digits and str(int(external_id)) == external_id and int(external_id) < 2**31:
        row_id = int(external_id)
        match = match | (ExecutionRow.external_id.is_(None) & (ExecutionRow.id == row_id))
    return match


def _row(
    repo: RepositoryBase, s: Session, external_id: str, job: str | None
) -> tuple[str, ExecutionRow]:
    """The execution listed under ``external_id`` (in ``job`` when given); see find_execution."""
    q = (
        select(JobRow.name, ExecutionRow)
        .join(JobRow, JobRow.id == ExecutionRow.job_id)
        .where(_id_matches(external_id))
    )
    if job is not None:
        q = q.where(JobRow.name == job)
    found = s.execute(q).all()
    if not found:
        if job is not None:
            repo.job(job)  # an unknown job is named as such
        where = "" if job is None else f" of job {job!r}"
        raise UnknownExecutionError(f"no execution {external_id!r}{where} is in the history")
    if len(found) > 1:
        jobs = sorted({str(f[0]) for f in found})
        if len(jobs) > 1:
            raise ConflictError(
                f"execution id {external_id!r} is held by several jobs ({', '.join(jobs)}); "
                f"pass ?job=NAME to choose one (e.g. ?job={quote(jobs[0], safe='')})"
            )
        # an id of its own and another run's row id within one job: its own id wins
        found = [f for f in found if f[1].external_id == external_id]
    return str(found[0][0]), found[0][1]


def find_execution(
    repo: RepositoryBase, external_id: str, *, job: str | None = None
) -> StoredExecution:
    """The execution listed under ``external_id`` (in ``job`` when given).

    An execution is listed under its own id, or under its row id when it has none (an
    imported C3O run); within one job its own id wins over another's row id.

    Raises
    ------
    jobcast.errors.UnknownJobError
        When ``job`` is given and not in the history.
    UnknownExecutionError
        When no execution (of ``job``) has this id.
    ConflictError
        When ``job`` is not given and executions of several jobs have this id.
    """
    with repo.transaction() as s:
        return _stored(*_row(repo, s, external_id, job))


def execution_with_iterations(
    repo: RepositoryBase, external_id: str, *, job: str | None = None
) -> tuple[StoredExecution, list[dict[str, Any]]]:
    """:func:`find_execution` and its iterations in order, read in one transaction.

    Each iteration is :func:`~jobcast.history.readers.iteration_values`' record.

    Raises
    ------
    jobcast.errors.UnknownJobError, UnknownExecutionError, ConflictError
        As :func:`find_execution`.
    """
    with repo.transaction() as s:
        name, e = _row(repo, s, external_id, job)
        q = select(IterationRow).where(IterationRow.execution_id == e.id)
        rows = [iteration_values(i) for i in s.scalars(q.order_by(IterationRow.index))]
        return _stored(name, e), rows


def _version_columns() -> tuple[Any, ...]:
    """What identifies a job's set of finished executions (see :func:`finished_version`).

    The count and the largest id alone miss a replaced newest execution (SQLite reuses
    the largest id once its row is deleted); the latest import and the runtimes' sum
    change then.
    """
    return (
        func.count(ExecutionRow.id),
        func.coalesce(func.max(ExecutionRow.id), 0),
        func.coalesce(func.max(ExecutionRow.import_id), 0),
        func.coalesce(func.sum(ExecutionRow.gross_runtime), 0.0),
    )


def _version(n: Any, top: Any, last_import: Any, total: Any) -> tuple[int, int, int, float]:
    return int(n), int(top), int(last_import), round(float(total), 6)


def finished_version(repo: RepositoryBase, job: str) -> tuple[int, int, int, float]:
    """What changes whenever a job's finished executions change.

    (how many, largest id, latest import, sum of runtimes rounded to 6 decimals): new,
    deleted, re-imported, replaced and newly finished executions all change it; a run
    that starts or reports an iteration does not.
    """
    q = (
        select(*_version_columns())
        .join(JobRow, JobRow.id == ExecutionRow.job_id)
        .where(JobRow.name == job, ExecutionRow.gross_runtime.is_not(None))
    )
    with repo.transaction() as s:
        return _version(*s.execute(q).one())


def finished_versions(
    repo: RepositoryBase, *, job: str | None = None
) -> dict[str, tuple[int, int, int, float, str]]:
    """:func:`finished_version` and when the progress parameters were trained, by job.

    For every job with finished executions (or ``job`` alone), read in one query; the
    training time is ``""`` for a job without stored parameters.
    """
    trained = ProgressParametersRow.trained_at
    q = (
        select(JobRow.name, *_version_columns(), trained)
        .join(ExecutionRow, JobRow.id == ExecutionRow.job_id)
        .outerjoin(ProgressParametersRow, ProgressParametersRow.job_id == JobRow.id)
        .where(ExecutionRow.gross_runtime.is_not(None))
        .group_by(JobRow.name, trained)
    )
    if job is not None:
        q = q.where(JobRow.name == job)
    with repo.transaction() as s:
        return {
            str(name): (*_version(n, top, last, total), "" if at is None else str(at))
            for name, n, top, last, total, at in s.execute(q)
        }


def running_iterations(repo: RepositoryBase) -> dict[tuple[str, str], int]:
    """Recorded iterations of every running execution, by (job, listed id) (one query)."""
    q = (
        select(JobRow.name, ExecutionRow.external_id, ExecutionRow.id, func.count(IterationRow.id))
        .join(JobRow, JobRow.id == ExecutionRow.job_id)
        .outerjoin(IterationRow, IterationRow.execution_id == ExecutionRow.id)
        .where(ExecutionRow.gross_runtime.is_(None), ExecutionRow.finished_at.is_(None))
        .group_by(JobRow.name, ExecutionRow.id, ExecutionRow.external_id)
    )
    with repo.transaction() as s:
        return {(str(job), str(ext or eid)): int(n) for job, ext, eid, n in s.execute(q)}


def ids_of_several_jobs(repo: RepositoryBase, ids: Collection[str]) -> set[str]:
    """Those of ``ids`` that executions of several jobs are listed under (one query)."""
    if not ids:
        return set()
    listed = func.coalesce(ExecutionRow.external_id, cast(ExecutionRow.id, String))
    q = (
        select(listed)
        .where(listed.in_(list(ids)))
        .group_by(listed)
        .having(func.count(func.distinct(ExecutionRow.job_id)) > 1)
    )
    with repo.transaction() as s:
        return {str(x) for x in s.scalars(q)}
