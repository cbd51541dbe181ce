"""Commands that collect real runs: ``import eventlog|dool``, ``agent``, ``workloads run``."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from jobcast.cli import common as ui
from jobcast.cli.common import DbOption, IterationsOption, JsonOption
from jobcast.errors import InputError, NetworkError

if TYPE_CHECKING:
    from jobcast.app.imports import EventLogResult

__all__ = ["agent", "import_dool", "import_eventlog", "workloads_run"]


def import_eventlog(
    paths: Annotated[
        list[Path],
        typer.Argument(help="Event logs, rolling folders, log dirs; - reads one log from stdin."),
    ],
    job: Annotated[
        str | None, typer.Option("--job", help="Job name (default: the Spark app name).")
    ] = None,
    iterations: IterationsOption = "auto",
    settings: Annotated[
        list[str] | None,
        typer.Option("--set", help="Context of every run (input size, parameters): KEY=VALUE."),
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import Spark event logs (plain, zstd, lz4; rolling eventlog_v2_* folders; .inprogress).

    Runs the history holds already are skipped (and named), so a log folder can be
    imported again as it grows: a run imported while Spark was still writing its log is
    completed from the longer log. All logs are one transaction: nothing is written when
    one fails.
    """
    from jobcast.app.imports import import_eventlogs
    from jobcast.cli.history_cmds import STDIN, readable

    context = ui.parse_assignments(settings)
    piped = [p for p in paths if str(p) == "-"]
    if piped and len(paths) > 1:
        raise InputError("- (standard input) must be the only event log given")
    with readable(paths[0], codec_suffix=True) as first, ui.open_repo(db) as repo:
        results = import_eventlogs(
            repo,
            [first, *paths[1:]],
            job=job,
            iterations=iterations,
            context=context,
            # the runs' recorded origin and errors name standard input, not the temp copy
            origins={str(first): STDIN} if piped else None,
        )
    skipped = sum(r.skipped for r in results)
    if as_json:
        ui.emit_json({"imports": [r.to_dict() for r in results], "skipped": skipped})
        return
    _report_eventlogs(results)


#: Runs named in the line of those skipped; the others are counted.
_NAMED = 5


def _report_eventlogs(results: Sequence[EventLogResult]) -> None:
    """One line per run imported or completed, one for those the history held already."""
    for r in results:
        if r.skipped:
            continue
        state = "" if r.completed else " (still running: no runtime recorded yet)"
        verb = "Completed the running" if r.updated else "Imported"
        ui.console.print(
            f"{verb} {ui.plain(r.execution)} with {r.iterations} iterations into "
            f"{ui.plain(repr(r.job))}{state}."
        )
        if r.corrupt_lines:
            ui.err_console.print(
                f"[yellow]warning:[/] {ui.plain(r.path)}: {r.corrupt_lines} corrupt line(s) skipped"
            )
        if r.lost_jobs:
            ui.err_console.print(
                f"[yellow]warning:[/] {ui.plain(r.path)}: {r.lost_jobs} Spark job(s) lack "
                "their start or end (corrupt lines): the iterations they belong to are "
                "missing and the later ones numbered on"
            )
    held = [r for r in results if r.status == "already there"]
    if not held:
        return
    named = ", ".join(
        f"{ui.plain(r.execution)} (job {ui.plain(repr(r.job))}, {r.iterations} iterations"
        + ("" if r.completed else ", still running")
        + ")"
        for r in held[:_NAMED]
    )
    more = f", and {len(held) - _NAMED} more" if len(held) > _NAMED else ""
    if len(held) == 1 and len(results) == 1:
        ui.console.print(f"Nothing imported: the history holds {named} already.")
    elif len(held) == len(results):
        ui.console.print(
            f"Nothing imported: the history holds all {len(held)} runs already: {named}{more}."
        )
    else:
        runs = "run" if len(held) == 1 else "runs"
        ui.console.print(f"Skipped {len(held)} {runs} the history holds already: {named}{more}.")


def import_dool(
    file: Annotated[Path, typer.Argument(help="dool/dstat CSV output (dool --output F.csv).")],
    job: Annotated[str, typer.Option("--job", help="Job of the execution.")],
    execution: Annotated[str, typer.Option("--execution", help="Execution the samples belong to.")],
    node: Annotated[str | None, typer.Option("--node", help="Node name (default: Host:).")] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import a node's hardware samples recorded by dool or dstat."""
    from jobcast.app.imports import import_dool as run

    with ui.open_repo(db) as repo:
        n = run(repo, file, job=job, execution=execution, node=node)
    if as_json:
        ui.emit_json({"job": job, "execution": execution, "hardware_samples": n})
        return
    ui.console.print(
        f"Imported {n} hardware samples for {ui.plain(repr(execution))} of {ui.plain(repr(job))}."
    )


def agent(
    collector: Annotated[str, typer.Option("--collector", help="URL of `jobcast serve`.")],
    interval: Annotated[
        float, ui.seconds_option("Seconds between samples.", "--interval", example="1")
    ] = 1.0,
    batch: Annotated[int, typer.Option(help="Samples per request.")] = 10,
    node: Annotated[str | None, typer.Option(help="Node name (default: host name).")] = None,
    execution: Annotated[str | None, typer.Option(help="Execution the samples belong to.")] = None,
    count: Annotated[int | None, typer.Option(help="Stop after this many samples.")] = None,
) -> None:
    """Sample this node's cpu, disk and network with psutil and send them to a collector.

    Needs a token of scope collect in $JOBCAST_TOKEN when the collector requires one.
    Without --execution the collector keeps a sample for the executions running at its
    time, and none when nothing runs. Ends with exit status 1 when the collector refused
    the samples (a missing or wrong token ends the agent at once) or could not be reached
    before the end.
    """
    from jobcast.collect import run_agent

    ui.console.print(f"Sampling every {interval:g} s to {collector} (Ctrl-C stops).")
    result = run_agent(
        collector,
        interval_s=interval,
        batch=batch,
        node=node,
        execution=execution,
        count=count,
        stop=threading.Event(),
    )
    kept = (
        f"; the collector stored {result.stored}"
        if result.stored is not None and result.delivered
        else ""
    )
    ui.console.print(f"{result.taken} samples taken, {result.delivered} delivered{kept}.")
    if result.problem is not None:
        raise NetworkError(
            f"{result.taken - result.delivered} of {result.taken} samples did not reach the "
            f"collector: {result.problem}"
        )
    if result.none_stored is not None:
        ui.err_console.print(f"[yellow]warning:[/] {ui.plain(result.none_stored)}.")


def workloads_run(
    name: Annotated[str, typer.Argument(help="pagerank, cc, kmeans or sgd.")],
    size: Annotated[int | None, typer.Option(help="Data size (pages/vertices/points).")] = None,
    cores: Annotated[int, typer.Option(help="Local worker threads (local[N]).")] = 2,
    param: Annotated[
        list[str] | None, typer.Option("--param", help="Workload parameter KEY=VALUE.")
    ] = None,
    job: Annotated[str | None, typer.Option("--job", help="Job name (default: NAME).")] = None,
    event_log_dir: Annotated[
        Path, typer.Option("--event-log-dir", help="Folder for Spark event logs.")
    ] = Path("spark-events"),
    collector: Annotated[
        str | None,
        typer.Option(
            "--collector",
            help="Report the run live to this collector instead of recording it here "
            "(recorded here when the collector refuses it).",
        ),
    ] = None,
    codec: Annotated[str | None, typer.Option(help="Event-log codec: zstd or lz4.")] = None,
    record: Annotated[
        bool, typer.Option("--record/--no-record", help="Store the run in the history.")
    ] = True,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run a real iterative PySpark job locally and record it in the history.

    The run is recorded under --job (default NAME) with its context attributes
    (input_size, cores and the numeric parameters) and its worker threads (--cores) as
    its scale-out. With --collector it is reported live to that collector instead, with
    the same job, attributes and scale-out; when the collector refuses the reports or
    cannot be reached, the run is recorded in the local history (--db) instead, and the
    command says so and ends with exit status 1. When `jobcast watch` recorded the run
    already, a warning says so and nothing more is written. A job whose executions carry
    other attributes (a C3O trace's) is refused before anything runs: give --job NAME.
    """
    from jobcast.workloads import run_workload
    from jobcast.workloads.record import (
        AlreadyRecorded,
        check_recordable,
        record_workload,
        workload_context,
    )

    params = ui.parse_assignments(param, option="--param")
    if record and collector is None:  # before minutes of Spark, not after
        with ui.open_repo(db) as repo:
            check_recordable(repo, job or name)
    event_log_dir.mkdir(parents=True, exist_ok=True)

    def show(i: int, duration: float, records: int) -> None:
        if not as_json:
            ui.err_console.print(f"  iteration {i}: {duration:.2f} s, {records} records")

    result = run_workload(
        name,
        size=size,
        cores=cores,
        params=params,
        event_log_dir=event_log_dir,
        collector_url=collector,
        job=job,
        app_name=job,
        codec=codec,
        callback=show,
    )
    problem = result.collector_problem
    stored = None
    if record and (collector is None or problem is not None):
        with ui.open_repo(db) as repo:
            stored = record_workload(repo, result, job=result.job)
    already = stored if isinstance(stored, AlreadyRecorded) else None
    payload = {
        "workload": result.name,
        "job": result.job,
        "execution": result.app_id,
        "iterations": result.iterations,
        "runtime_s": result.runtime_s,
        "event_log": None if result.event_log is None else str(result.event_log),
        "recorded": stored is not None and already is None,
        "recorded_already": already is not None,
        "reported": collector is not None and problem is None,
        "collector_problem": problem,
    }
    if as_json:
        ui.emit_json(payload)
    else:
        told = ""
        if payload["recorded"]:
            told = f" and recorded as job {result.job!r}"
        elif payload["reported"]:
            told = f" and reported to {collector} as job {result.job!r}"
        ui.console.print(
            f"{result.name}: {result.iterations} iterations in {result.runtime_s:.1f} s "
            f"({result.app_id}){told}."
        )
        if already is not None:
            ui.err_console.print(
                f"[yellow]warning:[/] {ui.plain(already.message(workload_context(result)))}."
            )
    if problem is not None:
        fallback = (
            f"the run was recorded in the local history instead (job {result.job!r})"
            if stored is not None
            else "the run is not stored anywhere; record it with `jobcast import eventlog "
            f"{result.event_log} --job {result.job}`"
        )
        raise NetworkError(f"collector {collector}: {problem}. {fallback}")
