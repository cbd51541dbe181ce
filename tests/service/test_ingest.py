"""Ingestion from a REAL local S3 endpoint (moto's server) and a REAL Spark History Server."""

from __future__ import annotations

import contextlib
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


@contextlib.contextmanager
def spark_history_server(
    events: Path, logs: Path, *, expect: int, options: str = ""
) -> Iterator[str]:
    """Spark's own History Server (pyspark's spark-class) on ``events``, once it lists
    ``expect`` applications."""
    import pyspark

    home = Path(pyspark.__file__).parent
    port = free_port()
    env = {
        **os.environ,
        "SPARK_HOME": str(home),
        "SPARK_LOG_DIR": str(logs),
        "SPARK_HISTORY_OPTS": (
            f"-Dspark.history.fs.logDirectory=file://{events} "
            f"-Dspark.history.ui.port={port} -Dspark.history.fs.update.interval=1s {options}"
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
                if len(apps) >= expect:
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


@pytest.fixture(scope="module")
def history_server(
    runs: list[dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """Spark's own History Server on the runs' event-log folder."""
    events = Path(runs[0]["event_log"]).parent
    logs = tmp_path_factory.mktemp("history-server")
    with spark_history_server(events, logs, expect=len(runs)) as url:
        yield url


def test_history_server(runs: list[dict[str, Any]], history_server: str, db_url: str) -> None:
    with HistoryRepository(db_url) as repo:
        only = import_history_server(
            repo, history_server, app_name="kmeans", iterations="job-groups", job="km"
        )
        kmeans = [r for r in runs if r["name"] == "kmeans"]
        assert [d["execution"] for d in only] == [r["app_id"] for r in kmeans]
        # runs are told apart within the job they go to, as by `import eventlog`
        done = import_history_server(repo, history_server, iterations="job-groups", job="km")
        assert sorted(d["execution"] for d in done) == sorted(r["app_id"] for r in runs)
        skipped = {d["execution"] for d in done if d["skipped"]}
        assert skipped == {r["app_id"] for r in kmeans}
        assert {d["status"] for d in done if d["skipped"]} == {"already there"}
        # a run skipped as held says how many iterations the history holds of it (was 0)
        held = {d["execution"]: d["iterations"] for d in only}
        assert all(n > 0 for n in held.values()), held
        assert {d["execution"]: d["iterations"] for d in done if d["skipped"]} == held
        for r in runs:
            if r["name"] == "kmeans":
                continue
            local = read_event_log(Path(r["event_log"]), iterations="job-groups")
            [got] = [d for d in done if d["execution"] == r["app_id"]]
            assert got["iterations"] == len(local.iterations) > 0
            frame = repo.executions(got["job"]).set_index("external_id")
            assert frame.loc[r["app_id"], "gross_runtime"] == pytest.approx(
                local.run.gross_runtime_s, abs=1.0
            )
        future = import_history_server(
            repo, history_server, since=__import__("datetime").datetime(2100, 1, 1)
        )
        assert future == []


def _origins(repo: HistoryRepository) -> set[str]:
    from sqlalchemy import select

    from jobcast.history.schema import ExecutionRow

    with repo.transaction() as s:
        return {str(o) for o in s.scalars(select(ExecutionRow.origin))}


def _bucket(endpoint: str) -> Any:
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint)
    client.create_bucket(Bucket="spark")
    return client


def test_s3_logs_are_one_transaction_named_by_their_url(
    runs: list[dict[str, Any]], s3: str, db_url: str
) -> None:
    from jobcast.errors import ImportFormatError

    client = _bucket(s3)
    cc = next(r for r in runs if r["name"] == "cc")
    kmeans = next(r for r in runs if r["name"] == "kmeans")
    client.upload_file(cc["event_log"], "spark", "mixed/local-1")
    client.put_object(Bucket="spark", Key="mixed/local-2", Body=b"")
    client.upload_file(kmeans["event_log"], "spark", "mixed/local-3.lz4")
    with HistoryRepository(db_url) as repo:
        with pytest.raises(ImportFormatError, match=r"^s3://spark/mixed/local-2: not a Spark"):
            import_remote_eventlogs(repo, "s3://spark/mixed")
        assert repo.list_jobs() == []  # local-1 was read fine, and not written either
        client.delete_object(Bucket="spark", Key="mixed/local-2")
        done = import_remote_eventlogs(repo, "s3://spark/mixed")
        assert _origins(repo) == {"s3://spark/mixed/local-1", "s3://spark/mixed/local-3.lz4"}
        # the same default (auto) as `import eventlog`
        [got] = [d for d in done if d["execution"] == cc["app_id"]]
        assert got["iterations"] == len(read_event_log(Path(cc["event_log"])).iterations)


def test_s3_store_problems_are_one_line(
    runs: list[dict[str, Any]], s3: str, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import s3fs

    from jobcast.errors import InputError

    client = _bucket(s3)
    client.upload_file(runs[1]["event_log"], "spark", "only/sub/folder/log")
    with HistoryRepository(db_url) as repo:
        with pytest.raises(InputError, match="no Spark event logs there"):
            import_remote_eventlogs(repo, "s3://spark/only")
        s3fs.S3FileSystem.clear_instance_cache()
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
        started = time.monotonic()
        with pytest.raises(InputError, match=r"cannot read s3://spark/only: .*AWS_ENDPOINT_URL"):
            import_remote_eventlogs(repo, "s3://spark/only")
        assert time.monotonic() - started < 30
        s3fs.S3FileSystem.clear_instance_cache()
        monkeypatch.setenv("AWS_ENDPOINT_URL", s3)
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            monkeypatch.delenv(name)
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
        monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
        with pytest.raises(InputError, match="AWS_ACCESS_KEY_ID") as err:
            import_remote_eventlogs(repo, "s3://spark/only")
        assert "\n" not in str(err.value)


def test_following_s3_copies_a_finished_log_once(
    runs: list[dict[str, Any]], s3: str, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    from jobcast.app.service_ingest import SourceFollower

    client = _bucket(s3)
    cc = next(r for r in runs if r["name"] == "cc")
    client.upload_file(cc["event_log"], "spark", "follow/local-1")
    with HistoryRepository(db_url) as repo:
        follower = SourceFollower(repo, "s3://spark/follow")
        follower()
        assert len(repo.executions("jobcast-cc")) == 1
        # were it copied again, this would be read (and refused as no event log)
        client.put_object(Bucket="spark", Key="follow/local-1", Body=b"changed")
        caplog.clear()
        with caplog.at_level(logging.INFO):
            follower()
        requests = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
        assert any("GET /spark?list-type=2&prefix=follow" in m for m in requests)
        assert not any("GET /spark/follow/local-1 " in m for m in requests)  # not copied
        assert not [r for r in caplog.records if r.name.startswith("jobcast")]
        assert len(repo.executions("jobcast-cc")) == 1


@pytest.fixture(scope="module")
def yarn_history_server(
    runs: list[dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    """A History Server keeping 1 job per application, with an application run in attempts.

    The attempt's log is a real run's with the ids YARN cluster mode gives.
    """
    cc = Path(next(r for r in runs if r["name"] == "cc")["event_log"])
    events = tmp_path_factory.mktemp("yarn-events")
    app = "application_1796000000000_0001"
    data = cc.read_bytes().replace(
        f'"App ID":"{cc.name}",'.encode(), f'"App ID":"{app}","App Attempt ID":"1",'.encode()
    )
    assert app.encode() in data
    (events / f"{app}_1").write_bytes(data)
    shutil.copy(cc, events / cc.name)
    logs = tmp_path_factory.mktemp("yarn-history-server")
    options = "-Dspark.ui.retainedJobs=1 -Dspark.ui.retainedStages=1"
    with spark_history_server(events, logs, expect=2, options=options) as url:
        yield url, events


def test_history_server_reads_every_job_attempts_and_context(
    runs: list[dict[str, Any]], yarn_history_server: tuple[str, Path], db_url: str
) -> None:
    from jobcast.app.imports import import_eventlogs

    url, events = yarn_history_server
    cc = next(r for r in runs if r["name"] == "cc")
    local = read_event_log(Path(cc["event_log"]))
    kept = httpx.get(f"{url}/api/v1/applications/{cc['app_id']}/jobs", timeout=10).json()
    jobs = Path(cc["event_log"]).read_bytes().count(b'"Event":"SparkListenerJobStart"')
    assert len(kept) == 1 < jobs  # the REST API forgot jobs
    with HistoryRepository(db_url) as repo:
        done = import_history_server(repo, url)
        ids = {d["execution"] for d in done}
        assert ids == {cc["app_id"], "application_1796000000000_0001_1"}
        assert all(d["status"] == "recorded" for d in done)
        assert all(d["iterations"] == len(local.iterations) for d in done)
        frame = repo.executions("jobcast-cc")
        for name, value in local.context.items():  # spark.jobcast.context.* of the run
            assert (frame[name] == value).all(), name
        assert _origins(repo) == {
            f"{url}/history/{cc['app_id']}",
            f"{url}/history/application_1796000000000_0001/1",
        }
        # the same run from its event log is the same execution: not counted twice
        again = import_eventlogs(repo, [events / "application_1796000000000_0001_1"])
        assert [r.skipped for r in again] == [True]


def test_serve_source_imports_attempt_apps(
    yarn_history_server: tuple[str, Path], db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    from jobcast.app.service_ingest import SourceFollower

    url, _ = yarn_history_server
    with HistoryRepository(db_url) as repo, caplog.at_level(logging.WARNING):
        SourceFollower(repo, url)()
        frame = repo.executions("jobcast-cc")
    assert "application_1796000000000_0001_1" in set(frame["external_id"])
    assert len(frame) == 2
    assert "left out" not in caplog.text


def test_history_server_log_download_names_the_problem(
    yarn_history_server: tuple[str, Path], tmp_path: Path
) -> None:
    from jobcast.collect.history_server import Application, download_event_log
    from jobcast.collect.rest import SparkRestError
    from jobcast.errors import InputError

    url, _ = yarn_history_server
    unknown = Application({"id": "application_1_0009", "attempts": [{"attemptId": "2"}]})
    # one application the server cannot hand out: an error of its own, named by its URL
    with pytest.raises(SparkRestError, match="/applications/application_1_0009/2/logs"):
        download_event_log(url, unknown, tmp_path / "a")
    gone = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(InputError, match="cannot reach the History Server") as err:
        download_event_log(gone, unknown, tmp_path / "b")
    assert "spark.ui.enabled" not in str(err.value)
