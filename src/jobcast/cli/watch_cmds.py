"""Commands that follow a running execution: ``estimate`` (from a file) and ``watch`` (live)."""

from __future__ import annotations

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
    seconds_option,
    seconds_parser,
    table,
)
from jobcast.cli.current_file import read_current
from jobcast.cli.history_cmds import DecimalOption
from jobcast.errors import InputError

if TYPE_CHECKING:
    from rich.live import Live

    from jobcast.app.follow import Followed, FollowEvent

__all__ = ["estimate", "watch"]


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
            "--deadline",
            help="Seconds after the start (> 0): show the risk of missing it.",
            parser=seconds_parser("--deadline", example="900"),
        ),
    ] = None,
    interval: Annotated[
        float, seconds_option("Seconds between polls (> 0).", "--interval", example="1")
    ] = 1.0,
    timeout: Annotated[
        float | None,
        seconds_option(
            "Give up after this many seconds (> 0), also how long to wait for the UI "
            "or the log to appear (without it: no limit, and 300 s for them to appear).",
            "--timeout",
            example="3600",
        ),
    ] = None,
    warn_after: Annotated[
        float,
        seconds_option(
            "Warn when no iteration was seen after this many seconds (>= 0).",
            "--warn-after",
            example="60",
        ),
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
    "iterations_by", "recorded", "warnings"} line. Each estimate is made with the
    iterations up to it at the moment it finished (a log read at once gets one per
    iteration too); none is made after the application's end, and elapsed never runs
    past it.

    The run is recorded when it ends, with its attributes from --set KEY=VALUE (one per
    context attribute of the job, e.g. --set input_size=5000 --set cores=2; attributes
    not given stay empty) and, for a run of `jobcast workloads run`, those it carries in
    its Spark settings. A local-mode run's scale-out is its worker threads (local[N]),
    as `workloads run` records it; when the job holds the run already (`workloads run`
    recorded it first), nothing more is written. A job without history yet is watched
    and its run recorded (no estimate until it has two runs); with --no-record it is an
    error.
    """
    import shlex

    from jobcast.app.follow import Ended, Followed, follow, follow_model
    from jobcast.app.progress import stored_progress
    from jobcast.collect import EventLogFollower, SparkRestFollower

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
    # with --json, stdout carries only the JSON lines; the live display goes to stderr
    screen = err_console if as_json else console
    with open_repo(db) as repo:
        model, why = follow_model(repo, job, record=record)
        if why is not None and why.new_job:
            # watching records a new job's first run (then it has a history)
            screen.print(
                f"[yellow]No estimate possible yet:[/] no history for job {plain(repr(job))}; "
                "the run will be recorded as its first execution (`jobcast jobs` lists the "
                "known jobs)",
                highlight=False,
            )
        elif why is not None:
            screen.print(
                f"[yellow]No estimate possible yet:[/] {plain(why.reason)}", highlight=False
            )
        elif stored_progress(repo, job).parameters is None:
            screen.print(
                f"Note: job {plain(repr(job))} was never trained: its estimates use the "
                "default parameters, which err more (`jobcast train progress --job "
                f"{plain(shlex.quote(job))}` once trains them)",
                highlight=False,
            )
        events = follow(
            repo,
            job,
            follower,
            model=model,
            source=source,
            given=given,
            eventlog=eventlog,
            deadline_s=deadline,
            interval_s=interval,
            timeout_s=timeout,
            warn_after_s=warn_after,
            record=record,
            iterations=iterations,
        )
        with render.live(screen, f"waiting for {source}…") as display:
            for event in events:
                if isinstance(event, Ended):
                    break  # the display ends before the run is recorded
                _show(event, display, as_json=as_json)
        followed = next(events)  # records the run
    if not isinstance(followed, Followed):  # pragma: no cover - follow's last event is it
        raise TypeError(f"expected the followed run, got {followed!r}")
    _summarize(followed, job, as_json=as_json)


def _show(event: FollowEvent, display: Live, *, as_json: bool) -> None:
    """Show one event of :func:`jobcast.app.follow.follow` while the application runs."""
    from jobcast.app.follow import (
        Abandoned,
        Estimated,
        NoIterationYet,
        RuleChosen,
        Tick,
        Warned,
    )

    if isinstance(event, Tick):
        display.update(render.tick_line(event))
    elif isinstance(event, Estimated):
        if as_json:
            emit_json_line(event.estimate)
        elif not display.console.is_terminal:  # the live line shows only at the end there
            display.console.print(render.iteration_line(event.estimate), highlight=False)
    elif isinstance(event, RuleChosen):
        if not as_json:
            display.console.print(event.text)
    elif isinstance(event, Warned):
        if not as_json:
            display.console.print(f"[yellow]warning:[/] {plain(event.text)}")
    elif isinstance(event, Abandoned):
        display.console.print(
            f"[yellow]warning: the application looks abandoned:[/] "
            f"{plain(event.reason)}. Its driver probably stopped without ending "
            "the log (a finished log loses .inprogress), and the elapsed "
            "time, progress and deadline risk shown assume it still runs. "
            "If it no longer runs, stop watching (Ctrl-C) and move the log "
            "away; if it does, check that Spark still writes this log.",
            highlight=False,
        )
    elif isinstance(event, NoIterationYet):
        how = event.rule or "no Spark job yet"
        display.console.print(
            f"[yellow]No iteration seen after {event.waited_s:.0f} s[/] ({how}); if the "
            "application's iterations are not Spark jobs or job groups, pass "
            "--iterations REGEX matching their job descriptions."
        )


def _summarize(followed: Followed, job: str, *, as_json: bool) -> None:
    """Print how the followed run ended, was recorded and was estimated."""
    from jobcast.app.followed_run import seconds_off

    if as_json:
        emit_json_line(followed.summary())
        return
    for loop in followed.warnings:
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
        f"{followed.execution} ended after {followed.actual_s:.1f} s with "
        f"{len(followed.iterations)} iteration(s)" + recorded[followed.recorded]
    )
    if not len(followed.iterations):
        console.print(
            "[yellow]No iteration was found[/]: nothing recorded. Check --iterations "
            "(auto, jobs, job-groups or a REGEX matching the job descriptions)."
        )
    if followed.estimates:
        end = followed.finished_at
        share = max(followed.actual_s, 1e-9)
        table(
            f"Estimated finish against the actual end ({end:%H:%M:%S} UTC, "
            f"{followed.actual_s:.1f} s after the start)",
            ["after iteration", "estimated finish", "error (share of the run)"],
            [
                (
                    e["iterations_done"],
                    e["finish_at"][11:19],
                    f"{seconds_off(e['finish_at'], end) / share:.1%}",
                )
                for e in followed.estimates
            ],
        )
