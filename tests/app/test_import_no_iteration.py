"""Imports that find no iteration are refused; origins are absolute paths."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from jobcast.app.imports import import_eventlogs
from jobcast.collect import read_event_log
from jobcast.errors import InputError
from jobcast.history import HistoryRepository
from jobcast.history.schema import ImportRow
from tests.collect.test_eventlog import crafted_log, ev, write
from tests.workloads.spark_batch import real_logs, spark_runs

__all__ = ["real_logs", "spark_runs"]  # the real PySpark runs' fixtures

spark = [pytest.mark.spark, pytest.mark.slow]


def _held(repo: HistoryRepository) -> dict[str, int]:
    return {j.name: len(repo.executions(j.name, only_completed=False)) for j in repo.list_jobs()}


@pytest.mark.spark
@pytest.mark.slow
def test_regex_matching_no_job_is_refused_and_can_be_fixed(
    repo: HistoryRepository, real_logs: dict[str, Path]
) -> None:
    log = real_logs["cc"]  # sets job groups iteration-0, iteration-1, ...
    with pytest.raises(InputError) as err:
        import_eventlogs(repo, [log], job="cc", iterations="treeAggregate")
    text = str(err.value)
    assert str(log) in text and "--iterations 'treeAggregate'" in text
    assert "not in call sites" in text  # what the tester tried
    assert "Spark jobs" in text and "with a job group (e.g. 'iteration-0'" in text
    assert "--iterations jobs" in text and "auto" in text and "job-groups" in text
    assert "Nothing was imported" in text
    assert repo.list_jobs() == []
    # not stored, so the import with the right option records it
    [done] = import_eventlogs(repo, [log], job="cc", iterations="job-groups")
    assert done.iterations == len(read_event_log(log, iterations="job-groups").iterations)


@pytest.mark.spark
@pytest.mark.slow
def test_one_log_without_iterations_refuses_the_whole_import(
    repo: HistoryRepository, tmp_path: Path, real_logs: dict[str, Path]
) -> None:
    folder = tmp_path / "spark-events"
    folder.mkdir()
    shutil.copy(real_logs["cc"], folder / real_logs["cc"].name)
    shutil.copy(real_logs["kmeans"], folder / real_logs["kmeans"].name)
    with pytest.raises(InputError) as err:
        # cc and kmeans: every log is named, and what each one has
        import_eventlogs(repo, [folder], iterations=r"^pagerank iteration")
    text = str(err.value)
    assert text.startswith("2 finished applications have no iteration, so nothing was imported")
    assert "(1) " in text and "(2) " in text
    assert real_logs["cc"].name in text and real_logs["kmeans"].name in text
    assert _held(repo) == {}
    # a run the history holds already is skipped, not refused, whatever the option
    import_eventlogs(repo, [folder / real_logs["cc"].name], job="mix")
    shutil.copytree(real_logs["pagerank"], folder / real_logs["pagerank"].name)
    with pytest.raises(InputError) as err:
        import_eventlogs(repo, [folder], job="mix", iterations=r"pagerank iteration (\d+)")
    assert real_logs["kmeans"].name in str(err.value)
    assert real_logs["cc"].name not in str(err.value)
    assert _held(repo) == {"mix": 1}  # nothing more written
    (folder / real_logs["kmeans"].name).unlink()
    done = import_eventlogs(repo, [folder], job="mix", iterations=r"pagerank iteration (\d+)")
    # the held run with the iterations the history holds of it
    assert sorted((r.skipped, r.iterations > 0) for r in done) == [(False, True), (True, True)]


def test_application_without_spark_jobs_is_still_stored(
    repo: HistoryRepository, tmp_path: Path
) -> None:
    lines = [
        ev("LogStart", **{"Spark Version": "4.0.0"}),
        ev("ApplicationStart", **{"App Name": "idle", "App ID": "app-9", "Timestamp": 0}),
        ev("ApplicationEnd", Timestamp=5000),
    ]
    log = write(tmp_path / "app-9", lines)
    assert read_event_log(log, iterations="nothing-matches").no_iteration is None
    [done] = import_eventlogs(repo, [log], job="idle", iterations="nothing-matches")
    assert done.completed and not done.skipped and done.iterations == 0


def test_running_application_without_iterations_yet_is_stored(
    repo: HistoryRepository, tmp_path: Path
) -> None:
    lines = crafted_log()[:-1]  # no application end
    log = write(tmp_path / "app-1.inprogress", lines)
    assert read_event_log(log, iterations="zzz").no_iteration is None
    [done] = import_eventlogs(repo, [log], job="c", iterations="zzz")
    assert not done.completed and done.iterations == 0
    # once it ended, the right option completes it; the wrong one is refused
    finished = write(tmp_path / "app-1", crafted_log())
    log.unlink()
    with pytest.raises(InputError, match=r"app-1: --iterations 'zzz'.*4 with a job group"):
        import_eventlogs(repo, [finished], job="c", iterations="zzz")
    [done] = import_eventlogs(repo, [finished], job="c", iterations="job-groups")
    assert done.updated and done.iterations == 3


def test_origin_is_the_absolute_path_and_reimport_is_detected(
    repo: HistoryRepository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    write(folder / "app-1", crafted_log())
    monkeypatch.chdir(tmp_path)
    [first] = import_eventlogs(repo, [Path("logs/app-1")], job="c")
    assert first.path == "logs/app-1"  # messages name the log as given
    with repo.engine.connect() as conn:
        origins = {row[0] for row in conn.execute(select(ImportRow.origin))}
    assert origins == {os.path.join(str(tmp_path), "logs", "app-1")}
    # another spelling of the same file, from another folder: the same run
    monkeypatch.chdir(folder)
    [again] = import_eventlogs(repo, [Path("../logs/./app-1")], job="c")
    assert again.skipped
    [again] = import_eventlogs(repo, [folder / "app-1"], job="c")
    assert again.skipped


@pytest.mark.spark
@pytest.mark.slow
def test_a_followed_source_leaves_such_a_log_out_and_imports_the_rest(
    repo: HistoryRepository, tmp_path: Path, real_logs: dict[str, Path],
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    """`serve --source`: a refused import would block every later log of the source."""
    import logging

    from jobcast.app.service_ingest import SourceFollower

    folder = tmp_path / "spark-events"
    folder.mkdir()
    shutil.copytree(real_logs["pagerank"], folder / real_logs["pagerank"].name)
    shutil.copy(real_logs["kmeans"], folder / real_logs["kmeans"].name)
    follower = SourceFollower(repo, str(folder), job="pr", iterations=r"pagerank iteration (\d+)")
    with caplog.at_level(logging.WARNING):
        follower()
    assert _held(repo) == {"pr": 1}
    left = [r.getMessage() for r in caplog.records if "left out" in r.getMessage()]
    assert len(left) == 1 and real_logs["kmeans"].name in left[0]
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        follower()  # the next pass: neither copied nor warned of again
    assert _held(repo) == {"pr": 1} and "left out" not in caplog.text
