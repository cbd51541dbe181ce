"""The HTTP service (FastAPI), kept thin: validate, call the library, answer."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse

from jobcast import __version__
from jobcast.app.jobs import summarize
from jobcast.collect.protocol import (
    EXECUTIONS_PATH,
    HARDWARE_PATH,
    ITERATION_FINISH_PATH,
    ITERATION_START_PATH,
    ExecutionReport,
    HardwareReport,
    IterationFinish,
    IterationStart,
)
from jobcast.errors import InputError, JobcastError, UnknownJobError
from jobcast.history import HistoryRepository
from jobcast.service.collector import Collector

__all__ = ["create_app"]


def create_app(db_url: str | None = None) -> FastAPI:
    """Build the service on the history at ``db_url`` (see ``jobcast serve``)."""
    repo = HistoryRepository(db_url)
    collector = Collector(repo)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        repo.close()

    app = FastAPI(title="jobcast", version=__version__, lifespan=lifespan)
    app.state.repo = repo

    @app.exception_handler(JobcastError)
    async def _jobcast_error(_request: Request, exc: JobcastError) -> JSONResponse:
        status = (
            404 if isinstance(exc, UnknownJobError) else 422 if isinstance(exc, InputError) else 500
        )
        return JSONResponse(status_code=status, content={"detail": str(exc)})

    @app.get("/api/v1/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "version": __version__}

    @app.get("/api/v1/jobs")
    def jobs() -> dict[str, Any]:
        return {"jobs": summarize(repo.list_jobs())}

    @app.post(EXECUTIONS_PATH, status_code=201)
    def execution(report: ExecutionReport) -> dict[str, object]:
        return collector.execution(report)

    @app.post(ITERATION_START_PATH, status_code=201)
    def iteration_start(report: IterationStart) -> dict[str, object]:
        return collector.iteration_started(report)

    @app.post(ITERATION_FINISH_PATH, status_code=201)
    def iteration_finish(report: IterationFinish) -> dict[str, object]:
        return collector.iteration_finished(report)

    @app.post(HARDWARE_PATH, status_code=201)
    def hardware(report: HardwareReport) -> dict[str, object]:
        return collector.hardware(report)

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        rows = "".join(
            f"<tr><td>{html.escape(j.name)}</td><td>{j.total_executions}</td><td>{j.iterations}</td></tr>"
            for j in repo.list_jobs()
        )
        return (
            "<!doctype html><title>jobcast</title><h1>jobcast</h1>"
            "<table border=1><tr><th>job</th><th>executions</th><th>iterations</th></tr>"
            f"{rows}</table><p>API: <a href='/docs'>/docs</a></p>"
        )

    return app
