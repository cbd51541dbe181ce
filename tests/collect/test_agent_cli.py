"""`jobcast agent` says when its samples were refused, lost, or stored nowhere."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from jobcast.collect import CollectorClient
from jobcast.collect.protocol import HARDWARE_PATH
from jobcast.service import create_app
from tests.collect.recording_server import free_port, running_server
from tests.helpers import run_main


def _jobcast(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    return run_main(monkeypatch, capsys, *args)


def _agent(url: str, count: int = 3) -> tuple[str, ...]:
    return ("agent", "--collector", url, "--count", str(count), "--interval", "0.02",
            "--batch", "1")


def test_agent_without_token_fails_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("JOBCAST_TOKEN", raising=False)
    app = create_app(f"sqlite:///{tmp_path / 'h.db'}")
    with running_server(app) as url:
        code, out, err = _jobcast(monkeypatch, capsys, *_agent(url, count=50))
    assert code == 1, (out, err)
    assert "token is missing or wrong" in err and "JOBCAST_TOKEN" in err, err
    assert "401" in err
    # the first refusal ends the agent: the other 49 samples would be refused alike
    assert "1 samples taken, 0 delivered" in out, out


def test_agent_to_a_closed_port_fails(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _jobcast(monkeypatch, capsys, *_agent(f"http://127.0.0.1:{free_port()}"))
    assert code == 1, (out, err)
    assert "could not be delivered" in err and "lost" in err, err
    assert "3 samples taken, 0 delivered" in out


def test_agent_says_when_the_collector_stored_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    app = create_app(f"sqlite:///{tmp_path / 'h.db'}")
    monkeypatch.setenv("JOBCAST_TOKEN", app.state.tokens.create("collect").token)
    with running_server(app) as url:
        code, out, err = _jobcast(monkeypatch, capsys, *_agent(url))
    assert code == 0, (out, err)
    assert "3 samples taken, 3 delivered; the collector stored 0." in out, out
    assert "stored none of the 3 samples: no execution was running" in err, err


def test_client_counts_refusals_and_names_a_wrong_token() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == HARDWARE_PATH:
            return httpx.Response(403, json={"detail": "token 3 has scope 'read'"})
        return httpx.Response(201, json={"stored": True})

    client = CollectorClient("http://collector", transport=httpx.MockTransport(handler))
    assert client.problem is None
    client.start_execution("app-1", job="x")
    client.send_hardware_samples([], node="n")
    client.close()
    assert client.refused == 1 and client.delivered == 1
    assert client.refusals[0].status == 403
    assert "token is not allowed to report" in (client.problem or "")
    assert "token 3 has scope 'read'" in (client.problem or "")
