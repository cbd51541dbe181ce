from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from jobcast.cli import app

runner = CliRunner()


def run(*args: str) -> dict:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def db(tmp_path: Path) -> str:
    """A history of 12 runs of a 10-iteration job whose speed differs per run."""
    rng = np.random.default_rng(3)
    rows = []
    for e in range(12):
        speed = rng.uniform(0.7, 1.4)
        for i in range(10):
            rows.append(
                {
                    "execution": f"r{e}",
                    "iteration": i,
                    "scale_out": 4,
                    "duration_s": speed * (10 + 2 * i) * rng.uniform(0.97, 1.03),
                    "records": 1000 // (i + 1),
                }
            )
    path = tmp_path / "hist.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    url = f"sqlite:///{tmp_path / 'h.db'}"
    out = run(
        "import", "traces", str(path), "--job", "it", "--records", "records", "--db", url, "--json"
    )
    assert out["imports"][0]["iterations"] == 120
    return url


def _current(tmp_path: Path, speed: float, n: int = 4) -> Path:
    cur = pd.DataFrame(
        {
            "iteration": range(n),
            "scale_out": 4,
            "duration_s": [speed * (10 + 2 * i) for i in range(n)],
            "records": [1000 // (i + 1) for i in range(n)],
        }
    )
    path = tmp_path / "cur.csv"
    cur.to_csv(path, index=False)
    return path


def test_estimate_follows_the_running_speed(db: str, tmp_path: Path) -> None:
    slow = run(
        "estimate", "--job", "it", "--current", str(_current(tmp_path, 1.3)), "--db", db, "--json"
    )
    fast = run(
        "estimate", "--job", "it", "--current", str(_current(tmp_path, 0.75)), "--db", db, "--json"
    )
    assert set(slow) == {"iteration", "elapsed_s", "remaining_s", "total_s", "similar",
                         "spread", "interval_s", "level", "best_similarity", "warnings"}
    assert slow["interval_s"][0] <= slow["remaining_s"] <= slow["interval_s"][1]
    assert slow["iteration"] == 4
    assert slow["remaining_s"] > fast["remaining_s"]
    truth_slow = 1.3 * sum(10 + 2 * i for i in range(4, 10))
    assert abs(slow["remaining_s"] - truth_slow) / truth_slow < 0.25
    assert abs(sum(s["weight"] for s in slow["similar"]) - 1) < 1e-6


def test_train_then_evaluate(db: str) -> None:
    from jobcast.app.progress import StoredProgress, stored_progress
    from jobcast.history import HistoryRepository

    with HistoryRepository(db) as repo:
        assert stored_progress(repo, "it") == StoredProgress()
    trained = run("train", "progress", "--job", "it", "--n-jobs", "1", "--db", db, "--json")
    assert trained["job"] == "it" and trained["parameters"]
    assert trained["context_relevance"] == {}  # the runs have no other attributes
    with HistoryRepository(db) as repo:
        stored = stored_progress(repo, "it")
    keys = ("parameters", "scale_out_model", "executions")
    assert stored.to_dict() == {k: trained[k] for k in keys}
    assert stored.executions == 12 and stored.scale_out_model == "bell"
    ev = run("evaluate", "progress", "--job", "it", "--training", "given", "--db", db, "--json")
    assert set(ev) >= {"job", "mre", "baselines", "estimates", "mre_remaining",
                       "baselines_remaining", "by_position", "interval"}
    assert ev["estimates"] > 0 and 0 <= ev["mre"] < ev["baselines"]["linear"] + 1


def test_empty_history_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "estimate",
            "--job",
            "none",
            "--current",
            str(_current(tmp_path, 1.0)),
            "--db",
            f"sqlite:///{tmp_path / 'e.db'}",
        ],
    )
    assert result.exit_code != 0
    assert "unknown job" in str(result.exception)


def test_watch_finds_iterations_of_a_job_without_groups(tmp_path: Path) -> None:
    from tests.collect.test_eventlog import crafted_log

    plain = [
        line.replace('"spark.jobGroup.id":"it-', '"x":"').replace(
            '"spark.job.description":"step', '"y":"'
        )
        for line in crafted_log()
    ]
    log = tmp_path / "app-1"
    log.write_text("\n".join(plain) + "\n")
    url = f"sqlite:///{tmp_path / 'w.db'}"
    result = runner.invoke(
        app,
        ["watch", "--eventlog", str(log), "--job", "w", "--interval", "0.05",
         "--timeout", "30", "--db", url, "--json"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout[result.stdout.rindex("{\n"):])
    assert summary["iterations_by"] == "jobs" and summary["execution"] == "app-1"
    from jobcast.history import HistoryRepository

    with HistoryRepository(url) as repo:
        assert len(repo.iterations("w")) == 5


def test_watch_waits_for_the_log_up_to_the_timeout(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["watch", "--eventlog", str(tmp_path / "not-yet"), "--job", "w", "--interval", "0.1",
         "--timeout", "1", "--db", f"sqlite:///{tmp_path / 'w.db'}"],
    )
    assert result.exit_code != 0
    assert "not-yet" in result.output


def test_estimate_names_its_own_format_and_warns_on_a_foreign_run(
    db: str, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("iteration,runtime,scale_out\n0,10,4\n1,11,4\n")
    result = runner.invoke(app, ["estimate", "--job", "it", "--current", str(bad), "--db", db])
    assert result.exit_code != 0
    message = result.output + str(result.exception)
    assert "duration_s" in message and "--duration" not in message
    # the header it lists is the file's own (no execution column added to it)
    assert "the header has ['iteration', 'runtime', 'scale_out']" in message
    # a bad value is named where it is: line and column, not the header's line
    bad.write_text("iteration,duration_s,scale_out\n0,10,4\n1,-3,4\n")
    result = runner.invoke(app, ["estimate", "--job", "it", "--current", str(bad), "--db", db])
    message = result.output + str(result.exception)
    assert result.exit_code != 0 and "line 3, column 'duration_s'" in message
    # a missing iteration is named with the running execution's fix, not a history's
    bad.write_text("iteration,duration_s,scale_out\n0,10,4\n2,11,4\n")
    result = runner.invoke(app, ["estimate", "--job", "it", "--current", str(bad), "--db", db])
    message = result.output + str(result.exception)
    assert result.exit_code != 0 and "line 3, column 'iteration'" in message
    assert "no iteration 1 before iteration 2" in message
    assert "list every finished iteration of the running execution" in message
    # a run 50 times slower than every execution of the job resembles none of them
    foreign = run(
        "estimate", "--job", "it", "--current", str(_current(tmp_path, 50.0)), "--db", db,
        "--json",
    )
    assert foreign["best_similarity"] < 0.5 and "resembles no execution" in foreign["warnings"][0]
    usual = run(
        "estimate", "--job", "it", "--current", str(_current(tmp_path, 1.0)), "--db", db, "--json"
    )
    assert usual["warnings"] == []


def test_scheduler_runs_the_simulations_on_a_dask_cluster(db: str) -> None:
    distributed = pytest.importorskip("dask.distributed")
    args = ("evaluate", "progress", "--job", "it", "--training", "none", "--db", db, "--json")
    local = run(*args)
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        remote = run(*args, "--scheduler", cluster.scheduler_address)
        prefixes = set(cluster.scheduler.task_prefixes)
    assert any("held_out_cases" in p for p in prefixes), prefixes
    assert remote == local


def test_scheduler_without_dask_names_the_extra(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # None in sys.modules makes `import dask.distributed` fail as when it is not installed
    monkeypatch.setitem(sys.modules, "dask.distributed", None)
    result = runner.invoke(
        app, ["train", "progress", "--job", "it", "--scheduler", "tcp://127.0.0.1:9", "--db", db]
    )
    assert result.exit_code != 0
    assert "pip install 'jobcast[dask]'" in str(result.exception)
    help_text = runner.invoke(app, ["train", "progress", "--help"]).stdout
    assert "--scheduler" in help_text and "jobcast[dask]" in help_text


def test_evaluate_similarity_draws_every_measure(db: str, tmp_path: Path) -> None:
    plot = tmp_path / "quality.png"
    out = run("evaluate", "similarity", "--job", "it", "--plot", str(plot), "--db", db, "--json")
    assert out["job"] == "it" and {"runtime", "final"} <= set(out["measures"])
    assert plot.stat().st_size > 0


def test_train_prints_each_note_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # 4 runs: fewer than training needs, which the report notes; the CLI prints the
    # note and does not also log it as a warning
    rows = [
        {"execution": f"r{e}", "iteration": i, "scale_out": 4, "duration_s": 10.0 + e + i}
        for e in range(4)
        for i in range(6)
    ]
    path = tmp_path / "few.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    url = f"sqlite:///{tmp_path / 'few.db'}"
    run("import", "traces", str(path), "--job", "few", "--db", url, "--json")
    with caplog.at_level("WARNING"):
        result = runner.invoke(
            app, ["train", "progress", "--job", "few", "--n-jobs", "1", "--db", url],
            catch_exceptions=False,
        )
    assert result.exit_code == 0, result.output
    assert result.output.count("execution(s) to train on") == 1, result.output
    assert "Note:" in result.output
    assert not [r for r in caplog.records if "to train on" in r.getMessage()]


def test_train_says_when_the_runs_lengths_are_converted(tmp_path: Path) -> None:
    # a cap column sets each run's length: training converts the candidates' remaining
    # iterations, and the table says the attributes serve that conversion
    from tests.progress.test_lengths import capped_history

    path = tmp_path / "capped.csv"
    capped_history(16, seed=1).to_csv(path, index=False)
    url = f"sqlite:///{tmp_path / 'capped.db'}"
    run("import", "traces", str(path), "--job", "capped", "--context", "cap",
        "--context", "size", "--context", "data_seed", "--db", url, "--json")
    result = runner.invoke(
        app, ["train", "progress", "--job", "capped", "--n-jobs", "1", "--db", url],
        catch_exceptions=False, env={"COLUMNS": "300"},
    )
    assert result.exit_code == 0, result.output
    assert "stored (used by estimate)" in result.output
    assert "length_strength" in result.output
    assert "lengths are converted by those that order the iteration counts" in result.output
