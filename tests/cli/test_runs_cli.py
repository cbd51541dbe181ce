"""`jobcast runs --job NAME`: a job's runs, where each came from and how it stands."""

from __future__ import annotations

import io
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from jobcast.history import HistoryRepository
from tests.cli.conftest import Jobcast
from tests.collect.test_eventlog import crafted_log, write

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def history(history_url: str, tmp_path: Path, jobcast: Jobcast) -> str:
    """Job 'loop': an imported event log, three live runs (completed, failed, running)."""
    log = write(tmp_path / "app-1", crafted_log())  # started 1970-01-01, 3 iterations
    code, _, err = jobcast("import", "eventlog", str(log), "--job", "loop", "--db", history_url)
    assert code == 0, err
    with HistoryRepository(history_url) as repo:
        spec = repo.job("loop")
        for k, name in enumerate(["live-done", "live-failed", "live-running"], 1):
            repo.start_execution(spec, name, scale_out=4, started_at=T0 + timedelta(hours=k))
            for i in range(k):
                repo.record_iteration("loop", name, i, values={"duration_s": 10.0, "scale_out": 4})
        repo.finish_execution("loop", "live-done", finished_at=T0 + timedelta(hours=1, seconds=90))
        repo.finish_execution(
            "loop", "live-failed", finished_at=T0 + timedelta(hours=2, seconds=30), completed=False
        )
    return history_url


def test_runs_json_says_where_each_run_came_from(
    history: str, tmp_path: Path, jobcast: Jobcast
) -> None:
    code, out, err = jobcast("runs", "--job", "loop", "--db", history, "--json")
    assert code == 0, err
    listing = json.loads(out)
    assert {k: listing[k] for k in ("job", "status", "total", "shown", "left_out")} == {
        "job": "loop",
        "status": None,
        "total": 4,
        "shown": 4,
        "left_out": 0,
    }
    runs = listing["runs"]
    # most recent (latest start) first
    assert [r["id"] for r in runs] == ["live-running", "live-failed", "live-done", "app-1"]
    assert [r["status"] for r in runs] == ["running", "failed", "completed", "completed"]
    assert [r["iterations"] for r in runs] == [3, 2, 1, 3]
    assert [r["origin"] for r in runs[:3]] == ["live"] * 3
    # an event log's origin is its absolute path, whatever the folder the import ran in
    assert runs[3]["origin"] == os.path.abspath(tmp_path / "app-1")
    assert runs[3]["source"] == "file" and runs[3]["scale_out"] == 2
    done, running = runs[2], runs[0]
    assert done["started_at"] == (T0 + timedelta(hours=1)).isoformat()
    assert done["finished_at"] == (T0 + timedelta(hours=1, seconds=90)).isoformat()
    assert done["gross_runtime"] == pytest.approx(90.0)
    assert running["gross_runtime"] is None and running["finished_at"] is None
    assert list(runs[0]) == [
        "id",
        "status",
        "started_at",
        "finished_at",
        "gross_runtime",
        "iterations",
        "scale_out",
        "machine_type",
        "source",
        "origin",
        "attributes",
    ]


def test_runs_limit_shows_the_most_recent_and_counts_the_rest(
    history: str, jobcast: Jobcast
) -> None:
    code, out, err = jobcast("runs", "--job", "loop", "--db", history, "--limit", "2", "--json")
    assert code == 0, err
    listing = json.loads(out)
    assert [r["id"] for r in listing["runs"]] == ["live-running", "live-failed"]
    assert (listing["total"], listing["shown"], listing["left_out"]) == (4, 2, 2)
    code, out, err = jobcast("runs", "--job", "loop", "--db", history, "--limit", "2")
    assert code == 0, err
    assert "The 2 most recent runs of job 'loop'" in out
    assert "live-failed" in out and "app-1" not in out
    assert "2 more of the job's 4 runs left out" in " ".join(out.split())
    # 0: every run, nothing left out
    code, out, err = jobcast("runs", "--job", "loop", "--db", history, "--limit", "0", "--json")
    assert code == 0 and json.loads(out)["left_out"] == 0 and json.loads(out)["shown"] == 4
    code, out, err = jobcast("runs", "--job", "loop", "--db", history, "--limit", "-1")
    assert code == 2 and "--limit -1" in err


def test_runs_by_status(history: str, jobcast: Jobcast) -> None:
    for status, ids in [
        ("running", ["live-running"]),
        ("failed", ["live-failed"]),
        ("completed", ["live-done", "app-1"]),
    ]:
        code, out, err = jobcast(
            "runs", "--job", "loop", "--db", history, "--status", status, "--json"
        )
        assert code == 0, err
        listing = json.loads(out)
        assert [r["id"] for r in listing["runs"]] == ids
        assert listing["status"] == status and listing["total"] == len(ids)
    code, out, err = jobcast("runs", "--job", "loop", "--db", history, "--status", "done")
    assert code == 2 and "--status 'done'" in err and "running, completed, failed" in err


def test_runs_table_names_status_start_runtime_and_origin(
    history: str, tmp_path: Path, jobcast: Jobcast
) -> None:
    code, out, err = jobcast("runs", "--job", "loop", "--db", history)
    assert code == 0, err
    assert "The runs of job 'loop', most recent first" in out
    for header in ("run", "status", "started (UTC)", "runtime (s)", "iterations", "origin"):
        assert header in out
    done = next(line for line in out.splitlines() if "live-done" in line)
    assert "completed" in done and "2026-05-01 13:00:00" in done and "90" in done
    assert str(tmp_path / "app-1") in out
    assert "left out" not in out


def test_runs_of_an_unknown_job_is_the_usual_error(history: str, jobcast: Jobcast) -> None:
    code, out, err = jobcast("runs", "--job", "nope", "--db", history)
    _, _, predicted = jobcast("predict", "--job", "nope", "--scale-out", "2", "--db", history)
    assert code == 2 and out == ""
    assert "unknown job 'nope' (known jobs: loop)" in err
    assert err.splitlines()[0] == predicted.splitlines()[0]  # as the other commands say it


def test_runs_of_a_missing_history_are_refused(tmp_path: Path, jobcast: Jobcast) -> None:
    db = f"sqlite:///{tmp_path / 'typo.db'}"
    code, _, err = jobcast("runs", "--job", "loop", "--db", db)
    assert code == 2 and "no history database at" in err
    assert not (tmp_path / "typo.db").exists()


def test_runs_none_of_a_status_and_stdin_origin(
    history_url: str, jobcast: Jobcast, monkeypatch: pytest.MonkeyPatch
) -> None:
    piped = io.TextIOWrapper(io.BytesIO(b"runtime,scale_out\n120,2\n80,4\n"))
    monkeypatch.setattr(sys, "stdin", piped)
    code, _, err = jobcast(
        "import", "csv", "-", "--job", "csvjob", "--runtime", "runtime", "--scale-out",
        "scale_out", "--db", history_url,
    )  # fmt: skip
    assert code == 0, err
    code, out, err = jobcast("runs", "--job", "csvjob", "--db", history_url, "--status", "failed")
    assert code == 0 and out.strip() == "No run of job 'csvjob' has failed.", err
    code, out, err = jobcast(
        "runs", "--job", "csvjob", "--db", history_url, "--status", "running", "--json"
    )
    assert code == 0, err
    assert json.loads(out) == {
        "job": "csvjob",
        "status": "running",
        "total": 0,
        "shown": 0,
        "left_out": 0,
        "runs": [],
    }
    code, out, err = jobcast("runs", "--job", "csvjob", "--db", history_url, "--json")
    runs = json.loads(out)["runs"]
    # no start recorded: the latest stored first
    assert [(r["gross_runtime"], r["origin"], r["status"]) for r in runs] == [
        (80.0, "<stdin>", "completed"),
        (120.0, "<stdin>", "completed"),
    ]


def test_runs_loads_no_heavy_library(history: str) -> None:
    import subprocess

    probe = (
        "import sys\n"
        "from jobcast.cli import app\n"
        f"app(['runs', '--job', 'loop', '--db', {history!r}], standalone_mode=False)\n"
        "heavy = ['pandas', 'numpy', 'sklearn', 'alembic', 'scipy', 'matplotlib']\n"
        "print('LOADED', [m for m in heavy if m in sys.modules])\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "LOADED []" in result.stdout and "live-done" in result.stdout


def test_the_default_limit_is_the_use_case_s() -> None:
    import inspect

    from jobcast.app.runs import DEFAULT_LIMIT
    from jobcast.cli.history_cmds import runs

    assert inspect.signature(runs).parameters["limit"].default == DEFAULT_LIMIT
