"""Collector load: 100 concurrent clients reporting runs to a real uvicorn server on loopback.

Each client reports one execution the way ``CollectorClient`` does: its start, then
``--iterations`` iterations (a start and a finish each), one batch of hardware samples and
the finish: ``2 * iterations + 3`` requests, one at a time over one keep-alive connection.
The server runs in a subprocess (``uvicorn``, 127.0.0.1 only) on a fresh SQLite file or a
fresh PostgreSQL database; the clients are a small asyncio HTTP/1.1 client so that the load
generator takes little of the CPU it shares with the server.

Printed per backend: requests/s over the whole run, p50 and p99 latency, and the number of
answers that were not 2xx (every one of them is a lost report); afterwards the history is
checked to hold every execution and iteration.

Targets (issue 13): >= 500 requests/s; p99 <= 250 ms on PostgreSQL, <= 500 ms on SQLite.

Usage::

    .venv/bin/python benchmarks/bench_collector_load.py [--backend sqlite|postgres|both]
        [--clients 100] [--iterations 19] [--app service|collector] [--timeout 300]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

PG_ADMIN = os.environ.get(
    "JOBCAST_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(url: str, port: int, app_kind: str, token_file: str) -> None:
    """Run in the server subprocess: build the app on ``url`` and serve it on loopback."""
    import logging

    import uvicorn
    from fastapi import FastAPI

    logging.basicConfig(level=logging.WARNING)
    if app_kind == "service":
        from jobcast.history import HistoryRepository
        from jobcast.history.tokens import TokenStore
        from jobcast.service import create_app

        with HistoryRepository(url) as repo:
            issued = TokenStore(repo).create("collect", create_jobs=True, note="load benchmark")
        Path(token_file).write_text(issued.token)
        app = create_app(url)
    else:
        from jobcast.history import HistoryRepository
        from jobcast.service.collector import Collector

        repo = HistoryRepository(url)
        app = FastAPI()
        app.include_router(Collector(repo).router(create_jobs=True))
        Path(token_file).write_text("")
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


async def _post(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes, body: bytes
) -> int:
    writer.write(head % len(body) + body)
    status_line = await reader.readline()
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return int(status_line.split()[1])


def _reports(k: int, iterations: int) -> list[tuple[str, dict[str, object]]]:
    ex = f"app-{k:04d}"
    start = {
        "execution": ex,
        "job": "load",
        "started_at": T0.isoformat(),
        "scale_out": 4,
        "input_size": 100.0 + k,
        "params": {"damping": 0.85},
    }
    out: list[tuple[str, dict[str, object]]] = [("/api/v1/collector/executions", start)]
    for i in range(iterations):
        s = T0 + timedelta(seconds=2 * i + 1)
        out.append(
            (
                "/api/v1/collector/iterations/start",
                {"execution": ex, "iteration": i, "started_at": s.isoformat(), "scale_out": 4},
            )
        )
        out.append(
            (
                "/api/v1/collector/iterations/finish",
                {
                    "execution": ex,
                    "iteration": i,
                    "finished_at": (s + timedelta(seconds=1)).isoformat(),
                    "records": 1000 - i,
                },
            )
        )
    samples = [
        {
            "timestamp": (T0 + timedelta(seconds=j + 1)).isoformat(),
            "cpu": 50.0,
            "disk_read": 1.0,
            "disk_write": 2.0,
            "net_rx": 3.0,
            "net_tx": 4.0,
        }
        for j in range(10)
    ]
    out.append(
        ("/api/v1/collector/hardware", {"node": f"n{k}", "execution": ex, "samples": samples})
    )
    end = T0 + timedelta(seconds=2 * iterations + 5)
    out.append(("/api/v1/collector/executions", {**start, "finished_at": end.isoformat()}))
    return out


async def _client(
    port: int, k: int, iterations: int, token: str, latencies: list[float], bad: list[str]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    auth = f"Authorization: Bearer {token}\r\n".encode() if token else b""
    try:
        for path, report in _reports(k, iterations):
            head = (
                (
                    f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    "Content-Type: application/json\r\nContent-Length: %d\r\n"
                ).encode()
                + auth
                + b"\r\n"
            )
            body = json.dumps(report).encode()
            t = time.perf_counter()
            status = await _post(reader, writer, head, body)
            latencies.append(time.perf_counter() - t)
            if not 200 <= status < 300:
                bad.append(f"{status} {path}")
    finally:
        writer.close()


async def _load(
    port: int, clients: int, iterations: int, token: str
) -> tuple[float, list[float], list[str]]:
    latencies: list[float] = []
    bad: list[str] = []
    t = time.perf_counter()
    await asyncio.gather(
        *(_client(port, k, iterations, token, latencies, bad) for k in range(clients))
    )
    return time.perf_counter() - t, latencies, bad


@contextmanager
def _database(backend: str) -> Iterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="jobcast-load-") as d:
            yield f"sqlite:///{d}/history.db"
        return
    import psycopg

    admin = PG_ADMIN.replace("postgresql+psycopg", "postgresql")
    name = f"jobcast_load_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(
    backend: str, clients: int, iterations: int, app_kind: str, timeout: float
) -> dict[str, object]:
    """Load one backend; returns the figures."""
    with _database(backend) as url, tempfile.NamedTemporaryFile(suffix=".token") as tok:
        port = _free_port()
        proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", url, str(port), app_kind, tok.name],
            stdout=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise SystemExit(f"the {backend} server did not start") from None
                    time.sleep(0.1)
            token = Path(tok.name).read_text()
            seconds, latencies, bad = asyncio.run(
                asyncio.wait_for(_load(port, clients, iterations, token), timeout)
            )
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        from jobcast.history import HistoryRepository

        with HistoryRepository(url) as repo:
            stored = len(repo.executions("load"))
            stored_it = len(repo.iterations("load"))
    return {
        "backend": backend,
        "app": app_kind,
        "clients": clients,
        "requests": len(latencies),
        "seconds": round(seconds, 2),
        "requests_per_s": round(len(latencies) / seconds, 1),
        "p50_ms": round(1000 * _percentile(latencies, 0.50), 1),
        "p99_ms": round(1000 * _percentile(latencies, 0.99), 1),
        "not_2xx": len(bad),
        "executions_stored": stored,
        "iterations_stored": stored_it,
        "complete": stored == clients and stored_it == clients * iterations,
    }


def main() -> None:
    """Parse arguments and print one line of figures per backend."""
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5])
        return
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    p.add_argument("--clients", type=int, default=100)
    p.add_argument("--iterations", type=int, default=19)
    p.add_argument("--app", choices=["service", "collector"], default="service")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds per backend")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    for backend in backends:
        r = run(backend, args.clients, args.iterations, args.app, args.timeout)
        target = 250.0 if backend == "postgres" else 500.0
        if args.json:
            print(json.dumps(r))
            continue
        ok = r["requests_per_s"] >= 500 and r["p99_ms"] <= target and r["complete"]  # type: ignore[operator]
        print(
            f"{backend:8s} {r['app']}: {r['requests']} requests from {r['clients']} clients in "
            f"{r['seconds']} s = {r['requests_per_s']} req/s, p50 {r['p50_ms']} ms, "
            f"p99 {r['p99_ms']} ms (target >= 500 req/s, p99 <= {target:.0f} ms), "
            f"not 2xx: {r['not_2xx']}, stored {r['executions_stored']} executions / "
            f"{r['iterations_stored']} iterations: {'MET' if ok else 'NOT MET'}"
        )


if __name__ == "__main__":
    main()
