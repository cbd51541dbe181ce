"""Recording a finished workload run in the job history."""

from __future__ import annotations

from jobcast.collect.eventlog import read_event_log
from jobcast.collect.store import iteration_table
from jobcast.errors import InputError, UnknownJobError
from jobcast.history import HistoryRepository, ImportSummary
from jobcast.workloads.base import WorkloadResult

__all__ = ["record_workload", "workload_context"]


def workload_context(result: WorkloadResult) -> dict[str, float]:
    """The context attributes of a run: input size, cores and numeric parameters."""
    context: dict[str, float] = {"input_size": float(result.size), "cores": float(result.cores)}
    for key, value in result.params.items():
        if isinstance(value, int | float) and not isinstance(value, bool) and key != "pause_s":
            context[key] = float(value)
    return context


def record_workload(
    repo: HistoryRepository, result: WorkloadResult, *, job: str | None = None
) -> ImportSummary:
    """Store a finished run from its event log, with the records the workload counted.

    In local mode Spark has one executor (the driver); the scale-out recorded is the
    number of local worker threads, the parallelism a local run actually changes.
    """
    if result.event_log is None:
        raise InputError(f"run {result.app_id} wrote no event log; run it with an event-log folder")
    name = job or result.name
    imported = read_event_log(result.event_log, iterations="job-groups")
    iterations = imported.iterations.copy()
    if len(iterations) == len(result.records):
        iterations["records"] = [float(r) for r in result.records]
    iterations["scale_out"] = result.cores
    try:
        existing = repo.job(name)
    except UnknownJobError:
        existing = None
    table = iteration_table(
        imported,
        job=name,
        existing=existing,
        context=workload_context(result),
        iterations=iterations,
    )
    return repo.import_iterations(table)
