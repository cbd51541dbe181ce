"""``jobcast serve`` as a process: a port in use, when it says it serves, a SIGTERM early."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from jobcast.history import HistoryRepository
from tests.collect.recording_server import free_port
from tests.service.conftest import iterative_history

JOBCAST = str(Path(sys.executable).with_name("jobcast"))


@pytest.fixture
def history(tmp_path: Path) -> str:
    """A history with two jobs of finished iterative runs: the service warms their models."""
    url = f"sqlite:///{tmp_path / 'h.db'}"
    with HistoryRepository(url) as repo:
        iterative_history(repo, job="loop")
        iterative_history(repo, job="other")
    return url


class _Serve:
    """``jobcast serve`` in its own process group; its output read line by line."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [JOBCAST, "serve", "--log-format", "text", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.out: list[str] = []
        self.err: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, args=(s, lines), daemon=True)
            for s, lines in ((self.proc.stdout, self.out), (self.proc.stderr, self.err))
        ]
        for r in self._readers:
            r.start()

    @staticmethod
    def _read(stream: object, lines: list[str]) -> None:
        for line in stream:  # type: ignore[attr-defined]
            lines.append(line)

    def wait_for(self, text: str, lines: list[str], timeout: float = 60) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in list(lines)):
                return True
            if self.proc.poll() is not None:
                time.sleep(0.2)  # the readers' last lines
                return any(text in line for line in list(lines))
            time.sleep(0.005)
        return False

    def finish(self, timeout: float = 60) -> int:
        try:
            code = self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        for r in self._readers:
            r.join(timeout=5)
        return code


@pytest.fixture
def serve() -> Iterator[list[_Serve]]:
    started: list[_Serve] = []
    yield started
    for s in started:
        if s.proc.poll() is None:
            os.killpg(s.proc.pid, signal.SIGKILL)
            s.proc.wait()


def test_a_port_in_use_is_an_error_at_once(
    serve: list[_Serve], history: str, tmp_path: Path
) -> None:
    """Was: "serving on" printed, one uvicorn log line, exit status 3 after the warm-up."""
    port = free_port()
    with socket.socket() as other:
        other.bind(("127.0.0.1", port))
        other.listen()
        new = tmp_path / "new.db"
        s = _Serve("--port", str(port), "--db", f"sqlite:///{new}")
        serve.append(s)
        started = time.monotonic()
        code = s.finish()
    assert code == 2, "".join(s.out + s.err)
    assert time.monotonic() - started < 30
    err = " ".join("".join(s.err).split())
    assert f"error: port {port} on 127.0.0.1 is already in use" in err
    assert "--port N" in err and "stop the process" in err
    assert "Traceback" not in err
    assert not any("serving on" in line for line in s.out)
    assert not new.exists()  # refused before anything was created


def test_serving_on_is_printed_once_the_port_accepts_connections(
    serve: list[_Serve], history: str
) -> None:
    """Was: printed before the start-up (model warm-up), seconds before the port opened."""
    port = free_port()
    s = _Serve("--port", str(port), "--db", history, "--anonymous-read")
    serve.append(s)
    assert s.wait_for("jobcast serving on", s.out), "".join(s.out + s.err)
    with socket.create_connection(("127.0.0.1", port), timeout=1):
        pass  # listening the moment it says so (was: connection refused)
    assert httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=10).status_code == 200
    s.proc.send_signal(signal.SIGTERM)
    assert s.finish() in (0, -signal.SIGTERM)
    assert "Traceback" not in "".join(s.err)


def test_sigterm_during_the_warm_up_ends_quietly(serve: list[_Serve], history: str) -> None:
    """Was: a traceback (EOFError, or BrokenProcessPool per job) and "startup failed"."""
    s = _Serve("--port", str(free_port()), "--db", history)
    serve.append(s)
    assert s.wait_for("Waiting for application startup", s.err), "".join(s.err)
    time.sleep(0.5)  # the model workers' fork server is starting
    os.killpg(s.proc.pid, signal.SIGTERM)  # as a terminal or a service manager does
    s.finish()
    err = "".join(s.err)
    assert "Traceback" not in err, err
    assert "Application startup failed" not in err
    assert not any("serving on" in line for line in s.out)
