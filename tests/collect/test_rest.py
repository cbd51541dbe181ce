from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from jobcast.collect import SparkRestError, SparkRestFollower, read_event_log
from jobcast.collect.rest import parse_spark_time
from jobcast.errors import InputError
from tests.workloads import spark_batch
from tests.workloads.spark_batch import free_port


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
    proc = subprocess.Popen(
        [sys.executable, spark_batch.__file__, str(tmp_path), json.dumps([spec])],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYSPARK_PYTHON": sys.executable},
    )
    try:
        follower = SparkRestFollower(f"http://127.0.0.1:{port}", iterations="job-groups")
        deadline = time.monotonic() + 240
        while True:  # wait for the UI
            try:
                first = follower.poll()
                break
            except SparkRestError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"Spark app did not come up: {proc.stderr.read()[-3000:]}")  # type: ignore[union-attr]
                time.sleep(0.5)
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
