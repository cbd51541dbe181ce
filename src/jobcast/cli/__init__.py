"""The ``jobcast`` command line: parse, call :mod:`jobcast.app`, render. Nothing imports it.

The typer application (``app``) is built on first use; ``main`` answers ``jobcast jobs``
from an up-to-date history without typer or SQLAlchemy (:func:`jobcast.app.jobs.quick_list_jobs`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from jobcast.errors import InputError, JobcastError

if TYPE_CHECKING:
    import typer

    app: typer.Typer

__all__ = ["COMMANDS", "GROUPS", "app", "main"]

#: Every command: its name ("GROUP NAME" for a subcommand) and "module:function" in
#: ``jobcast.cli``. A module is imported only when one of its commands runs (or ``--help``
#: lists them), so no command pays for the libraries of another. Add a command with a line.
COMMANDS: tuple[tuple[str, str], ...] = (
    ("jobs", "history_cmds:jobs"),
    ("runs", "history_cmds:runs"),
    ("import c3o", "history_cmds:import_c3o"),
    ("import csv", "history_cmds:import_csv"),
    ("import traces", "history_cmds:import_traces"),
    ("import eventlog", "collect_cmds:import_eventlog"),
    ("import dool", "collect_cmds:import_dool"),
    ("import share", "privacy_cmds:import_share"),
    ("import history-server", "service_cmds:import_history_server"),
    ("import remote", "service_cmds:import_remote"),
    ("predict", "model_cmds:predict"),
    ("configure", "model_cmds:configure_cmd"),
    ("budget", "privacy_cmds:budget"),
    ("share", "privacy_cmds:share"),
    ("domain init", "privacy_cmds:domain_init"),
    ("estimate", "watch_cmds:estimate"),
    ("watch", "watch_cmds:watch"),
    ("train progress", "progress_cmds:train_progress"),
    ("evaluate models", "model_cmds:evaluate_models_cmd"),
    ("evaluate privacy", "privacy_cmds:evaluate_privacy_cmd"),
    ("evaluate progress", "progress_cmds:evaluate_progress_cmd"),
    ("evaluate similarity", "progress_cmds:evaluate_similarity_cmd"),
    ("agent", "collect_cmds:agent"),
    ("workloads run", "collect_cmds:workloads_run"),
    ("serve", "service_cmds:serve"),
    ("token create", "token_cmds:create"),
    ("token list", "token_cmds:list_tokens"),
    ("token revoke", "token_cmds:revoke"),
    ("hub publish", "hub_cmds:publish"),
    ("hub list", "hub_cmds:list_hub"),
    ("hub pull", "hub_cmds:pull"),
)

#: Help of every command group.
GROUPS: dict[str, str] = {
    "import": "Import executions into the history (each import is one transaction).",
    "domain": "Domain files of the public facts a share may use (`share --domain`).",
    "train": "Train models whose parameters are stored in the history.",
    "evaluate": "Accuracy evaluations (the papers' protocols).",
    "workloads": "Real iterative PySpark jobs run locally (needs jobcast[spark]).",
    "token": "Bearer tokens of the service (jobcast serve).",
    "hub": "Publish shares to, list and pull them from a sharing hub.",
}


def __getattr__(name: str) -> Any:
    # the typer app is built on first use: importing typer costs more than `jobcast jobs`
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from jobcast.cli.lazy import build_app

    value = build_app(
        COMMANDS,
        GROUPS,
        help="Runtime prediction, progress estimation and private sharing of job metrics.",
    )
    globals()["app"] = value
    return value


def _quick_jobs(argv: Sequence[str]) -> bool:
    """Run ``jobs [--db URL] [--json]`` on the lean read path; False to leave it to typer.

    Any other argument (``--help``, ``-v``, a typo) and any history the lean path cannot
    read as it is (absent, to be migrated, foreign, unreachable) go through the full
    command, which prints the same output or the error.
    """
    if not argv or argv[0] != "jobs":
        return False
    db: str | None = None
    as_json = False
    rest = list(argv[1:])
    while rest:
        word = rest.pop(0)
        if word == "--json":
            as_json = True
        elif word == "--db" and rest:
            db = rest.pop(0)
        elif word.startswith("--db="):
            db = word.removeprefix("--db=")
        else:
            return False
    from jobcast.app.jobs import quick_list_jobs

    listing = quick_list_jobs(db)
    if listing is None:
        return False
    from jobcast.cli.common import show_jobs

    show_jobs(listing, as_json=as_json)
    return True


def main() -> None:
    """Console-script entry point: runs the app, turning jobcast errors into clean messages."""
    try:
        if not _quick_jobs(sys.argv[1:]):
            __getattr__("app")()
    except JobcastError as e:
        from jobcast.cli.common import print_error

        print_error(e)
        sys.exit(2 if isinstance(e, InputError) else 1)
