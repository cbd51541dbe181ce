"""The import use cases: event logs imported again skip known runs and take context."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobcast.app.imports import import_eventlogs
from jobcast.errors import InputError
from jobcast.history import HistoryRepository
from tests.collect.test_eventlog import crafted_log, write


def test_eventlog_import_again_skips_known_runs(repo: HistoryRepository, tmp_path: Path) -> None:
    log = write(tmp_path / "app-1", crafted_log())
    first = import_eventlogs(repo, [log], job="crafted", context={"input_mb": 512})
    assert [(r.skipped, r.iterations > 0) for r in first] == [(False, True)]
    again = import_eventlogs(repo, [log], job="crafted", context={"input_mb": 512})
    assert [r.skipped for r in again] == [True]
    frame = repo.executions("crafted", only_completed=False)
    assert len(frame) == 1 and frame["input_mb"].iloc[0] == 512


def test_eventlog_context_must_match_the_job(repo: HistoryRepository, tmp_path: Path) -> None:
    import_eventlogs(repo, [write(tmp_path / "a", crafted_log())], job="j", context={"k": 1})
    other = crafted_log()
    other[1] = other[1].replace("app-1", "app-2")
    with pytest.raises(InputError, match="no context attribute 'size'"):
        import_eventlogs(repo, [write(tmp_path / "b", other)], job="j", context={"size": 2})


def test_eventlog_results_say_what_became_of_each_run(
    repo: HistoryRepository, tmp_path: Path
) -> None:
    log = write(tmp_path / "app-1", crafted_log())
    [first] = import_eventlogs(repo, [log], job="c")
    assert (first.status, first.iterations) == ("recorded", 3)
    [again] = import_eventlogs(repo, [log], job="c")
    # held already: nothing written, and the iterations the history holds, not 0
    assert (again.status, again.skipped, again.iterations) == ("already there", True, 3)
    assert again.to_dict()["status"] == "already there"
    # a finished application without iterations, left out rather than refused
    other = crafted_log()
    other[1] = other[1].replace("app-1", "app-2")
    [left] = import_eventlogs(
        repo, [write(tmp_path / "app-2", other)], job="c", iterations="zzz", refuse_empty=False
    )
    assert (left.status, left.skipped, left.iterations) == ("left out", True, 0)
    assert left.warnings and "left out" in left.warnings[0]


def test_an_application_without_spark_jobs_is_stored_with_a_word(
    repo: HistoryRepository, tmp_path: Path
) -> None:
    """Was: stored as a completed run with 0 iterations and nothing said."""
    log = tmp_path / "app-nojobs"
    log.write_bytes(
        b'{"Event":"SparkListenerApplicationStart","App Name":"p",'
        b'"App ID":"app-9","Timestamp":1700000000000}\n'
        b'{"Event":"SparkListenerApplicationEnd","Timestamp":1700000009000}\n'
    )
    (result,) = import_eventlogs(repo, [log], job="nj")
    assert result.status == "recorded" and result.iterations == 0
    (warning,) = result.warnings
    assert "ran no Spark job" in warning and "stored with its runtime" in warning
