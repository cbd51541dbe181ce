from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from jobcast.cli import app
from jobcast.history import HistoryRepository
from tests.cli.conftest import Jobcast

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
                         "spread", "interval_s", "level", "best_similarity", "warnings",
                         "iteration_total_s"}
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
    HistoryRepository(f"sqlite:///{tmp_path / 'e.db'}").close()  # exists, holds no job
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
    summary = json.loads(result.stdout.splitlines()[-1])
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
    # so is a running execution listed from a later iteration on
    bad.write_text("iteration,duration_s,scale_out\n20,10,4\n21,11,4\n")
    result = runner.invoke(app, ["estimate", "--job", "it", "--current", str(bad), "--db", db])
    message = result.output + str(result.exception)
    assert result.exit_code != 0 and "line 2, column 'iteration'" in message
    assert "starts at iteration 20; iterations are numbered from 0 or 1" in message
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


def _log(tmp_path: Path, app_id: str) -> Path:
    """A finished event log of 3 iterations (job groups) of application ``app_id``."""
    from tests.collect.test_eventlog import crafted_log

    log = tmp_path / app_id
    log.write_text("\n".join(crafted_log()).replace('"app-1"', f'"{app_id}"') + "\n")
    return log


def _watch(tmp_path: Path, app_id: str, job: str, url: str, *args: str) -> list[str]:
    return ["watch", "--eventlog", str(_log(tmp_path, app_id)), "--job", job,
            "--interval", "0.05", "--timeout", "30", "--db", url, *args]


@pytest.mark.parametrize("command", [("train", "progress"), ("evaluate", "progress")])
@pytest.mark.parametrize("value", ["foo", "BELL"])
def test_an_unknown_scale_out_model_is_refused_before_training(
    db: str, jobcast: Jobcast, command: tuple[str, str], value: str
) -> None:
    # as --training: the names as written, case and all; nothing is trained or stored
    from jobcast.app.progress import StoredProgress, stored_progress
    from jobcast.history import HistoryRepository

    code, _, err = jobcast(*command, "--job", "it", "--scale-out-model", value, "--db", db)
    assert code == 2
    assert f"--scale-out-model must be bell, ernest or none, got {value!r}" in err, err
    with HistoryRepository(db) as repo:
        assert stored_progress(repo, "it") == StoredProgress()


def test_watch_json_is_one_compact_object_per_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    for app_id in ("app-1", "app-2"):  # a history of two runs to estimate from
        recorded = runner.invoke(app, _watch(tmp_path, app_id, "w", url, "--json"))
        assert recorded.exit_code == 0, recorded.output
    result = runner.invoke(
        app, _watch(tmp_path, "app-3", "w", url, "--json", "--no-record"),
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    # one estimate per finished iteration, although the log is read at once, then the summary
    assert len(lines) == 4, result.stdout
    *estimates, summary = (json.loads(line) for line in lines)
    assert [e["iterations_done"] for e in estimates] == [1, 2, 3]
    assert all(e["similar"] for e in estimates)
    # each made when its iteration finished (2, 5 and 10 s after the start), never after
    # the application's end (11 s): not "now", decades after this 1970 log
    assert [e["elapsed_s"] for e in estimates] == [2.0, 5.0, 10.0]
    assert all(e["finish_at"] >= "1970-01-01T00:00:0" for e in estimates)
    assert not any(e["warnings"] for e in estimates)
    assert summary == {"execution": "app-3", "actual_s": 11.0, "estimates": 3,
                       "iterations_by": "job-groups", "recorded": None,  # --no-record
                       "warnings": []}
    assert all(": " not in line and ", " not in line for line in lines)  # compact


def test_watch_scores_one_estimate_per_iteration_none_after_the_end(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    for app_id in ("app-1", "app-2"):
        assert runner.invoke(app, _watch(tmp_path, app_id, "w", url)).exit_code == 0
    result = runner.invoke(
        app, _watch(tmp_path, "app-3", "w", url, "--no-record"), catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    # the table scores the estimates after iterations 1, 2 and 3, made before the end
    table_rows = [
        line.split("│")[1].strip() for line in out.splitlines() if line.count("│") == 4
    ]
    assert table_rows == ["1", "2", "3"], out
    assert "00:00:1" in out  # finish times of the 1970 run, not of today
    # the live line ended without an estimate: elapsed stops at the application's end
    assert "ended after 11 s" in out and "taking longer" not in out, out
    assert "job 'w' was never trained" in out and "train progress --job w" in out
    # outside a terminal (here) the live line shows only its end: each iteration's
    # estimate is a line of its own, so that a log of `watch` holds them
    lines = [line for line in out.splitlines() if line.startswith("after iteration ")]
    assert [line.split(":")[0] for line in lines] == [f"after iteration {k}" for k in (1, 2, 3)]
    assert all("remaining ~" in line and "finish ≈ 00:00:1" in line for line in lines), lines


def test_watch_says_nothing_of_training_once_the_job_was_trained(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    for app_id in ("app-1", "app-2"):
        assert runner.invoke(app, _watch(tmp_path, app_id, "w", url)).exit_code == 0
    trained = runner.invoke(app, ["train", "progress", "--job", "w", "--db", url])
    assert trained.exit_code == 0, trained.output
    result = runner.invoke(
        app, _watch(tmp_path, "app-3", "w", url, "--no-record"), catch_exceptions=False
    )
    assert result.exit_code == 0 and "never trained" not in result.output, result.output


def test_watch_records_a_local_runs_threads_and_carried_attributes(tmp_path: Path) -> None:
    # a `workloads run` log: local[2] and its attributes in spark.jobcast.context.*
    from tests.collect.test_eventlog import ev

    log = _log(tmp_path, "local-7")
    env = ev(
        "EnvironmentUpdate",
        **{"Spark Properties": {"spark.master": "local[2]",
                                "spark.jobcast.context.input_size": "5000",
                                "spark.jobcast.context.cores": "2"}},
    )
    first, rest = log.read_text().split("\n", 1)
    log.write_text(first + "\n" + env + "\n" + rest)
    url = f"sqlite:///{tmp_path / 'w.db'}"
    result = runner.invoke(
        app,
        ["watch", "--eventlog", str(log), "--job", "k", "--interval", "0.05", "--timeout",
         "30", "--db", url, "--set", "cores=3"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    with HistoryRepository(url) as repo:
        ex = repo.executions("k")
        it = repo.iterations("k")
    assert ex["scale_out"].tolist() == [2] and set(it["scale_out"]) == {2}
    # the run's own attributes, --set winning over them
    assert ex["input_size"].tolist() == [5000.0] and ex["cores"].tolist() == [3.0]


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--deadline", "nan", "--deadline must be a finite number of seconds > 0"),
        ("--deadline", "inf", "--deadline must be a finite number of seconds > 0"),
        ("--deadline", "1e400", "--deadline must be a finite number of seconds > 0"),
        ("--deadline", "-5", "--deadline must be a finite number of seconds > 0"),
        ("--timeout", "-1", "--timeout must be a finite number of seconds > 0"),
        ("--timeout", "0", "--timeout must be a finite number of seconds > 0"),
        ("--interval", "0", "--interval must be a finite number of seconds > 0"),
        ("--interval", "-0.5", "--interval must be a finite number of seconds > 0"),
        ("--interval", "nan", "--interval must be a finite number of seconds > 0"),
        ("--warn-after", "-1", "--warn-after must be a finite number of seconds >= 0"),
    ],
)
def test_watch_refuses_seconds_that_are_no_duration(
    tmp_path: Path, jobcast: Jobcast, option: str, value: str, expected: str
) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    code, _, err = jobcast(*_watch(tmp_path, "app-1", "w", url), f"{option}={value}")
    assert code == 2
    assert expected in err and f"e.g. {option} " in err, err


def test_watch_records_a_new_jobs_first_run_and_says_so(tmp_path: Path, jobcast: Jobcast) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    code, out, err = jobcast(*_watch(tmp_path, "app-1", "new", url))
    assert code == 0, err
    assert out.count("no history for job 'new'") == 1, out
    assert "the run will be recorded as its first execution" in out
    # the live display's last state ends its line: the summary stands on its own
    assert "\napp-1 ended after 11.0 s with 3 iteration(s) and was recorded in job 'new'." in out
    # with --no-record there is nothing to estimate nor to record: an error at once
    code, out, err = jobcast(*_watch(tmp_path, "app-2", "other", url, "--no-record"))
    assert code == 2 and out == ""
    assert "unknown job 'other'" in err and "`jobcast jobs`" in err, err


@pytest.mark.parametrize(
    "command",
    [
        ("evaluate", "progress", "--job", "it", "--training", "none"),
        ("evaluate", "similarity", "--job", "it"),
        ("evaluate", "models", "--job", "it", "--repeats", "1"),
    ],
)
def test_a_plot_that_cannot_be_written_is_refused_before_the_evaluation(
    db: str, tmp_path: Path, jobcast: Jobcast, command: tuple[str, ...]
) -> None:
    missing = tmp_path / "missing" / "x.png"
    code, out, err = jobcast(*command, "--plot", str(missing), "--db", db)
    assert code == 2 and out == ""
    assert err == (
        f"error: --plot {missing}: the folder {missing.parent} does not exist; create it first\n"
    )
    code, _, err = jobcast(*command, "--plot", str(tmp_path), "--db", db)
    assert code == 2 and f"--plot {tmp_path} is a directory" in err, err


@pytest.mark.parametrize("runs", [0, 1])
def test_train_errors_are_one_line_without_a_blank_one(
    tmp_path: Path, jobcast: Jobcast, runs: int
) -> None:
    url = f"sqlite:///{tmp_path / 'h.db'}"
    if runs:
        path = tmp_path / "one.csv"
        pd.DataFrame(
            {"execution": "r0", "iteration": range(5), "scale_out": 4, "duration_s": 10.0}
        ).to_csv(path, index=False)
        run("import", "traces", str(path), "--job", "one", "--db", url, "--json")
    code, out, err = jobcast("train", "progress", "--job", "one", "--db", url)
    assert code == (1 if runs else 2) and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1, repr(err)


def test_estimate_reads_stdin_a_0_s_iteration_and_names_a_far_scale_out(
    db: str, tmp_path: Path
) -> None:
    rows = "iteration,duration_s,scale_out\n0,10,4\n1,0,4\n2,14,4\n"
    # from a pipe, with an iteration shorter than the clock's millisecond (as imports keep)
    piped = runner.invoke(
        app, ["estimate", "--job", "it", "--current", "-", "--db", db, "--json"], input=rows
    )
    assert piped.exit_code == 0, piped.output
    out = json.loads(piped.stdout)
    assert out["iteration"] == 3 and out["elapsed_s"] == pytest.approx(24.001)
    assert out["warnings"] == []
    bad = runner.invoke(
        app, ["estimate", "--job", "it", "--current", "-", "--db", db],
        input="iteration,duration_s,scale_out\n0,-1,4\n",
    )
    assert bad.exit_code != 0
    assert "<stdin>, line 2, column 'duration_s'" in bad.output + str(bad.exception)
    # a scale-out a thousand times the history's is named (the history ran at 4)
    far = tmp_path / "far.csv"
    far.write_text(rows.replace(",4\n", ",4000\n"))
    warned = run("estimate", "--job", "it", "--current", str(far), "--db", db, "--json")
    assert any("scale-out 4000 lies far outside the history's (4-4)" in w
               for w in warned["warnings"])


@pytest.mark.parametrize(
    "command",
    [
        ["estimate", "--job", "it", "--current", "CUR"],
        ["train", "progress", "--job", "it"],
        ["evaluate", "progress", "--job", "it"],
    ],
)
def test_a_mistyped_db_is_refused_and_not_created(
    tmp_path: Path, command: list[str]
) -> None:
    missing = tmp_path / "no-such-folder" / "typo.db"
    args = [str(_current(tmp_path, 1.0)) if a == "CUR" else a for a in command]
    result = runner.invoke(app, [*args, "--db", f"sqlite:///{missing}"])
    assert result.exit_code != 0
    assert f"no history database at {missing}" in result.output + str(result.exception)
    assert not missing.parent.exists()


def test_jobs_on_a_mistyped_db_lists_none_and_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "typo.db"
    result = runner.invoke(app, ["jobs", "--db", f"sqlite:///{missing}"])
    assert result.exit_code == 0
    assert f"The history is empty (no database at {missing} yet)" in result.output
    as_json = runner.invoke(app, ["jobs", "--db", f"sqlite:///{missing}", "--json"])
    assert json.loads(as_json.output) == {"jobs": []}
    assert not missing.exists()


def test_watch_records_a_logs_absolute_path_as_origin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # as `import eventlog` does: the origin names the log whatever the folder watch ran in
    from sqlalchemy import text

    from jobcast.history import HistoryRepository

    log = _log(tmp_path, "app-1")
    monkeypatch.chdir(log.parent)
    url = f"sqlite:///{tmp_path / 'o.db'}"
    args = ["watch", "--eventlog", log.name, "--job", "o", "--interval", "0.05", "--db", url]
    assert runner.invoke(app, args, catch_exceptions=False).exit_code == 0
    with HistoryRepository(url) as repo, repo.engine.connect() as conn:
        both = "select origin from imports union select origin from executions"
        assert {o for (o,) in conn.execute(text(both))} == {str(log.resolve())}
