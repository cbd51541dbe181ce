"""Logs of applications that have only just started, in every layout, on every import route."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from jobcast.app.imports import import_eventlogs
from jobcast.collect import find_event_logs, read_event_log, read_event_logs
from jobcast.collect.sources import LineStream, resolve_event_log
from jobcast.errors import ImportFormatError
from jobcast.history import HistoryRepository
from tests.workloads.spark_batch import real_logs, spark_runs

__all__ = ["real_logs", "spark_runs"]  # the real PySpark runs' fixtures

pytestmark = [pytest.mark.spark, pytest.mark.slow]

APP = "local-1796640000001"


def _first_line(log: Path) -> bytes:
    """The log's first event (``SparkListenerLogStart``), decompressed."""
    first = next(iter(LineStream(resolve_event_log(log))))
    assert first.startswith(b'{"Event":"SparkListenerLogStart"')
    return first.rstrip(b"\n") + b"\n"


def _just_started(folder: Path, first: bytes, codec: str | None, *, closed: bool) -> Path:
    """A rolling folder as Spark leaves it right after creating it: only the first line.

    ``closed``: the zstd frame is ended (else only flushed, as by a stream still open).
    """
    log = folder / f"eventlog_v2_{APP}"
    log.mkdir()
    (log / f"appstatus_{APP}.inprogress").write_bytes(b"")
    name = f"events_1_{APP}" + (f".{codec}" if codec else "")
    if codec is None:
        data = first
    else:
        import zstandard

        packer = zstandard.ZstdCompressor().compressobj()
        data = packer.compress(first) + packer.flush(
            zstandard.COMPRESSOBJ_FLUSH_FINISH if closed else zstandard.COMPRESSOBJ_FLUSH_BLOCK
        )
    (log / name).write_bytes(data)
    return log


@pytest.mark.parametrize(
    ("name", "codec", "closed"),
    [("pagerank", "zstd", True), ("pagerank", "zstd", False), ("sgd", None, True)],
)
def test_just_started_rolling_log_is_left_out(
    tmp_path: Path,
    real_logs: dict[str, Path],
    caplog: pytest.LogCaptureFixture,
    name: str,
    codec: str | None,
    closed: bool,
) -> None:
    finished = real_logs[name]  # a real rolling log (zstd, or uncompressed for sgd)
    assert finished.is_dir() and finished.name.startswith("eventlog_v2_")
    folder = tmp_path / "spark-events"
    folder.mkdir()
    shutil.copytree(finished, folder / finished.name)
    fresh = _just_started(folder, _first_line(finished), codec, closed=closed)
    with caplog.at_level(logging.WARNING):
        found = read_event_logs([folder])
    assert [r.run.app_id for r in found] == [read_event_log(finished).run.app_id]
    assert f"eventlog_v2_{APP}: left out: Spark has not written the application's start" in (
        caplog.text
    )
    # given on its own, it is left out too; read as one log, the error says why
    assert read_event_logs([fresh]) == []
    with pytest.raises(ImportFormatError, match=r"no SparkListenerApplicationStart event yet.*"):
        read_event_log(fresh)


def test_rolling_folder_without_events_file_yet_is_left_out(
    tmp_path: Path, real_logs: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "spark-events"
    folder.mkdir()
    shutil.copytree(real_logs["pagerank"], folder / real_logs["pagerank"].name)
    fresh = folder / f"eventlog_v2_{APP}"
    fresh.mkdir()
    (fresh / f"appstatus_{APP}.inprogress").write_bytes(b"")  # Spark's first step
    with caplog.at_level(logging.WARNING):
        assert len(find_event_logs(folder)) == 1
        assert find_event_logs(fresh) == []
    assert caplog.text.count(f"eventlog_v2_{APP}: left out") == 2
    # a folder holding nothing but such a log is no error either
    only = tmp_path / "only"
    only.mkdir()
    shutil.move(fresh, only / fresh.name)
    assert read_event_logs([only]) == []


def test_import_with_a_just_started_rolling_log_imports_the_others(
    repo: HistoryRepository,
    tmp_path: Path,
    real_logs: dict[str, Path],
    caplog: pytest.LogCaptureFixture,
) -> None:
    folder = tmp_path / "spark-events"
    folder.mkdir()
    shutil.copytree(real_logs["pagerank"], folder / real_logs["pagerank"].name)
    _just_started(folder, _first_line(real_logs["pagerank"]), "zstd", closed=False)
    with caplog.at_level(logging.WARNING):
        [done] = import_eventlogs(repo, [folder], job="pr")
    assert done.completed and not done.skipped and done.iterations > 0
    assert "left out" in caplog.text
    assert len(repo.executions("pr", only_completed=False)) == 1
