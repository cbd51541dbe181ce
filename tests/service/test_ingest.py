"""Ingestion from a REAL local S3 endpoint (moto's server) and a REAL Spark History Server."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from jobcast.app.service_ingest import import_history_server, import_remote_eventlogs
from jobcast.collect import read_event_log
from jobcast.history import HistoryRepository
from tests.service.conftest import free_port
from tests.workloads.spark_batch import spark_batch

pytestmark = [pytest.mark.spark, pytest.mark.slow]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """The real PySpark runs shared with the workloads tests (run once per session)."""
    return spark_batch(tmp_path_factory.getbasetemp())


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto's S3 server on loopback; boto3/s3fs find it through AWS_ENDPOINT_URL."""
    import s3fs
    from moto.server import ThreadedMotoServer

    # s3fs caches filesystems across tests: one bound to an earlier (stopped) server's
    # endpoint would be reused and refuse connections.
    s3fs.S3FileSystem.clear_instance_cache()
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            httpx.get(endpoint, timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    for k, v in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
    }.items():
        monkeypatch.setenv(k, v)
    try:
        yield endpoint
    finally:
        server.stop()
        s3fs.S3FileSystem.clear_instance_cache()


def _upload(endpoint: str, events: Path) -> None:
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint)
    client.create_bucket(Bucket="spark")
    for path in events.rglob("*"):
        if path.is_file():
            key = f"team/events/{path.relative_to(events).as_posix()}"
            client.upload_file(str(path), "spark", key)


def test_event_logs_from_s3(
    runs: list[dict[str, Any]], s3: str, db_url: str, tmp_path: Path
) -> None:
    events = Path(runs[0]["event_log"]).parent
    _upload(s3, events)
    with HistoryRepository(db_url) as repo:
        done = import_remote_eventlogs(repo, "s3://spark/team/events", iterations="job-groups")
        assert sorted(d["execution"] for d in done) == sorted(r["app_id"] for r in runs)
        assert not any(d["skipped"] for d in done)
        for r in runs:
            local = read_event_log(Path(r["event_log"]), iterations="job-groups")
            [got] = [d for d in done if d["execution"] == r["app_id"]]
            assert got["iterations"] == len(local.iterations) > 0
            assert got["path"].startswith("s3://spark/team/events/")
        again = import_remote_eventlogs(repo, "s3://spark/team/events", iterations="job-groups")
        assert all(d["skipped"] for d in again)
        total = sum(len(repo.executions(j.name)) for j in repo.list_jobs())
        assert total == len(runs)


@pytest.fixture(scope="module")
def history_server(
    runs: list[dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """Spark's own History Server (pyspark's spark-class) on the runs' event-log folder."""
    import pyspark

    home = Path(pyspark.__file__).parent
    events = Path(runs[0]["event_log"]).parent
    port = free_port()
    logs = tmp_path_factory.mktemp("history-server")
    env = {
        **os.environ,
        "SPARK_HOME": str(home),
        "SPARK_LOG_DIR": str(logs),
        "SPARK_HISTORY_OPTS": (
            f"-Dspark.history.fs.logDirectory=file://{events} "
            f"-Dspark.history.ui.port={port} -Dspark.history.fs.update.interval=1s"
        ),
    }
    java = shutil.which("java")
    if java is None:
        pytest.fail("java is not installed: the History Server needs Java 17")
    proc = subprocess.Popen(
        [str(home / "bin" / "spark-class"), "org.apache.spark.deploy.history.HistoryServer"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(logs / "stderr.log", "w"),  # noqa: SIM115 - closed with the process
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    try:
        while True:
            try:
                apps = httpx.get(f"{url}/api/v1/applications", timeout=2).json()
                if len(apps) >= len(runs):
                    break
            except (httpx.HTTPError, ValueError):
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    "History Server did not list the runs: "
                    + (logs / "stderr.log").read_text()[-3000:]
                )
            time.sleep(1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_history_server(runs: list[dict[str, Any]], history_server: str, db_url: str) -> None:
    with HistoryRepository(db_url) as repo:
        only = import_history_server(
            repo, history_server, app_name="kmeans", iterations="job-groups", job="km"
        )
        kmeans = [r for r in runs if r["name"] == "kmeans"]
        assert [d["execution"] for d in only] == [r["app_id"] for r in kmeans]
        done = import_history_server(repo, history_server, iterations="job-groups")
        assert sorted(d["execution"] for d in done) == sorted(r["app_id"] for r in runs)
        skipped = {d["execution"] for d in done if d["skipped"]}
        assert skipped == {r["app_id"] for r in kmeans}
        for r in runs:
            if r["name"] == "kmeans":
                continue
            local = read_event_log(Path(r["event_log"]), iterations="job-groups")
            [got] = [d for d in done if d["execution"] == r["app_id"]]
            assert got["iterations"] == len(local.iterations) > 0
            frame = repo.executions(got["job"])
            assert frame["gross_runtime"].iloc[0] == pytest.approx(
                local.run.gross_runtime_s, abs=1.0
            )
        future = import_history_server(
            repo, history_server, since=__import__("datetime").datetime(2100, 1, 1)
        )
        assert future == []
