"""Commands that manage the service's bearer tokens: ``token create|list|revoke``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from jobcast.cli.common import DbOption, JsonOption, console, emit_json, open_repo, table

if TYPE_CHECKING:
    from jobcast.history import HistoryRepository

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
    """Create a token; it is shown once and stored only as its SHA-256.

    A token works only on a service using the same history database (--db, or
    $JOBCAST_DB). When that database is a SQLite file that does not exist yet, it is
    created (a first token before the first `jobcast serve` or import) and a note on
    standard error names it: a mistyped --db would otherwise give a token the service
    answers with 401.
    """
    from jobcast.cli.common import err_console, missing_sqlite, plain
    from jobcast.history.tokens import TokenStore
    from jobcast.lean import resolve_url

    new = missing_sqlite(resolve_url(db))
    with open_repo(db) as repo:
        issued = TokenStore(repo).create(
            scope, organization=org, create_jobs=create_jobs, note=note
        )
    info = issued.info
    if new is not None:
        err_console.print(
            f"[bold yellow]note:[/] no history database at {plain(new)}: created a new, "
            "empty one there for this token. The token works only on a service using "
            "this database (`jobcast serve` with the same --db). If you meant an existing "
            "history, delete this file and create the token again with the right --db (or "
            "$JOBCAST_DB)",
            highlight=False,
            soft_wrap=True,
        )
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
    """List tokens (never their secrets): id, scope, organization, created, revoked.

    A SQLite --db that does not exist is refused (nothing is created).
    """
    from jobcast.history.tokens import TokenStore

    with _existing_repo(db) as repo:
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
    """Revoke a token: requests with it get 401 from then on.

    A SQLite --db that does not exist is refused (nothing is created).
    """
    from jobcast.history.tokens import TokenStore

    with _existing_repo(db) as repo:
        info = TokenStore(repo).revoke(token_id)
    if as_json:
        emit_json({"id": info.id, "revoked_at": info.revoked_at})
        return
    console.print(f"token {info.id} ({info.scope}) revoked at {info.revoked_at:%Y-%m-%d %H:%M}")


def _existing_repo(db: str | None) -> HistoryRepository:
    """The history at ``db``; a SQLite file that does not exist is refused, not created."""
    from jobcast.cli.common import missing_sqlite
    from jobcast.errors import InputError
    from jobcast.lean import resolve_url

    path = missing_sqlite(resolve_url(db))
    if path is not None:
        raise InputError(
            f"no history database at {path}, so no tokens there; check --db (or "
            "$JOBCAST_DB): it must name the database `jobcast serve` uses"
        )
    return open_repo(db, existing=True)
