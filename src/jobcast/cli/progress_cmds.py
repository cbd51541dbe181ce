"""Commands that train and evaluate progress estimation: ``train progress``, ``evaluate ...``.

``evaluate progress`` and ``evaluate similarity`` are here; ``estimate`` and ``watch`` live in
:mod:`jobcast.cli.watch_cmds` (importable from here too, as the command table names them).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from jobcast.cli.common import (
    DbOption,
    JsonOption,
    check_output_file,
    console,
    emit_json,
    open_repo,
    progress_callback,
    table,
)
from jobcast.cli.watch_cmds import estimate, watch
from jobcast.errors import InputError

if TYPE_CHECKING:
    from jobcast.history import HistoryRepository
    from jobcast.progress.parallel import ProgressCallback

__all__ = [
    "estimate",
    "evaluate_progress_cmd",
    "evaluate_similarity_cmd",
    "train_progress",
    "watch",
]

ScaleOutModelOption = Annotated[
    str,
    typer.Option(
        "--scale-out-model",
        help="Per-iteration scale-out model making runtimes comparable: bell, ernest or none.",
    ),
]
NJobsOption = Annotated[int | None, typer.Option("--n-jobs", help="Parallel simulations.")]
SchedulerOption = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        help="Dask scheduler ADDRESS to run simulations on (needs jobcast[dask]).",
    ),
]


def _check_scale_out_model(value: str) -> None:
    """Refuse an unknown --scale-out-model before any work (as --training: case counts)."""
    from jobcast.progress.scaling import SCALE_OUT_MODELS as kinds

    if value not in kinds:
        raise InputError(
            f"--scale-out-model must be {', '.join(kinds[:-1])} or {kinds[-1]}, got {value!r}"
        )


class ProgressLines:
    """Progress as plain lines on standard error, for pipes, logs and ``--json``.

    Nothing for a command done within ``first_after`` seconds; then a line with the
    total, another when the work passes a further ``step`` of it (no sooner than
    ``min_gap`` seconds after the last line) and, while nothing else is said, every
    ``every`` seconds (:meth:`tick`, from a timer thread): enough to see that a command
    of several minutes is alive, never on standard output. After the counted work,
    ``after`` says what still runs uncounted.
    """

    first_after = 5.0
    step = 0.1
    every = 30.0
    min_gap = 5.0

    def __init__(
        self,
        description: str,
        *,
        after: str = "",
        clock: Callable[[], float] = time.monotonic,
        write: Callable[[str], None] | None = None,
    ) -> None:
        self.description = description
        self.after = after
        self.clock = clock
        self.write = write if write is not None else _to_stderr
        self.started = clock()
        self.last: float | None = None
        self.done = 0
        self.total: int | None = None
        self.steps_said = -1
        self.lock = threading.Lock()

    def _say(self, now: float) -> None:
        minutes, seconds = divmod(int(now - self.started), 60)
        elapsed = f"{minutes}m{seconds:02d}s elapsed"
        if self.total is None:
            what = "starting"
        elif self.done >= self.total and self.after:
            what = f"{self.done}/{self.total} done; {self.after}"
        else:
            what = f"{self.done}/{self.total} ({self.done / max(self.total, 1):.0%})"
        self.write(f"{self.description}: {what}, {elapsed}")
        self.last = now
        if self.total:
            self.steps_said = max(self.steps_said, self._steps())

    def _steps(self) -> int:
        return int(self.done / self.total / self.step + 1e-9) if self.total else 0

    def _due(self, now: float, *, counted: bool) -> bool:
        if self.last is None:
            return now - self.started >= self.first_after
        if now - self.last >= self.every:
            return True
        return counted and self._steps() > self.steps_said and now - self.last >= self.min_gap

    def __call__(self, done: int, total: int | None = None, message: str = "") -> None:
        """Take ``done`` of ``total``; say so when it is time (see the class)."""
        with self.lock:
            self.done = done
            self.total = total if total is not None else self.total
            now = self.clock()
            if self._due(now, counted=True):
                self._say(now)

    def tick(self) -> None:
        """Say where the work stands when it is time (see the class)."""
        with self.lock:
            now = self.clock()
            if self._due(now, counted=False):
                self._say(now)


def _to_stderr(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


@contextmanager
def _progress_lines(description: str, *, after: str = "") -> Iterator[ProgressLines]:
    """A :class:`ProgressLines` whose timer thread ticks while the block runs."""
    lines = ProgressLines(description, after=after)
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(1.0):
            lines.tick()

    thread = threading.Thread(target=beat, name="jobcast-progress", daemon=True)
    thread.start()
    try:
        yield lines
    finally:
        stop.set()
        thread.join()


@contextmanager
def _bar(description: str, total: int | None) -> Iterator[Callable[..., None]]:
    """A rich progress bar on standard error whose total shows from its first frame."""
    with progress_callback(description, total=total) as update:
        yield update


def _terminal() -> bool:
    """Standard output and standard error are both a terminal (a bar can be drawn)."""
    try:
        return sys.stdout.isatty() and sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


@contextmanager
def _session(
    db: str | None,
    description: str,
    *,
    as_json: bool,
    scheduler: str | None = None,
    after: str = "",
) -> Iterator[tuple[HistoryRepository, ProgressCallback]]:
    """The history, a progress report and, when asked for, the Dask cluster, for one command.

    On a terminal (and without --json) the progress is a bar; when standard output is
    JSON or no terminal, plain lines on standard error (:class:`ProgressLines`). The
    Dask cluster is joblib's backend for the block (set here, at the edge, once): every
    simulation inside runs on it.
    """
    from jobcast.progress.parallel import dask_backend

    with ExitStack() as stack:
        repo = stack.enter_context(open_repo(db, existing=True))
        callback: ProgressCallback
        if as_json or not _terminal():
            callback = stack.enter_context(_progress_lines(description, after=after))
        else:
            bars: list[Callable[..., None]] = []

            def callback(done: int, total: int | None = None, message: str = "") -> None:
                # the bar starts with the first report, which gives the total: started
                # before, it would show "0/None" until then
                if not bars:
                    bars.append(stack.enter_context(_bar(description, total)))
                over = after and total is not None and done >= total
                bars[0](done, total, message or (after if over else ""))

        stack.enter_context(dask_backend(scheduler))
        yield repo, callback


def train_progress(
    job: Annotated[str, typer.Option("--job", help="Job whose history to train on.")],
    scale_out_model: ScaleOutModelOption = "bell",
    n_jobs: NJobsOption = None,
    scheduler: SchedulerOption = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the optimizer starts.")] = 0,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Train SMiPE's thresholds and weights (leave-one-out simulations, BOBYQA) and store them.

    Training minimises the leave-one-out relative error of the remaining runtime (the
    paper's metric). --json prints {"job", "parameters", "scale_out_model",
    "executions", "estimates", "error_before", "error_after", "error_history_mean",
    "total_error_before", "total_error_after", "notes": [...], "context_relevance":
    {attribute: relevance}}; errors are leave-one-out mean relative errors of the
    remaining runtime with the default (before) and trained (after) parameters and of
    the history-mean baseline on the same sample points; notes say what training
    regularised or fell back from, and when the history is too small to trust the
    errors; the relevance is how much the context measure weighs each of the
    executions' other attributes (0: no more than chance).
    """
    from jobcast.app.progress import train
    from jobcast.progress.similarity import MEASURES
    from jobcast.progress.training import notes_not_logged

    _check_scale_out_model(scale_out_model)
    # the count covers both phases: one unit per simulated run, then one per search
    # (jobcast.progress.training.training_steps)
    description = f"training {job} (simulations, then parameter searches)"
    # the notes are printed below (or are in the JSON), so they are not logged as well
    with (
        _session(db, description, as_json=as_json, scheduler=scheduler) as (repo, callback),
        notes_not_logged(),
    ):
        trained = train(
            repo,
            job,
            scale_out_model=scale_out_model,
            n_jobs=n_jobs,
            random_state=seed,
            callback=callback,
        )
    if as_json:
        emit_json(trained.to_dict())
        return
    report = trained.report
    rows: list[tuple[str, Any]] = []
    for name, value in report.params.to_dict().items():
        if isinstance(value, dict):
            rows.extend((f"{name}: {k}", v) for k, v in value.items())
        else:
            rows.append((name, value))
    table(f"Progress parameters of {job!r}", ["parameter", "value"], rows)
    baseline = report.error_history_mean is not None
    table(
        f"Leave-one-out error over {report.estimates} estimates of {report.executions} executions",
        # "stored": trained, or the defaults' simple choice where training kept it
        ["mean relative error", "default parameters", "stored (used by estimate)"]
        + (["history mean (baseline)"] if baseline else []),
        [
            ("remaining runtime (paper's metric)", report.error_before, report.error_after)
            + ((report.error_history_mean,) if baseline else ()),
            ("total runtime", report.total_error_before, report.total_error_after)
            + (("",) if baseline else ()),
        ],
    )
    if report.context_relevance:
        used = report.params.weights[MEASURES.index("context")] > 0
        table(
            "Context attributes' relevance (learned from the history; 0: no more than chance)"
            # weight 0: training left it out, or kept the defaults (too few executions)
            + ("" if used else ": not used by the context measure (its weight is 0)")
            + (
                "; the runs' lengths are converted by those that order the iteration counts"
                if report.params.length_strength > 0
                else ""
            ),
            ["attribute", "relevance"],
            sorted(report.context_relevance, key=lambda pair: -pair[1]),
        )
    for note in report.notes:
        console.print(f"[yellow]Note:[/] {note}.")
    console.print(f"Stored; `jobcast estimate --job {job}` and `jobcast watch` now use them.")


def evaluate_progress_cmd(
    job: Annotated[str, typer.Option("--job", help="Job whose history to evaluate on.")],
    training: Annotated[
        str,
        typer.Option(
            "--training",
            help="nested (parameters trained without the evaluated execution), given "
            "(the stored ones; they saw every execution) or none (defaults).",
        ),
    ] = "nested",
    scale_out_model: ScaleOutModelOption = "bell",
    n_jobs: NJobsOption = None,
    scheduler: SchedulerOption = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="Iteration-wise error plot.")] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """The SMiPE paper's protocol, with two baselines (history mean, linear extrapolation).

    The headline is the paper's metric, the relative error of the remaining runtime;
    the error of the total runtime stands beside it. --json prints {"job", "training",
    "estimates", "mre_remaining", "baselines_remaining": {"history_mean", "linear"},
    "mre", "baselines": {...}, "by_position": {"early"|"middle"|"late": {"estimates",
    "mre_remaining", "baselines_remaining", "mre", "coverage"}}, "interval": {"level",
    "coverage"}, "without_estimate"} (sample points that no other execution had
    reached: no estimate, scored as 0 s remaining).
    """
    from jobcast.app.progress import evaluate
    from jobcast.evaluation.progress import plot_progress_errors

    if training not in {"nested", "given", "none"}:
        raise InputError(f"--training must be nested, given or none, got {training!r}")
    _check_scale_out_model(scale_out_model)
    check_output_file(plot, option="--plot")
    with _session(
        db,
        f"evaluating {job}",
        as_json=as_json,
        scheduler=scheduler,
    ) as session:
        repo, callback = session
        result = evaluate(
            repo,
            job,
            training=training,
            scale_out_model=scale_out_model,
            n_jobs=n_jobs,
            callback=callback,
        )
    if plot is not None:
        plot_progress_errors(result, plot)
    out = result.to_dict()
    if as_json:
        emit_json(out)
        return
    b, br = out["baselines"], out["baselines_remaining"]
    positions = out["by_position"]
    names = list(positions)
    table(
        f"Progress estimation of {job!r} ({out['estimates']} estimates, training "
        f"{training}): mean relative error of the remaining runtime (paper's metric)",
        ["estimator", "remaining", *[f"remaining, {p}" for p in names], "total runtime"],
        [
            (
                "jobcast (SMiPE)",
                out["mre_remaining"],
                *[positions[p]["mre_remaining"] for p in names],
                out["mre"],
            ),
            (
                "history mean",
                br["history_mean"],
                *[positions[p]["baselines_remaining"]["history_mean"] for p in names],
                b["history_mean"],
            ),
            (
                "linear extrapolation",
                br["linear"],
                *[positions[p]["baselines_remaining"]["linear"] for p in names],
                b["linear"],
            ),
        ],
    )
    interval = out["interval"]
    console.print(
        f"{interval['level']:.0%} prediction interval covers {interval['coverage']:.0%} of "
        "the actual remaining runtimes ("
        + ", ".join(f"{p} {positions[p]['coverage']:.0%}" for p in names)
        + ")."
    )
    if out["without_estimate"]:
        console.print(
            f"{out['without_estimate']} sample point(s) had no other execution that ran as "
            "many iterations: no estimate there, scored as 0 s remaining (error 1)."
        )
    if plot is not None:
        console.print(f"Plot written to {plot}")


def evaluate_similarity_cmd(
    job: Annotated[str, typer.Option("--job", help="Job whose history to evaluate on.")],
    plot: Annotated[Path, typer.Option("--plot", help="PNG of the quality charts.")],
    n_jobs: NJobsOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Quality of each similarity measure: h(t), n(t) and q(x) over execution pairs."""
    from jobcast.app.progress import similarity

    check_output_file(plot, option="--plot")
    with _session(db, f"simulating {job}", as_json=as_json) as (repo, callback):
        curves = similarity(repo, job, plot=plot, n_jobs=n_jobs, callback=callback)
    if as_json:
        emit_json({"job": job, "measures": {k: v.to_dict() for k, v in curves.items()}})
        return
    console.print(f"Quality charts of {', '.join(curves)} written to {plot}")
