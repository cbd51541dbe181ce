from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobcast.collect import (
    EXTRA_ITERATION_COLUMNS,
    ITERATION_COLUMNS,
    EventLogFollower,
    EventLogParser,
    find_event_logs,
    read_event_log,
    read_event_logs,
)
from jobcast.collect.sources import LineStream, resolve_event_log
from jobcast.errors import ImportFormatError, InputError

spark = [pytest.mark.spark, pytest.mark.slow]


# -- a handcrafted log: executors come and go --------------------------------------------


def ev(name: str, **fields: Any) -> str:
    return json.dumps({"Event": f"SparkListener{name}", **fields}, separators=(",", ":"))


def task_end(stage: int) -> str:
    metrics = {
        "Executor Run Time": 100,
        "Executor CPU Time": 50_000_000,
        "Disk Bytes Spilled": 1,
        "Shuffle Read Metrics": {
            "Remote Bytes Read": 300,
            "Local Bytes Read": 200,
            "Total Records Read": 5,
        },
        "Shuffle Write Metrics": {"Shuffle Bytes Written": 7},
        "Input Metrics": {"Bytes Read": 1000, "Records Read": 10},
        "Output Metrics": {"Bytes Written": 3},
    }
    return ev(
        "TaskEnd",
        **{
            "Stage ID": stage,
            "Stage Attempt ID": 0,
            "Task Type": "ResultTask",
            "Task Info": {"Task ID": 1, "Executor ID": "1"},
            "Task Metrics": metrics,
        },
    )


def job_start(
    job: int, t: int, stages: list[int], group: str | None = None, desc: str | None = None
) -> str:
    props = {}
    if group is not None:
        props["spark.jobGroup.id"] = group
    if desc is not None:
        props["spark.job.description"] = desc
    return ev(
        "JobStart",
        **{"Job ID": job, "Submission Time": t, "Stage IDs": stages, "Properties": props},
    )


def job_end(job: int, t: int) -> str:
    return ev(
        "JobEnd", **{"Job ID": job, "Completion Time": t, "Job Result": {"Result": "JobSucceeded"}}
    )


def crafted_log() -> list[str]:
    """Two executors, a third joins in iteration 1 and one leaves in iteration 2."""
    return [
        ev("LogStart", **{"Spark Version": "4.0.0"}),
        ev("ApplicationStart", **{"App Name": "crafted", "App ID": "app-1", "Timestamp": 0}),
        ev("ExecutorAdded", **{"Timestamp": 100, "Executor ID": "1"}),
        ev("ExecutorAdded", **{"Timestamp": 200, "Executor ID": "2"}),
        # a job outside any iteration group
        job_start(0, 500, [0]),
        task_end(0),
        job_end(0, 900),
        # iteration 0: 2 executors throughout, two jobs
        job_start(1, 1000, [1], "it-0", "step 0"),
        task_end(1),
        job_end(1, 1500),
        job_start(2, 1500, [1, 2], "it-0", "step 0"),
        task_end(2),
        task_end(2),
        job_end(2, 2000),
        # iteration 1: 2 executors for 500 ms, then 3 for 1500 ms -> 2.75 -> 3
        job_start(3, 3000, [3], "it-1", "step 1"),
        ev("ExecutorAdded", **{"Timestamp": 3500, "Executor ID": "3"}),
        task_end(3),
        job_end(3, 5000),
        # iteration 2: 3 executors for 1000 ms, then 2 for 3000 ms -> 2.25 -> 2
        job_start(4, 6000, [4], "it-2", "step 2"),
        ev("ExecutorRemoved", **{"Timestamp": 7000, "Executor ID": "1", "Removed Reason": "x"}),
        task_end(4),
        job_end(4, 10000),
        ev("ApplicationEnd", Timestamp=11000),
    ]


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def test_crafted_scale_out_and_metrics(tmp_path: Path) -> None:
    result = read_event_log(write(tmp_path / "app-1", crafted_log()), iterations="job-groups")
    it = result.iterations
    assert list(it.columns) == list(ITERATION_COLUMNS) + list(EXTRA_ITERATION_COLUMNS)
    assert it["label"].tolist() == ["it-0", "it-1", "it-2"]
    assert it["iteration"].tolist() == [0, 1, 2]
    assert it["scale_out"].tolist() == [2, 3, 2]
    assert it["duration_s"].tolist() == [1.0, 2.0, 4.0]
    assert it["jobs"].tolist() == [2, 1, 1]
    assert it["tasks"].tolist() == [3, 1, 1]
    assert it["records"].tolist() == [45, 15, 15]
    assert it["net"].tolist() == [900, 300, 300]
    # disk = input 1000 + output 3 + shuffle write 7 + local shuffle read 200 + spill 1
    assert it["disk"].tolist() == [3 * 1211, 1211, 1211]
    assert np.allclose(it["cpu"], 0.5)
    assert (it["execution"] == "app-1").all()
    assert str(it["started_at"].dt.tz) == "UTC"
    run = result.run
    assert run.app_id == "app-1" and run.app_name == "crafted" and run.completed
    assert run.gross_runtime_s == 11.0
    assert run.max_executors == 3 and run.final_executors == 2
    assert run.spark_version == "4.0.0"
    assert result.corrupt_lines == 0


def test_crafted_modes(tmp_path: Path) -> None:
    path = write(tmp_path / "app-1", crafted_log())
    jobs = read_event_log(path, iterations="jobs").iterations
    assert jobs["label"].tolist() == ["0", "1", "2", "3", "4"]
    regex = read_event_log(path, iterations=r"step (\d+)").iterations
    assert regex["label"].tolist() == ["0", "1", "2"]
    assert regex["jobs"].tolist() == [2, 1, 1]
    whole = read_event_log(path, iterations=r"it-\d").iterations
    assert whole["label"].tolist() == ["it-0", "it-1", "it-2"]
    with pytest.raises(InputError, match="regular expression"):
        read_event_log(path, iterations="step (")


def test_auto_iterations_groups_when_set_jobs_otherwise(tmp_path: Path) -> None:
    # the application sets job groups: the set-up job before them is no iteration
    grouped = read_event_log(write(tmp_path / "app-1", crafted_log())).iterations
    assert grouped["label"].tolist() == ["it-0", "it-1", "it-2"]
    # the same application without job groups or descriptions: each Spark job
    plain = [
        line.replace('"spark.jobGroup.id":"it-', '"x":"').replace(
            '"spark.job.description":"step', '"y":"'
        )
        for line in crafted_log()
    ]
    parser = EventLogParser(name="plain")
    parser.feed_lines(line.encode() for line in plain)
    assert parser.iterations_frame()["label"].tolist() == ["0", "1", "2", "3", "4"]
    assert parser.rule.used == "jobs" and "sets no job groups" in parser.rule.describe()
    # descriptions only: iterations by description
    described = [line.replace('"spark.jobGroup.id":"it-', '"x":"') for line in crafted_log()]
    labels = read_event_log(write(tmp_path / "app-2", described)).iterations["label"]
    assert labels.tolist() == ["step 0", "step 1", "step 2"]


def test_local_mode_without_executor_events_counts_driver(tmp_path: Path) -> None:
    lines = [line for line in crafted_log() if "Executor" not in line.split(",")[0]]
    result = read_event_log(write(tmp_path / "app-1", lines), iterations="job-groups")
    assert result.iterations["scale_out"].tolist() == [1, 1, 1]
    assert result.run.final_executors == 1 and result.run.max_executors == 1


def test_corrupt_lines_skipped_counted_and_warned(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lines = crafted_log()
    bad = lines[:6] + ["garbage", '{"Event":"SparkListenerJobStart","Job ID":'] + lines[6:]
    bad.insert(11, task_end(1)[:-40] + "}")  # a TaskEnd of a running job, metrics cut
    bad.insert(3, "\x00\x01 binary")
    clean = read_event_log(write(tmp_path / "clean", lines), iterations="job-groups")
    with caplog.at_level(logging.WARNING, logger="jobcast.collect.eventlog"):
        result = read_event_log(write(tmp_path / "bad", bad), iterations="job-groups")
    assert result.corrupt_lines == 4
    assert "skipped 4 corrupt lines" in caplog.text
    assert str(tmp_path / "bad") in caplog.text
    pd.testing.assert_frame_equal(
        result.iterations.drop(columns="execution"), clean.iterations.drop(columns="execution")
    )


def test_in_progress_cut_line(tmp_path: Path) -> None:
    lines = crafted_log()[:-4]  # iteration 2 still running, no application end
    cut = lines + [task_end(4)[:57]]
    result = read_event_log(write(tmp_path / "app-1.inprogress", cut), iterations="job-groups")
    assert result.corrupt_lines == 1
    assert not result.run.completed
    assert result.run.gross_runtime_s == 6.0  # up to the last event seen
    # it-1 is closed because it-2 started; it-2 is running
    assert result.iterations["label"].tolist() == ["it-0", "it-1"]


def test_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ImportFormatError, match="no such file"):
        read_event_log(tmp_path / "missing")
    (tmp_path / "app.snappy").write_bytes(b"x")
    with pytest.raises(ImportFormatError, match=r"app\.snappy.*snappy.*not supported"):
        read_event_log(tmp_path / "app.snappy")
    (tmp_path / "notes.txt").write_text("hello\nworld\n")
    with pytest.raises(ImportFormatError, match=r"notes\.txt.*ApplicationStart"):
        read_event_log(tmp_path / "notes.txt")
    (tmp_path / "fake.zstd").write_bytes(b"plain text")
    with pytest.raises(ImportFormatError, match=r"fake\.zstd.*not zstd"):
        read_event_log(tmp_path / "fake.zstd")
    (tmp_path / "fake.lz4").write_bytes(b"plain text here")
    with pytest.raises(ImportFormatError, match=r"fake\.lz4.*lz4"):
        read_event_log(tmp_path / "fake.lz4")
    empty = tmp_path / "emptydir"
    empty.mkdir()
    (empty / "readme").mkdir()
    with pytest.raises(ImportFormatError, match="rolling"):
        resolve_event_log(empty)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=120), max_size=30))
def test_parser_never_crashes_on_garbage(lines: list[bytes]) -> None:
    parser = EventLogParser(iterations="job-groups")
    for line in lines:
        parser.feed(line)
    assert 0 <= parser.corrupt_lines <= parser.lines
    frame = parser.iterations_frame()
    assert len(frame) == 0


# -- real PySpark runs -------------------------------------------------------------------


@pytest.mark.spark
@pytest.mark.slow
def test_real_logs_every_layout(spark_runs: dict[str, dict[str, Any]]) -> None:
    layouts = set()
    for name, run in spark_runs.items():
        path = Path(run["event_log"])
        source = resolve_event_log(path)
        layouts.add((run["codec"], run["rolling"]))
        if run["rolling"]:
            assert path.name.startswith("eventlog_v2_") and path.is_dir()
            assert all(f.name.startswith("events_1_") for f in source.files[:1])
        if run["codec"]:
            assert all(f.name.endswith(f".{run['codec']}") for f in source.files)
        result = read_event_log(path, iterations="job-groups")
        it = result.iterations
        assert result.corrupt_lines == 0, name
        assert result.run.completed and result.run.app_id == run["app_id"]
        assert result.run.app_name == run["app_name"]
        assert len(it) == run["iterations"], name
        assert it["label"].tolist() == [f"iteration-{i}" for i in range(run["iterations"])]
        assert (it["scale_out"] == 2).all()  # local mode: its worker threads (local[2])
        assert (it["duration_s"] > 0).all() and (it["records"] >= 0).all()
        assert it["records"].sum() > 0 and (it["disk"] > 0).any()
        assert it["cpu"].between(0, 2).all()
        assert (it["net"] == 0).all()  # no remote shuffle reads on one machine
        assert (it["started_at"].diff().dropna() > pd.Timedelta(0)).all()
        # the iterations lie inside the application and the driver's own clock agrees
        assert it["started_at"].min() >= pd.Timestamp(result.run.started_at)
        assert it["finished_at"].max() <= pd.Timestamp(result.run.finished_at)
        assert it["duration_s"].sum() <= result.run.gross_runtime_s
        driver = np.array(run["durations_s"])
        assert np.all(it["duration_s"].to_numpy() <= driver + 0.05)
    assert {("zstd", True), ("lz4", False), (None, False), (None, True)} <= layouts


@pytest.mark.spark
@pytest.mark.slow
def test_real_log_iteration_modes(real_logs: dict[str, Path]) -> None:
    # pagerank runs two Spark jobs per iteration
    groups = read_event_log(real_logs["pagerank"], iterations="job-groups").iterations
    jobs = read_event_log(real_logs["pagerank"], iterations="jobs").iterations
    regex = read_event_log(real_logs["pagerank"], iterations=r"pagerank iteration (\d+)")
    assert (groups["jobs"] == 2).all()
    assert len(jobs) >= 2 * len(groups)  # plus jobs outside iterations (none here)
    assert regex.iterations["label"].tolist() == [str(i) for i in range(len(groups))]
    assert regex.iterations["records"].tolist() == groups["records"].tolist()
    # each job group spans its jobs
    inside = jobs[jobs["started_at"] >= groups["started_at"].min()]
    assert inside["records"].sum() == groups["records"].sum()


@pytest.mark.spark
@pytest.mark.slow
def test_real_log_folder_and_several_apps(real_logs: dict[str, Path]) -> None:
    folder = real_logs["cc"].parent
    sources = find_event_logs(folder)
    assert {s.path for s in sources} >= set(real_logs.values())
    results = read_event_logs([folder], iterations="job-groups")
    assert {r.run.app_id for r in results} >= {
        read_event_log(p).run.app_id for p in real_logs.values()
    }


@pytest.mark.spark
@pytest.mark.slow
def test_real_compressed_matches_uncompressed_stream(real_logs: dict[str, Path]) -> None:
    for name in ("pagerank", "kmeans"):  # zstd, lz4
        stream = LineStream(resolve_event_log(real_logs[name]))
        lines = list(stream)
        assert lines[0].startswith(b'{"Event":"SparkListenerLogStart"')
        assert b"SparkListenerApplicationEnd" in lines[-1]
        assert stream.bytes_read == sum(len(line) + 1 for line in lines)


@pytest.mark.spark
@pytest.mark.slow
def test_real_in_progress_cut_and_corrupt(
    tmp_path: Path, real_logs: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    full = read_event_log(real_logs["cc"], iterations="job-groups")
    lines = real_logs["cc"].read_bytes().split(b"\n")
    # cut in the middle of the last iteration's last TaskEnd, as a crash would leave it
    last_task = max(i for i, line in enumerate(lines) if b"SparkListenerTaskEnd" in line)
    partial = lines[:last_task] + [lines[last_task][: len(lines[last_task]) // 2]]
    partial.insert(5, b"#corrupt#")
    target = tmp_path / (real_logs["cc"].name + ".inprogress")
    target.write_bytes(b"\n".join(partial))
    with caplog.at_level(logging.WARNING):
        result = read_event_log(target, iterations="job-groups")
    assert result.corrupt_lines == 2
    assert "skipped 2 corrupt lines" in caplog.text
    assert not result.run.completed
    n = len(full.iterations)
    assert len(result.iterations) == n - 1  # the last iteration is still running
    pd.testing.assert_frame_equal(result.iterations, full.iterations.iloc[: n - 1])
    with_open = EventLogParser(iterations="job-groups")
    for line in partial:
        with_open.feed(line)
    assert len(with_open.iterations_frame(include_open=True)) == n - 1  # its job has not ended


@pytest.mark.spark
@pytest.mark.slow
def test_real_truncated_compressed_logs(tmp_path: Path, real_logs: dict[str, Path]) -> None:
    for name in ("pagerank", "kmeans"):
        source = resolve_event_log(real_logs[name])
        data = source.files[0].read_bytes()
        cut = tmp_path / (source.files[0].name + ".inprogress")
        cut.write_bytes(data[: len(data) - 200])  # the last compressed block is cut
        result = read_event_log(cut, iterations="job-groups")
        assert not result.run.completed
        full = read_event_log(real_logs[name], iterations="job-groups")
        assert len(result.iterations) <= len(full.iterations)
        done = tmp_path / source.files[0].name  # the same cut in a log said to be complete
        done.write_bytes(data[: len(data) - 200])
        with pytest.raises(ImportFormatError, match="cut short"):
            read_event_log(done, iterations="job-groups")


@pytest.mark.spark
@pytest.mark.slow
def test_follower_reads_a_growing_log(tmp_path: Path, real_logs: dict[str, Path]) -> None:
    src = real_logs["cc"]
    lines = src.read_bytes().split(b"\n")
    growing = tmp_path / (src.name + ".inprogress")
    follower = EventLogFollower(growing, iterations="job-groups")
    seen: list[pd.DataFrame] = []
    step = max(1, len(lines) // 7)
    for end in range(step, len(lines) + step, step):
        growing.write_bytes(b"\n".join(lines[:end]))
        seen.append(follower.poll())
    shutil.move(growing, tmp_path / src.name)  # Spark renames the file at the end
    seen.append(follower.poll())
    got = pd.concat(seen, ignore_index=True)
    full = read_event_log(src, iterations="job-groups").iterations
    assert got["label"].tolist() == full["label"].tolist()
    assert got["duration_s"].tolist() == full["duration_s"].tolist()
    assert follower.completed and follower.corrupt_lines == 0


def test_rolling_folder_in_numeric_order_and_followed(tmp_path: Path) -> None:
    lines = crafted_log()
    folder = tmp_path / "eventlog_v2_app-1"
    folder.mkdir()
    status = folder / "appstatus_app-1.inprogress"
    status.write_bytes(b"")
    # events_2 and events_10: the order is numeric, not alphabetic
    parts = {2: lines[:8], 10: lines[8:15]}
    for n, part in parts.items():
        write(folder / f"events_{n}_app-1", part)
    follower = EventLogFollower(folder, iterations="job-groups")
    first = follower.poll()
    assert first["label"].tolist() == ["it-0"]  # it-1 started, so it-0 is closed
    assert not follower.completed
    write(folder / "events_11_app-1", lines[15:])
    status.rename(folder / "appstatus_app-1")
    second = follower.poll()
    assert second["label"].tolist() == ["it-1", "it-2"]
    assert follower.completed
    source = resolve_event_log(folder)
    assert [f.name for f in source.files] == [
        "events_2_app-1",
        "events_10_app-1",
        "events_11_app-1",
    ]
    assert not source.in_progress
    progress: list[int] = []
    whole = read_event_log(folder, iterations="job-groups", callback=progress.append)
    single = read_event_log(write(tmp_path / "app-1", lines), iterations="job-groups")
    pd.testing.assert_frame_equal(whole.iterations, single.iterations)
    assert progress and progress[-1] == whole.bytes_read == single.bytes_read


def test_compressed_logs_name_their_codec(tmp_path: Path) -> None:
    import gzip

    import zstandard

    lines = ("\n".join(crafted_log()) + "\n").encode()
    (tmp_path / "app.gz").write_bytes(gzip.compress(lines))
    with pytest.raises(ImportFormatError, match=r"gzip-compressed.*gunzip app\.gz"):
        read_event_log(tmp_path / "app.gz")
    (tmp_path / "app-2").write_bytes(gzip.compress(lines))
    with pytest.raises(ImportFormatError, match=r"content is gzip-compressed"):
        read_event_log(tmp_path / "app-2")
    packed = zstandard.ZstdCompressor().compress(lines)
    (tmp_path / "app-3").write_bytes(packed)
    with pytest.raises(ImportFormatError, match=r"zstd-compressed.*rename it to end in \.zstd"):
        read_event_log(tmp_path / "app-3")
    # a cut zstd stream: an error for a finished log, a warning while Spark writes it
    (tmp_path / "cut.zstd").write_bytes(packed[: len(packed) // 2])
    with pytest.raises(ImportFormatError, match=r"zstd stream is cut short.*damaged"):
        read_event_log(tmp_path / "cut.zstd")
    (tmp_path / "cut.zstd.inprogress").write_bytes(packed[: len(packed) // 2])
    with pytest.raises(ImportFormatError, match=r"zstd-compressed log.*still writing"):
        read_event_log(tmp_path / "cut.zstd.inprogress")
