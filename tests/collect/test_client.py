from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from jobcast.collect import CollectorClient, HardwareSample
from jobcast.collect.protocol import (
    EXECUTIONS_PATH,
    HardwareReport,
    IterationFinish,
    IterationStart,
)
from jobcast.errors import InputError
from tests.collect.recording_server import free_port, recording_server


def test_reports_reach_the_collector() -> None:
    with recording_server() as (url, store), CollectorClient(url) as client:
        assert client.start_execution("app-1", job="pagerank", params={"size": 10}, scale_out=2)
        for i in range(3):
            client.iteration_started()
            client.iteration_finished(records=100 - i, cpu=0.5)
        sample = HardwareSample(datetime.now(UTC), 12.5, 1.0, 2.0, 3.0, 4.0)
        client.send_hardware_samples(
            [
                sample,
                {
                    "timestamp": datetime.now(UTC),
                    "cpu": 1,
                    "disk_read": 0,
                    "disk_write": 0,
                    "net_rx": 0,
                    "net_tx": 0,
                },
            ],
            node="n1",
        )
        client.finish_execution()
        assert client.pending == 0 and client.delivered == 9
    assert [s["iteration"] for s in store["starts"]] == [0, 1, 2]
    assert [f["records"] for f in store["finishes"]] == [100, 99, 98]
    assert all(f["duration_s"] >= 0 for f in store["finishes"])
    assert store["executions"][0]["finished_at"] is None
    assert store["executions"][1]["finished_at"] is not None
    assert store["executions"][1]["params"] == {"size": 10}
    assert store["hardware"][0]["node"] == "n1"
    assert store["hardware"][0]["execution"] == "app-1"
    assert len(store["hardware"][0]["samples"]) == 2


def test_offline_collector_never_raises_and_delivers_later(
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = free_port()
    client = CollectorClient(
        f"http://127.0.0.1:{port}", timeout_s=0.5, retries=2, backoff_s=0.01, buffer_size=5
    )
    with caplog.at_level(logging.WARNING, logger="jobcast.collect.client"):
        assert not client.start_execution("app-2", job="kmeans")
        for i in range(6):
            assert not client.iteration_started(i)
    assert "unreachable" in caplog.text
    assert caplog.text.count("unreachable") == 1  # one warning per outage, not per report
    assert client.pending == 5 and client.dropped == 2  # bounded: the oldest were dropped
    with recording_server(port) as (_, store):
        assert client.iteration_finished(5, records=7)
        assert client.pending == 0
    client.close()
    assert [s["iteration"] for s in store["starts"]] == [2, 3, 4, 5]
    assert store["finishes"][0]["records"] == 7


def test_concurrent_reports_are_all_delivered() -> None:
    with recording_server() as (url, store), CollectorClient(url) as client:
        client.start_execution("app-3", job="sgd")

        def work(k: int) -> None:
            for i in range(10):
                client.iteration_finished(k * 10 + i, records=i)

        threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(f["iteration"] for f in store["finishes"]) == list(range(40))


def test_refused_report_is_dropped_not_retried(caplog: pytest.LogCaptureFixture) -> None:
    import httpx

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == EXECUTIONS_PATH:
            return httpx.Response(422, text="unknown job")
        return httpx.Response(200, json={"ok": True})

    client = CollectorClient("http://collector", transport=httpx.MockTransport(handler))
    with caplog.at_level(logging.WARNING):
        assert client.start_execution("app-4", job="x")  # refused, dropped, nothing pending
    assert client.dropped == 1 and client.pending == 0 and "refused" in caplog.text
    assert client.iteration_started(0)


def test_payload_validation() -> None:
    now = datetime.now(UTC)
    with pytest.raises(ValidationError):
        IterationStart(execution="a", iteration=-1, started_at=now)
    with pytest.raises(ValidationError):
        IterationStart(execution="a", iteration=0, started_at=datetime(2026, 1, 1))  # naive
    with pytest.raises(ValidationError):
        IterationFinish(execution="a", iteration=0, finished_at=now, records=-5)
    with pytest.raises(ValidationError):
        IterationFinish(execution="a", iteration=0, finished_at=now, cpu=float("nan"))
    with pytest.raises(ValidationError):
        HardwareReport(
            node="n",
            samples=[
                {
                    "timestamp": now,
                    "cpu": 101,
                    "disk_read": 0,
                    "disk_write": 0,
                    "net_rx": 0,
                    "net_tx": 0,
                }
            ],
        )
    report = IterationStart(execution="a", iteration=0, started_at=now)
    with pytest.raises(ValidationError):
        report.iteration = 3  # type: ignore[misc]
    with pytest.raises(InputError):
        CollectorClient("localhost:8000")
    client = CollectorClient("http://127.0.0.1:9")
    with pytest.raises(InputError, match="start_execution"):
        client.iteration_started()
    with pytest.raises(InputError, match="IterationFinish"):
        client.iteration_finished(0, execution="a", records=-1)
