"""The warning for a loop that runs inside one Spark job (MLlib's ALS)."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from jobcast.app.imports import import_eventlogs
from jobcast.collect import read_event_log
from jobcast.collect.grouping import hidden_loop
from jobcast.history import HistoryRepository
from tests.collect.test_eventlog import ev, job_end, job_start, task_end, write
from tests.workloads.spark_batch import real_logs, spark_runs

__all__ = ["real_logs", "spark_runs"]  # the real PySpark runs' fixtures


def _log(*, loop: bool) -> list[str]:
    """Jobs as the importer reads them: a slow set-up, short jobs, maybe one long loop job.

    The set-up job (reading the input) takes 7.7 s with 4 tasks; the others 1 s with 2
    tasks; with ``loop`` job 6 runs 17 s and 17 stages of 8 tasks, as ALS's fit does.
    """
    lines = [
        ev("LogStart", **{"Spark Version": "4.0.0"}),
        ev("ApplicationStart", **{"App Name": "als", "App ID": "app-als", "Timestamp": 0}),
    ]
    t, stage = 100, 0
    for job in range(10):
        long = loop and job == 6
        stages = list(range(stage, stage + (17 if long else 1)))
        stage += len(stages)
        span = 7700 if job == 0 else 17000 if long else 1000
        lines.append(job_start(job, t, stages))
        tasks = 4 if job == 0 else 8 if long else 2
        lines += [task_end(s) for s in stages for _ in range(tasks)]
        lines.append(job_end(job, t + span))
        t += span + 200
    lines.append(ev("ApplicationEnd", Timestamp=t))
    return lines


def _frame(log: Path, iterations: str = "auto") -> pd.DataFrame:
    return read_event_log(log, iterations=iterations).iterations


def test_one_job_holding_the_loop_is_warned_of(tmp_path: Path) -> None:
    it = _frame(write(tmp_path / "app-als", _log(loop=True)))
    assert len(it) == 10 and it["tasks"].iloc[6] == 17 * 8
    warning = hidden_loop(it["duration_s"].tolist(), it["tasks"].tolist())
    assert warning is not None
    assert warning.startswith("iteration 6 takes 52% of the run's iteration time (17.0 s")
    assert "loop probably runs inside one Spark job (as MLlib's ALS does)" in warning


def test_slow_set_up_alone_is_no_hidden_loop(tmp_path: Path) -> None:
    it = _frame(write(tmp_path / "app-setup", _log(loop=False)))
    # the set-up job is 46% of the time and 7.7 times the median, but runs few tasks
    assert it["duration_s"].iloc[0] / it["duration_s"].sum() > 1 / 3
    assert hidden_loop(it["duration_s"].tolist(), it["tasks"].tolist()) is None


def test_rule_thresholds() -> None:
    # the tester's ALS run (durations of its 16 Spark jobs; the loop job ran 130 tasks)
    als = [7.71, 1.06, 0.67, 0.16, 0.77, 3.14, 1.88, 17.25, 1.05, 1.12, 1.9, 2.06, 0.83]
    als += [0.37, 1.54, 0.22]
    tasks = [2] * 16
    tasks[7] = 130
    assert hidden_loop(als, tasks) is not None
    assert hidden_loop(als, [2] * 16) is None  # a slow job with ordinary tasks
    assert hidden_loop([17.25, 1, 1], [130, 2, 2]) is None  # too few iterations to tell
    # one long job among many iterations is a small share of the time
    assert hidden_loop([6.0] + [1.0] * 20, [40] + [2] * 20) is None
    assert hidden_loop([], []) is None


def test_import_warns_once_stored_not_when_skipped(
    repo: HistoryRepository, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    log = write(tmp_path / "app-als", _log(loop=True))
    with caplog.at_level(logging.WARNING):
        [done] = import_eventlogs(repo, [log], job="als")
    assert done.iterations == 10 and len(done.warnings) == 1
    assert done.warnings[0].startswith(f"{log}: iteration 6 takes")
    assert done.to_dict()["warnings"] == list(done.warnings)
    assert "inside one Spark job" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        [again] = import_eventlogs(repo, [log], job="als")
    assert again.skipped and again.warnings == ()
    assert "inside one Spark job" not in caplog.text


@pytest.mark.spark
@pytest.mark.slow
def test_real_logs_without_such_a_loop_are_not_warned_of(real_logs: dict[str, Path]) -> None:
    for name, log in real_logs.items():
        for mode in ("auto", "jobs"):
            it = _frame(log, mode)
            assert hidden_loop(it["duration_s"].tolist(), it["tasks"].tolist()) is None, name


_ALS = textwrap.dedent(
    """
    import sys
    from pyspark.sql import SparkSession
    from pyspark.ml.recommendation import ALS

    spark = (
        SparkSession.builder.master("local[1]")
        .appName("als")
        .config("spark.eventLog.enabled", "true")
        .config("spark.eventLog.dir", sys.argv[1])
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .getOrCreate()
    )
    rows = [(u, (u * 7 + k) % 60, float((u + k) % 5 + 1)) for u in range(300) for k in range(8)]
    df = spark.createDataFrame(rows, ["user", "item", "rating"]).cache()
    df.count()
    ALS(rank=4, maxIter=int(sys.argv[2]), regParam=0.1, seed=0).fit(df)
    spark.stop()
    """
)


@pytest.mark.spark
@pytest.mark.slow
def test_real_mllib_als_is_warned_of(tmp_path: Path) -> None:
    events = tmp_path / "events"
    events.mkdir()
    for max_iter in (3, 12):
        subprocess.run(
            [sys.executable, "-c", _ALS, str(events), str(max_iter)],
            check=True,
            capture_output=True,
            timeout=600,
        )
    logs = sorted(events.iterdir(), key=lambda p: p.stat().st_mtime)
    frames = [_frame(log) for log in logs]
    # the same number of "iterations" whatever maxIter: the loop is inside one job
    assert len(frames[0]) == len(frames[1])
    warning = hidden_loop(frames[1]["duration_s"].tolist(), frames[1]["tasks"].tolist())
    assert warning is not None and "as MLlib's ALS does" in warning
