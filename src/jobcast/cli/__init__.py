"""The ``jobcast`` command line: parse, call the library, print. Nothing imports it."""

from __future__ import annotations

import logging
import sys

import typer

from jobcast import __version__
from jobcast.cli import (
    collect_cmds,
    history_cmds,
    model_cmds,
    privacy_cmds,
    progress_cmds,
    service_cmds,
)
from jobcast.cli.common import err_console
from jobcast.errors import InputError, JobcastError

__all__ = ["app", "main"]

app = typer.Typer(
    name="jobcast",
    help="Runtime prediction, progress estimation and private sharing of job metrics.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
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


history_cmds.register(app)
service_cmds.register(app)
model_cmds.register(app)
privacy_cmds.register(app)
collect_cmds.register(app)
progress_cmds.register(app)
app.add_typer(model_cmds.evaluate_app, name="evaluate")


def main() -> None:
    """Console-script entry point: runs the app, turning jobcast errors into clean messages."""
    try:
        app()
    except JobcastError as e:
        err_console.print(f"[bold red]error:[/] {e}", highlight=False, soft_wrap=True)
        sys.exit(2 if isinstance(e, InputError) else 1)
