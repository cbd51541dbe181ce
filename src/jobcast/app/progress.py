"""Progress use cases: train and evaluate the estimator on a job's history, ETAs of live runs."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

import pandas as pd

from jobcast.errors import InputError, JobcastError, NotEnoughDataError
from jobcast.history import HistoryRepository
from jobcast.history.values import utc
from jobcast.progress.eta import WallClockEstimate
from jobcast.progress.usable import UsableHistory, finished_prefix, usable_history

if TYPE_CHECKING:  # pragma: no cover - typing only
    from typing_extensions import Unpack

    from jobcast.evaluation.progress import ProgressEvaluation
    from jobcast.progress.parallel import ProgressCallback
    from jobcast.progress.quality import QualityCurve
    from jobcast.progress.report import TrainingReport

__all__ = [
    "Eta",
    "EtaOptions",
    "StoredProgress",
    "TrainedProgress",
    "eta",
    "eta_with",
    "evaluate",
    "fit_wall_clock",
    "job_history",
    "running",
    "similarity",
    "stored_progress",
    "train",
]

logger = logging.getLogger(__name__)


class EtaOptions(TypedDict, total=False):
    """The keywords of an ETA besides what it estimates (see :func:`eta`)."""

    deadline_s: float | None
    now: datetime | None


@dataclass(frozen=True, kw_only=True)
class Eta(WallClockEstimate):
    """The estimated end of a running execution: its :class:`WallClockEstimate` and whose.

    Attributes
    ----------
    job, execution
        The running execution.

    The other attributes are those of
    :class:`~jobcast.progress.eta.WallClockEstimate`: ``interval_s`` is the 80 %
    prediction interval of ``remaining_s`` (calibrated on the estimator's leave-one-out
    errors over the history, as wide as the similar executions disagree) and
    ``remaining_s`` includes the gaps between iterations and the time after the last.
    """

    job: str
    execution: str

    @classmethod
    def of(cls, estimate: WallClockEstimate, *, job: str, execution: str) -> Eta:
        """The ETA of ``execution`` of ``job`` from its estimate."""
        return cls(
            job=job,
            execution=execution,
            **{f.name: getattr(estimate, f.name) for f in fields(WallClockEstimate)},
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON form (finish time as ISO 8601): job, execution, then the estimate's."""
        return {"job": self.job, "execution": self.execution, **super().to_dict()}


@dataclass(frozen=True)
class StoredProgress:
    """A job's trained progress parameters as the history stores them.

    Attributes
    ----------
    parameters
        The trained :class:`~jobcast.progress.parameters.ProgressParameters` as a dict;
        None when the job was never trained (the estimator uses its defaults).
    scale_out_model
        The per-iteration scale-out model they were trained with.
    executions
        Executions in the history when they were trained (None: not recorded).
    """

    parameters: Mapping[str, Any] | None = None
    scale_out_model: str = "bell"
    executions: int | None = None

    @classmethod
    def from_dict(cls, stored: Mapping[str, Any] | None) -> StoredProgress:
        """Read the stored JSON (None: untrained)."""
        if stored is None:
            return cls()
        executions = stored.get("executions")
        return cls(
            parameters=stored.get("parameters"),
            scale_out_model=str(stored.get("scale_out_model", "bell")),
            executions=None if executions is None else int(executions),
        )

    def to_dict(self) -> dict[str, Any]:
        """The stored JSON: ``{"parameters", "scale_out_model", "executions"}``."""
        return {
            "parameters": None if self.parameters is None else dict(self.parameters),
            "scale_out_model": self.scale_out_model,
            "executions": self.executions,
        }


@dataclass(frozen=True)
class TrainedProgress:
    """What :func:`train` stored and how well it estimates (leave-one-out)."""

    job: str
    report: TrainingReport
    stored: StoredProgress

    def to_dict(self) -> dict[str, Any]:
        """JSON form: the job, the report's fields and the stored ones."""
        return {"job": self.job, **self.report.to_dict(), **self.stored.to_dict()}


def stored_progress(repo: HistoryRepository, job: str) -> StoredProgress:
    """The job's stored progress parameters (defaults when it was never trained)."""
    return StoredProgress.from_dict(repo.progress_parameters(job))


def job_history(repo: HistoryRepository, job: str) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The job's usable finished iterations and its hardware samples (None without any).

    Executions recorded with incomplete iterations are left out with a warning
    (:func:`jobcast.progress.usable.usable_history` says which and why).

    Raises
    ------
    jobcast.errors.NotEnoughDataError
        When the job has no usable finished execution with iterations.
    """
    usable, hardware, _ = _usable_history(repo, job)
    _warn(job, usable)
    return usable.iterations, hardware


def _warn(job: str, usable: UsableHistory) -> None:
    note = usable.note()
    if note is not None:
        logger.warning("Job %r: %s.", job, note)


def _usable_history(
    repo: HistoryRepository, job: str
) -> tuple[UsableHistory, pd.DataFrame | None, pd.DataFrame]:
    """The usable history, the hardware samples and the finished executions' frame."""
    stored = repo.iterations(job)
    if stored.empty:
        raise NotEnoughDataError(
            f"job {job!r} has no finished executions with iterations; import some with "
            "`jobcast import traces|eventlog` or record runs with `jobcast workloads run`"
        )
    executions = repo.executions(job)
    usable = usable_history(stored, _run_scale_out(executions))
    if usable.iterations.empty:
        raise NotEnoughDataError(
            f"job {job!r} has no finished execution with complete iterations: {usable.note()}"
        )
    hardware = repo.hardware(job)
    return usable, (hardware if len(hardware) else None), executions


def _execution_keys(executions: pd.DataFrame) -> pd.Series:
    """The id each execution's iterations carry: its external id, else its database id."""
    return executions["external_id"].fillna(executions["execution_id"].astype(str)).astype(str)


def _run_scale_out(executions: pd.DataFrame) -> dict[str, float | None]:
    """Each execution's recorded scale-out by the id its iterations carry."""
    keys = _execution_keys(executions)
    values = pd.to_numeric(executions["scale_out"], errors="coerce")
    pairs = zip(keys.tolist(), values.tolist(), strict=True)
    return {str(k): (None if pd.isna(v) else float(v)) for k, v in pairs}


def _announce(callback: ProgressCallback | None, executions: int) -> None:
    """Tell ``callback`` the work's size before the first simulation ends (one per run)."""
    if callback is not None:
        callback(0, int(executions))


def train(
    repo: HistoryRepository,
    job: str,
    *,
    scale_out_model: str = "bell",
    n_jobs: int | None = None,
    random_state: int = 0,
    callback: ProgressCallback | None = None,
) -> TrainedProgress:
    """Train SMiPE's parameters on the job's history and store them.

    Runs :func:`jobcast.progress.training.train_history` (its leave-one-out simulations
    through joblib: wrap the call in :func:`jobcast.progress.parallel.dask_backend` to
    run them on a Dask cluster).

    Raises
    ------
    jobcast.errors.NotEnoughDataError
        When the job has no finished executions with iterations.
    """
    from jobcast.progress.training import MAX_TRAINING_EXECUTIONS, train_history, training_steps

    usable, hardware, _ = _usable_history(repo, job)
    history = usable.iterations
    # one unit per simulated run, then the training's searches
    simulated = min(history["execution"].nunique(), MAX_TRAINING_EXECUTIONS)
    _announce(callback, simulated + training_steps(simulated))
    report = train_history(
        history,
        hardware=hardware,
        scale_out_model=scale_out_model,  # type: ignore[arg-type]
        n_jobs=n_jobs,
        random_state=random_state,
        callback=callback,
    )
    stored = StoredProgress(
        parameters=report.params.to_dict(),
        scale_out_model=scale_out_model,
        executions=int(history["execution"].nunique()),
    )
    note = usable.note()
    if note is not None:
        logger.info("Progress training: %s.", note)
        report = replace(report, notes=(f"{note[0].upper()}{note[1:]}.", *report.notes))
    repo.save_progress_parameters(job, stored.to_dict())
    return TrainedProgress(job=job, report=report, stored=stored)


def evaluate(
    repo: HistoryRepository,
    job: str,
    *,
    training: str = "nested",
    scale_out_model: str = "bell",
    n_jobs: int | None = None,
    callback: ProgressCallback | None = None,
) -> ProgressEvaluation:
    """The SMiPE paper's protocol on the job's history (``jobcast evaluate progress``).

    ``training="given"`` uses the stored parameters and the scale-out model they were
    trained with; ``"nested"`` trains without each evaluated execution with
    ``scale_out_model``; ``"none"`` uses the defaults.

    Raises
    ------
    jobcast.errors.InputError
        With ``training="given"`` for a job never trained.
    """
    from jobcast.evaluation.progress import evaluate_progress

    history, hardware = job_history(repo, job)
    stored = stored_progress(repo, job)
    if training == "given" and stored.parameters is None:
        raise InputError(f"job {job!r} has no stored parameters; run `jobcast train progress`")
    # simulations, then one nested training per run: one count over both (as evaluate_progress)
    phases = 2 if training == "nested" else 1
    _announce(callback, phases * history["execution"].nunique())
    return evaluate_progress(
        history,
        job=job,
        params=stored.parameters if training == "given" else None,
        training=training,  # type: ignore[arg-type]
        hardware=hardware,
        scale_out_model=(stored.scale_out_model if training == "given" else scale_out_model),  # type: ignore[arg-type]
        n_jobs=n_jobs,
        callback=callback,
    )


def similarity(
    repo: HistoryRepository,
    job: str,
    *,
    plot: str | Path,
    n_jobs: int | None = None,
    callback: ProgressCallback | None = None,
) -> dict[str, QualityCurve]:
    """Quality of each similarity measure on the job's history, charts written to ``plot``."""
    from jobcast.evaluation.progress import evaluate_similarity

    history, hardware = job_history(repo, job)
    stored = stored_progress(repo, job)
    return evaluate_similarity(
        history,
        job=job,
        params=stored.parameters,
        hardware=hardware,
        scale_out_model=stored.scale_out_model,  # type: ignore[arg-type]
        n_jobs=n_jobs,
        plot=plot,
        callback=callback,
    )


def fit_wall_clock(repo: HistoryRepository, job: str) -> Any:
    """A :class:`~jobcast.progress.eta.WallClockEstimator` fitted on the job's finished runs.

    Uses the stored trained parameters when there are some.

    Raises
    ------
    jobcast.errors.NotEnoughDataError
        When the job has fewer than two finished executions with iterations.
    """
    from jobcast.progress.eta import WallClockEstimator

    usable, hardware, executions = _usable_history(repo, job)
    _warn(job, usable)
    history = usable.iterations
    stored = stored_progress(repo, job)
    model = WallClockEstimator(stored.parameters, scale_out_model=stored.scale_out_model)
    return model.fit(history, executions, hardware)


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
    row = runs[_execution_keys(runs) == str(execution)]
    if row.empty:
        raise InputError(
            f"job {job!r} has no execution {execution!r}; `jobcast jobs` lists the jobs and "
            "`jobcast watch` or the collector records running executions"
        )
    started = utc(row["started_at"].iloc[0])
    iterations = repo.iterations(job, include_running=True)
    run_scale_out = pd.to_numeric(row["scale_out"], errors="coerce").iloc[0]
    current = finished_prefix(
        iterations[iterations["execution"].astype(str) == str(execution)],
        None if pd.isna(run_scale_out) else float(run_scale_out),
        default_scale_out=model.typical_scale_out_,
    )
    if started is None:
        started = _first_start(current) or now
    est = model.predict(current, started_at=started, now=now, deadline_s=deadline_s)
    return Eta.of(est, job=job, execution=str(execution))


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
    return eta_with(fit_wall_clock(repo, job), repo, job, execution, deadline_s=deadline_s, now=at)


def eta_with(
    model: Any, repo: HistoryRepository, job: str, execution: str, **options: Unpack[EtaOptions]
) -> Eta:
    """:func:`eta` with a model :func:`fit_wall_clock` fitted before, reused across calls.

    For callers that estimate many executions, or one repeatedly (the service fits once
    per job and history version). ``options`` are :func:`eta`'s ``deadline_s`` and ``now``.
    """
    at = utc(options.get("now")) or datetime.now(UTC)
    return _eta(repo, model, job, execution, deadline_s=options.get("deadline_s"), now=at)


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
