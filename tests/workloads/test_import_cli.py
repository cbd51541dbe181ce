"""`jobcast import eventlog` on event logs of real PySpark runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from jobcast.cli import app
from jobcast.history import HistoryRepository

runner = CliRunner()


@pytest.mark.spark
def test_import_real_event_logs(tmp_path: Path, real_logs: dict[str, Path]) -> None:
    url = f"sqlite:///{tmp_path / 'h.db'}"
    name, log = next(iter(sorted(real_logs.items())))
    result = runner.invoke(
        app,
        [
            "import",
            "eventlog",
            str(log),
            "--job",
            "real",
            "--iterations",
            "job-groups",
            "--db",
            url,
            "--json",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    (imp,) = json.loads(result.stdout)["imports"]
    assert imp["job"] == "real" and imp["iterations"] >= 2 and imp["completed"]
    with HistoryRepository(url) as repo:
        it = repo.iterations("real")
        ex = repo.executions("real")
        attributes = repo.job("real").attribute_names
    assert len(it) == imp["iterations"] and it["duration_s"].gt(0).all()
    # a local run as `workloads run` and `watch` record it: its 2 threads, its attributes
    assert set(it["scale_out"]) == {2} and "cores" in attributes and "iterations" in attributes
    assert ex["cores"].iloc[0] == 2
    assert ex["gross_runtime"].iloc[0] >= it["duration_s"].sum() * 0.99
    # the same log again is skipped as a run the history holds, and nothing changes
    again = runner.invoke(
        app, ["import", "eventlog", str(log), "--job", "real", "--db", url, "--json"]
    )
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["skipped"] == 1
    with HistoryRepository(url) as repo:
        assert len(repo.iterations("real")) == len(it)


@pytest.mark.spark
def test_watch_an_event_log_records_the_run(tmp_path: Path, real_logs: dict[str, Path]) -> None:
    url = f"sqlite:///{tmp_path / 'h.db'}"
    logs = sorted(real_logs.items())
    _, first = logs[0]
    result = runner.invoke(
        app,
        [
            "watch",
            "--eventlog",
            str(first),
            "--job",
            "w",
            "--interval",
            "0.1",
            "--timeout",
            "60",
            "--db",
            url,
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert "No estimate possible yet" in result.stdout and "recorded in job 'w'" in result.stdout
    with HistoryRepository(url) as repo:
        assert repo.executions("w")["gross_runtime"].iloc[0] > 0
        assert len(repo.iterations("w")) >= 2


@pytest.mark.spark
@pytest.mark.parametrize("codec", ["plain", "zstd"])
def test_import_an_event_log_from_stdin(
    tmp_path: Path, real_logs: dict[str, Path], codec: str
) -> None:
    import zstandard

    url = f"sqlite:///{tmp_path / 'h.db'}"
    _, log = next(iter(sorted(real_logs.items())))
    files = sorted(log.glob("events_*")) if log.is_dir() else [log]
    data = b"".join(f.read_bytes() for f in files)
    piped = zstandard.ZstdCompressor().compress(data) if codec == "zstd" else data
    result = runner.invoke(
        app, ["import", "eventlog", "-", "--job", "p", "--db", url, "--json"], input=piped
    )
    assert result.exit_code == 0, result.output
    (imp,) = json.loads(result.stdout)["imports"]
    assert imp["path"] == "<stdin>" and imp["iterations"] >= 2 and imp["completed"]
    with HistoryRepository(url) as repo:
        assert len(repo.iterations("p")) == imp["iterations"]
        # the history records the pipe as <stdin>, not the temporary copy's path
        with repo.engine.connect() as conn:
            both = "select origin from imports union select origin from executions"
            assert {o for (o,) in conn.execute(text(both))} == {"<stdin>"}


def test_import_eventlog_stdin_errors_name_it(tmp_path: Path) -> None:
    from jobcast.errors import ImportFormatError, InputError

    url = f"sqlite:///{tmp_path / 'h.db'}"
    bad = runner.invoke(app, ["import", "eventlog", "-", "--db", url], input=b'{"Event": "x"}\n')
    assert isinstance(bad.exception, ImportFormatError)
    assert bad.exception.path == "<stdin>" and "SparkListenerApplicationStart" in str(bad.exception)
    both = runner.invoke(app, ["import", "eventlog", "-", str(tmp_path), "--db", url])
    assert isinstance(both.exception, InputError)
    assert "must be the only event log" in str(both.exception)
