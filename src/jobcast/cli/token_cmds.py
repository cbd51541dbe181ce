"""Commands that manage the service's bearer tokens: ``token create|list|revoke``."""

from __future__ import annotations

from typing import Annotated

import typer

from jobcast.cli.common import DbOption, JsonOption, console, emit_json, open_repo, table

__all__ = ["create", "list_tokens", "revoke"]


def create(
    scope: Annotated[str, typer.Option(help="read, collect or admin.")],
    org: Annotated[
        str | None,
        typer.Option("--org", help="Organization the token acts for on the sharing hub."),
    ] = None,
    create_jobs: Annotated[
        bool | None,
        typer.Option(
            "--create-jobs/--no-create-jobs",
            help="May collector reports create new jobs (default: admin only).",
            show_default=False,
        ),
    ] = None,
    note: Annotated[str | None, typer.Option(help="Free text shown by `token list`.")] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a token; it is shown once and stored only as its SHA-256."""
    from jobcast.history.tokens import TokenStore

    with open_repo(db) as repo:
        issued = TokenStore(repo).create(
            scope, organization=org, create_jobs=create_jobs, note=note
        )
    info = issued.info
    if as_json:
        emit_json(
            {
                "token": issued.token,
                "id": info.id,
                "scope": info.scope,
                "organization": info.organization,
                "create_jobs": info.create_jobs,
            }
        )
        return
    table(
        "new token (shown once: keep it now)",
        ["id", "scope", "organization", "create jobs", "token"],
        [[info.id, info.scope, info.organization or "", info.create_jobs, issued.token]],
    )


def list_tokens(db: DbOption = None, as_json: JsonOption = False) -> None:
    """List tokens (never their secrets): id, scope, organization, created, revoked."""
    from jobcast.history.tokens import TokenStore

    with open_repo(db) as repo:
        infos = TokenStore(repo).list()
    records = [
        {
            "id": i.id,
            "scope": i.scope,
            "organization": i.organization,
            "create_jobs": i.create_jobs,
            "note": i.note,
            "created_at": i.created_at,
            "revoked_at": i.revoked_at,
        }
        for i in infos
    ]
    if as_json:
        emit_json({"tokens": records})
        return
    table(
        "tokens",
        ["id", "scope", "organization", "create jobs", "note", "created", "revoked"],
        [list(r.values()) for r in records],
    )


def revoke(
    token_id: Annotated[int, typer.Argument(help="The token's id (see `token list`).")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Revoke a token: requests with it get 401 from then on."""
    from jobcast.history.tokens import TokenStore

    with open_repo(db) as repo:
        info = TokenStore(repo).revoke(token_id)
    if as_json:
        emit_json({"id": info.id, "revoked_at": info.revoked_at})
        return
    console.print(f"token {info.id} ({info.scope}) revoked at {info.revoked_at:%Y-%m-%d %H:%M}")
