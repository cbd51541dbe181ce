"""Importing real event logs: growing logs completed, one transaction, stray files, damage."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from jobcast.app.imports import import_eventlogs
from jobcast.collect import read_event_log
from jobcast.errors import ImportFormatError, InputError
from jobcast.history import HistoryRepository
from tests.workloads.spark_batch import real_logs, spark_runs

__all__ = ["real_logs", "spark_runs"]  # the real PySpark runs' fixtures

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def _lines(log: Path) -> list[bytes]:
    return log.read_bytes().split(b"\n")


def _cut_in_progress(log: Path, folder: Path, share: float = 0.5) -> Path:
    """The log as Spark has written it part way through: whole lines, ``.inprogress``."""
    lines = _lines(log)
    target = folder / (log.name + ".inprogress")
    target.write_bytes(b"\n".join(lines[: int(len(lines) * share)]) + b"\n")
    return target


def _iterations(repo: HistoryRepository, job: str) -> list[int]:
    frame = repo.iterations(job)
    return sorted(int(i) for i in frame["iteration"])


def test_log_imported_while_running_is_completed_later(
    repo: HistoryRepository, tmp_path: Path, real_logs: dict[str, Path]
) -> None:
    log = real_logs["cc"]
    full = read_event_log(log)
    folder = tmp_path / "spark-events"
    folder.mkdir()
    partial = _cut_in_progress(log, folder)
    [first] = import_eventlogs(repo, [folder], job="cc")
    assert not first.completed and not first.skipped
    assert 0 < first.iterations < len(full.iterations)
    held = repo.executions("cc", only_completed=False)
    assert held["gross_runtime"].isna().all()
    # Spark finishes the log and renames it: importing the folder again completes the run
    partial.unlink()
    shutil.copy(log, folder / log.name)
    [second] = import_eventlogs(repo, [folder], job="cc")
    assert second.updated and not second.skipped and second.completed
    assert second.iterations == len(full.iterations)
    frame = repo.executions("cc", only_completed=False)
    assert len(frame) == 1
    assert frame["gross_runtime"].iloc[0] == pytest.approx(full.run.gross_runtime_s)
    assert frame["finished_at"].notna().all()
    assert _iterations(repo, "cc") == list(range(len(full.iterations)))
    # and a third import has nothing more to do
    [third] = import_eventlogs(repo, [folder], job="cc")
    assert third.skipped and not third.updated


def test_several_logs_are_one_transaction(
    repo: HistoryRepository, tmp_path: Path, real_logs: dict[str, Path]
) -> None:
    folder = tmp_path / "mix"
    folder.mkdir()
    a = shutil.copy(real_logs["cc"], folder / "a-log")
    b = shutil.copy(real_logs["kmeans"], folder / "b-log.lz4")
    import_eventlogs(repo, [b], job=None)  # its job exists, without attribute 'foo'
    before = {j.name: len(repo.executions(j.name, only_completed=False)) for j in repo.list_jobs()}
    with pytest.raises(InputError, match=r"b-log.lz4: --set foo: .*Nothing was imported"):
        import_eventlogs(repo, [folder], context={"foo": 1})
    after = {j.name: len(repo.executions(j.name, only_completed=False)) for j in repo.list_jobs()}
    assert after == before  # the first log ('a-log', another job) was not written either
    assert Path(a).exists()


def test_just_started_logs_are_left_out_and_stray_files_named_together(
    repo: HistoryRepository,
    tmp_path: Path,
    real_logs: dict[str, Path],
    caplog: pytest.LogCaptureFixture,
) -> None:
    folder = tmp_path / "spark-events"
    folder.mkdir()
    shutil.copy(real_logs["cc"], folder / real_logs["cc"].name)
    (folder / "local-1796630000000.inprogress").write_bytes(b"")  # Spark just created it
    header = [line for line in _lines(real_logs["cc"]) if b"ApplicationStart" not in line][:1]
    (folder / "local-1796630000001.inprogress").write_bytes(b"\n".join(header) + b"\n")
    with caplog.at_level(logging.WARNING):
        done = import_eventlogs(repo, [folder], job="cc")
    assert [r.execution for r in done] == [read_event_log(real_logs["cc"]).run.app_id]
    assert "local-1796630000000.inprogress: left out" in caplog.text
    assert "local-1796630000001.inprogress: left out" in caplog.text
    (folder / "README.txt").write_text("readme\n")
    (folder / "notes").write_text("some notes")
    caplog.clear()
    with caplog.at_level(logging.WARNING), pytest.raises(ImportFormatError) as err:
        import_eventlogs(repo, [folder], job="other")
    assert "README.txt" in str(err.value) and "notes" in str(err.value)
    assert "not Spark event logs" in str(err.value)
    assert "still being written" not in caplog.text


def test_cut_plain_log_with_a_finished_name_is_damaged(
    repo: HistoryRepository, tmp_path: Path, real_logs: dict[str, Path]
) -> None:
    data = real_logs["cc"].read_bytes()
    cut = tmp_path / real_logs["cc"].name
    cut.write_bytes(data[: len(data) // 3])
    with pytest.raises(ImportFormatError, match="cut line although it is complete.*damaged"):
        import_eventlogs(repo, [cut], job="cc")
    assert repo.list_jobs() == []
    # the same cut, still being written: imported as running
    running = tmp_path / (real_logs["cc"].name + ".inprogress")
    running.write_bytes(data[: len(data) // 3])
    [r] = import_eventlogs(repo, [running], job="cc")
    assert not r.completed and not r.skipped


def test_corrupt_job_end_in_a_finished_log_is_reported(
    repo: HistoryRepository,
    tmp_path: Path,
    real_logs: dict[str, Path],
    caplog: pytest.LogCaptureFixture,
) -> None:
    lines = _lines(real_logs["cc"])
    ends = [i for i, line in enumerate(lines) if b'"SparkListenerJobEnd"' in line]
    k = ends[len(ends) // 2]
    lines[k] = lines[k][:40] + b"XXXX"
    damaged = tmp_path / real_logs["cc"].name
    damaged.write_bytes(b"\n".join(lines))
    with caplog.at_level(logging.WARNING):
        [r] = import_eventlogs(repo, [damaged], job="cc", iterations="jobs")
    full = read_event_log(real_logs["cc"], iterations="jobs")
    assert r.lost_jobs == 1 and r.corrupt_lines == 1
    assert r.iterations == len(full.iterations) - 1
    assert "lack their start or end" in caplog.text
