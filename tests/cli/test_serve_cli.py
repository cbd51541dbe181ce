"""``jobcast serve`` turns its options into the service's settings (no server is started)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import jobcast.service
from jobcast.cli import app
from jobcast.service.settings import ServiceSettings

runner = CliRunner()


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """What ``serve`` would build and run: create_app's arguments, the socket served."""
    from jobcast.service import serving

    seen: dict[str, Any] = {}

    def create_app(db: str | None, *, settings: ServiceSettings) -> str:
        seen.update(db=db, settings=settings)
        return "the app"

    def run(app: Any, sock: Any, *, on_started: Any = None) -> None:
        host, port = sock.getsockname()[:2]
        sock.close()
        seen.update(app=app, host=host, port=port)
        if on_started is not None:
            on_started()

    monkeypatch.setattr(jobcast.service, "create_app", create_app)
    monkeypatch.setattr(serving, "run", run)
    root = logging.getLogger()
    level = root.level
    yield seen
    root.setLevel(level)  # --log-format text sets the root logger's level


def serve(*args: str) -> Any:
    return runner.invoke(app, ["serve", "--log-format", "text", *args])


def test_model_workers_reach_the_settings(started: dict[str, Any], tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'h.db'}"
    r = serve("--model-workers", "3", "--port", "9999", "--db", db)
    assert r.exit_code == 0, r.output
    assert started["settings"].model_workers == 3
    assert started["db"] == db and started["app"] == "the app" and started["port"] == 9999


def test_model_workers_default_is_the_settings_default(started: dict[str, Any]) -> None:
    r = serve()
    assert r.exit_code == 0, r.output
    assert started["settings"].model_workers == ServiceSettings().model_workers


def test_model_workers_zero_fits_in_a_thread(started: dict[str, Any]) -> None:
    r = serve("--model-workers", "0")
    assert r.exit_code == 0, r.output
    assert started["settings"].model_workers == 0


@pytest.mark.parametrize("value", ["-1", "-5"])
def test_negative_model_workers_are_refused(started: dict[str, Any], value: str) -> None:
    r = serve("--model-workers", value)
    assert r.exit_code == 2
    assert "Invalid value for '--model-workers'" in r.output
    assert "settings" not in started  # refused before the service is built


def test_model_workers_is_documented() -> None:
    r = runner.invoke(app, ["serve", "--help"])
    assert r.exit_code == 0
    assert "--model-workers" in r.stdout and "one thread" in r.stdout


def test_opentelemetry_is_off_by_default_and_switched_on_by_its_flag(
    started: dict[str, Any],
) -> None:
    r = serve()
    assert r.exit_code == 0, r.output
    assert started["settings"].opentelemetry is False
    r = serve("--opentelemetry")
    assert r.exit_code == 0, r.output
    assert started["settings"].opentelemetry is True


@pytest.mark.parametrize("value", ["99999", "65536", "0", "-1"])
def test_ports_outside_1_to_65535_are_refused(started: dict[str, Any], value: str) -> None:
    """Was: ``--port 99999`` printed 99999 and listened on 34463 (99999 mod 65536)."""
    r = serve("--port", value)
    assert r.exit_code == 2, r.output
    assert "Invalid value for '--port'" in r.output
    assert "settings" not in started and "port" not in started  # nothing was served


@pytest.mark.parametrize("value", ["1", "65535"])
def test_ports_at_the_ends_of_the_range_are_served(started: dict[str, Any], value: str) -> None:
    r = serve("--port", value)
    assert r.exit_code == 0, r.output
    assert started["port"] == int(value) and f":{value} " in r.output
