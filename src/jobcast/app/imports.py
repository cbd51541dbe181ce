"""Importing trace files, Spark event logs and hardware samples into the history."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
from jobcast.history.importers import read_c3o, read_executions
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
]


def import_c3o(
    repo: HistoryRepository,
    files: Sequence[str | Path],
    *,
    job: str,
    kinds: Mapping[str, AttributeKind] | None = None,
) -> list[ImportSummary]:
    """Import C3O traces in one transaction, after every file has validated."""
    _check_kinds(repo, job, kinds)
    return repo.import_execution_tables([read_c3o(f, job=job, kinds=kinds) for f in files])


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
    the guessed kind of attributes.
    """

    runtime: Required[str]
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
    **options: Unpack[CsvOptions],
) -> ImportSummary:
    """Import a CSV of executions; columns other than the named ones become context.

    ``origin`` names where the rows came from in the history (default: the file's path;
    ``"<stdin>"`` for a pipe copied to a temporary file).
    """
    _check_kinds(repo, job, options.get("kinds"))
    return repo.import_executions(_from(read_executions(file, job=job, **options), origin))


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
    origin: str | None = None,
) -> ImportSummary:
    """Import an iteration-level trace (one row per iteration); ``origin`` as in import_csv."""
    table = read_traces(file, job=job, columns=columns, sep=sep)
    return repo.import_iterations(replace(table, executions=_from(table.executions, origin)))


@dataclass(frozen=True)
class EventLogResult:
    """What became of one application's event log.

    Attributes
    ----------
    path, job, execution
        The log, the job it went to, the Spark application id.
    iterations
        Iterations stored (0 when skipped).
    completed
        Whether the application had ended (else no runtime is recorded yet).
    corrupt_lines
        Lines of the log that could not be parsed and were skipped.
    skipped
        True when the history held this run already, so nothing was written.
    """

    path: str
    job: str
    execution: str
    iterations: int
    completed: bool
    corrupt_lines: int
    skipped: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (``jobcast import eventlog --json``): the fields in order."""
        return asdict(self)


def _known_runs(repo: HistoryRepository, job: str) -> tuple[JobSpec | None, set[str]]:
    try:
        spec = repo.job(job)
    except UnknownJobError:
        return None, set()
    frame = repo.executions(job, only_completed=False)
    return spec, {str(x) for x in frame["external_id"].dropna()}


def import_eventlogs(
    repo: HistoryRepository,
    paths: Sequence[str | Path],
    *,
    job: str | None = None,
    iterations: str = "auto",
    context: Mapping[str, Any] | None = None,
) -> list[EventLogResult]:
    """Import Spark event logs, one transaction per application; runs held already are skipped.

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

    Raises
    ------
    jobcast.errors.InputError
        When ``context`` names an attribute the existing job does not have.
    """
    from jobcast.collect import read_event_logs
    from jobcast.collect.store import iteration_table

    values = dict(context or {})
    out = []
    jobs: dict[str, tuple[JobSpec | None, set[str]]] = {}
    for imp in read_event_logs(paths, iterations=iterations):
        name = job or imp.run.app_name
        if name not in jobs:
            jobs[name] = _known_runs(repo, name)
        existing, known = jobs[name]
        if existing is not None:
            unknown = sorted(set(values) - set(existing.attribute_names))
            if unknown:
                raise InputError(
                    f"--set {unknown[0]}: job {name!r} has no context attribute "
                    f"{unknown[0]!r}; its attributes are: "
                    f"{', '.join(existing.attribute_names) or '(none)'}"
                )
        skipped = imp.run.app_id in known
        stored = 0
        if not skipped:
            # the attributes the run carries (`workloads run` sets them), --set over them
            carried = {
                k: v for k, v in imp.context.items()
                if existing is None or k in existing.attribute_names
            }
            table = iteration_table(
                imp, job=name, existing=existing, context={**carried, **values}
            )
            stored = repo.import_iterations(table).iterations
            known.add(imp.run.app_id)
            if existing is None:
                jobs[name] = (repo.job(name), known)
        out.append(
            EventLogResult(
                path=str(imp.path),
                job=name,
                execution=imp.run.app_id,
                iterations=stored,
                completed=imp.run.completed,
                corrupt_lines=imp.corrupt_lines,
                skipped=skipped,
            )
        )
    return out


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
