"""Commands that run the service: ``serve`` (API, dashboard, collector, hub)."""

from __future__ import annotations

from typing import Annotated

import typer

from jobcast.cli.common import (
    DbOption,
    IterationsOption,
    JsonOption,
    console,
    seconds_option,
)

__all__ = ["serve", "import_history_server", "import_remote"]


def serve(
    host: Annotated[
        str, typer.Option(help="Address to listen on (0.0.0.0 exposes it to the network).")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=1, max=65535, help="Port to listen on (1-65535).")
    ] = 8765,
    db: DbOption = None,
    anonymous_read: Annotated[
        bool,
        typer.Option(
            "--anonymous-read",
            help="Let requests without a token read (GET) the history, ETAs and pages; "
            "writes and POSTs always need a token.",
        ),
    ] = False,
    deadline: Annotated[
        list[str] | None,
        typer.Option(
            "--deadline",
            help="JOB=SECONDS: the runtime a job's executions should stay within; their "
            "deadline risk feeds /metrics and the webhook. Repeat per job.",
        ),
    ] = None,
    webhook: Annotated[
        str | None,
        typer.Option(
            help="URL POSTed (JSON) when a running execution's deadline risk "
            "reaches --risk-threshold."
        ),
    ] = None,
    risk_threshold: Annotated[float, typer.Option(help="Deadline risk that triggers it.")] = 0.5,
    source: Annotated[
        list[str] | None,
        typer.Option(
            "--source",
            help="Follow in the background: a Spark UI or History Server URL (http://...), "
            "or an event-log directory / object-store prefix (file://, s3://, ...). Repeat.",
        ),
    ] = None,
    source_job: Annotated[
        str | None,
        typer.Option(help="Job name for applications found in --source (default: app name)."),
    ] = None,
    watch_interval: Annotated[
        float,
        seconds_option(
            "Seconds between passes over running executions and sources.",
            "--watch-interval",
            example="5",
        ),
    ] = 5.0,
    model_workers: Annotated[
        int,
        typer.Option(
            min=0,
            help="Processes that fit progress models and answer predictions and "
            "configurations off the request path (0: one thread of the service instead).",
        ),
    ] = 2,
    log_format: Annotated[
        str, typer.Option(help="json (structured, one object per line) or text.")
    ] = "json",
    opentelemetry: Annotated[
        bool,
        typer.Option(
            "--opentelemetry",
            help="Send traces, metrics and logs of every request to the OpenTelemetry "
            "providers configured in this process (off: Prometheus /metrics and the "
            "access log only).",
        ),
    ] = False,
) -> None:
    """Run the service: API (/docs), dashboard (/), metrics, collector, sharing hub.

    The port is taken first: one in use ends the command at once with an error (exit
    status 2). "jobcast serving on ..." is printed once the service accepts connections.
    """
    import logging

    from jobcast.cli.common import missing_sqlite, parse_assignments, plain
    from jobcast.errors import InputError
    from jobcast.lean import resolve_url
    from jobcast.service import create_app, serving
    from jobcast.service.logs import configure_json_logging
    from jobcast.service.settings import ServiceSettings

    deadlines = parse_assignments(deadline, option="--deadline")
    if any(isinstance(v, str) for v in deadlines.values()):
        raise InputError("--deadline takes JOB=SECONDS with a number of seconds")
    if log_format not in ("json", "text"):
        raise InputError(f"--log-format is json or text, got {log_format!r}")
    settings = ServiceSettings(
        anonymous_read=anonymous_read,
        webhook_url=webhook,
        risk_threshold=risk_threshold,
        watch_interval_s=watch_interval,
        sources=tuple(source or ()),
        source_job=source_job,
        deadlines=tuple((k, float(v)) for k, v in deadlines.items()),
        model_workers=model_workers,
        opentelemetry=opentelemetry,
    )
    if log_format == "json":
        configure_json_logging()
    else:
        logging.getLogger().setLevel(logging.INFO)
    # the port first: one in use is an error at once, not after the model warm-up
    sock = serving.bind(host, port)
    new = missing_sqlite(resolve_url(db))
    if new is not None:
        # reading commands refuse a missing file; the service writes (collector, sources,
        # hub) and may start empty, but a mistyped --db must not pass unnoticed
        note = (
            f"no history database at {new}: creating a new, empty one there (no jobs, no "
            "tokens: `jobcast token create` with the same --db). If you meant an existing "
            "history, stop the service and check --db (or $JOBCAST_DB)"
        )
        logging.getLogger("jobcast.service").warning(note)  # in the service's log too
        console.print(f"[bold yellow]note:[/] {plain(note)}", highlight=False)
    try:
        app = create_app(db, settings=settings)
    except BaseException:
        sock.close()
        raise

    def announce() -> None:  # once the start-up (model warm-up) ran and the port listens
        console.print(
            f"jobcast serving on http://{host}:{port} (dashboard /, API docs /docs, /metrics)",
            highlight=False,
        )

    serving.run(app, sock, on_started=announce)


def import_history_server(
    url: Annotated[str, typer.Argument(help="The History Server, http://HOST:18080.")],
    since: Annotated[
        str | None,
        typer.Option(help="Only applications started at or after (ISO date or time, UTC)."),
    ] = None,
    app_name: Annotated[
        str | None, typer.Option(help="Regular expression the application's name must match.")
    ] = None,
    job: Annotated[
        str | None, typer.Option(help="Job name (default: each application's name).")
    ] = None,
    iterations: IterationsOption = "auto",
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import finished applications from a Spark History Server, each once.

    Each application's event log is read through the server, so every job is imported.
    Runs the target job holds already are skipped, running applications are left for a
    later import (listed), and all runs are one transaction: nothing is written when the
    server goes away.
    """
    from datetime import datetime

    from jobcast.app.service_ingest import import_history_server as run
    from jobcast.cli.common import open_repo
    from jobcast.errors import InputError

    try:
        start = None if since is None else datetime.fromisoformat(since)
    except ValueError:
        raise InputError(f"--since takes an ISO date or time, got {since!r}") from None
    with open_repo(db) as repo:
        done = run(repo, url, since=start, app_name=app_name, job=job, iterations=iterations)
    _report(done, as_json, f"applications of {url}")


def import_remote(
    url: Annotated[
        str,
        typer.Argument(help="Event log or prefix: s3://BUCKET/PREFIX, hdfs://..., file://..."),
    ],
    job: Annotated[
        str | None, typer.Option(help="Job name (default: each application's name).")
    ] = None,
    iterations: IterationsOption = "auto",
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import finished Spark event logs from any fsspec URL, each application once.

    All logs are copied and read first and written in one transaction; logs still being
    written (.inprogress) are left for a later import, and runs the target job holds
    already are skipped.

    Credentials and endpoints come from the usual places (for S3: AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL for S3-compatible stores).
    """
    from jobcast.app.service_ingest import import_remote_eventlogs
    from jobcast.cli.common import open_repo

    with open_repo(db) as repo:
        done = import_remote_eventlogs(repo, url, job=job, iterations=iterations)
    _report(done, as_json, f"event logs at {url}")


def _report(done: list[dict[str, object]], as_json: bool, title: str) -> None:
    from jobcast.cli.common import console, emit_json, table

    if as_json:
        emit_json({"imported": done})
        return
    if not done:
        console.print(f"No finished applications in {title}.", highlight=False)
        return
    table(
        title,
        ["execution", "job", "iterations", "recorded"],
        [
            [
                d["execution"],
                d["job"],
                d["iterations"],
                {"recorded": "yes", "completed": "completed (was running)"}.get(
                    str(d.get("status")), d.get("status")
                ),
            ]
            for d in done
        ],
    )
