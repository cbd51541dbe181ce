"""Commands that run servers: ``serve`` (API, collector)."""

from __future__ import annotations

from typing import Annotated

import typer

from jobcast.cli.common import DbOption, console

__all__ = ["register"]


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
    db: DbOption = None,
) -> None:
    """Run the HTTP API: the statistics collector running jobs report to, and the jobs list."""
    import uvicorn

    from jobcast.service import create_app

    app = create_app(db)
    console.print(f"jobcast serving on http://{host}:{port} (API docs at /docs)")
    uvicorn.run(app, host=host, port=port, log_level="warning")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main application."""
    app.command("serve")(serve)
