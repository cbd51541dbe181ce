"""Commands of privacy-preserving sharing: ``budget`` (the ledger)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from jobcast.cli.common import (
    DbOption,
    JsonOption,
    console,
    emit_json,
    open_repo,
    parse_int_list,
    progress_callback,
    table,
)
from jobcast.cli.history_cmds import import_app
from jobcast.cli.model_cmds import evaluate_app
from jobcast.errors import InputError, UnknownJobError
from jobcast.privacy.history_io import release_frame, schema_domain, share_table

__all__ = ["register"]


def budget(
    job: Annotated[str, typer.Option("--job", help="The job whose privacy ledger to show.")],
    epsilon: Annotated[
        float | None,
        typer.Option("--epsilon", help="Set the job's total budget (lifetime epsilon)."),
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show (or set) a job's privacy budget and every release charged to it."""
    with open_repo(db) as repo:
        if epsilon is not None:
            repo.set_privacy_budget(job, epsilon)
        total = repo.privacy_budget(job)
        spent = repo.spent_epsilon(job)
        releases = repo.releases(job)
    if as_json:
        emit_json(
            {
                "job": job,
                "budget": total,
                "spent": spent,
                "remaining": max(total - spent, 0.0),
                "releases": [
                    {
                        "created_at": r.created_at,
                        "epsilon": r.epsilon,
                        "no_dp": r.no_dp,
                        "method": r.method,
                        "rows": r.rows,
                        "destination": r.destination,
                    }
                    for r in releases
                ],
            }
        )
        return
    console.print(
        f"Job {job!r}: budget ε = {total:g}, spent {spent:g}, remaining {max(total - spent, 0):g}"
    )
    if releases:
        table(
            "Releases",
            ["when", "ε", "method", "rows", "destination"],
            [
                (
                    r.created_at.strftime("%Y-%m-%d %H:%M"),
                    "no DP" if r.no_dp else r.epsilon,
                    r.method,
                    r.rows,
                    r.destination,
                )
                for r in releases
            ],
        )


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main application."""
    app.command("budget")(budget)
    app.command("share")(share)


def share(
    job: Annotated[str, typer.Option("--job", help="The job whose executions to share.")],
    epsilon: Annotated[
        float | None, typer.Option("--epsilon", help="Privacy budget of this release (> 0).")
    ] = None,
    rows: Annotated[int, typer.Option("--rows", help="Synthetic rows to generate.")] = 1000,
    out: Annotated[Path, typer.Option("--out", help="Directory to write the share to.")] = Path(
        "share"
    ),
    method: Annotated[str, typer.Option("--method", help="Synthesizer.")] = "",
    domain: Annotated[
        Path | None,
        typer.Option("--domain", help="JSON of public column domains (free of charge)."),
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Sampling seed.")] = None,
    no_dp: Annotated[
        bool, typer.Option("--no-dp", help="Release WITHOUT differential privacy (recorded).")
    ] = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Write a differentially private synthetic copy of a job's executions to share."""
    from jobcast.privacy import DEFAULT_METHOD, create_share, load_domain, write_share

    if not no_dp and epsilon is None:
        raise InputError("give --epsilon E (> 0), or --no-dp to release without privacy")
    if (out / "manifest.json").exists():
        raise InputError(f"{out} already holds a share; choose another --out directory")
    method = method or DEFAULT_METHOD
    with open_repo(db) as repo:
        spec, frame = release_frame(repo, job)
        if not no_dp and epsilon is not None:
            repo.check_budget(job, epsilon)
        declared = load_domain(domain) if domain is not None else schema_domain(spec, frame)
        pkg = create_share(
            frame,
            job=job,
            epsilon=None if no_dp else epsilon,
            rows=rows,
            method=method,
            domain=declared,
            seed=seed,
            no_dp=no_dp,
        )
        # the ledger entry and the files: if writing fails, the budget is still charged,
        # because the mechanism already ran on the private data
        repo.record_release(
            job,
            epsilon=None if no_dp else epsilon,
            method=method,
            rows=rows,
            no_dp=no_dp,
            destination=str(out.resolve()),
        )
        write_share(pkg, out)
        spent, total = repo.spent_epsilon(job), repo.privacy_budget(job)
    if as_json:
        emit_json(
            {
                "job": job,
                "out": str(out),
                "rows": rows,
                "method": method,
                "epsilon": pkg.epsilon,
                "budget_spent": spent,
                "budget": total,
            }
        )
        return
    if no_dp:
        console.print(f"[bold red]Wrote {rows} rows to {out} WITHOUT differential privacy.[/]")
    else:
        console.print(
            f"Wrote {rows} synthetic rows to {out} at ε = {epsilon:g} ({method}); the job has "
            f"now spent {spent:g} of its budget {total:g}."
        )


@import_app.command("share")
def import_share(
    directory: Annotated[Path, typer.Argument(help="A share package (manifest.json, rows.csv).")],
    job: Annotated[
        str | None, typer.Option("--job", help="Job to add the rows to (default: the share's).")
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add a collaborator's share as synthetic executions (provenance and ε recorded)."""
    from jobcast.privacy import read_share

    pkg = read_share(directory)
    name = job or pkg.job
    with open_repo(db) as repo:
        try:
            existing = repo.job(name)
        except UnknownJobError:
            existing = None
        table_ = share_table(pkg, name, existing, str(directory.resolve()))
        summary = repo.import_executions(table_)
    if as_json:
        emit_json(
            {
                "job": summary.job,
                "executions": summary.executions,
                "epsilon": pkg.epsilon,
                "differential_privacy": pkg.differential_privacy,
            }
        )
        return
    dp = f"ε = {pkg.epsilon:g}" if pkg.differential_privacy else "WITHOUT differential privacy"
    console.print(
        f"Imported {summary.executions} synthetic executions ({dp}) into {summary.job!r}."
    )


def _floats(text: str, option: str) -> list[float]:
    try:
        values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise InputError(f"{option} takes numbers like 0.1,1,10, got {text!r}") from None
    if not values or any(not v > 0 for v in values):
        raise InputError(f"{option} needs numbers > 0, got {text!r}")
    return values


@evaluate_app.command("privacy")
def evaluate_privacy_cmd(
    job: Annotated[
        list[str] | None,
        typer.Option("--job", help="c3o-paper job(s) (default: all five); repeatable."),
    ] = None,
    data_dir: Annotated[
        Path, typer.Option("--data-dir", help="Folder of the c3o-paper CSV files.")
    ] = Path("../shared/data/c3o-paper"),
    methods: Annotated[
        str, typer.Option(help="Comma-separated: perfmodel, privbayes, datasynthesizer, ...")
    ] = "perfmodel,privbayes,datasynthesizer",
    epsilons: Annotated[str, typer.Option(help="Privacy budgets.")] = "0.1,0.5,1,2,5,10",
    experiments: Annotated[
        str, typer.Option(help="Comma-separated: train_sizes, small, time, risk.")
    ] = "train_sizes,small,time,risk",
    sizes: Annotated[
        str, typer.Option(help="Synthetic training sizes of experiment 1.")
    ] = "100,200,...,1100",
    models: Annotated[str, typer.Option(help="Models trained on synthetic rows.")] = "gbm,ernest",
    repeats: Annotated[int, typer.Option(help="Random splits per setting.")] = 10,
    seed: Annotated[int, typer.Option("--seed", help="Base seed.")] = 0,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="PNG of utility against epsilon.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """The privacy paper's experiments side by side with DataSynthesizer (needs jobcast[bench]).

    Runs on the c3o-paper files with the public domains their experiments declare
    (scale-out grids, parameter grids, runtime range 10 s-4 h; see
    jobcast.evaluation.privacy).
    """
    from jobcast.evaluation.privacy import C3O_PAPER_JOBS, evaluate_privacy, plot_utility

    size_list = parse_int_list(sizes, option="--sizes") or []
    with progress_callback("privacy experiments", quiet=as_json) as callback:
        result = evaluate_privacy(
            job or C3O_PAPER_JOBS,
            methods=[m.strip() for m in methods.split(",") if m.strip()],
            epsilons=_floats(epsilons, "--epsilons"),
            models=[m.strip() for m in models.split(",") if m.strip()],
            experiments=[e.strip() for e in experiments.split(",") if e.strip()],
            sizes=size_list,
            repeats=repeats,
            data_dir=data_dir,
            seed=seed,
            callback=lambda stage, done, total: callback(done, total, stage),
        )
    if plot is not None:
        plot_utility(result, plot)
    summary = result.summary(model="gbm", rows=1000)
    if as_json:
        emit_json({"summary_gbm_1000_rows": summary, **result.to_dict()})
        return
    labels = sorted({e for v in summary.values() for e in v}, key=_eps_order)
    table(
        "Mean MAPE over jobs: gradient boosting on 1000 synthetic rows",
        ["method", *(f"ε={e}" if e != "no-dp" else "no DP" for e in labels)],
        [(m, *(f"{v[e]:.3f}" if e in v else "-" for e in labels)) for m, v in summary.items()],
    )
    if plot is not None:
        console.print(f"Plot written to {plot}")


def _eps_order(label: str) -> float:
    return float("inf") if label == "no-dp" else float(label)
