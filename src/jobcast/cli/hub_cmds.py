"""Commands that talk to a sharing hub: ``hub publish``, ``hub list``, ``hub pull``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from jobcast.cli.common import (
    DbOption,
    JsonOption,
    console,
    emit_json,
    err_console,
    open_repo,
    table,
)

__all__ = ["publish", "list_hub", "pull"]

UrlOption = Annotated[str, typer.Option("--url", help="The hub: http(s)://HOST:PORT.")]
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token", help="Your organization's token (default $JOBCAST_TOKEN).", show_default=False
    ),
]


def _token(token: str | None) -> str:
    from jobcast.errors import InputError

    chosen = token or os.environ.get("JOBCAST_TOKEN")
    if not chosen:
        raise InputError("give --token TOKEN (or set $JOBCAST_TOKEN); see `jobcast token create`")
    return chosen


def publish(
    directory: Annotated[Path, typer.Argument(help="A share package (manifest.json, rows.csv).")],
    url: UrlOption,
    token: TokenOption = None,
    org: Annotated[
        str | None, typer.Option("--org", help="Your organization (checked by the hub).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Publish a DP share package to a hub in your organization's name (each package once)."""
    from jobcast.app.hub import publish_dir

    secret = _token(token)
    rec = publish_dir(directory, url=url, token=secret, organization=org)
    if as_json:
        emit_json(rec)
        return
    if rec.get("already_published"):
        console.print(
            f"the hub holds this package already: share {rec['id']} of {rec['job']}, "
            f"published {rec['published_at']} for {rec['organization']}; nothing was stored "
            "again",
            highlight=False,
        )
        return
    console.print(
        f"published share {rec['id']} of {rec['job']} ({rec['rows']} rows, ε = "
        f"{rec['epsilon']:g}) for {rec['organization']}",
        highlight=False,
    )


def list_hub(
    url: UrlOption,
    job: Annotated[str | None, typer.Option(help="Only shares of this job.")] = None,
    attribute: Annotated[
        list[str] | None, typer.Option("--attribute", help="Shares holding this column.")
    ] = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """List the shares a hub holds."""
    from jobcast.app.hub import list_remote

    secret = _token(token)
    shares = list_remote(url=url, token=secret, job=job, attributes=attribute or ())
    if not shares and not as_json:
        of = "" if job is None else f" of job {job!r}"
        console.print(f"The hub at {url} has no shares{of}{_holding(attribute)}.", highlight=False)
        return
    _show_shares(shares, as_json=as_json, title=f"shares at {url}", with_job=True)


def pull(
    job: Annotated[str, typer.Option(help="Pull the shares of this job.")],
    url: UrlOption,
    token: TokenOption = None,
    attribute: Annotated[
        list[str] | None, typer.Option("--attribute", help="Only shares holding this column.")
    ] = None,
    into: Annotated[
        str | None, typer.Option("--into", help="Local job to add the rows to (default: same).")
    ] = None,
    take_over: Annotated[
        bool,
        typer.Option(
            "--take-over",
            help="Take over claims that interrupted imports of these shares left behind "
            "(only when no other import of them is running).",
        ),
    ] = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import a hub's shares of a job into the history (provenance kept, each share once)."""
    from jobcast.app.hub import check_hub_url, pooled_with_own
    from jobcast.app.hub import pull as run

    secret = _token(token)
    check_hub_url(url)  # before a database is opened (or created) for nothing
    with open_repo(db) as repo:
        done = run(
            repo,
            url=url,
            token=secret,
            job=job,
            attributes=attribute or (),
            into_job=into,
            take_over=take_over,
        )
        pooled = pooled_with_own(repo, into or job, done)
    if pooled is not None:
        err_console.print(f"note: {pooled}", highlight=False)
    if not done and not as_json:  # the hub has shares of the job (else an error), not these
        console.print(
            f"None of the hub's shares of job {job!r} holds column(s) "
            f"{', '.join(attribute or ())}; nothing was pulled.",
            highlight=False,
        )
        return
    _show_shares(done, as_json=as_json, title=f"shares of {job} pulled from {url}", pulled=True)
    if not as_json:
        for share in done:
            if share.get("skipped") == "importing":  # the reason names --take-over
                err_console.print(f"note: share {share['id']}: {share['reason']}", highlight=False)


def _holding(attributes: list[str] | None) -> str:
    """`` holding column(s) a, b`` of ``--attribute a --attribute b`` (nothing without)."""
    return f" holding column(s) {', '.join(attributes)}" if attributes else ""


#: What the table says of a pulled share that was not imported, by why.
_SKIPPED = {
    "imported": "already there",
    "importing": "being imported (see the note)",
    "released": "released here",
}


def _show_shares(
    shares: list[dict[str, Any]],
    *,
    as_json: bool,
    title: str,
    with_job: bool = False,
    pulled: bool = False,
) -> None:
    """Print shares as ``{"shares": [...]}`` or a table (pulled ones: what was imported)."""
    if as_json:
        emit_json({"shares": shares})
        return
    rows = []
    for s in shares:
        row = [s["id"], s["organization"], s["epsilon"], s["rows"], s["published_at"]]
        if with_job:
            row.insert(2, s["job"])
        if pulled:
            row.append(_SKIPPED.get(s["skipped"], s["imported"]))
        rows.append(row)
    header = ["id", "organization", "ε", "rows", "published"]
    if with_job:
        header.insert(2, "job")
    table(title, [*header, *(["imported"] if pulled else [])], rows)
