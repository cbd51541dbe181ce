"""Running the service: its listening socket, bound first, and uvicorn on that socket."""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable
from typing import Any

from jobcast.errors import InputError

__all__ = ["bind", "run"]


def bind(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` (not yet listening), or a clear error.

    Bound before the service is built: a port in use is reported at once, before the
    model warm-up and before anything says the service is serving.

    Raises
    ------
    InputError
        The port is in use, may not be bound (below 1024 without privileges), or
        ``host`` is not an address of this machine.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        raise InputError(f"--host {host!r} is not an address of this machine: {e}") from e
    family, kind, proto, _name, address = infos[0]
    sock = socket.socket(family, kind, proto)
    # as uvicorn and asyncio do: a port whose last connections are in TIME_WAIT is free
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as e:
        sock.close()
        if e.errno == errno.EADDRINUSE:
            raise InputError(
                f"port {port} on {host} is already in use by another process: choose "
                f"another one with --port N, or stop the process listening on {port}"
            ) from e
        if e.errno == errno.EACCES:
            raise InputError(
                f"port {port} on {host} may not be used by this user (ports below 1024 "
                "need privileges): choose another one with --port N"
            ) from e
        raise InputError(f"cannot listen on {host}:{port}: {e.strerror or e}; check --host") from e
    return sock


def run(app: Any, sock: socket.socket, *, on_started: Callable[[], None] | None = None) -> None:
    """Serve ``app`` with uvicorn on ``sock`` (from :func:`bind`) until stopped.

    ``on_started`` is called once the application's start-up has run and the socket
    accepts connections; never when the start-up fails.
    """
    import uvicorn

    class _Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            # not when a signal came during the start-up: the server stops at once
            if self.started and not self.should_exit and on_started is not None:
                on_started()

    # a SIGTERM stops the service within seconds even while a request waits on a long
    # fit: after 10 s its requests are cancelled and the workers stopped
    config = uvicorn.Config(app, log_level="info", log_config=None, timeout_graceful_shutdown=10)
    host, port = sock.getsockname()[:2]
    config.host, config.port = host, port  # for uvicorn's own messages
    try:
        _Server(config).run(sockets=[sock])
    finally:
        sock.close()
