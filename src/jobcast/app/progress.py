"""Following runs: the wall-clock ETA of live executions recorded in the history."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from jobcast.errors import InputError, JobcastError, NotEnoughDataError
from jobcast.history import HistoryRepository
from jobcast.history.values import utc

__all__ = ["Eta", "eta", "eta_with", "fit_wall_clock", "running"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Eta:
    """The estimated end of a running execution.

    Attributes
    ----------
    job, execution
        The running execution.
    iterations_done
        Its finished iterations.
    elapsed_s
        Wall-clock seconds since it started.
    remaining_s
        Estimated wall-clock seconds until it ends (gaps between iterations and the
        time after the last one included).
    finish_at
        When it is expected to end (UTC).
    interval_s
        80 % prediction interval of ``remaining_s``: calibrated on the estimator's
        leave-one-out errors over the history, as wide as the similar executions
        disagree.
    progress
        ``elapsed / (elapsed + remaining)`` in [0, 1].
    deadline_risk
        Probability of ending later than the deadline (None without a deadline).
    similar
        The most similar earlier executions, most similar first.
    """

    job: str
    execution: str
    iterations_done: int
    elapsed_s: float
    remaining_s: float
    finish_at: datetime
    interval_s: tuple[float, float]
    progress: float
    deadline_risk: float | None
    similar: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON form (finish time as ISO 8601)."""
        return {
            "job": self.job,
            "execution": self.execution,
            "iterations_done": self.iterations_done,
            "elapsed_s": self.elapsed_s,
            "remaining_s": self.remaining_s,
            "finish_at": self.finish_at.isoformat(),
            "interval_s": list(self.interval_s),
            "progress": self.progress,
            "deadline_risk": self.deadline_risk,
            "similar": list(self.similar),
        }


def fit_wall_clock(repo: HistoryRepository, job: str) -> Any:
    """A :class:`~jobcast.progress.eta.WallClockEstimator` fitted on the job's finished runs.

    Uses the stored trained parameters when there are some.

    Raises
    ------
    jobcast.errors.NotEnoughDataError
        When the job has fewer than two finished executions with iterations.
    """
    from jobcast.progress.eta import WallClockEstimator

    history = repo.iterations(job)
    if history.empty:
        raise NotEnoughDataError(
            f"job {job!r} has no finished executions with iterations; import some with "
            "`jobcast import traces|eventlog` or record runs with `jobcast workloads run`"
        )
    stored = repo.progress_parameters(job) or {}
    hardware = repo.hardware(job)
    executions = repo.executions(job)
    history = _with_scale_out(history, executions)
    model = WallClockEstimator(
        stored.get("parameters"), scale_out_model=str(stored.get("scale_out_model", "bell"))
    )
    return model.fit(history, executions, hardware if len(hardware) else None)


def _eta(
    repo: HistoryRepository,
    model: Any,
    job: str,
    execution: str,
    *,
    deadline_s: float | None,
    now: datetime,
) -> Eta:
    runs = repo.executions(job, only_completed=False)
    keys = runs["external_id"].fillna(runs["execution_id"].astype(str)).astype(str)
    row = runs[keys == str(execution)]
    if row.empty:
        raise InputError(
            f"job {job!r} has no execution {execution!r}; `jobcast jobs` lists the jobs and "
            "`jobcast watch` or the collector records running executions"
        )
    started = utc(row["started_at"].iloc[0])
    iterations = _with_scale_out(repo.iterations(job, include_running=True), runs)
    current = iterations[iterations["execution"].astype(str) == str(execution)]
    current = current.dropna(subset=["duration_s"]).sort_values("iteration")
    if started is None:
        started = _first_start(current) or now
    est = model.predict(
        current.reset_index(drop=True), started_at=started, now=now, deadline_s=deadline_s
    )
    return Eta(
        job=job,
        execution=str(execution),
        iterations_done=est.iterations_done,
        elapsed_s=est.elapsed_s,
        remaining_s=est.remaining_s,
        finish_at=est.finish_at,
        interval_s=est.interval_s,
        progress=est.progress,
        deadline_risk=est.deadline_risk,
        similar=est.similar,
    )


def _with_scale_out(iterations: pd.DataFrame, executions: pd.DataFrame) -> pd.DataFrame:
    """Iterations recorded without a scale-out ran with their execution's."""
    missing = iterations["scale_out"].isna()
    if not missing.any():
        return iterations
    keys = executions["external_id"].fillna(executions["execution_id"].astype(str)).astype(str)
    by_run = dict(zip(keys, executions["scale_out"], strict=True))
    filled = iterations["execution"].astype(str).map(by_run)
    out = iterations.assign(scale_out=iterations["scale_out"].where(~missing, filled))
    out = out[out["scale_out"].notna()]
    return out.assign(scale_out=out["scale_out"].astype("int64"))


def _first_start(current: pd.DataFrame) -> datetime | None:
    if "started_at" not in current.columns or not len(current):
        return None
    return utc(current["started_at"].iloc[0])


def eta(
    repo: HistoryRepository,
    job: str,
    execution: str,
    *,
    deadline_s: float | None = None,
    now: datetime | None = None,
) -> Eta:
    """The wall-clock ETA of a running execution recorded in the history.

    Parameters
    ----------
    repo
        The history.
    job
        The execution's job; its finished executions are the comparison.
    execution
        External id of the running execution (as the collector or ``watch`` recorded it).
    deadline_s
        Deadline in seconds after the execution's start, for ``deadline_risk``.
    now
        Moment of the estimate (default: the current time).

    Returns
    -------
    Eta

    Raises
    ------
    jobcast.errors.UnknownJobError
        When the job does not exist.
    jobcast.errors.InputError
        When the job has no such execution.
    jobcast.errors.NotEnoughDataError
        When the job has fewer than two finished executions with iterations.
    """
    at = utc(now) or datetime.now(UTC)
    model = fit_wall_clock(repo, job)
    return _eta(repo, model, job, execution, deadline_s=deadline_s, now=at)


def eta_with(
    model: Any,
    repo: HistoryRepository,
    job: str,
    execution: str,
    *,
    deadline_s: float | None = None,
    now: datetime | None = None,
) -> Eta:
    """:func:`eta` with a model :func:`fit_wall_clock` fitted before, reused across calls.

    For callers that estimate many executions, or one repeatedly (the service fits once
    per job and history version).
    """
    at = utc(now) or datetime.now(UTC)
    return _eta(repo, model, job, execution, deadline_s=deadline_s, now=at)


def running(repo: HistoryRepository, *, now: datetime | None = None) -> list[Eta]:
    """ETAs of every live execution running at ``now`` (default: the current time).

    Executions whose job has no finished history to compare with are left out (and
    logged).
    """
    at = utc(now) or datetime.now(UTC)
    by_job: dict[str, list[str]] = {}
    for job, execution in repo.running_executions(at):
        by_job.setdefault(job, []).append(execution)
    out: list[Eta] = []
    for job, executions in by_job.items():
        try:
            model = fit_wall_clock(repo, job)
        except JobcastError as e:
            logger.warning("No ETA for the running executions of %r: %s", job, e)
            continue
        for execution in executions:
            try:
                out.append(_eta(repo, model, job, execution, deadline_s=None, now=at))
            except JobcastError as e:
                logger.warning("No ETA for %r of %r: %s", execution, job, e)
    return out
