"""Commands of privacy-preserving sharing: ``budget`` (the ledger)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from jobcast.cli.common import DbOption, JsonOption, console, emit_json, open_repo, table
from jobcast.cli.history_cmds import import_app
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
