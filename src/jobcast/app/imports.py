"""Importing trace files, Spark event logs and hardware samples into the history."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Required, TypedDict

from jobcast.errors import InputError, UnknownJobError
from jobcast.history import (
    AttributeKind,
    ExecutionTable,
    HistoryRepository,
    ImportSummary,
    JobSpec,
)
from jobcast.history.execution_reads import held_iterations
from jobcast.history.importers import read_c3o, read_executions
from jobcast.history.importers.hints import import_hints, trace_hints
from jobcast.history.importers.traces import TraceColumns, read_traces

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "CsvOptions",
    "EventLogResult",
    "import_c3o",
    "import_csv",
    "import_dool",
    "import_eventlogs",
    "import_traces",
    "finished_runs",
]

logger = logging.getLogger(__name__)

#: Where import hints go: a callback taking one message (default: this module's log).
Warn = Callable[[str], None]


def import_c3o(
    repo: HistoryRepository,
    files: Sequence[str | Path],
    *,
    job: str,
    kinds: Mapping[str, AttributeKind] | None = None,
    runtime_unit: str = "s",
    decimal: str = ".",
    warn: Warn | None = None,
    origins: Mapping[str, str] | None = None,
) -> list[ImportSummary]:
    """Import C3O traces in one transaction, after every file has validated.

    Runtimes are read in ``runtime_unit`` (``ms``, ``s``, ``min``, ``h``) and stored in
    seconds, numbers with the decimal mark ``decimal`` (``.`` or ``,``); ``warn``
    receives the hints of :func:`jobcast.history.importers.hints.import_hints`
    (default: logged). ``origins``
    names where a file came from, by its path (``"<stdin>"`` for a pipe), as
    :func:`import_csv`'s ``origin`` does.
    """
    _check_kinds(repo, job, kinds)
    named = dict(origins or {})
    tables = [
        _from(
            read_c3o(f, job=job, kinds=kinds, runtime_unit=runtime_unit, decimal=decimal),
            named.get(str(f)),
        )
        for f in files
    ]
    hints = [h for t in tables for h in _hints(t, runtime_unit=runtime_unit, scale_out_given=True)]
    summaries = repo.import_execution_tables(tables)
    for hint in hints:  # once stored: a refused import has other news
        (warn or logger.warning)(hint)
    return summaries


def _hints(table: ExecutionTable, *, runtime_unit: str, scale_out_given: bool) -> list[str]:
    hints = import_hints(table, runtime_unit=runtime_unit, scale_out_given=scale_out_given)
    return [f"{table.provenance.origin}: {hint}" for hint in hints]


def _check_kinds(
    repo: HistoryRepository, job: str, kinds: Mapping[str, AttributeKind] | None
) -> None:
    """Refuse ``--kind`` overrides that an existing job's attributes contradict.

    A job's attribute kinds are set when it is created; an import into it cannot change
    them, so an override that differs would be ignored without a word.
    """
    if not kinds:
        return
    try:
        spec = repo.job(job)
    except UnknownJobError:
        return
    stored = {a.name: a.kind for a in spec.attributes}
    for name, kind in kinds.items():
        if name in stored and stored[name] != kind:
            raise InputError(
                f"job {job!r} exists with {name!r} as a {stored[name].value} attribute; --kind "
                "sets kinds of new jobs only: leave it out, or import into another --job"
            )


class CsvOptions(TypedDict, total=False):
    """How to read a CSV of executions (:func:`jobcast.history.importers.read_executions`).

    ``runtime`` names the runtime column; ``scale_out`` and ``machine_type`` name theirs
    (None: none); ``sep`` is the field separator (None: guessed); ``kinds`` overrides
    the guessed kind of attributes; ``runtime_unit`` is the unit of the runtimes (``ms``,
    ``s``, ``min``, ``h``; default ``s``), stored in seconds; ``decimal`` is the numbers'
    decimal mark (``.`` or ``,``; default ``.``).
    """

    runtime: Required[str]
    runtime_unit: str
    decimal: str
    scale_out: str | None
    machine_type: str | None
    sep: str | None
    kinds: Mapping[str, AttributeKind] | None


def import_csv(
    repo: HistoryRepository,
    file: str | Path,
    *,
    job: str,
    origin: str | None = None,
    warn: Warn | None = None,
    **options: Unpack[CsvOptions],
) -> ImportSummary:
    """Import a CSV of executions; columns other than the named ones become context.

    ``origin`` names where the rows came from in the history (default: the file's path;
    ``"<stdin>"`` for a pipe copied to a temporary file). ``warn`` receives the hints of
    :func:`jobcast.history.importers.hints.import_hints` (default: logged).
    """
    _check_kinds(repo, job, options.get("kinds"))
    table = _from(read_executions(file, job=job, **options), origin)
    hints = _hints(
        table,
        runtime_unit=options.get("runtime_unit", "s"),
        scale_out_given=options.get("scale_out") is not None,
    )
    summary = repo.import_executions(table)
    for hint in hints:
        (warn or logger.warning)(hint)
    return summary


def _from(table: ExecutionTable, origin: str | None) -> ExecutionTable:
    if origin is None:
        return table
    return replace(table, provenance=replace(table.provenance, origin=origin))


def import_traces(
    repo: HistoryRepository,
    file: str | Path,
    *,
    job: str,
    columns: TraceColumns,
    sep: str | None = None,
    decimal: str = ".",
    origin: str | None = None,
    warn: Warn | None = None,
) -> ImportSummary:
    """Import an iteration-level trace (one row per iteration); ``origin`` as in import_csv.

    ``decimal``: the numbers' decimal mark, ``"."`` or ``","`` (as ``import csv``'s).

    ``warn`` receives the hints of :func:`jobcast.history.importers.hints.trace_hints`
    (default: logged): durations that look like another unit or another column.
    """
    table = read_traces(file, job=job, columns=columns, sep=sep, decimal=decimal)
    table = replace(table, executions=_from(table.executions, origin))
    where = table.executions.provenance.origin
    hints = trace_hints(
        table, duration_unit=columns.duration_unit, duration_column=columns.duration
    )
    summary = repo.import_iterations(table)
    for hint in hints:  # once stored: a refused import has other news
        (warn or logger.warning)(f"{where}: {hint}")
    return summary


@dataclass(frozen=True)
class EventLogResult:
    """What became of one application's event log.

    Attributes
    ----------
    path, job, execution
        The log, the job it went to, the Spark application id.
    iterations
        Iterations the history holds of this run: those this import stored, or for a
        run skipped as held already those held before (0 for a run left out).
    completed
        Whether the application had ended (else no runtime is recorded yet).
    corrupt_lines
        Lines of the log that could not be parsed and were skipped.
    skipped
        True when nothing was written for this run: the history held it already
        (:attr:`status` ``"already there"``), or it was left out (``"left out"``).
    left_out
        True for a finished application without iterations that the import left out
        (when it does not refuse it; the reason in :attr:`warnings`).
    updated
        True when the history held this run as still running (imported from the log
        while Spark was writing it) and this import completed it: its iterations, end
        and runtime are now the longer log's.
    lost_jobs
        Spark jobs of a finished application whose start or end line the log lacks
        (corrupt lines): the iterations they belong to are missing and the later ones
        numbered on.
    warnings
        What makes the stored iterations less telling (also logged): one iteration that
        probably holds the application's whole loop
        (:func:`jobcast.collect.grouping.hidden_loop`).
    """

    path: str
    job: str
    execution: str
    iterations: int
    completed: bool
    corrupt_lines: int
    skipped: bool = False
    left_out: bool = False
    updated: bool = False
    lost_jobs: int = 0
    warnings: tuple[str, ...] = ()

    @property
    def status(self) -> str:
        """What the import did with the run, in a word or two.

        ``"recorded"`` (new), ``"completed"`` (held as still running, now completed from
        the longer log), ``"already there"`` (held already: nothing written, its held
        :attr:`iterations` reported) or ``"left out"`` (a finished application without
        iterations, when the import does not refuse it; the reason in :attr:`warnings`).
        """
        if self.skipped:
            return "left out" if self.left_out else "already there"
        return "completed" if self.updated else "recorded"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (``jobcast import eventlog --json``): the fields, then status."""
        return {**asdict(self), "warnings": list(self.warnings), "status": self.status}


def finished_runs(repo: HistoryRepository, job: str) -> tuple[JobSpec | None, set[str], set[str]]:
    """The job's spec (None: no such job), its finished runs' and its other runs' ids.

    Runs are told apart within the job they go to (every import route alike).
    """
    try:
        spec = repo.job(job)
    except UnknownJobError:
        return None, set(), set()
    frame = repo.executions(job, only_completed=False)
    ended = frame["finished_at"].notna() | frame["gross_runtime"].notna()
    return (
        spec,
        {str(x) for x in frame[ended]["external_id"].dropna()},
        {str(x) for x in frame[~ended]["external_id"].dropna()},
    )


def holds_run(
    repo: HistoryRepository, job: str, external_id: str, *, finished_only: bool = True
) -> bool:
    """Whether job ``job`` holds run ``external_id`` (finished, or in any state).

    Every route that records runs (imports, the service's sources, ``watch``) asks this
    one question before it records a run again.
    """
    _, finished, running = finished_runs(repo, job)
    return external_id in finished or (not finished_only and external_id in running)


def import_eventlogs(
    repo: HistoryRepository,
    paths: Sequence[str | Path],
    *,
    job: str | None = None,
    iterations: str = "auto",
    context: Mapping[str, Any] | None = None,
    origins: Mapping[str, str] | None = None,
    refuse_empty: bool = True,
) -> list[EventLogResult]:
    """Import Spark event logs in one transaction; runs held already are skipped.

    A run the history holds as still running (imported while Spark was writing its
    log) is completed from the longer log: its iterations, end and runtime. Runs are
    told apart by their Spark application id (with the attempt, ``app_1``) within the
    job they go to. A local log's origin is recorded as its absolute path.

    A finished application whose Spark jobs ``iterations`` puts into no iteration is
    refused, with every such log named, what it has and what to try, and nothing is
    written (a run stored without iterations would be skipped by the import that
    fixes ``iterations``). One iteration that probably holds the whole loop (MLlib's
    ALS) is warned of (logged, and in :attr:`EventLogResult.warnings`).

    Parameters
    ----------
    repo
        The history.
    paths
        Event logs, rolling folders, or folders of logs.
    job
        Job name (default: each application's name).
    iterations
        What an iteration is: ``auto`` (job groups or descriptions when set, else
        jobs), ``jobs``, ``job-groups`` or a regular expression.
    context
        Context attribute values of every run (input size, parameters); for an
        existing job only its own attributes.
    origins
        Where each local log came from (``s3://...``), by its local path: recorded as
        the runs' origin and named in errors.
    refuse_empty
        False: a finished application without iterations is left out with a warning
        (a result ``skipped``, its reason in ``warnings``) instead of refusing the import
        (the service's following of a source, where one such log would block the
        source's every later import).

    Raises
    ------
    jobcast.errors.InputError
        When ``context`` names an attribute the existing job does not have, a log
        cannot be read, or ``iterations`` finds no iteration in a finished
        application; nothing is written then.
    """
    from jobcast.collect import read_event_logs
    from jobcast.collect.grouping import hidden_loop
    from jobcast.collect.store import iteration_table

    values = dict(context or {})
    names = dict(origins or {})
    jobs: dict[str, tuple[JobSpec | None, set[str]]] = {}
    tables = []
    pending = []
    empty: list[str] = []
    for imp in read_event_logs(paths, iterations=iterations, origins=names):
        name = job or imp.run.app_name
        if name not in jobs:
            jobs[name] = finished_runs(repo, name)[:2]
        existing, finished = jobs[name]
        where = names.get(str(imp.path), str(imp.path))
        if existing is not None:
            unknown = sorted(set(values) - set(existing.attribute_names))
            if unknown:
                raise InputError(
                    f"{where}: --set {unknown[0]}: job {name!r} has no context attribute "
                    f"{unknown[0]!r}; its attributes are: "
                    f"{', '.join(existing.attribute_names) or '(none)'}. Nothing was "
                    "imported: leave --set out, or import into another --job"
                )
        skipped = imp.run.app_id in finished
        base = EventLogResult(
            path=where,
            job=name,
            execution=imp.run.app_id,
            iterations=0,
            completed=imp.run.completed,
            corrupt_lines=imp.corrupt_lines,
        )
        if imp.no_iteration is not None and not skipped:
            if refuse_empty:
                empty.append(f"{where}: {imp.no_iteration}")
            else:
                left = f"{where}: left out: {imp.no_iteration}"
                logger.warning(left)
                pending.append(replace(base, skipped=True, left_out=True, warnings=(left,)))
            continue
        loop = hidden_loop(imp.iterations["duration_s"].tolist(), imp.iterations["tasks"].tolist())
        if loop is None and imp.run.completed and imp.iterations.empty:
            loop = (
                "the application ran no Spark job: stored with its runtime and no "
                "iterations (runtime models use it; progress estimation learns nothing from it)"
            )
        result = replace(
            base,
            skipped=skipped,
            lost_jobs=imp.lost_jobs,
            warnings=() if skipped or loop is None else (f"{where}: {loop}",),
        )
        pending.append(result)
        if result.skipped:
            continue
        # the attributes the run carries (`workloads run` sets them), --set over them
        carried = {
            k: v
            for k, v in imp.context.items()
            if existing is None or k in existing.attribute_names
        }
        table = iteration_table(imp, job=name, existing=existing, context={**carried, **values})
        # a copy's origin is where it came from; a local log's its absolute path, which
        # names it whatever the folder the import ran in (runs are told apart by app id)
        origin = names.get(str(imp.path)) or os.path.abspath(imp.path)
        table = replace(
            table,
            executions=replace(
                table.executions,
                provenance=replace(table.executions.provenance, origin=origin),
            ),
        )
        tables.append((len(pending) - 1, table))
        if imp.run.completed:
            finished.add(imp.run.app_id)  # the same run twice in one import: once
        if existing is None:
            # a later log of the same new job: the attributes the first one creates
            jobs[name] = (table.executions.job, finished)
    if empty:
        why = (
            "nothing was imported (a run stored without iterations would be skipped by "
            "the import that fixes --iterations)"
        )
        if len(empty) == 1:
            raise InputError(f"{empty[0]}. {why[0].upper()}{why[1:]}")
        listed = " ".join(f"({k}) {e}." for k, e in enumerate(empty, 1))
        raise InputError(
            f"{len(empty)} finished applications have no iteration, so {why}: {listed}"
        )
    summaries = repo.import_iteration_tables([t for _, t in tables], complete_running=True)
    out = list(pending)
    for (k, _), summary in zip(tables, summaries, strict=True):
        r = out[k]
        written = summary.executions + summary.completed
        out[k] = replace(
            r,
            iterations=summary.iterations if written else 0,
            skipped=not written,
            updated=bool(summary.completed),
            warnings=r.warnings if written else (),
        )
        for w in out[k].warnings:
            logger.warning(w)
    return _with_held_iterations(repo, out)


def _with_held_iterations(
    repo: HistoryRepository, results: list[EventLogResult]
) -> list[EventLogResult]:
    """Results of runs skipped as held already, given the iterations the history holds."""
    held = held_iterations(
        repo, [(r.job, r.execution) for r in results if r.status == "already there"]
    )
    return [
        replace(r, iterations=held.get((r.job, r.execution), 0))
        if r.status == "already there"
        else r
        for r in results
    ]


def import_dool(
    repo: HistoryRepository,
    file: str | Path,
    *,
    job: str,
    execution: str,
    node: str | None = None,
) -> int:
    """Import one node's hardware samples recorded by dool or dstat; returns their number."""
    from jobcast.collect import read_dool

    frame = read_dool(file, execution=execution, node=node)
    return repo.add_hardware_samples(job, execution, frame)
