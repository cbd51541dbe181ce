"""Shared pieces of the HTTP load benchmarks: a fresh database, a server subprocess, a small client.

The load generators share the machine with the server they measure, so the client is a
minimal asyncio HTTP/1.1 client over one keep-alive connection (no httpx per request);
it reads the status line, the headers and exactly ``Content-Length`` bytes of body.

Used by ``bench_collector_load.py`` and ``bench_service_load.py`` (import it as
``from _http_load import ...``: a benchmark run as a script has ``benchmarks/`` on its path).

Interface (kept stable for both benchmarks)::

    free_port() -> int
    database(backend, prefix) -> context manager yielding a SQLAlchemy URL
    server(argv, port, *, timeout=60.0, stdout=None) -> context manager yielding the Popen
    stop(proc, *, grace=30.0)         (a server and what it started)
    connect(port) -> async context manager yielding a Connection
    Connection.request(method, path, *, token="", body=b"") -> int   (the HTTP status)
    percentile(values, q) -> float    (same unit as values; q in [0, 1])
    PG_ADMIN                          (admin URL of the PostgreSQL server)
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import IO

PG_ADMIN = os.environ.get(
    "JOBCAST_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def database(backend: str, prefix: str) -> Iterator[str]:
    """A fresh, empty history database; yields its URL and removes it afterwards.

    ``backend`` is ``"sqlite"`` (a file in a temporary directory) or ``"postgres"`` (a new
    database named ``<prefix>_<random>`` on the server of ``JOBCAST_TEST_PG_URL``, dropped
    with ``FORCE`` at the end).
    """
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix=f"{prefix}-") as d:
            yield f"sqlite:///{d}/history.db"
        return
    if backend != "postgres":
        raise SystemExit(f"unknown backend {backend!r}: use sqlite or postgres")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}".replace("-", "_")
    _admin(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}"
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _admin(statement: str) -> None:
    """Run one statement on the PostgreSQL server's admin database (outside a transaction)."""
    import psycopg

    admin = PG_ADMIN.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(statement)


def wait_for_port(port: int, proc: subprocess.Popen[bytes], *, timeout: float = 60.0) -> None:
    """Wait until 127.0.0.1:``port`` accepts connections; exit if ``proc`` dies or times out."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(
                    f"the server exited with code {proc.returncode} before listening"
                ) from None
            if time.monotonic() > deadline:
                raise SystemExit(
                    f"the server did not listen on port {port} in {timeout:.0f} s"
                ) from None
            time.sleep(0.1)


@contextmanager
def server(
    argv: Sequence[str],
    port: int,
    *,
    timeout: float = 60.0,
    stdout: IO[bytes] | int | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``argv`` (a server listening on ``port``), wait for it, stop it at the end.

    The server runs in a session of its own: what it started (worker or fork-server
    processes) is stopped with it, never left holding the benchmark's output open.
    """
    proc = subprocess.Popen(list(argv), stdout=stdout, start_new_session=True)
    try:
        wait_for_port(port, proc, timeout=timeout)
        yield proc
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[bytes], *, grace: float = 30.0) -> None:
    """Stop ``proc`` (SIGTERM, SIGKILL after ``grace`` seconds), then the rest of its session."""
    for signal_it, wait in ((proc.terminate, grace), (proc.kill, None)):
        signal_it()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=wait)
            break
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)


class Connection:
    """One keep-alive HTTP/1.1 connection; one request at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def request(self, method: str, path: str, *, token: str = "", body: bytes = b"") -> int:
        """Send one request (JSON body, bearer ``token`` if given); returns the status."""
        auth = f"Authorization: Bearer {token}\r\n" if token else ""
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        self.writer.write(head + body)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError(f"the server closed the connection during {method} {path}")
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length:
            await self.reader.readexactly(length)
        return int(status_line.split()[1])


@asynccontextmanager
async def connect(port: int) -> AsyncIterator[Connection]:
    """Open one connection to 127.0.0.1:``port``; closed at the end."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        yield Connection(reader, writer)
    finally:
        writer.close()


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile of ``values`` (nearest rank, no interpolation)."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
