"""Recording a finished workload run in the job history."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jobcast.collect.eventlog import read_event_log
from jobcast.collect.store import iteration_table
from jobcast.errors import InputError, UnknownJobError
from jobcast.history import HistoryRepository, ImportSummary
from jobcast.workloads.base import WorkloadResult

__all__ = [
    "AlreadyRecorded",
    "check_recordable",
    "record_workload",
    "workload_attributes",
    "workload_context",
]


def workload_attributes(size: int, cores: int, params: Mapping[str, Any]) -> dict[str, float]:
    """The context attributes of a run: input size, cores and numeric parameters.

    The one rule for both ways a run reaches a history: recorded from its event log
    (:func:`record_workload`) and reported live to a collector
    (:func:`jobcast.workloads.run_workload`), so that both fill the same job.
    """
    context: dict[str, float] = {"input_size": float(size), "cores": float(cores)}
    for key, value in params.items():
        if isinstance(value, int | float) and not isinstance(value, bool) and key != "pause_s":
            context[key] = float(value)
    return context


#: The attributes every workload run carries (:func:`workload_attributes`).
_ALWAYS = ("input_size", "cores")


def check_recordable(repo: HistoryRepository, job: str) -> None:
    """Refuse, before a run, a job whose executions are of another kind than a workload's.

    A job with context attributes of which none is ``input_size`` or ``cores`` (a C3O
    trace's ``pagerank`` with ``pages``, ``links``) would store the run with those
    left empty and its own attributes dropped: runtime models then leave it out, and
    progress training finds one run with iterations among hundreds without.

    Raises
    ------
    jobcast.errors.InputError
        Naming the job's attributes and a job name of its own to use.
    """
    try:
        spec = repo.job(job)
    except UnknownJobError:
        return
    names = spec.attribute_names
    if names and not any(a in names for a in _ALWAYS):
        raise InputError(
            f"job {job!r} holds executions with the attributes {', '.join(names)} (not the "
            f"{' and '.join(_ALWAYS)} a workload run records): its run would be stored with "
            f"them empty and its own left out. Record it under a job of its own, e.g. "
            f"--job {job}-local; nothing was run"
        )


def workload_context(result: WorkloadResult) -> dict[str, float]:
    """The context attributes of a finished run (see :func:`workload_attributes`)."""
    return workload_attributes(result.size, result.cores, result.params)


@dataclass(frozen=True)
class AlreadyRecorded:
    """The history held the run already (``jobcast watch`` recorded it): nothing was written.

    Parameters
    ----------
    job
        The job.
    execution
        The run's application id.
    missing
        Context attributes of the job that the stored record leaves empty while the
        workload knows them.
    scale_out
        The stored record's scale-out (None: not recorded).
    """

    job: str
    execution: str
    missing: tuple[str, ...]
    scale_out: int | None

    def message(self, context: Mapping[str, Any]) -> str:
        """What happened, and what to pass next time for a complete record."""
        text = (
            f"job {self.job!r} holds run {self.execution} already (recorded while it ran, "
            "by `jobcast watch`); nothing more was written"
        )
        if self.missing:
            sets = " ".join(f"--set {k}={context[k]:g}" for k in self.missing if k in context)
            text += (
                f". Its record lacks {', '.join(self.missing)}; give them to watch next "
                f"time: {sets}"
            )
        return text


def record_workload(
    repo: HistoryRepository, result: WorkloadResult, *, job: str | None = None
) -> ImportSummary | AlreadyRecorded:
    """Store a finished run from its event log, with the records the workload counted.

    In local mode Spark has one executor (the driver); the scale-out recorded is the
    number of local worker threads, the parallelism a local run actually changes
    (``jobcast watch`` records a local run alike).

    Returns
    -------
    ImportSummary or AlreadyRecorded
        What was stored, or, when the job holds the run already (``jobcast watch``
        recorded it while it ran), what that record lacks; nothing is written then.
    """
    if result.event_log is None:
        raise InputError(f"run {result.app_id} wrote no event log; run it with an event-log folder")
    name = job or result.job or result.name
    context = workload_context(result)
    try:
        existing = repo.job(name)
    except UnknownJobError:
        existing = None
    if existing is not None:
        before = _stored_run(repo, name, result.app_id)
        if before is not None:
            missing = tuple(
                a for a in existing.attribute_names if a in context and _empty(before.get(a))
            )
            scale = before.get("scale_out")
            return AlreadyRecorded(
                name, result.app_id, missing, None if scale is None or _empty(scale) else int(scale)
            )
    # the run's origin names the log by its absolute path, as `import eventlog` and
    # `watch` do (a relative --event-log-dir would name it from wherever it ran)
    imported = read_event_log(result.event_log.resolve(), iterations="job-groups")
    iterations = imported.iterations.copy()
    if len(iterations) == len(result.records):
        iterations["records"] = [float(r) for r in result.records]
    iterations["scale_out"] = result.cores
    table = iteration_table(
        imported,
        job=name,
        existing=existing,
        context=context,
        iterations=iterations,
    )
    return repo.import_iterations(table)


def _stored_run(repo: HistoryRepository, job: str, app_id: str) -> dict[str, Any] | None:
    runs = repo.executions(job, only_completed=False)
    hit = runs[runs["external_id"].astype(str) == app_id]
    return None if hit.empty else dict(hit.iloc[0])


def _empty(value: Any) -> bool:
    import pandas as pd

    return value is None or bool(pd.isna(value))
