"""Commands of privacy-preserving sharing: ``budget`` (the ledger)."""

from __future__ import annotations

from typing import Annotated

import typer

from jobcast.cli.common import DbOption, JsonOption, console, emit_json, open_repo, table

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
