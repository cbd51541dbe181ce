"""Turning collected Spark runs into history tables (what ``import eventlog`` stores)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from jobcast.collect.eventlog import EventLogImport
from jobcast.collect.runs import ITERATION_COLUMNS, ApplicationRun
from jobcast.history import (
    ExecutionTable,
    IterationTable,
    JobSpec,
    Provenance,
    SourceKind,
)
from jobcast.history.importers.kinds import live_context, live_job_spec

__all__ = ["iteration_table"]


def iteration_table(
    imported: EventLogImport | tuple[ApplicationRun, pd.DataFrame, str],
    *,
    job: str,
    existing: JobSpec | None = None,
    context: Mapping[str, Any] | None = None,
    iterations: pd.DataFrame | None = None,
) -> IterationTable:
    """One application's execution and iterations, ready for the repository.

    Parameters
    ----------
    imported
        What :func:`jobcast.collect.read_event_log` read, or ``(run, iterations,
        origin)`` from a live follower.
    job
        Job name.
    existing
        The job's spec when it exists already: its context attributes are kept and
        the ones the log cannot tell are left empty.
    context
        Context attribute values known from elsewhere (workload parameters).
    iterations
        Replacement iteration rows (for example with the records a workload counted
        itself); the log's when None.
    """
    if isinstance(imported, EventLogImport):
        run, logged, origin = imported.run, imported.iterations, str(imported.path)
    else:
        run, logged, origin = imported
    context = live_context(context or {})
    spec = existing if existing is not None else live_job_spec(job, context)
    attributes = spec.attributes
    it = (logged if iterations is None else iterations).copy()
    it["execution"] = run.app_id
    it = it[[c for c in ITERATION_COLUMNS if c in it.columns]]
    first_scale = int(it["scale_out"].iloc[0]) if len(it) else run.final_executors
    row: dict[str, Any] = {
        "external_id": run.app_id,
        "gross_runtime": run.gross_runtime_s if run.completed else None,
        "scale_out": first_scale,
        "started_at": run.started_at,
        "finished_at": run.finished_at if run.completed else None,
    }
    for a in attributes:
        row[a.name] = context.get(a.name)
    executions = pd.DataFrame([row])
    prov = Provenance(
        SourceKind.FILE if isinstance(imported, EventLogImport) else SourceKind.LIVE, origin
    )
    return IterationTable(ExecutionTable(spec, executions, prov), it.reset_index(drop=True))
