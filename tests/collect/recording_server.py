"""A real HTTP collector for tests: FastAPI + uvicorn in a thread, recording what it receives.

It implements the collector paths of :mod:`jobcast.collect.protocol` the simplest way
(append to lists), so client, agent and workloads are tested over real HTTP.
:func:`running_server` serves any app this way (the service tests use it too).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from jobcast.collect import protocol

#: The collector's paths: what each report is recorded as and its model.
ROUTES: dict[str, tuple[str, type[BaseModel]]] = {
    protocol.EXECUTIONS_PATH: ("executions", protocol.ExecutionReport),
    protocol.ITERATION_START_PATH: ("starts", protocol.IterationStart),
    protocol.ITERATION_FINISH_PATH: ("finishes", protocol.IterationFinish),
    protocol.HARDWARE_PATH: ("hardware", protocol.HardwareReport),
}


def make_app(store: dict[str, list[Any]]) -> FastAPI:
    app = FastAPI()
    lock = threading.Lock()

    def recorder(kind: str, model: type[BaseModel]) -> Callable[[Request], Any]:
        async def record(request: Request) -> JSONResponse:
            try:
                report = model.model_validate_json(await request.body())
            except ValidationError as e:
                return JSONResponse({"detail": str(e)}, status_code=422)
            with lock:
                store.setdefault(kind, []).append(report.model_dump(mode="json"))
            return JSONResponse({"ok": True})

        return record

    for path, (kind, model) in ROUTES.items():
        app.add_api_route(path, recorder(kind, model), methods=["POST"])
    return app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_server(app: FastAPI, port: int | None = None) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a loopback port (default: a free one); yields its URL.

    Ready when uvicorn says it started (the app's lifespan startup has run and the
    socket is bound); a server that dies or takes over 20 s raises RuntimeError.
    """
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"the test server on port {port} did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@contextmanager
def recording_server(port: int | None = None) -> Iterator[tuple[str, dict[str, list[Any]]]]:
    """Serve a recording collector; yields its URL and the store of received reports."""
    store: dict[str, list[Any]] = {}
    with running_server(make_app(store), port) as url:
        yield url, store
