"""`workloads run` with a collector or `watch` beside it: one job, one convention, no loss."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from typer.testing import CliRunner

from jobcast.cli import app
from jobcast.history import HistoryRepository
from jobcast.service import create_app
from jobcast.workloads import WorkloadResult
from jobcast.workloads.record import AlreadyRecorded, record_workload, workload_attributes
from jobcast.workloads.runner import _start_reporting
from tests.collect.recording_server import free_port, running_server
from tests.helpers import run_main

runner = CliRunner()

PARAMS = MappingProxyType({"k": 8, "iterations": 3, "tol": 1e-3, "seed": 0, "pause_s": 0.0})


def _result(tmp_path: Path, app_id: str, *, problem: str | None = None) -> WorkloadResult:
    """A finished kmeans run whose event log is the crafted one (3 iterations)."""
    from tests.collect.test_eventlog import crafted_log

    log = tmp_path / app_id
    log.write_text("\n".join(crafted_log()).replace('"app-1"', f'"{app_id}"') + "\n")
    return WorkloadResult(
        name="kmeans", app_id=app_id, app_name="jobcast-kmeans", event_log=log, size=5000,
        cores=2, params=PARAMS, records=(10, 5, 1), durations_s=(1.0, 2.0, 4.0),
        runtime_s=11.0, job="kmeans", collector_problem=problem,
    )


def test_collector_takes_the_attributes_the_recorded_path_stores(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'h.db'}"
    with HistoryRepository(url) as repo:
        record_workload(repo, _result(tmp_path, "local-1"))  # as `workloads run` records
    service = create_app(url)
    token = service.state.tokens.create("collect").token
    context = workload_attributes(5000, 2, PARAMS)
    with running_server(service) as collector, pytest.MonkeyPatch.context() as mp:
        mp.setenv("JOBCAST_TOKEN", token)
        client = _start_reporting(collector, "local-2", job="kmeans", context=context, cores=2)
        assert client is not None
        client.close()
        assert client.refused == 0 and client.problem is None, client.refusals
        # a job the history does not know: refused, and said so
        other = _start_reporting(collector, "local-3", job="nope", context=context, cores=2)
        assert other is not None
        other.close()
        assert other.refused == 1 and "404" in (other.problem or "")
    with HistoryRepository(url) as repo:
        runs = repo.executions("kmeans", only_completed=False).set_index("external_id")
    assert runs.loc["local-2", "scale_out"] == runs.loc["local-1", "scale_out"] == 2
    for a in ("input_size", "cores", "k", "iterations", "tol", "seed"):
        assert runs.loc["local-2", a] == runs.loc["local-1", a], a


def _jobcast(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    return run_main(monkeypatch, capsys, *args)


def _fake_run(monkeypatch: pytest.MonkeyPatch, result: WorkloadResult) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def run_workload(name: str, **kwargs: Any) -> WorkloadResult:
        seen.update(kwargs, name=name)
        return result

    monkeypatch.setattr("jobcast.workloads.run_workload", run_workload)
    return seen


def test_a_refusing_collector_fails_the_command_and_the_run_is_recorded_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'h.db'}"
    problem = "1 report(s) refused; the collector refused a report (404: unknown job)"
    seen = _fake_run(monkeypatch, _result(tmp_path, "local-1", problem=problem))
    collector = f"http://127.0.0.1:{free_port()}"
    code, out, err = _jobcast(
        monkeypatch, capsys, "workloads", "run", "kmeans", "--collector", collector,
        "--event-log-dir", str(tmp_path / "ev"), "--db", url,
    )
    assert seen["job"] is None  # run_workload's default: the workload's name
    assert code == 1, (out, err)
    assert "404: unknown job" in err and "recorded in the local history instead" in err, err
    with HistoryRepository(url) as repo:
        assert repo.executions("kmeans")["external_id"].tolist() == ["local-1"]


def test_workload_after_watch_warns_instead_of_failing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'h.db'}"
    with HistoryRepository(url) as repo:  # a job with its attributes: an earlier run
        (tmp_path / "earlier").mkdir()
        record_workload(repo, _result(tmp_path / "earlier", "local-0"))
    result = _result(tmp_path, "local-1")
    watched = runner.invoke(
        app,
        ["watch", "--eventlog", str(result.event_log), "--job", "kmeans", "--interval", "0.05",
         "--timeout", "30", "--db", url, "--json"],
        catch_exceptions=False,
    )
    assert watched.exit_code == 0, watched.output
    with HistoryRepository(url) as repo:
        outcome = record_workload(repo, result)
    assert isinstance(outcome, AlreadyRecorded)
    assert set(outcome.missing) == {"input_size", "cores", "k", "iterations", "tol", "seed"}
    _fake_run(monkeypatch, result)
    code, out, err = _jobcast(
        monkeypatch, capsys, "workloads", "run", "kmeans", "--event-log-dir",
        str(tmp_path / "ev"), "--db", url, "--json",
    )
    assert code == 0, (out, err)
    payload = json.loads(out)
    assert payload["recorded_already"] and not payload["recorded"]
    code, out, err = _jobcast(
        monkeypatch, capsys, "workloads", "run", "kmeans", "--event-log-dir",
        str(tmp_path / "ev"), "--db", url,
    )
    assert code == 0, (out, err)
    assert "holds run local-1 already" in err and "--set input_size=5000" in err, err
    with HistoryRepository(url) as repo:
        assert sorted(repo.executions("kmeans")["external_id"]) == ["local-0", "local-1"]


def test_watch_after_the_workload_says_the_run_is_recorded_already(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'h.db'}"
    result = _result(tmp_path, "local-1")
    with HistoryRepository(url) as repo:
        record_workload(repo, result)  # the workload was first
    watched = runner.invoke(
        app,
        ["watch", "--eventlog", str(result.event_log), "--job", "kmeans", "--interval", "0.05",
         "--timeout", "30", "--db", url],
        catch_exceptions=False,
    )
    assert watched.exit_code == 0, watched.output
    assert "job 'kmeans' holds it already" in watched.stdout, watched.stdout
    with HistoryRepository(url) as repo:
        runs = repo.executions("kmeans")
    assert runs["external_id"].tolist() == ["local-1"] and runs["input_size"].tolist() == [5000]


def test_a_recorded_run_names_its_event_log_by_its_absolute_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was the relative `spark-events/local-…` of a relative --event-log-dir."""
    (tmp_path / "spark-events").mkdir()
    result = _result(tmp_path / "spark-events", "local-1")
    monkeypatch.chdir(tmp_path)
    relative = Path("spark-events") / "local-1"
    url = f"sqlite:///{tmp_path / 'h.db'}"
    with HistoryRepository(url) as repo:
        record_workload(repo, replace(result, event_log=relative))
    code, out, _ = _jobcast(monkeypatch, capsys, "runs", "--job", "kmeans", "--db", url, "--json")
    (run,) = json.loads(out)["runs"]
    assert run["origin"] == str(tmp_path / "spark-events" / "local-1"), run
