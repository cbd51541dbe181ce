"""Commands that follow a running execution: ``estimate`` (from a file) and ``watch`` (live)."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from jobcast.cli import watch_render as render
from jobcast.cli.common import (
    DbOption,
    IterationsOption,
    JsonOption,
    check_seconds,
    console,
    emit_json,
    emit_json_line,
    err_console,
    open_repo,
    parse_assignments,
    plain,
    table,
)
from jobcast.cli.current_file import read_current
from jobcast.cli.history_cmds import DecimalOption
from jobcast.errors import (
    ImportFormatError,
    InputError,
    JobcastError,
    NotEnoughDataError,
    UnknownJobError,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["estimate", "watch"]

logger = logging.getLogger(__name__)


#: Below this best ``sim_final``, ``estimate`` warns that the run matches nothing.
_LOW_SIMILARITY = 0.5


def estimate(
    job: Annotated[str, typer.Option("--job", help="The running execution's job.")],
    current: Annotated[
        Path,
        typer.Option(
            help="CSV of its finished iterations so far: iteration, duration_s, scale_out "
            "(+ records, cpu, disk, net, context attributes); - reads standard input.",
        ),
    ],
    decimal: DecimalOption = ".",
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Estimate the remaining runtime of a running execution from its iterations so far.

    The --current file is a CSV of the running execution's finished iterations: columns
    iteration (0, 1, ...), duration_s (seconds) and scale_out (executors), optionally
    records, cpu, disk, net and the job's context attributes. A warning says when the
    run resembles no execution of the job (best similarity below 0.5).

    Times are iteration time (no start-up, gaps or tail; `watch` gives the wall-clock).
    --json prints {"iteration", "elapsed_s", "remaining_s", "total_s" (= the clearer
    "iteration_total_s"), "spread", "interval_s": [low, high] (80 % prediction interval
    of remaining_s), "level", "best_similarity", "warnings": [...],
    "similar": [{"execution", "weight", "remaining_s"}, ...]}.
    """
    from jobcast.app.progress import fit_wall_clock, stored_progress

    frame = read_current(current, decimal=decimal)
    with open_repo(db, existing=True) as repo:
        model = fit_wall_clock(repo, job)
        params = stored_progress(repo, job).parameters
    result = model.estimator_.estimate(frame)
    low, high = model.calibration_.interval(result.remaining_s, result.spread)
    warnings = [w for w in (model.scale_out_warning(frame),) if w is not None]
    if result.best_similarity < _LOW_SIMILARITY:
        warnings.append(
            f"the running execution resembles no execution of job {job!r} (best similarity "
            f"{result.best_similarity:.2f}); is --job the right job? The estimate is the "
            "history's, not this run's"
        )
    warnings += [w for w in (model.pace_warning(frame),) if w is not None]
    if as_json:
        emit_json(
            {
                **result.to_dict(),
                "iteration_total_s": result.total_s,
                "interval_s": [low, high],
                "level": model.calibration_.level,
                "warnings": warnings,
            }
        )
        return
    for w in warnings:
        err_console.print(f"[yellow]Warning:[/] {w}.")
    trained = (
        "trained parameters" if params else "default parameters (run `jobcast train progress`)"
    )
    console.print(
        f"After {result.iteration} iterations ({result.elapsed_s:.1f} s of iteration time): "
        f"about [bold]{result.remaining_s:.1f} s of iteration time remaining[/] "
        f"({model.calibration_.level:.0%} interval {low:.1f}-{high:.1f} s), "
        f"{result.total_s:.1f} s of iteration time in total ({trained}). Iteration time "
        "leaves out the application's start-up, the gaps between iterations and the time "
        "after the last; `jobcast watch` gives a live run's wall-clock finish."
    )
    table(
        "Most similar earlier executions",
        ["execution", "weight"],
        [(str(e), w) for e, w in result.similar[:10]],
    )


def watch(
    job: Annotated[str, typer.Option("--job", help="Job of the running application.")],
    spark_ui: Annotated[
        str | None, typer.Option("--spark-ui", help="Spark UI URL, e.g. http://HOST:4040.")
    ] = None,
    app_id: Annotated[str | None, typer.Option("--app", help="Application id.")] = None,
    eventlog: Annotated[
        Path | None, typer.Option("--eventlog", help="Event log being written.")
    ] = None,
    iterations: IterationsOption = "auto",
    settings: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Context attribute of this run, KEY=VALUE (e.g. --set input_size=5000): "
            "estimated with and recorded with the run.",
        ),
    ] = None,
    deadline: Annotated[
        float | None,
        typer.Option(
            "--deadline", help="Seconds after the start (> 0): show the risk of missing it."
        ),
    ] = None,
    interval: Annotated[float, typer.Option(help="Seconds between polls (> 0).")] = 1.0,
    timeout: Annotated[
        float | None,
        typer.Option(
            help="Give up after this many seconds (> 0), also how long to wait for the UI "
            "or the log to appear (without it: no limit, and 300 s for them to appear)."
        ),
    ] = None,
    warn_after: Annotated[
        float,
        typer.Option(help="Warn when no iteration was seen after this many seconds (>= 0)."),
    ] = 60.0,
    record: Annotated[
        bool, typer.Option("--record/--no-record", help="Store the run when it ends.")
    ] = True,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Follow a live Spark application with its wall-clock ETA, ticking every second.

    Elapsed is the time since the application started, remaining counts down between
    iterations and includes the pauses between them and the time after the last one
    (learned from the history); the finish time is by the clock. With --json, prints
    one JSON estimate per finished iteration (JSON lines: the fields of the ETA,
    "finish_at" in ISO 8601) and a final {"execution", "actual_s", "estimates": N,
    "iterations_by"} line. Each estimate is made with the iterations up to it at the
    moment it finished (a log read at once gets one per iteration too); none is made
    after the application's end, and elapsed never runs past it.

    The run is recorded when it ends, with its attributes from --set KEY=VALUE (one per
    context attribute of the job, e.g. --set input_size=5000 --set cores=2; attributes
    not given stay empty) and, for a run of `jobcast workloads run`, those it carries in
    its Spark settings. A local-mode run's scale-out is its worker threads (local[N]),
    as `workloads run` records it; when the job holds the run already (`workloads run`
    recorded it first), nothing more is written. A job without history yet is watched
    and its run recorded (no estimate until it has two runs); with --no-record it is an
    error.
    """
    import pandas as pd

    from jobcast.app.progress import fit_wall_clock
    from jobcast.collect import EventLogFollower, SparkRestFollower
    from jobcast.progress.wallclock import PACE_WORDS

    if (spark_ui is None) == (eventlog is None):
        raise InputError("give either --spark-ui URL or --eventlog PATH")
    check_seconds(deadline, option="--deadline", example="900 (15 minutes after the start)")
    check_seconds(interval, option="--interval", example="1")
    check_seconds(timeout, option="--timeout", example="3600")
    check_seconds(warn_after, option="--warn-after", example="60", zero=True)
    follower: Any = (
        SparkRestFollower(spark_ui, app_id=app_id, iterations=iterations)
        if spark_ui is not None
        else EventLogFollower(eventlog, iterations=iterations)  # type: ignore[arg-type]
    )
    source = spark_ui or str(eventlog)
    given = parse_assignments(settings)
    context = dict(given)
    len_estimated = 0
    # with --json, stdout carries only the JSON lines; the live display goes to stderr
    screen = err_console if as_json else console
    with open_repo(db) as repo:
        try:
            model = fit_wall_clock(repo, job)
        except UnknownJobError as e:
            if not record:
                raise InputError(
                    f"unknown job {job!r}: with --no-record there is no history to estimate "
                    "from and nothing is recorded; `jobcast jobs` lists the known jobs"
                ) from e
            # watching records a new job's first run (then it has a history)
            model = None
            screen.print(
                f"[yellow]No estimate possible yet:[/] no history for job {plain(repr(job))}; "
                "the run will be recorded as its first execution (`jobcast jobs` lists the "
                "known jobs)",
                highlight=False,
            )
        except NotEnoughDataError as e:
            model = None
            screen.print(f"[yellow]No estimate possible yet:[/] {plain(e)}", highlight=False)
        longest = _longest_run(repo, job)
        stale: str | None = None
        seen: list[pd.DataFrame] = []
        estimates: list[dict[str, Any]] = []
        started = time.monotonic()
        warned = False
        warned_of: set[str] = set()
        rule = _rule(follower)
        told = ""

        def warn(payloads: list[dict[str, Any]]) -> None:
            for w in (w for p in payloads for w in p.get("warnings", ())):
                # a pace warning once per direction, not again with each iteration's figures
                key = w.split(":")[0] if PACE_WORDS in w else w
                if key not in warned_of and not as_json:
                    display.console.print(f"[yellow]warning:[/] {plain(w)}")
                warned_of.add(key)

        with render.live(screen, f"waiting for {source}…") as display:
            while True:
                waited = time.monotonic() - started
                new = _poll(follower, source, waited, timeout)
                if new is not None and len(new):
                    seen.append(new)
                rule = _rule(follower)
                if rule is not None and rule.describe() != told and (seen or new is not None):
                    told = rule.describe()
                    if not as_json:
                        display.console.print(told)
                # the run's own attributes (`workloads run` puts them in its Spark
                # settings) unless --set gives them
                context = {**getattr(follower, "context", {}), **given}
                current = pd.concat(seen, ignore_index=True).assign(**context) if seen else None
                app_start = _app_start(follower)
                ended = new is not None and _ended(follower)
                if app_start is not None:
                    end = _app_end(follower) if ended else None
                    done = 0 if current is None else len(current)
                    made = render.iteration_estimates(
                        model,
                        current if current is not None else pd.DataFrame(),
                        app_start,
                        deadline,
                        done_before=len_estimated,
                        end=end,
                        now=datetime.now(UTC),
                    )
                    len_estimated = done
                    warn(made)
                    for one in made:
                        estimates.append(one)
                        if as_json:
                            emit_json_line(one)
                    if end is not None:  # no estimate after the application's end
                        display.update(render.ended_line(app_start, end, done))
                    else:
                        line, payload = render.render(model, current, app_start, deadline)
                        display.update(line)
                        warn([payload] if payload is not None else [])
                if app_start is not None and not ended and stale is None:
                    stale = render.stale_reason(
                        app_start,
                        datetime.now(UTC),
                        written_at=render.log_written_at(eventlog),
                        longest_s=longest,
                    )
                    if stale is not None:  # said once; the timeout's error repeats it
                        display.console.print(
                            f"[yellow]warning: the application looks abandoned:[/] "
                            f"{plain(stale)}. Its driver probably stopped without ending "
                            "the log (a finished log loses .inprogress), and the elapsed "
                            "time, progress and deadline risk shown assume it still runs. "
                            "If it no longer runs, stop watching (Ctrl-C) and move the log "
                            "away; if it does, check that Spark still writes this log.",
                            highlight=False,
                        )
                if not seen and not warned and waited > warn_after and app_start is not None:
                    warned = True
                    how = told or "no Spark job yet"
                    display.console.print(
                        f"[yellow]No iteration seen after {waited:.0f} s[/] ({how}); if the "
                        "application's iterations are not Spark jobs or job groups, pass "
                        "--iterations REGEX matching their job descriptions."
                    )
                if ended:
                    break
                if timeout is not None and waited > timeout:
                    raise InputError(_timeout_reason(timeout, stale))
                time.sleep(interval)
        run = follower.application_run() if hasattr(follower, "application_run") else follower.run
        everything = pd.concat(seen, ignore_index=True) if seen else pd.DataFrame()
        stored = _store(repo, job, run, everything, source, context) if record else None
    # as `import eventlog` warns: a loop inside one Spark job (MLlib's ALS) hides its iterations
    loop = _hidden_loop(everything)
    summary = {
        "execution": run.app_id,
        "actual_s": run.gross_runtime_s,
        "estimates": len(estimates),
        "iterations_by": rule.used if rule is not None else iterations,
        # "recorded", "completed" (held as running), "already" or None (nothing stored)
        "recorded": stored,
        "warnings": [] if loop is None else [loop],
    }
    if as_json:
        emit_json_line(summary)
        return
    if loop is not None:
        err_console.print(f"[yellow]warning:[/] {plain(loop)}")
    recorded = {
        None: ".",
        "recorded": f" and was recorded in job {job!r}.",
        "completed": f"; job {job!r} held it as still running (imported from its log "
        "before it ended): its iterations and runtime are now recorded.",
        "already": f"; job {job!r} holds it already recorded (by `workloads run` or an "
        "import?): nothing more was written.",
    }
    console.print(
        f"{run.app_id} ended after {run.gross_runtime_s:.1f} s with {len(everything)} "
        f"iteration(s)" + recorded[stored]
    )
    if not len(everything):
        console.print(
            "[yellow]No iteration was found[/]: nothing recorded. Check --iterations "
            "(auto, jobs, job-groups or a REGEX matching the job descriptions)."
        )
    if estimates:
        end = run.finished_at
        table(
            f"Estimated finish against the actual end ({end:%H:%M:%S} UTC, "
            f"{run.gross_runtime_s:.1f} s after the start)",
            ["after iteration", "estimated finish", "error (share of the run)"],
            [
                (
                    e["iterations_done"],
                    e["finish_at"][11:19],
                    f"{render.off(e['finish_at'], end) / max(run.gross_runtime_s, 1e-9):.1%}",
                )
                for e in estimates
            ],
        )


def _hidden_loop(iterations: pd.DataFrame) -> str | None:
    if not len(iterations) or "tasks" not in iterations.columns:
        return None
    from jobcast.collect.grouping import hidden_loop

    return hidden_loop(iterations["duration_s"].tolist(), iterations["tasks"].tolist())


def _timeout_reason(timeout: float, stale: str | None) -> str:
    """Why ``watch`` gave up: the timeout, and whether the log looked abandoned."""
    if stale is not None:
        return (
            f"the application did not end within --timeout {timeout:g} s, and its log looks "
            f"abandoned: {stale}; its driver probably stopped without ending the log, so "
            "nothing was recorded"
        )
    return (
        f"the application did not end within --timeout {timeout:g} s (it was still running; "
        "nothing was recorded): watch with a longer --timeout, or without one"
    )


def _longest_run(repo: Any, job: str) -> float | None:
    """The longest recorded run of the job in seconds (None: no finished run)."""
    import pandas as pd

    try:
        runs = repo.executions(job)
    except JobcastError:
        return None
    if "gross_runtime" not in runs.columns:
        return None
    runtime = pd.to_numeric(runs["gross_runtime"], errors="coerce")
    return float(runtime.max()) if runtime.notna().any() else None


def _store(
    repo: Any, job: str, run: Any, everything: pd.DataFrame, source: str, context: dict[str, Any]
) -> str | None:
    """Record the run: "recorded", "completed" (held as running: now complete), "already"."""
    from jobcast.collect.store import iteration_table

    if not len(everything):
        return None
    try:
        existing = repo.job(job)
    except UnknownJobError:
        existing = None
    table = iteration_table((run, everything, source), job=job, existing=existing, context=context)
    try:
        summary = repo.import_iterations(table, complete_running=True)
    except InputError:
        if existing is not None and _holds(repo, job, run.app_id):
            return "already"  # stored in between, by the workload itself
        raise
    if summary.executions:
        return "recorded"
    return "completed" if summary.completed else "already"


def _holds(repo: Any, job: str, app_id: str) -> bool:
    runs = repo.executions(job, only_completed=False)
    return bool((runs["external_id"].astype(str) == app_id).any())


def _rule(follower: Any) -> Any:
    rule = getattr(follower, "rule", None)
    if rule is None:
        parser = getattr(follower, "_parser", None)
        rule = getattr(parser, "rule", None)
    return rule


def _poll(follower: Any, source: str, waited: float, timeout: float | None) -> pd.DataFrame | None:
    """New iterations, or None while the UI or the log is not there yet (up to the timeout)."""
    from jobcast.collect import SparkRestError

    limit = 300.0 if timeout is None else timeout
    try:
        return follower.poll()  # type: ignore[no-any-return]
    except (SparkRestError, ImportFormatError) as e:
        if _app_start(follower) is not None or waited > limit:
            raise
        logger.info("waiting for %s: %s", source, e)
        return None


def _app_start(follower: Any) -> datetime | None:
    started = getattr(follower, "started_at", None)
    if started is not None:
        return started  # type: ignore[no-any-return]
    try:
        return follower.run.started_at  # type: ignore[no-any-return]
    except (JobcastError, AttributeError):
        return None


def _ended(follower: Any) -> bool:
    done = getattr(follower, "ended", None)
    return bool(follower.completed if done is None else done)


def _app_end(follower: Any) -> datetime:
    run = follower.application_run() if hasattr(follower, "application_run") else follower.run
    return run.finished_at  # type: ignore[no-any-return]
