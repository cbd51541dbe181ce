from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from jobcast.collect import SparkRestError, SparkRestFollower, read_event_log
from jobcast.collect.rest import event_log_dir_from_properties, parse_spark_time
from jobcast.collect.sources import find_application_log
from jobcast.errors import ImportFormatError, InputError
from tests.workloads import spark_batch
from tests.workloads.spark_batch import free_port


def _start_application(tmp_path: Path, spec: dict) -> subprocess.Popen[str]:
    """A real local Spark application (tests/workloads/spark_batch.py) in its own process."""
    return subprocess.Popen(
        [sys.executable, spark_batch.__file__, str(tmp_path), json.dumps([spec])],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYSPARK_PYTHON": sys.executable},
    )


def _first_polls(
    proc: subprocess.Popen[str], deadline: float, *followers: SparkRestFollower
) -> list[pd.DataFrame]:
    """Wait for the application's UI: every follower's first poll, once all answered."""
    while True:
        try:
            return [f.poll() for f in followers]
        except SparkRestError:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Spark app did not come up: {proc.stderr.read()[-3000:]}")  # type: ignore[union-attr]
            time.sleep(0.5)


def test_parse_spark_time() -> None:
    t = parse_spark_time("2026-11-22T01:36:12.181GMT")
    assert t is not None and t.isoformat() == "2026-11-22T01:36:12.181000+00:00"
    assert parse_spark_time("1969-12-31T23:59:59.999GMT") is None
    assert parse_spark_time(None) is None
    assert parse_spark_time("yesterday") is None


def test_unreachable_ui_is_a_clear_error() -> None:
    follower = SparkRestFollower(f"http://127.0.0.1:{free_port()}", timeout_s=1)
    with pytest.raises(SparkRestError, match="cannot reach the Spark REST API"):
        follower.poll()
    with pytest.raises(SparkRestError, match="no application seen"):
        follower.application_run()
    with pytest.raises(InputError):
        SparkRestFollower("localhost:4040")
    with pytest.raises(InputError):
        SparkRestFollower("http://localhost:4040", iterations="(")


@pytest.mark.spark
@pytest.mark.slow
def test_follow_a_real_application(tmp_path: Path) -> None:
    port = free_port()
    spec = {
        "name": "kmeans",
        "size": 4000,
        "params": {"iterations": 3, "pause_s": 1.0, "tol": 0.0},
        "codec": None,
        "rolling": False,
        "ui_port": port,
        # the UI keeps only the last 2 jobs: the follower must keep its own record
        "spark_conf": {"spark.ui.retainedJobs": "2", "spark.ui.retainedStages": "4"},
    }
    proc = _start_application(tmp_path, spec)
    try:
        follower = SparkRestFollower(f"http://127.0.0.1:{port}", iterations="job-groups")
        deadline = time.monotonic() + 240
        [first] = _first_polls(proc, deadline, follower)
        frames = [first]
        in_progress_checked = False
        while not follower.ended and time.monotonic() < deadline:
            frames.append(follower.poll())
            got = sum(len(f) for f in frames)
            if got >= 1 and not in_progress_checked:
                # the event log is being written right now: read it as it is
                live = list((tmp_path / "events").glob("*.inprogress"))
                assert len(live) == 1
                partial = read_event_log(live[0], iterations="job-groups")
                assert not partial.run.completed
                assert 1 <= len(partial.iterations) <= spec["params"]["iterations"]  # type: ignore[index]
                in_progress_checked = True
            time.sleep(0.3)
        assert follower.ended and in_progress_checked
        run = follower.application_run()
    finally:
        if proc.poll() is None:
            proc.wait(timeout=120)
    assert proc.returncode == 0
    manifest = json.loads((tmp_path / "manifest.json").read_text())[0]
    followed = pd.concat(frames, ignore_index=True)
    assert run.app_id == manifest["app_id"] and run.app_name == manifest["app_name"]
    assert run.final_executors == 1
    assert followed["label"].tolist() == [f"iteration-{i}" for i in range(manifest["iterations"])]
    log = read_event_log(Path(manifest["event_log"]), iterations="job-groups").iterations
    assert followed["execution"].unique().tolist() == [manifest["app_id"]]
    # the REST API and the event log come from the same listener events
    for col in ("started_at", "finished_at", "records", "disk", "net", "scale_out", "jobs"):
        assert followed[col].tolist() == log[col].tolist(), col
    assert followed["duration_s"].tolist() == pytest.approx(log["duration_s"].tolist())


def test_event_log_dir_from_properties() -> None:
    on = {"spark.eventLog.enabled": "true"}
    assert event_log_dir_from_properties({}) is None
    assert event_log_dir_from_properties({"spark.eventLog.dir": "/x"}) is None  # logs off
    assert event_log_dir_from_properties(on) == Path("/tmp/spark-events")  # Spark's default
    for given in ("file:///tmp/my%20events", "file:/tmp/my%20events"):
        got = event_log_dir_from_properties({**on, "spark.eventLog.dir": given})
        assert got == Path("/tmp/my events")
    assert event_log_dir_from_properties({**on, "spark.eventLog.dir": "logs/ev"}) == Path("logs/ev")
    for remote in ("hdfs://nn:8020/spark-logs", "s3a://bucket/logs"):
        assert event_log_dir_from_properties({**on, "spark.eventLog.dir": remote}) is None
    with pytest.raises(InputError, match="log_grace_s"):
        SparkRestFollower("http://localhost:4040", log_grace_s=-1)


def test_find_application_log(tmp_path: Path) -> None:
    assert find_application_log(tmp_path / "missing", "local-1") is None
    assert find_application_log(tmp_path, "local-1") is None
    (tmp_path / "local-12").write_text("{}\n")  # another application, same prefix
    assert find_application_log(tmp_path, "local-1") is None
    (tmp_path / "local-1.zstd.inprogress").write_bytes(b"")
    found = find_application_log(tmp_path, "local-1")
    assert found is not None and found.in_progress
    assert found.path == tmp_path / "local-1.zstd.inprogress"
    (tmp_path / "local-1.zstd.inprogress").rename(tmp_path / "local-1.zstd")
    found = find_application_log(tmp_path, "local-1")
    assert found is not None and not found.in_progress and found.path.name == "local-1.zstd"
    # attempts and Spark's file-system-safe names (Utils.sanitizeDirName)
    rolling = tmp_path / "eventlog_v2_application_17_0001_2"
    rolling.mkdir()
    (rolling / "events_1_application_17_0001_2").write_text("{}\n")
    (rolling / "appstatus_application_17_0001_2").write_bytes(b"")
    found = find_application_log(tmp_path, "application_17_0001", attempt_id="2")
    assert found is not None and found.path == rolling and not found.in_progress
    assert find_application_log(tmp_path, "application_17_0001", attempt_id="1") is None
    (tmp_path / "app-x_y").write_text("{}\n")
    assert find_application_log(tmp_path, "App:X.Y") is not None
    (tmp_path / "local-2.snappy").write_bytes(b"")
    with pytest.raises(ImportFormatError, match="snappy"):
        find_application_log(tmp_path, "local-2")


@pytest.mark.spark
@pytest.mark.slow
def test_iterations_after_the_last_poll_come_from_the_event_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The UI goes away with the application: what finished after the last poll is kept."""
    port = free_port()
    n = 3
    spec = {
        "name": "kmeans",
        "size": 4000,
        # no pause after the last iteration: Spark stops (and its UI goes) right after it
        "params": {"iterations": n, "pause_s": 0.0, "tol": 0.0},
        "codec": "zstd",
        "rolling": False,
        "ui_port": port,
    }
    proc = _start_application(tmp_path, spec)
    url = f"http://127.0.0.1:{port}"
    # the same application, followed twice: with its own event-log folder (found through
    # the REST API), and with a folder where its log is not, as when the log is out of reach
    follower = SparkRestFollower(url, iterations="job-groups", log_grace_s=60)
    blind = SparkRestFollower(url, iterations="job-groups", event_log_dir=tmp_path / "elsewhere")
    try:
        deadline = time.monotonic() + 240
        # poll once only once the UI is up: the application ends unseen
        first, blind_first = _first_polls(proc, deadline, follower, blind)
        assert not follower.ended
        proc.wait(timeout=240)
        frames = [first]
        while not follower.ended and time.monotonic() < deadline:
            frames.append(follower.poll())
            time.sleep(0.2)
        with caplog.at_level(logging.WARNING, logger="jobcast.collect.rest"):
            blind_rest = blind.poll()
        run = follower.application_run()
    finally:
        follower.close()
        blind.close()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, proc.stderr.read()[-3000:]  # type: ignore[union-attr]
    manifest = json.loads((tmp_path / "manifest.json").read_text())[0]
    assert manifest["iterations"] == n
    labels = [f"iteration-{i}" for i in range(n)]
    # the one poll came before the last iteration ended (the UI is up before any job runs)
    assert len(first) < n
    followed = pd.concat(frames, ignore_index=True)
    assert follower.ended and follower.completed
    assert followed["label"].tolist() == labels  # every iteration, the last one included
    assert follower.event_log == Path(manifest["event_log"])
    log = read_event_log(Path(manifest["event_log"]), iterations="job-groups")
    assert followed["execution"].unique().tolist() == [manifest["app_id"]]
    for col in ("started_at", "finished_at", "records", "disk", "net", "scale_out", "jobs"):
        assert followed[col].tolist() == log.iterations[col].tolist(), col
    # the end of the application, not of its last job, as the log records it
    assert run.completed and run.finished_at == log.run.finished_at
    assert run.gross_runtime_s == pytest.approx(log.run.gross_runtime_s)
    # without the log, what finished after the last poll is lost, and said so
    assert blind.ended and not blind.completed and blind.event_log is None
    blind_labels = pd.concat([blind_first, blind_rest])["label"].tolist()
    assert len(blind_labels) < n and blind_labels == labels[: len(blind_labels)]
    assert "are lost" in caplog.text
