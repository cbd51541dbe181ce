"""`jobcast import eventlog`: a just-started rolling log, no iteration, a loop in one job."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest

from jobcast.history import HistoryRepository
from tests.cli.conftest import Jobcast
from tests.collect.test_eventlog import write
from tests.collect.test_eventlog_just_started import APP, _first_line, _just_started
from tests.collect.test_hidden_loop import _log
from tests.workloads.spark_batch import real_logs, spark_runs

__all__ = ["real_logs", "spark_runs"]  # the real PySpark runs' fixtures


@pytest.mark.spark
@pytest.mark.slow
def test_folder_with_a_just_started_rolling_log_imports_the_rest(
    tmp_path: Path,
    jobcast: Jobcast,
    real_logs: dict[str, Path],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # the tester's repro_fresh: a finished rolling zstd log and one only just created
    folder = tmp_path / "repro_fresh"
    folder.mkdir()
    shutil.copytree(real_logs["pagerank"], folder / real_logs["pagerank"].name)
    _just_started(folder, _first_line(real_logs["pagerank"]), "zstd", closed=True)
    db = f"sqlite:///{tmp_path / 'h.db'}"
    with caplog.at_level(logging.WARNING):
        code, out, err = jobcast("import", "eventlog", str(folder), "--job", "lp", "--db", db)
    assert code == 0, err
    assert out.startswith("Imported ") and "into 'lp'" in out
    assert f"eventlog_v2_{APP}: left out" in caplog.text


@pytest.mark.spark
@pytest.mark.slow
def test_no_iteration_is_refused_and_the_right_option_then_imports(
    tmp_path: Path, jobcast: Jobcast, real_logs: dict[str, Path]
) -> None:
    log = str(real_logs["cc"])
    db = f"sqlite:///{tmp_path / 'h.db'}"
    code, out, err = jobcast(
        "import", "eventlog", log, "--job", "lr2", "--iterations", "treeAggregate", "--db", db
    )
    assert code == 2 and out == ""
    text = " ".join(err.split())
    assert "--iterations 'treeAggregate' puts none of the application's Spark jobs" in text
    assert "Try --iterations jobs" in text and "Nothing was imported" in text
    code, out, err = jobcast("import", "eventlog", log, "--job", "lr2", "--db", db)
    assert code == 0 and "Skipped" not in out, err
    with HistoryRepository(db) as repo:
        assert len(repo.iterations("lr2")) > 0


def test_loop_in_one_job_is_warned_of_in_json(tmp_path: Path, jobcast: Jobcast) -> None:
    log = write(tmp_path / "app-als", _log(loop=True))
    db = f"sqlite:///{tmp_path / 'h.db'}"
    code, out, err = jobcast("import", "eventlog", str(log), "--job", "als", "--db", db, "--json")
    assert code == 0, err
    [done] = json.loads(out)["imports"]
    [warning] = done["warnings"]
    assert "inside one Spark job (as MLlib's ALS does)" in warning


@pytest.mark.parametrize("loop", [True, False])
def test_watch_warns_of_a_loop_in_one_job_as_the_import_does(
    tmp_path: Path, jobcast: Jobcast, loop: bool
) -> None:
    log = write(tmp_path / "app-als", _log(loop=loop))
    db = f"sqlite:///{tmp_path / 'h.db'}"
    code, out, err = jobcast(
        "watch", "--eventlog", str(log), "--job", "als", "--interval", "0.1", "--db", db, "--json"
    )
    assert code == 0, err
    summary = json.loads(out.splitlines()[-1])
    assert summary["recorded"] == "recorded"
    warned = [w for w in summary["warnings"] if "inside one Spark job (as MLlib's ALS does)" in w]
    assert len(warned) == int(loop), summary
    # without --json it goes to stderr, once
    code, out, err = jobcast("watch", "--eventlog", str(log), "--job", "als2", "--db", db)
    assert code == 0 and err.count("as MLlib's ALS does") == int(loop), err
