"""The ``jobcast`` command line: parse, call :mod:`jobcast.app`, render. Nothing imports it."""

from __future__ import annotations

import logging
import sys

import typer

from jobcast.cli.lazy import LazyGroup
from jobcast.errors import InputError, JobcastError

__all__ = ["COMMANDS", "GROUPS", "app", "main"]

#: Every command: its name ("GROUP NAME" for a subcommand) and "module:function" in
#: ``jobcast.cli``. A module is imported only when one of its commands runs (or ``--help``
#: lists them), so no command pays for the libraries of another. Add a command with a line.
COMMANDS: tuple[tuple[str, str], ...] = (
    ("jobs", "history_cmds:jobs"),
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
    ("estimate", "progress_cmds:estimate"),
    ("watch", "progress_cmds:watch"),
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


class _Root(LazyGroup):
    table = COMMANDS
    groups = GROUPS


def _help_width() -> dict[str, int]:
    # outside a terminal (pipes, CI logs) help lines are not cut at 80 columns
    try:
        terminal = sys.stdout.isatty()
    except (AttributeError, ValueError):
        terminal = False
    return {} if terminal else {"terminal_width": 10_000, "max_content_width": 10_000}


app = typer.Typer(
    name="jobcast",
    cls=_Root,
    context_settings=_help_width(),
    help="Runtime prediction, progress estimation and private sharing of job metrics.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        from jobcast import __version__

        typer.echo(f"jobcast {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress details."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


def main() -> None:
    """Console-script entry point: runs the app, turning jobcast errors into clean messages."""
    try:
        app()
    except JobcastError as e:
        from jobcast.cli.common import print_error

        print_error(e)
        sys.exit(2 if isinstance(e, InputError) else 1)
