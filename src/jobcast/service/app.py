"""The HTTP service (FastAPI), kept thin: validate, call the library, answer."""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.resources import files
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jobcast import __version__
from jobcast.app.service_ingest import SourceFollower
from jobcast.errors import (
    ConflictError,
    DatabaseError,
    InputError,
    JobcastError,
    ModelError,
    PrivacyError,
)
from jobcast.history import HistoryRepository
from jobcast.history.tokens import TokenInfo, TokenStore
from jobcast.service.api import api_router
from jobcast.service.auth import Authenticator
from jobcast.service.collector import Collector
from jobcast.service.collector_http import install_collector
from jobcast.service.hub import hub_router
from jobcast.service.limits import BodyLimit, validation_error
from jobcast.service.logs import ACCESS_LOGGER
from jobcast.service.metrics import CONTENT_TYPE, ServiceMetrics
from jobcast.service.models import ModelStore
from jobcast.service.pages import mount_static, pages_router
from jobcast.service.settings import ServiceSettings
from jobcast.service.watch import Watcher

__all__ = ["create_app"]

_access = logging.getLogger(ACCESS_LOGGER)


def _status_of(exc: JobcastError) -> int:
    # unknown jobs and executions (UnknownJobError, UnknownExecutionError) are lookups
    if isinstance(exc, LookupError):
        return 404
    if isinstance(exc, ConflictError):
        return 409
    if isinstance(exc, InputError | ModelError | PrivacyError):
        return 422
    if isinstance(exc, DatabaseError):
        return 503
    return 500


def _may_create_jobs(request: Request) -> bool:
    """Whether the request's token (set by the auth dependency) may create jobs."""
    token: TokenInfo | None = getattr(request.state, "token", None)
    return token is not None and token.create_jobs


def _telemetry(enabled: bool) -> dict[str, Any]:
    """FastAPI's native OpenTelemetry switched on or off (FastAPI releases that have it)."""
    if "telemetry" not in inspect.signature(FastAPI.__init__).parameters:
        return {}
    return {"telemetry": {"tracing": enabled, "metrics": enabled, "logs": enabled}}


def _docs_routes(app: FastAPI) -> None:
    """``/docs``: Swagger UI from the assets the ``fastapi-offline`` wheel ships (no CDN)."""
    static = files("fastapi_offline") / "static"
    app.mount("/static/docs", StaticFiles(directory=str(static)), name="docs-static")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="jobcast API",
            swagger_js_url="/static/docs/swagger-ui-bundle.js",
            swagger_css_url="/static/docs/swagger-ui.css",
            swagger_favicon_url="/static/docs/favicon.png",
        )


class _Observe:
    """ASGI middleware: counts and times every request, writes its access record."""

    def __init__(self, app: ASGIApp, *, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            seconds = time.perf_counter() - start
            route = getattr(scope.get("route"), "path", "unmatched")
            method = str(scope["method"])
            self.metrics.observe(method, route, status, seconds)
            if _access.isEnabledFor(logging.INFO):
                token = scope.get("state", {}).get("token")
                client = scope.get("client")
                _access.info(
                    "%s %s %d",
                    method,
                    scope["path"],
                    status,
                    extra={
                        "method": method,
                        "path": scope["path"],
                        "route": route,
                        "status": status,
                        "duration_ms": round(seconds * 1000, 2),
                        "token_id": None if token is None else token.id,
                        "client": None if client is None else client[0],
                    },
                )


def create_app(db_url: str | None = None, *, settings: ServiceSettings | None = None) -> FastAPI:
    """Build the service on the history at ``db_url`` (see ``jobcast serve``).

    Parameters
    ----------
    db_url
        The history database (default ``$JOBCAST_DB``, then the user's SQLite file).
    settings
        Tokens, anonymous reads, deadlines, webhook, sources; defaults: every request
        needs a token, no webhook, no sources.
    """
    settings = settings or ServiceSettings()
    repo = HistoryRepository(db_url)
    tokens = TokenStore(repo)
    auth = Authenticator(
        tokens, anonymous_read=settings.anonymous_read, require_tokens=settings.require_tokens
    )
    collector = Collector(repo)
    followers = tuple(
        SourceFollower(repo, source, job=settings.source_job) for source in settings.sources
    )
    models = ModelStore(repo, workers=settings.model_workers)
    watcher = Watcher(repo, settings, models, followers=followers)
    metrics = ServiceMetrics(watcher.snapshot)
    watcher.on_webhook = lambda outcome: metrics.webhooks.labels(outcome).inc()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        watcher.start()
        try:
            yield
        finally:
            watcher.stop()
            models.close()
            collector.close()
            repo.close()

    app = FastAPI(
        title="jobcast",
        version=__version__,
        description="Runtime prediction, live ETAs of running jobs, and a hub for "
        "differentially private shares. Writes need `Authorization: Bearer TOKEN`.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        **_telemetry(settings.opentelemetry),
    )
    app.state.repo = repo
    app.state.tokens = tokens
    app.state.auth = auth
    app.state.watcher = watcher
    app.state.models = models
    app.state.metrics = metrics
    app.state.settings = settings

    # the collector first: its reports are most requests. Its fast path answers them
    # before FastAPI's routing and dependency injection (half of a report's CPU); its
    # routes, matched first among the app's, answer alike and document them. Installed
    # before _Observe, which so still counts and logs every report
    install_collector(app, collector, create_jobs=_may_create_jobs, guard=auth.require("collect"))
    app.add_middleware(BodyLimit)
    app.add_middleware(_Observe, metrics=metrics)
    app.add_exception_handler(RequestValidationError, validation_error)

    @app.exception_handler(JobcastError)
    async def _jobcast_error(_request: Request, exc: JobcastError) -> JSONResponse:
        return JSONResponse(status_code=_status_of(exc), content={"detail": str(exc)})

    may_read = auth.require("read")

    @app.get("/api/v1/health", tags=["service"])
    async def health(request: Request) -> dict[str, Any]:
        """Liveness and readiness: always open, no token needed.

        ``ready`` turns true once the progress models of every job with finished
        executions were fitted at start-up (or failed to, for lack of data). Readers
        (a valid ``read`` token, or anyone with ``--anonymous-read``) also get the
        ``version`` and, in ``progress_models``, each job's state (``fitting``,
        ``ready``, ``refitting`` while the previous model answers, ``not enough data``
        for a job without finished iterations, ``failed``): job names are the history's.
        """
        status = models.status()
        out: dict[str, Any] = {"status": "ok", "ready": status["ready"]}
        try:
            await may_read(request)
        except HTTPException:  # no, a wrong or an organization's token: the status only
            return out
        return {**out, "version": __version__, "progress_models": status["progress_models"]}

    @app.get("/metrics", tags=["service"], dependencies=[Depends(auth.require("read"))])
    def prometheus() -> Response:
        """Prometheus text format: requests, collector submissions, running executions."""
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    app.include_router(api_router(repo, auth, settings, watcher, models))
    app.include_router(hub_router(repo, auth))
    _docs_routes(app)
    mount_static(app)
    app.include_router(pages_router(repo, auth, settings, watcher))
    return app
