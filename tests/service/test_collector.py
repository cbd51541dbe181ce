"""The collector endpoints against a real uvicorn server on loopback."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn

from jobcast.history import HistoryRepository
from jobcast.service import create_app


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    url = f"sqlite:///{tmp_path / 'h.db'}"
    port = _free_port()
    config = uvicorn.Config(create_app(url), host="127.0.0.1", port=port, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            httpx.get(f"{base}/api/v1/health", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.05)
    yield base, url
    srv.should_exit = True
    thread.join(timeout=10)


T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def _start(base: str, execution: str, job: str = "pagerank") -> None:
    r = httpx.post(
        f"{base}/api/v1/collector/executions",
        json={
            "execution": execution,
            "job": job,
            "started_at": T0.isoformat(),
            "scale_out": 4,
            "input_size": 512.0,
            "params": {"damping": 0.85},
        },
    )
    assert r.status_code == 201, r.text


def test_iterations_are_stored_at_once(server: tuple[str, str]) -> None:
    base, url = server
    _start(base, "app-1")
    for i in range(3):
        s = T0 + timedelta(seconds=10 * i)
        assert (
            httpx.post(
                f"{base}/api/v1/collector/iterations/start",
                json={
                    "execution": "app-1",
                    "iteration": i,
                    "started_at": s.isoformat(),
                    "scale_out": 4,
                },
            ).status_code
            == 201
        )
        assert (
            httpx.post(
                f"{base}/api/v1/collector/iterations/finish",
                json={
                    "execution": "app-1",
                    "iteration": i,
                    "finished_at": (s + timedelta(seconds=8)).isoformat(),
                    "records": 1000 - 100 * i,
                },
            ).status_code
            == 201
        )
        # visible in the repository before the execution ends
        with HistoryRepository(url) as repo:
            it = repo.iterations("pagerank", include_running=True)
        assert len(it) == i + 1 and it["duration_s"].iloc[-1] == pytest.approx(8.0)
    r = httpx.post(
        f"{base}/api/v1/collector/executions",
        json={
            "execution": "app-1",
            "job": "pagerank",
            "started_at": T0.isoformat(),
            "finished_at": (T0 + timedelta(seconds=40)).isoformat(),
        },
    )
    assert r.status_code == 201, r.text
    with HistoryRepository(url) as repo:
        ex = repo.executions("pagerank")
        assert ex["gross_runtime"].tolist() == [40.0]
        assert ex["input_size"].tolist() == [512.0]


def test_bad_submissions_get_clear_errors(server: tuple[str, str]) -> None:
    base, _ = server
    r = httpx.post(
        f"{base}/api/v1/collector/iterations/start",
        json={"execution": "nope", "iteration": 0, "started_at": T0.isoformat()},
    )
    assert r.status_code == 422 and "report its start first" in r.json()["detail"]
    r = httpx.post(
        f"{base}/api/v1/collector/iterations/start",
        json={"execution": "x", "iteration": -1, "started_at": T0.isoformat()},
    )
    assert r.status_code == 422
    r = httpx.post(
        f"{base}/api/v1/collector/iterations/start",
        json={"execution": "x", "iteration": 0, "started_at": "2026-05-01T12:00:00"},
    )
    assert r.status_code == 422  # naive time


def test_concurrent_submissions_lose_nothing(server: tuple[str, str]) -> None:
    base, url = server
    executions = [f"app-{k}" for k in range(4)]
    for e in executions:
        _start(base, e)

    def submit(args: tuple[str, int]) -> int:
        e, i = args
        s = T0 + timedelta(seconds=i)
        with httpx.Client(base_url=base, timeout=30) as c:
            a = c.post(
                "/api/v1/collector/iterations/start",
                json={"execution": e, "iteration": i, "started_at": s.isoformat()},
            ).status_code
            b = c.post(
                "/api/v1/collector/iterations/finish",
                json={
                    "execution": e,
                    "iteration": i,
                    "records": i,
                    "finished_at": (s + timedelta(seconds=1)).isoformat(),
                },
            ).status_code
        return a + b

    jobs = [(e, i) for e in executions for i in range(25)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(submit, jobs))
    assert codes == [402] * len(jobs)
    with HistoryRepository(url) as repo:
        it = repo.iterations("pagerank", include_running=True)
    assert len(it) == len(jobs)
    assert it.groupby("execution")["iteration"].nunique().tolist() == [25] * 4
    assert it["duration_s"].eq(1.0).all()


def test_hardware_samples(server: tuple[str, str]) -> None:
    base, url = server
    _start(base, "app-9")
    sample = {
        "timestamp": (T0 + timedelta(seconds=5)).isoformat(),
        "cpu": 50.0,
        "disk_read": 1.0,
        "disk_write": 2.0,
        "net_rx": 3.0,
        "net_tx": 4.0,
    }
    r = httpx.post(
        f"{base}/api/v1/collector/hardware",
        json={"node": "n1", "execution": "app-9", "samples": [sample]},
    )
    assert r.status_code == 201 and r.json()["stored"] == 1
    r = httpx.post(f"{base}/api/v1/collector/hardware", json={"node": "n2", "samples": [sample]})
    assert r.json()["stored"] == 1  # matched by time to the running execution
    with HistoryRepository(url) as repo:
        hw = repo.hardware("pagerank")
    assert sorted(hw["node"]) == ["n1", "n2"]
