"""Commands of the offline runtime models: ``predict``, ``configure``, ``evaluate models``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import typer

from jobcast.cli.common import (
    DbOption,
    JsonOption,
    console,
    emit_json,
    open_repo,
    parse_assignments,
    parse_int_list,
    progress_callback,
    table,
)
from jobcast.errors import InputError
from jobcast.history import HistoryRepository, JobSpec
from jobcast.models import MODEL_NAMES, PriceTable, configure, machine_attributes, make_model
from jobcast.models.training_data import (
    held_out_errors,
    input_frame,
    query_frame,
    training_set,
)

__all__ = ["register", "evaluate_app"]

evaluate_app = typer.Typer(help="Accuracy evaluations (the papers' protocols).")

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


def _fit(
    repo: HistoryRepository,
    job: str,
    model: str,
    *,
    include_shared: bool,
    seed: int,
) -> tuple[JobSpec, Any, pd.DataFrame, pd.DataFrame]:
    spec = repo.job(job)
    executions = repo.executions(job, include_shared=include_shared)
    X, y = training_set(spec, executions)
    estimator = make_model(model, random_state=seed).fit(X, y)
    return spec, estimator, X, executions


def _chosen(estimator: Any) -> str | None:
    chosen = getattr(estimator, "chosen_", None)
    return None if chosen is None else str(chosen)


def predict(
    job: Annotated[str, typer.Option("--job", help="The job to predict.")],
    input_file: Annotated[
        Path | None,
        typer.Option("--input", help="CSV of query rows: scale-out and every attribute."),
    ] = None,
    settings: SetOption = None,
    scale_out: Annotated[
        str | None, typer.Option("--scale-out", help="Scale-outs to predict: 2,4,8 or 2-12.")
    ] = None,
    machine_type: Annotated[
        str | None, typer.Option("--machine-type", help="Machine type (if the job has several).")
    ] = None,
    model: ModelOption = "auto",
    include_shared: SharedOption = True,
    seed: SeedOption = 0,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Predict the runtime (seconds) for every input row or scale-out.

    --json prints {"model": NAME, "chosen": NAME|null, "predictions": [seconds, ...]} in
    input order ("chosen" is the model auto selected).
    """
    if (input_file is None) == (scale_out is None):
        raise InputError("give either --input FILE.csv, or --set KEY=VALUE ... --scale-out LIST")
    with open_repo(db) as repo:
        spec, estimator, X, _ = _fit(repo, job, model, include_shared=include_shared, seed=seed)
    columns = list(X.columns)
    if input_file is not None:
        from jobcast.history.importers import read_table

        raw = read_table(input_file)
        frame = pd.DataFrame(list(raw.rows), columns=list(raw.header))
        for c in frame.columns:
            converted = pd.to_numeric(frame[c], errors="coerce")
            if converted.notna().all():
                frame[c] = converted
        query = input_frame(spec, frame, columns=columns, where=str(input_file))
    else:
        scale_outs = parse_int_list(scale_out, option="--scale-out") or []
        query = query_frame(
            spec,
            parse_assignments(settings),
            scale_outs,
            machine_type=machine_type,
            columns=columns,
        )
    predictions = np.asarray(estimator.predict(query), dtype=float)
    if as_json:
        emit_json(
            {"model": model, "chosen": _chosen(estimator), "predictions": predictions.tolist()}
        )
        return
    title = f"Predicted runtime of {job!r} ({model}"
    title += f" → {_chosen(estimator)})" if _chosen(estimator) else ")"
    cols = [c for c in columns if c in query.columns]
    table(
        title,
        [*cols, "runtime (s)"],
        [(*(query[c].iloc[i] for c in cols), float(p)) for i, p in enumerate(predictions)],
    )


def configure_cmd(
    job: Annotated[str, typer.Option("--job", help="The job to configure.")],
    deadline: Annotated[float, typer.Option("--deadline", help="Deadline in seconds.")],
    settings: SetOption = None,
    confidence: Annotated[
        float, typer.Option("--confidence", help="Probability of meeting the deadline.")
    ] = 0.95,
    scale_out: Annotated[
        str | None,
        typer.Option("--scale-out", help="Candidate scale-outs (default: those in the history)."),
    ] = None,
    machine_type: Annotated[
        list[str] | None,
        typer.Option("--machine-type", help="Candidate machine types (default: the history's)."),
    ] = None,
    prices: Annotated[
        Path | None,
        typer.Option("--prices", help="JSON {machine_type: price per machine-hour} to use."),
    ] = None,
    model: ModelOption = "auto",
    include_shared: SharedOption = True,
    seed: SeedOption = 0,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """The cheapest scale-out (and machine type) whose runtime meets the deadline."""
    with open_repo(db) as repo:
        spec, estimator, X, executions = _fit(
            repo, job, model, include_shared=include_shared, seed=seed
        )
    scale_outs = parse_int_list(scale_out, option="--scale-out") or sorted(
        int(m) for m in X["scale_out"].unique()
    )
    machine_types: list[str] | None = None
    machine_values = None
    if "machine_type" in X.columns:
        machine_types = list(machine_type or sorted(X["machine_type"].astype(str).unique()))
        machine_values = machine_attributes(executions)
    context = parse_assignments(settings)
    if machine_values:
        derived = {k for values in machine_values.values() for k in values}
        context = {k: v for k, v in context.items() if k not in derived}
    price_table = PriceTable.from_json(prices) if prices is not None else PriceTable.default()
    X_train, y_train = training_set(spec, executions)
    errors = held_out_errors(estimator, X_train, y_train, random_state=seed)
    result = configure(
        estimator,
        context,
        scale_outs=scale_outs,
        deadline=deadline,
        machine_types=machine_types,
        confidence=confidence,
        prices=price_table,
        machine_values=machine_values,
        errors=errors,
    )
    if as_json:
        emit_json({"model": model, "chosen": _chosen(estimator), **result.to_dict()})
        return
    with_type = any(c.machine_type for c in result.candidates)
    rows = []
    for c in result.candidates:
        mark = "← cheapest" if c == result.best else ""
        rows.append(
            (
                *([c.machine_type] if with_type else []),
                c.scale_out,
                c.predicted_runtime,
                c.runtime_bound,
                c.cost,
                "yes" if c.feasible else "no",
                mark,
            )
        )
    header = ["scale-out", "predicted (s)", "bound (s)", f"cost ({result.currency})", "meets", ""]
    table(
        f"Configurations of {job!r}: deadline {deadline:g} s at {confidence:.0%} confidence",
        [*(["machine type"] if with_type else []), *header],
        rows,
    )
    if result.best is None:
        console.print(
            f"[bold red]No configuration meets the deadline of {deadline:g} s[/] at "
            f"{confidence:.0%} confidence. Relax the deadline, lower --confidence, or allow "
            "larger --scale-out values."
        )
    else:
        b = result.best.to_dict()
        where = f" of {b['machine_type']}" if b.get("machine_type") else ""
        console.print(
            f"Cheapest: [bold]{b['scale_out']} machines{where}[/], predicted "
            f"{b['predicted_runtime']:.0f} s (≤ {b['runtime_bound']:.0f} s), cost {b['cost']:.4g} "
            f"{result.currency}."
        )


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


@evaluate_app.command("models")
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
        Path | None, typer.Option("--plot", help="Write a PNG (one per job: FILE-JOB.png).")
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """The privacy paper's protocols: random 80/20 holdout and small training sets (MAPE)."""
    from jobcast.evaluation.models import evaluate_models, plot_model_evaluation

    names = [m.strip() for m in models.split(",")] if models else list(MODEL_NAMES)
    sizes = parse_int_list(train_sizes, option="--train-sizes")
    limits = _min_scale_outs(min_scale_out, job)
    results = []
    with open_repo(db) as repo:
        data = {}
        for name in job:
            spec = repo.job(name)
            data[name] = training_set(
                spec,
                repo.executions(name, include_shared=include_shared),
                min_scale_out=limits[name],
            )
    for name in job:
        X, y = data[name]
        with progress_callback(f"evaluating {name}", quiet=as_json) as callback:
            results.append(
                evaluate_models(
                    X,
                    y,
                    job=name,
                    models=names,
                    test_size=test_size,
                    repeats=repeats,
                    train_sizes=sizes,
                    random_state=seed,
                    callback=callback,
                )
            )
    if plot is not None:
        for r in results:
            target = (
                plot if len(results) == 1 else plot.with_name(f"{plot.stem}-{r.job}{plot.suffix}")
            )
            plot_model_evaluation(r, target)
    summary = _summary(results, names)
    if as_json:
        emit_json({"jobs": [r.to_dict() for r in results], "mean_over_jobs": summary})
        return
    jobs_shown = [str(r.job) for r in results]
    for label, key in (("80/20 holdout", "holdout"), ("small training sets", "training_sizes")):
        if all(getattr(r, key) is None for r in results):
            continue
        rows = []
        for m in names:
            values = [
                getattr(r, key).mean(m) if getattr(r, key) is not None else None for r in results
            ]
            values += [summary[key][m]] if len(results) > 1 else []
            rows.append((m, *("-" if v is None else f"{v:.3f}" for v in values)))
        extra = ["mean"] if len(results) > 1 else []
        table(f"MAPE, {label}", ["model", *jobs_shown, *extra], rows)
    if plot is not None:
        note = " (one file per job)" if len(results) > 1 else ""
        console.print(f"Plot written to {plot}{note}")


def _summary(results: list, names: list[str]) -> dict[str, dict[str, float | None]]:
    def mean(values: list[float]) -> float | None:
        return float(np.mean(values)) if values else None

    return {
        "holdout": {
            m: mean([r.holdout.mean(m) for r in results if r.holdout is not None]) for m in names
        },
        "training_sizes": {
            m: mean([r.training_sizes.mean(m) for r in results if r.training_sizes is not None])
            for m in names
        },
    }


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main application."""
    app.command("predict")(predict)
    app.command("configure")(configure_cmd)
