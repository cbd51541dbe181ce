"""A real HTTP collector for tests: FastAPI + uvicorn in a thread, recording what it receives.

It implements the collector paths of :mod:`jobcast.collect.protocol` the simplest way
(append to lists), so client, agent and workloads are tested over real HTTP.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI

from jobcast.collect import protocol


def make_app(store: dict[str, list[Any]]) -> FastAPI:
    app = FastAPI()
    lock = threading.Lock()

    def keep(kind: str, report: Any) -> dict[str, bool]:
        with lock:
            store.setdefault(kind, []).append(report.model_dump(mode="json"))
        return {"ok": True}

    @app.post(protocol.EXECUTIONS_PATH)
    def executions(report: protocol.ExecutionReport) -> dict[str, bool]:
        return keep("executions", report)

    @app.post(protocol.ITERATION_START_PATH)
    def start(report: protocol.IterationStart) -> dict[str, bool]:
        return keep("starts", report)

    @app.post(protocol.ITERATION_FINISH_PATH)
    def finish(report: protocol.IterationFinish) -> dict[str, bool]:
        return keep("finishes", report)

    @app.post(protocol.HARDWARE_PATH)
    def hardware(report: protocol.HardwareReport) -> dict[str, bool]:
        return keep("hardware", report)

    return app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def recording_server(port: int | None = None) -> Iterator[tuple[str, dict[str, list[Any]]]]:
    """Serve a recording collector; yields its URL and the store of received reports."""
    store: dict[str, list[Any]] = {}
    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(make_app(store), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test collector did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", store
    finally:
        server.should_exit = True
        thread.join(timeout=10)
