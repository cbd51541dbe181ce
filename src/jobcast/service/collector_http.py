"""The collector over HTTP: its FastAPI routes and the ASGI fast path that answers them first.

Both answer a report with :func:`respond` (read the body within :data:`MAX_BODY_BYTES`,
validate it with the report's pydantic model, store it through the collector's write
queue). The FastAPI routes give the OpenAPI documentation and answer when the fast path
is not installed; :class:`CollectorFastPath`, installed by the service in front of them,
answers the same POSTs without Starlette's route matching and FastAPI's dependency
injection, which took about half of a report's CPU on a loaded service. It runs the same
authentication dependency, the same ``create_jobs`` rule and the same exception handlers
of the app, so status codes, bodies and headers are those of the routes
(``tests/service/test_fastpath.py`` compares them).
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.params import Depends
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send

from jobcast.collect.protocol import (
    EXECUTIONS_PATH,
    HARDWARE_PATH,
    ITERATION_FINISH_PATH,
    ITERATION_START_PATH,
    MAX_BODY_BYTES,
    ExecutionReport,
    HardwareReport,
    IterationFinish,
    IterationStart,
)
from jobcast.errors import ConflictError, DatabaseError, InputError, UnknownJobError

if TYPE_CHECKING:
    from jobcast.service.collector import Collector

__all__ = [
    "Answer",
    "CollectorFastPath",
    "REPORT_MODELS",
    "collector_router",
    "install_collector",
    "respond",
]

#: An HTTP answer: status, JSON content, extra headers.
Answer = tuple[int, dict[str, Any], dict[str, str] | None]

#: Whether a report may create a job: fixed, or decided per request (its token).
CreateJobs = bool | Callable[[Request], bool]

#: The collector's endpoints: path and the model of the report it takes.
REPORT_MODELS: tuple[tuple[str, type[BaseModel]], ...] = (
    (EXECUTIONS_PATH, ExecutionReport),
    (ITERATION_START_PATH, IterationStart),
    (ITERATION_FINISH_PATH, IterationFinish),
    (HARDWARE_PATH, HardwareReport),
)

_TOO_BIG = (
    f"request body larger than MAX_BODY_BYTES={MAX_BODY_BYTES} bytes; send hardware samples "
    "in smaller batches and fewer params"
)


async def respond(
    collector: Collector,
    model: type[BaseModel],
    request: Request,
    create_jobs: CreateJobs,
) -> Answer:
    """Read, validate and store the report of an authenticated request; its answer.

    Parameters
    ----------
    collector
        Stores the report (its write queue).
    model
        The report's model (of :data:`REPORT_MODELS`).
    request
        The request; its body is read here, at most :data:`MAX_BODY_BYTES` of it.
    create_jobs
        Whether the report may create a job the history does not hold yet (a callable is
        asked once the report is valid).

    Raises
    ------
    ClientDisconnect
        When the client went away before its body arrived.
    """
    body = await _read_body(request.scope, request.receive)
    if body is None:
        return _error(413, _TOO_BIG)
    try:
        report = model.model_validate_json(body)
    except ValidationError as e:
        return _error(422, f"invalid {model.__name__}: {_describe(e)}")
    allowed = create_jobs(request) if callable(create_jobs) else create_jobs
    try:
        result = await collector.stored(report, create_jobs=allowed)  # type: ignore[arg-type]
    except ConflictError as e:
        return _error(409, str(e))
    except UnknownJobError as e:
        return _error(404, str(e))
    except InputError as e:
        return _error(422, str(e))
    except DatabaseError as e:
        return _error(503, str(e), headers={"Retry-After": "1"})
    return 201 if result.get("stored", True) else 200, result, None


def collector_router(
    collector: Collector, *, create_jobs: CreateJobs, dependencies: Sequence[Depends]
) -> APIRouter:
    """The collector's FastAPI routes (see :meth:`Collector.router`)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # FastAPI builds an included router's routes on the first request that walks
        # past them, inside the event loop (0.7 s for the service's routes): the first
        # burst of reports after a start would all wait for it. Building the OpenAPI
        # schema builds them all before the server accepts connections.
        collector.start()
        app.openapi()
        yield

    router = APIRouter(dependencies=list(dependencies), tags=["collector"], lifespan=lifespan)
    for path, model in REPORT_MODELS:
        router.add_api_route(
            path,
            _endpoint(collector, model, create_jobs),
            methods=["POST"],
            status_code=201,
            summary=(model.__doc__ or "").splitlines()[0],
            openapi_extra={
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": model.model_json_schema()}},
                }
            },
        )
    return router


def _endpoint(
    collector: Collector, model: type[BaseModel], create_jobs: CreateJobs
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        status, content, headers = await respond(collector, model, request, create_jobs)
        return JSONResponse(content, status_code=status, headers=headers)

    endpoint.__name__ = f"collect_{model.__name__}"
    return endpoint


def install_collector(
    app: FastAPI,
    collector: Collector,
    *,
    create_jobs: CreateJobs,
    guard: Callable[[Request], Awaitable[object]] | None = None,
) -> None:
    """Serve ``collector`` on ``app``: its routes, and the fast path in front of them.

    Both get the same ``create_jobs`` rule and the same ``guard`` (the authentication
    dependency), so either answers a report alike. The fast path is added as a
    middleware: one added after this call (the service's metrics) sees its requests.
    """
    dependencies = [] if guard is None else [Depends(guard)]
    router = collector.router(create_jobs=create_jobs, dependencies=dependencies)
    app.include_router(router)
    routes = [r for r in router.routes if isinstance(r, APIRoute)]
    app.add_middleware(
        CollectorFastPath, collector=collector, routes=routes, create_jobs=create_jobs, guard=guard
    )


class CollectorFastPath:
    """ASGI middleware: answers the collector's POSTs itself, passes everything else on.

    A request is taken when its method is POST and its path is exactly the path of one
    of ``routes`` (the collector's FastAPI routes, included in the app without a
    prefix); it is then answered as that route would: ``guard`` (the routes'
    authentication dependency) runs first and what it raises goes to the app's
    exception handlers, then :func:`respond`. ``scope["route"]`` is set to the route,
    as FastAPI sets it, so the service's metrics and access records name it as before.
    Everything else, and every request of an app mounted under a ``root_path``, goes to
    the app unchanged. :func:`install_collector` sets up both.

    Parameters
    ----------
    app
        The application behind (FastAPI's middleware stack).
    collector
        The collector the routes store into.
    routes
        The routes of :meth:`Collector.router` the app serves.
    create_jobs
        As given to :meth:`Collector.router`.
    guard
        The dependency given to :meth:`Collector.router`; None when it has none.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        collector: Collector,
        routes: Sequence[APIRoute],
        create_jobs: CreateJobs = False,
        guard: Callable[[Request], Awaitable[object]] | None = None,
    ) -> None:
        self.app = app
        self.collector = collector
        self.create_jobs = create_jobs
        self.guard = guard
        models = dict(REPORT_MODELS)
        self.routes = {
            r.path: (r, models[r.path])
            for r in routes
            if r.path in models and "POST" in (r.methods or ())
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a collector report, or pass the request on to the app."""
        found = None
        if scope["type"] == "http" and scope["method"] == "POST" and not scope.get("root_path"):
            found = self.routes.get(scope["path"])
        if found is None:
            await self.app(scope, receive, send)
            return
        route, model = found
        scope["route"] = route
        scope["endpoint"] = route.endpoint
        scope["path_params"] = {}
        request = Request(scope, receive)
        try:
            if self.guard is not None:
                await self.guard(request)
            status, content, headers = await respond(
                self.collector, model, request, self.create_jobs
            )
            response: Response = JSONResponse(content, status_code=status, headers=headers)
        except ClientDisconnect:
            return  # nobody to answer; nothing was queued
        except Exception as exc:
            response = await _handled(scope, request, exc)
        await response(scope, receive, send)


async def _handled(scope: Scope, request: Request, exc: Exception) -> Response:
    """The answer of the app's exception handler for ``exc`` (as Starlette chooses it)."""
    handlers: dict[Any, Any] = getattr(scope.get("app"), "exception_handlers", {})
    handler = None
    if isinstance(exc, HTTPException):
        handler = handlers.get(exc.status_code)
    if handler is None:
        handler = next((handlers[c] for c in type(exc).__mro__ if c in handlers), None)
    if handler is None:
        raise exc
    if inspect.iscoroutinefunction(handler):
        response: Response = await handler(request, exc)
    else:
        response = await run_in_threadpool(handler, request, exc)
    return response


def _error(status: int, detail: str, *, headers: dict[str, str] | None = None) -> Answer:
    return status, {"detail": detail}, headers


async def _read_body(scope: Scope, receive: Receive) -> bytes | None:
    """The request body; None once it exceeds :data:`MAX_BODY_BYTES` (413)."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            if value.isdigit() and int(value) > MAX_BODY_BYTES:
                return None
            break
    chunks = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _describe(e: ValidationError) -> str:
    parts = []
    for err in e.errors(include_url=False, include_input=False)[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "body"
        parts.append(f"{where}: {err['msg']}")
    more = e.error_count() - len(parts)
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")
