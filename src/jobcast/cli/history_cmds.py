"""Commands that read and fill the job history: ``jobs``, ``runs``, ``import c3o|csv|traces``."""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from jobcast.cli.common import (
    DbOption,
    JsonOption,
    console,
    emit_json,
    err_console,
    missing_sqlite,
    open_repo,
    plain,
    show_jobs,
    table,
)
from jobcast.errors import ImportFormatError

if TYPE_CHECKING:
    from jobcast.history import ImportSummary

__all__ = [
    "import_c3o",
    "import_csv",
    "import_traces",
    "jobs",
    "readable",
    "report_imports",
    "runs",
]

#: How a file given as ``-`` (standard input) is named in messages.
STDIN = "<stdin>"

RuntimeUnitOption = Annotated[
    str,
    typer.Option(
        "--runtime-unit",
        help="Unit of the runtime column: ms, s, min, h (stored in seconds).",
    ),
]

DecimalOption = Annotated[
    str,
    typer.Option(
        "--decimal",
        help="Decimal mark of the numbers: '.' or ',' (then fields must not be ','-separated).",
    ),
]

KindOption = Annotated[
    list[str] | None,
    typer.Option(
        "--kind",
        help="Override the guessed kind of an attribute: NAME=parameter|dataset|resource.",
    ),
]


def jobs(db: DbOption = None, as_json: JsonOption = False) -> None:
    """List the jobs with their execution counts and context attributes."""
    from jobcast.app.jobs import list_jobs
    from jobcast.lean import resolve_url

    absent = missing_sqlite(resolve_url(db))
    if absent is not None:  # a mistyped --db is not created: it holds no jobs
        show_jobs([], as_json=as_json, absent=absent)
        return
    with open_repo(db) as repo:
        listing = list_jobs(repo)
    show_jobs(listing, as_json=as_json)


def runs(
    job: Annotated[str, typer.Option("--job", help="The job whose runs to list.")],
    status: Annotated[
        str | None,
        typer.Option("--status", help="Only runs that are running, completed or failed."),
    ] = None,
    limit: Annotated[
        int,
        typer.Option(
            "--limit", help="The most recent runs to list (0: all); the left-out ones are counted."
        ),
    ] = 20,  # jobcast.app.runs.DEFAULT_LIMIT (not imported here: it loads SQLAlchemy)
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """List a job's runs, most recent first: id, status, start, runtime, iterations, origin.

    The origin says where a run came from: an event log's absolute path, <stdin>, the
    URL of a History Server or a bucket, live (reported to `jobcast serve`).
    """
    from jobcast.app.runs import RUN_STATUSES, list_runs
    from jobcast.errors import InputError

    if limit < 0:
        raise InputError(f"--limit {limit}: give a number of runs, or 0 for all of them")
    if status is not None and status not in RUN_STATUSES:
        raise InputError(f"--status {status!r}: give one of {', '.join(RUN_STATUSES)}")
    with open_repo(db, existing=True) as repo:
        listing = list_runs(repo, job, status=status, limit=limit or None)
    if as_json:
        emit_json(listing)
        return
    _show_runs(listing)


#: How "no run ..." ends for a --status.
_NONE = {None: "is in the history", "running": "is running", "completed": "has completed",
         "failed": "has failed"}  # fmt: skip


def _show_runs(listing: dict[str, Any]) -> None:
    which = listing["status"]
    if not listing["runs"]:
        console.print(f"No run of job {plain(repr(listing['job']))} {_NONE[which]}.")
        return
    kind = f"{which} " if which else ""
    n = listing["shown"]
    table(
        (f"The {n} most recent {kind}runs" if n > 1 else f"The most recent {kind}run")
        + f" of job {listing['job']!r}"
        if listing["left_out"]
        else f"The {kind}runs of job {listing['job']!r}, most recent first",
        ["run", "status", "started (UTC)", "runtime (s)", "iterations", "scale-out", "origin"],
        [
            (
                r["id"],
                r["status"],
                _when(r["started_at"]),
                r["gross_runtime"],
                r["iterations"],
                r["scale_out"],
                r["origin"],
            )
            for r in listing["runs"]
        ],
    )
    if listing["left_out"]:
        console.print(
            f"{listing['left_out']} more of the job's {listing['total']} {kind}runs left out: "
            "--limit N lists more, --limit 0 all of them."
        )


def _when(iso: str | None) -> str | None:
    """An ISO 8601 time in UTC as ``2026-12-07 18:58:42`` (None stays an empty cell)."""
    if iso is None:
        return None
    return iso.replace("T", " ", 1).removesuffix("+00:00").split(".", 1)[0]


def import_c3o(
    files: Annotated[
        list[Path], typer.Argument(help="C3O trace files (.tsv or .csv); - reads standard input.")
    ],
    job: Annotated[str, typer.Option("--job", help="Job name to import into.")],
    runtime_unit: RuntimeUnitOption = "s",
    decimal: DecimalOption = ".",
    kind: KindOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import C3O traces: gross_runtime, instance_count (scale-out), machine_type, context."""
    from jobcast.app.imports import import_c3o

    warnings: list[str] = []
    with ExitStack() as stack:
        paths = [stack.enter_context(readable(f)) for f in files]
        origins = {str(p): STDIN for p, f in zip(paths, files, strict=True) if str(f) == "-"}
        summaries = _run_import(
            import_c3o,
            db,
            kind,
            paths,
            job=job,
            runtime_unit=runtime_unit,
            decimal=decimal,
            warn=warnings.append,
            origins=origins,
        )
    report_imports(summaries, [_shown(f) for f in files], as_json, warnings=warnings)


def import_csv(
    file: Annotated[
        Path, typer.Argument(help="CSV file of executions, one row each; - reads standard input.")
    ],
    job: Annotated[str, typer.Option("--job", help="Job name to import into.")],
    runtime: Annotated[str, typer.Option("--runtime", help="Column with the runtime.")],
    scale_out: Annotated[
        str | None, typer.Option("--scale-out", help="Column with the number of machines.")
    ] = None,
    machine_type: Annotated[
        str | None, typer.Option("--machine-type", help="Column with the machine type.")
    ] = None,
    runtime_unit: RuntimeUnitOption = "s",
    sep: Annotated[str | None, typer.Option("--sep", help="Field separator (guessed).")] = None,
    decimal: DecimalOption = ".",
    kind: KindOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import any CSV of executions; columns other than the named ones become context."""
    from jobcast.app.imports import import_csv

    warnings: list[str] = []
    with readable(file) as path:
        summary = _run_import(
            import_csv,
            db,
            kind,
            path,
            job=job,
            runtime=runtime,
            runtime_unit=runtime_unit,
            scale_out=scale_out,
            machine_type=machine_type,
            sep=sep,
            decimal=decimal,
            origin=_origin(file),
            warn=warnings.append,
        )
    report_imports([summary], [_shown(file)], as_json, warnings=warnings)


def _shown(file: Path) -> Path:
    return Path(STDIN) if str(file) == "-" else file


def _origin(file: Path) -> str | None:
    """What the history records as a pipe's origin (None: the file's own path)."""
    return STDIN if str(file) == "-" else None


@contextmanager
def readable(file: Path, *, codec_suffix: bool = False) -> Iterator[Path]:
    """``file`` itself, or for ``-`` standard input kept in a temporary file while in use.

    The importers read a file twice (its header, then the rows) and name it in their
    errors; a pipe is copied once so that they can, and errors name it ``<stdin>``. With
    ``codec_suffix`` the copy's name ends in the codec its content shows (``.zstd``,
    ``.lz4``), as event-log readers expect of a compressed log.
    """
    if str(file) != "-":
        yield file
        return
    with tempfile.TemporaryDirectory(prefix="jobcast-stdin-") as tmp:
        path = Path(tmp) / "stdin"
        with path.open("wb") as out:
            shutil.copyfileobj(sys.stdin.buffer, out)
        if codec_suffix:
            path = _named_by_codec(path)
        try:
            yield path
        except ImportFormatError as e:
            raise ImportFormatError(STDIN, e.reason, line=e.line, column=e.column) from None


def _named_by_codec(path: Path) -> Path:
    from jobcast.collect.sources import SUPPORTED_CODECS, codec_of_content

    with path.open("rb") as fh:
        codec = codec_of_content(fh.read(8))
    if codec not in SUPPORTED_CODECS:
        return path
    return path.rename(path.with_name(f"{path.name}.{codec}"))


def _run_import(
    run: Callable[..., Any], db: str | None, kind: list[str] | None, *args: Any, **options: Any
) -> Any:
    """Run an import use case in the history ``db`` with the ``--kind`` overrides parsed."""
    from jobcast.history.importers import parse_kind_overrides

    kinds = parse_kind_overrides(kind)
    with open_repo(db) as repo:
        return run(repo, *args, kinds=kinds, **options)


def report_imports(
    summaries: Sequence[ImportSummary],
    files: Sequence[Path],
    as_json: bool,
    *,
    warnings: Sequence[str] = (),
) -> None:
    """Print what imports stored: one line each, or ``{"imports": [...]}`` as JSON.

    ``warnings`` (hints that an option was probably missing) go to stderr, or into the
    JSON as ``"warnings"``.
    """
    if as_json:
        emit_json(
            {
                "imports": [
                    {
                        "file": str(f),
                        "job": s.job,
                        "executions": s.executions,
                        "iterations": s.iterations,
                        "created_job": s.created_job,
                    }
                    for s, f in zip(summaries, files, strict=True)
                ],
                "warnings": list(warnings),
            }
        )
        return
    for s, f in zip(summaries, files, strict=True):
        extra = f", {s.iterations} iterations" if s.iterations else ""
        new = " (new job)" if s.created_job else ""
        console.print(
            f"Imported {s.executions} executions{extra} from {plain(f)} into "
            f"{plain(repr(s.job))}{new}."
        )
    for w in warnings:
        err_console.print(f"[yellow]warning:[/] {plain(w)}", highlight=False, soft_wrap=True)


def import_traces(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(help="Iteration-level trace, one row per iteration; - reads stdin.")
    ],
    job: Annotated[str, typer.Option("--job", help="Job name to import into.")],
    sep: Annotated[str | None, typer.Option("--sep", help="Field separator (guessed).")] = None,
    execution: Annotated[str, typer.Option(help="Column with the execution id.")] = "execution",
    iteration: Annotated[
        str,
        typer.Option(
            help="Column with the iteration index: 0, 1, 2, ... per execution without gaps "
            "(numbered from 1 in every execution: stored from 0)."
        ),
    ] = "iteration",
    duration: Annotated[str, typer.Option(help="Column with the duration.")] = "duration_s",
    duration_unit: Annotated[str, typer.Option(help="Unit of --duration: ms, s, min, h.")] = "s",
    scale_out: Annotated[
        str, typer.Option("--scale-out", help="Column with the executors while it ran.")
    ] = "scale_out",
    records: Annotated[str | None, typer.Option(help="Column with active data records.")] = None,
    cpu: Annotated[str | None, typer.Option(help="Column with mean CPU use.")] = None,
    disk: Annotated[str | None, typer.Option(help="Column with mean disk I/O.")] = None,
    net: Annotated[str | None, typer.Option(help="Column with mean network I/O.")] = None,
    input_size: Annotated[str | None, typer.Option(help="Column with the input size.")] = None,
    started: Annotated[str | None, typer.Option(help="Column with iteration start time.")] = None,
    finished: Annotated[str | None, typer.Option(help="Column with iteration end time.")] = None,
    run_started: Annotated[str | None, typer.Option(help="Column with the run's start.")] = None,
    run_finished: Annotated[str | None, typer.Option(help="Column with the run's end.")] = None,
    context: Annotated[
        list[str] | None, typer.Option("--context", help="Per-execution context column.")
    ] = None,
    decimal: DecimalOption = ".",
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import iteration-level traces (repeated header names are addressed as NAME.1, NAME.2).

    The Ellis histories: --sep '|' --execution ID --iteration JOB_ID --duration DURATION_MS
    --duration-unit ms --scale-out SCALE_OUT --started STARTED_AT.1 --finished FINISHED_AT.1
    --run-started STARTED_AT --run-finished FINISHED_AT
    """
    from jobcast.app.imports import import_traces as run
    from jobcast.history.importers.traces import TraceColumns

    # the column options are named as TraceColumns' fields; --context is a list
    names = {f.name: ctx.params[f.name] for f in fields(TraceColumns) if f.name != "context"}
    columns = TraceColumns(**names, context=tuple(context or ()))
    warnings: list[str] = []
    with readable(file) as path, open_repo(db) as repo:
        summary = run(
            repo,
            path,
            job=job,
            columns=columns,
            sep=sep,
            decimal=decimal,
            origin=_origin(file),
            warn=warnings.append,
        )
    report_imports([summary], [_shown(file)], as_json, warnings=warnings)
