"""Completing runs imported while Spark was still writing their log, when the log grows."""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from jobcast.history.records import ExecutionTable, IterationTable
from jobcast.history.schema import ExecutionRow, IterationRow, JobRow
from jobcast.history.values import clean, utc

__all__ = ["Completion", "complete_running", "only", "split_running"]


@dataclass(frozen=True)
class Completion:
    """How an import's executions relate to what the job holds.

    Attributes
    ----------
    new
        The part of the table naming executions the job does not hold (None: none).
    running
        Stored execution ids, by external id, of runs imported while still running that
        the table holds more of (more iterations, or the end): they are to be completed.
    unchanged
        External ids the job holds already, finished, or running with nothing new here
        (or followed live by a collector, which finishes them itself).
    """

    new: IterationTable | None
    running: dict[str, int]
    unchanged: tuple[str, ...]


def split_running(s: Session, job_row: JobRow, table: IterationTable) -> Completion:
    """Sort the table's executions into new, to-be-completed and unchanged ones."""
    frame = table.executions.frame
    external = [str(x) for x in frame["external_id"]]
    held = s.execute(
        select(
            ExecutionRow.external_id,
            ExecutionRow.id,
            ExecutionRow.status,
            ExecutionRow.finished_at,
            ExecutionRow.gross_runtime,
        ).where(ExecutionRow.job_id == job_row.id, ExecutionRow.external_id.in_(external))
    ).all()
    if not held:
        return Completion(table, {}, ())
    running: dict[str, int] = {}
    unchanged: list[str] = []
    counts = dict(
        s.execute(
            select(IterationRow.execution_id, func.count())
            .where(IterationRow.execution_id.in_([int(h[1]) for h in held]))
            .group_by(IterationRow.execution_id)
        ).all()
    )
    iterations = table.iterations["execution"].astype(str)
    for ext, ident, status, finished, runtime in held:
        ext = str(ext)
        row = frame[frame["external_id"].astype(str) == ext].iloc[0]
        imported_running = status is None and finished is None and runtime is None
        now_finished = clean(row.get("gross_runtime")) is not None
        more = int((iterations == ext).sum()) > int(counts.get(ident, 0))
        if imported_running and (now_finished or more):
            running[ext] = int(ident)
        else:
            unchanged.append(ext)
    known = set(running) | set(unchanged)
    keep = ~frame["external_id"].astype(str).isin(known)
    if not keep.any():
        return Completion(None, running, tuple(unchanged))
    new_execs = replace(table.executions, frame=frame[keep].reset_index(drop=True))
    new_its = table.iterations[~iterations.isin(known)].reset_index(drop=True)
    hardware = table.hardware
    if hardware is not None and len(hardware):
        hardware = hardware[~hardware["execution"].astype(str).isin(known)]
    new = replace(table, executions=new_execs, iterations=new_its, hardware=hardware)
    return Completion(new, running, tuple(unchanged))


def complete_running(
    s: Session, table: IterationTable, running: dict[str, int]
) -> dict[str, int]:
    """Give stored running executions the table's end, runtime and iterations.

    Their iterations are replaced by the table's (read from the longer log); their
    attributes keep the values stored, filled in where they were empty. Returns the
    external ids to execution ids, for the rows still to insert (iterations, hardware).
    """
    frame = table.executions.frame
    names = table.executions.job.attribute_names
    for ext, ident in running.items():
        row = {str(k): v for k, v in frame[frame["external_id"].astype(str) == ext].iloc[0].items()}
        stored = s.get(ExecutionRow, ident)
        if stored is None:  # pragma: no cover - read in the same transaction
            continue
        attributes = dict(stored.attributes or {})
        for name in names:
            if attributes.get(name) is None:
                attributes[name] = clean(row.get(name))
        stored.attributes = attributes
        stored.gross_runtime = clean(row.get("gross_runtime"))
        stored.finished_at = utc(row.get("finished_at"))
        stored.started_at = utc(row.get("started_at")) or stored.started_at
        if clean(row.get("scale_out")) is not None:
            stored.scale_out = clean(row.get("scale_out"))
        stored.origin = table.executions.provenance.origin
        s.execute(delete(IterationRow).where(IterationRow.execution_id == ident))
    s.flush()
    return dict(running)


def only(table: IterationTable, external: set[str]) -> IterationTable:
    """The part of ``table`` naming the executions ``external``."""
    frame = table.executions.frame
    execs: ExecutionTable = replace(
        table.executions, frame=frame[frame["external_id"].astype(str).isin(external)]
    )
    its = table.iterations[table.iterations["execution"].astype(str).isin(external)]
    return replace(table, executions=execs, iterations=its.reset_index(drop=True))
