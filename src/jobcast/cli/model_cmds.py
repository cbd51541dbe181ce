"""Commands of the offline runtime models: ``predict``, ``configure``, ``evaluate models``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from jobcast.cli import common as ui
from jobcast.cli.common import DbOption, JsonOption
from jobcast.errors import InputError
from jobcast.models.names import MODEL_NAMES

if TYPE_CHECKING:
    from jobcast.app.configure import ConfigurationResult

__all__ = ["configure_cmd", "evaluate_models_cmd", "predict"]

#: Exit status of ``configure`` when no configuration meets the deadline.
EXIT_INFEASIBLE = 3

ModelOption = Annotated[
    str, typer.Option("--model", help=f"Runtime model: {'|'.join(MODEL_NAMES)}.")
]
SharedOption = Annotated[
    bool,
    typer.Option(
        "--include-shared/--no-include-shared",
        help="Train on own executions plus those imported from collaborators' shares.",
    ),
]
SetOption = Annotated[
    list[str] | None, typer.Option("--set", help="Context attribute value: KEY=VALUE.")
]
SeedOption = Annotated[int, typer.Option("--seed", help="Random seed of the model.")]


def _warn(warnings: Any) -> None:
    for w in warnings:
        ui.err_console.print(f"[yellow]warning:[/] {ui.plain(w)}", highlight=False, soft_wrap=True)


def predict(
    job: Annotated[str, typer.Option("--job", help="The job to predict.")],
    input_file: Annotated[
        Path | None,
        typer.Option("--input", help="CSV of query rows: scale-out and every attribute."),
    ] = None,
    settings: SetOption = None,
    scale_out: Annotated[
        str | None,
        typer.Option("--scale-out", help="Scale-outs to predict: 2,4,8 or 2-12 or 10,20,...,100."),
    ] = None,
    machine_type: Annotated[
        list[str] | None,
        typer.Option(
            "--machine-type",
            help="Machine type(s) with --scale-out: m4.2xlarge, or a comma list "
            "r4.xlarge,m4.2xlarge (repeatable); one prediction per machine type and "
            "scale-out (default: the history's only one).",
        ),
    ] = None,
    model: ModelOption = "auto",
    include_shared: SharedOption = True,
    seed: SeedOption = 0,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Predict the runtime (seconds) for every input row or scale-out.

    Attributes the machine type fixes (slots, memory: per machine or cluster totals)
    are derived from it and the scale-out, as configure does. A warning (on stderr)
    says when a query lies outside the history's range, when the history holds a
    single scale-out, and when training left out executions without a value of an
    attribute.

    --json prints {"model": NAME, "chosen": NAME|null, "predictions": [seconds, ...],
    "warnings": [...]} in input order ("chosen" is the model auto selected; with
    several machine types, every scale-out of the first, then of the next).
    """
    from jobcast.app.predict import predict as run

    if (input_file is None) == (scale_out is None):
        raise InputError("give either --input FILE.csv, or --set KEY=VALUE ... --scale-out LIST")
    rows = None
    lines = None
    if input_file is not None:
        import pandas as pd

        from jobcast.history.importers import read_table

        raw = read_table(input_file, sep_option=None)  # predict has no --sep
        rows = pd.DataFrame(list(raw.rows), columns=list(raw.header))
        lines = list(raw.lines)
    scale_outs = ui.parse_int_list(scale_out, option="--scale-out")
    assignments = ui.parse_assignments(settings)
    machine_types = ui.parse_name_list(machine_type, option="--machine-type")
    with ui.open_repo(db, existing=True) as repo:
        result = run(
            repo,
            job,
            rows=rows,
            where=str(input_file),
            lines=lines,
            settings=assignments,
            scale_outs=scale_outs,
            machine_type=machine_types,
            model=model,
            include_shared=include_shared,
            random_state=seed,
        )
    if as_json:
        ui.emit_json(
            {
                "model": result.model,
                "chosen": result.chosen,
                "predictions": list(result.predictions),
                "warnings": list(result.warnings),
            }
        )
        return
    _warn(result.warnings)
    title = f"Predicted runtime of {job!r} ({model}"
    title += f" → {result.chosen})" if result.chosen else ")"
    query = result.queries
    cols = list(query.columns)
    ui.table(
        title,
        [*cols, "runtime (s)"],
        [(*(query[c].iloc[i] for c in cols), p) for i, p in enumerate(result.predictions)],
    )


def configure_cmd(
    job: Annotated[str, typer.Option("--job", help="The job to configure.")],
    deadline: Annotated[
        float,
        typer.Option(
            "--deadline",
            help="Deadline in seconds (a finite number > 0): the bound must meet it.",
            parser=ui.seconds_parser("--deadline", example="600"),
        ),
    ],
    settings: SetOption = None,
    confidence: Annotated[
        float,
        typer.Option(
            "--confidence",
            help="Probability of meeting the deadline, in (0, 1): the bound is the prediction "
            "raised by this quantile of the model's held-out errors, never below the "
            "prediction (at 0.5 or less it usually is the prediction).",
        ),
    ] = 0.95,
    scale_out: Annotated[
        str | None,
        typer.Option("--scale-out", help="Candidate scale-outs (default: those in the history)."),
    ] = None,
    machine_type: Annotated[
        list[str] | None,
        typer.Option(
            "--machine-type",
            help="Candidate machine types: r4.xlarge,m4.2xlarge or repeated (default: the "
            "history's).",
        ),
    ] = None,
    model: ModelOption = "auto",
    include_shared: SharedOption = True,
    seed: SeedOption = 0,
    prices: Annotated[
        Path | None,
        typer.Option(
            "--prices",
            help='JSON {"m4.2xlarge": 0.4, ...}: price per machine-hour, optionally with '
            '"currency": "EUR" (else costs are in "price units"). Machine types it leaves '
            "out keep the built-in AWS on-demand USD prices, with a warning naming them "
            "(not with another currency: then they need a price). A job without machine "
            "types costs machine-hours; --prices is then unused (warned).",
        ),
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """The cheapest scale-out (and machine type) whose runtime bound meets the deadline.

    Every candidate is predicted, bounded (--confidence) and costed at its bound, not
    at its prediction: cost = scale-out × price per machine-hour × bound / 3600.
    Without --prices, built-in AWS on-demand prices (USD, us-east-1) are used.
    Exits with status 3 when no configuration meets it (after printing every candidate).
    --json prints {"feasible", "best", "candidates", "message", "currency", "warnings",
    ...}; a candidate is {"scale_out", "machine_type", "predicted_s", "bound_s", "cost",
    "feasible"}, "cost" being priced at "bound_s" in "currency".
    """
    from jobcast.app.configure import configure as run

    ui.check_seconds(deadline, option="--deadline", example="600")
    assignments = ui.parse_assignments(settings)
    scale_outs = ui.parse_int_list(scale_out, option="--scale-out")
    machine_types = ui.parse_name_list(machine_type, option="--machine-type")
    with ui.open_repo(db, existing=True) as repo:
        result = run(
            repo,
            job,
            settings=assignments,
            deadline_s=deadline,
            confidence=confidence,
            prices=prices,
            scale_outs=scale_outs,
            machine_types=machine_types,
            model=model,
            include_shared=include_shared,
            random_state=seed,
        )
    if as_json:
        ui.emit_json(result.to_dict())
    else:
        _warn(result.warnings)
        _render_configuration(job, result)
    if not result.feasible:
        raise typer.Exit(EXIT_INFEASIBLE)


def _render_configuration(job: str, result: ConfigurationResult) -> None:
    with_type = any(c["machine_type"] for c in result.candidates)
    rows = [
        (
            *([c["machine_type"]] if with_type else []),
            c["scale_out"],
            c["predicted_s"],
            c["bound_s"],
            c["cost"],
            "yes" if c["feasible"] else "no",
            "← cheapest" if c == result.best else "",
        )
        for c in result.candidates
    ]
    cost = f"cost at bound ({result.currency})"
    header = ["scale-out", "predicted (s)", "bound (s)", cost, "meets", ""]
    ui.table(
        f"Configurations of {job!r}: deadline {result.deadline_s:g} s at "
        f"{result.confidence:.0%} confidence",
        [*(["machine type"] if with_type else []), *header],
        rows,
    )
    style = "bold" if result.feasible else "bold red"
    ui.console.print(f"[{style}]{ui.plain(result.message)}[/]")


def _min_scale_outs(items: list[str] | None, jobs: list[str]) -> dict[str, int | None]:
    out: dict[str, int | None] = dict.fromkeys(jobs)
    for item in items or []:
        name, sep, value = item.rpartition("=")
        try:
            n = int(value)
        except ValueError:
            raise InputError(f"--min-scale-out takes N or JOB=N, got {item!r}") from None
        if sep:
            if name not in out:
                raise InputError(f"--min-scale-out names job {name!r}, which is not evaluated")
            out[name] = n
        else:
            out = {k: (n if v is None else v) for k, v in out.items()}
    return out


def _mean(protocol: Any, model: str) -> float | None:
    """A protocol's mean MAPE of ``model`` (``baseline``: the baseline's); None if not run."""
    if protocol is None:
        return None
    return protocol.baseline_mean() if model == "baseline" else protocol.mean(model)


def _say_auto_choices(result: Any) -> None:
    """Which model ``auto`` chose on how many splits of each protocol."""
    parts = []
    for label, protocol in (("holdout", result.holdout), ("small sets", result.training_sizes)):
        if protocol is None:
            continue
        counts = protocol.to_dict()["auto_chosen"]
        if counts:
            total = sum(counts.values())
            chosen = ", ".join(f"{name} {n}/{total}" for name, n in counts.items())
            parts.append(f"{label}: {chosen}")
    if parts:
        text = f"auto chose on {result.job}'s splits: {'; '.join(parts)}"
        ui.console.print(ui.plain(text), highlight=False)


def evaluate_models_cmd(
    job: Annotated[list[str], typer.Option("--job", help="Job(s) to evaluate; repeatable.")],
    test_size: Annotated[float, typer.Option(help="Held-out share of protocol 1.")] = 0.2,
    repeats: Annotated[int, typer.Option(help="Repetitions of each protocol.")] = 10,
    train_sizes: Annotated[
        str, typer.Option(help="Training-set sizes of protocol 2, e.g. 3,6,...,30.")
    ] = "3,6,...,30",
    models: Annotated[
        str | None, typer.Option(help="Comma-separated models (default: all).")
    ] = None,
    min_scale_out: Annotated[
        list[str] | None,
        typer.Option("--min-scale-out", help="Drop smaller scale-outs: N, or JOB=N per job."),
    ] = None,
    include_shared: SharedOption = True,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the random splits.")] = 0,
    plot: Annotated[
        Path | None,
        typer.Option(
            "--plot",
            help="Write a PNG: FILE itself for one job; for several, one per job named "
            "FILE-JOB (e.g. models.png gives models-sort.png, models-grep.png).",
        ),
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """The privacy paper's protocols: random 80/20 holdout and small training sets (MAPE).

    Every job is checked before any is evaluated: a job too small to split, or whose
    training split holds none of --train-sizes, is named at once (with the sizes that
    fit). Sizes beyond a job's training split are skipped with a warning.
    """
    from jobcast.app.model_evaluation import evaluate_models, mean_over_jobs
    from jobcast.evaluation.models_plot import plot_model_evaluation

    # the baseline (median) is scored besides the models: by default not as one of them
    names = (
        [m.strip() for m in models.split(",")]
        if models
        else [m for m in MODEL_NAMES if m != "median"]
    )
    if not 0.0 < test_size < 1.0:
        raise InputError(
            f"--test-size is the held-out share of the executions, between 0 and 1 "
            f"(e.g. 0.2), got {test_size:g}"
        )
    if repeats < 1:
        raise InputError(f"--repeats takes a whole number >= 1 (e.g. 10), got {repeats}")
    sizes = ui.parse_int_list(train_sizes, option="--train-sizes")
    limits = _min_scale_outs(min_scale_out, job)
    ui.check_output_file(plot, option="--plot")

    def bar(name: str) -> Any:
        return ui.progress_callback(f"evaluating {name}", quiet=as_json)

    with ui.open_repo(db, existing=True) as repo:
        results = evaluate_models(
            repo,
            job,
            models=names,
            test_size=test_size,
            repeats=repeats,
            train_sizes=sizes,
            min_scale_outs=limits,
            include_shared=include_shared,
            random_state=seed,
            progress=bar,
        )
    written = []
    if plot is not None:
        for r in results:
            target = (
                plot if len(results) == 1 else plot.with_name(f"{plot.stem}-{r.job}{plot.suffix}")
            )
            plot_model_evaluation(r, target)
            written.append(str(target))
    summary = mean_over_jobs(results, names)
    if as_json:
        ui.emit_json({"jobs": [r.to_dict() for r in results], "mean_over_jobs": summary})
        return
    for r in results:
        _warn(r.warnings)
    jobs_shown = [str(r.job) for r in results]
    for label, key in (("80/20 holdout", "holdout"), ("small training sets", "training_sizes")):
        if all(getattr(r, key) is None for r in results):
            continue
        rows = []
        for m in [*names, "baseline"]:
            values = [_mean(getattr(r, key), m) for r in results]
            values += [summary[key][m]] if len(results) > 1 else []
            shown = "baseline (median per scale-out)" if m == "baseline" else m
            rows.append((shown, *("-" if v is None else f"{v:.3f}" for v in values)))
        extra = ["mean"] if len(results) > 1 else []
        ui.table(f"MAPE, {label}", ["model", *jobs_shown, *extra], rows)
    for r in results:
        _say_auto_choices(r)
    if written:
        label = "Plot written to" if len(written) == 1 else "Plots written to"
        ui.console.print(f"{label} {ui.plain(', '.join(written))}", highlight=False)
