from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from jobcast.cli import app
from jobcast.history import HistoryRepository
from tests.cli.conftest import Jobcast
from tests.conftest import SORT_QUERY, shared_file

runner = CliRunner()


def run(*args: str, code: int = 0) -> dict | list | str:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    try:
        return json.loads(result.stdout)
    except json.JSONDecodeError:
        return result.stdout


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'h.db'}"
    run("import", "c3o", str(shared_file("c3o-paper", "sort.csv")), "--job", "sort", "--db", url)
    return url


def test_jobs_json(db: str) -> None:
    out = run("jobs", "--db", db, "--json")
    assert out == {
        "jobs": [
            {
                "name": "sort",
                "executions": 36,
                "by_source": {"file": 36},
                "iterations": 0,
                "attributes": [{"name": "data_size_MB", "kind": "dataset"}],
            }
        ]
    }


def test_predict_set_and_input_agree(db: str, tmp_path: Path) -> None:
    out = run(
        "predict",
        "--job",
        "sort",
        "--set",
        "data_size_MB=12000",
        "--scale-out",
        "2,4,8",
        "--model",
        "ernest",
        "--db",
        db,
        "--json",
    )
    assert out["model"] == "ernest" and len(out["predictions"]) == 3
    p = out["predictions"]
    assert p[0] > p[1] > p[2] > 0  # sort scales out
    csv = tmp_path / "q.csv"
    csv.write_text("instance_count,data_size_MB\n2,12000\n4,12000\n8,12000\n")
    again = run(
        "predict", "--job", "sort", "--input", str(csv), "--model", "ernest", "--db", db, "--json"
    )
    assert again["predictions"] == pytest.approx(p)


def test_predict_auto_reports_choice(db: str) -> None:
    out = run("predict", *SORT_QUERY, "--scale-out", "4", "--db", db, "--json")
    assert out["model"] == "auto" and out["chosen"]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--set", "size=1", "--scale-out", "2"], "no context attribute 'size'"),
        (["--scale-out", "2"], "'data_size_MB' is missing"),
        (["--set", "data_size_MB=1", "--scale-out", "0"], "positive integers"),
        (["--set", "data_size_MB=1"], "either --input"),
        (["--set", "data_size_MB=1", "--scale-out", "2", "--model", "magic"], "Unknown model"),
    ],
)
def test_predict_errors_name_the_problem(db: str, args: list[str], fragment: str) -> None:
    result = cli("predict", "--job", "sort", "--db", db, *args)
    assert result.returncode == 2, result.stderr
    assert fragment in result.stderr


def test_unknown_job(db: str) -> None:
    result = cli("predict", "--job", "nope", "--set", "a=1", "--scale-out", "2", "--db", db)
    assert result.returncode == 2 and "unknown job 'nope'" in result.stderr
    assert "sort" in result.stderr


def test_bad_import_writes_nothing(db: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("instance_count,data_size_MB,gross_runtime\n2,100,10\n2,100,-1\n")
    result = cli("import", "c3o", str(bad), "--job", "other", "--db", db)
    assert result.returncode == 2
    assert "line 3" in result.stderr and "gross_runtime" in result.stderr
    names = [j["name"] for j in run("jobs", "--db", db, "--json")["jobs"]]
    assert names == ["sort"]


def test_configure_cheapest_and_infeasible(db: str) -> None:
    configure = ["configure", *SORT_QUERY, "--model", "ernest", "--db", db]
    ok = run(*configure, "--deadline", "100000", "--json")
    assert ok["feasible"] and ok["best"]["scale_out"] == min(
        c["scale_out"] for c in ok["candidates"]
    )
    tight = run(*configure, "--deadline", "1", "--json", code=3)
    assert not tight["feasible"] and tight["best"] is None
    text = run(*configure, "--deadline", "1", code=3)
    assert "No configuration meets the deadline" in text


def test_evaluate_models_json_and_plot(db: str, tmp_path: Path) -> None:
    plot = tmp_path / "e.png"
    out = run(
        "evaluate",
        "models",
        "--job",
        "sort",
        "--repeats",
        "2",
        "--train-sizes",
        "3,6",
        "--models",
        "ernest,gbm",
        "--plot",
        str(plot),
        "--db",
        db,
        "--json",
    )
    (job,) = out["jobs"]
    assert job["job"] == "sort" and set(job["models"]) == {"ernest", "gbm"}
    assert 0 < out["mean_over_jobs"]["holdout"]["ernest"] < 1
    assert plot.stat().st_size > 1000


def cli(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the command line as a user's pipe would: a subprocess without a terminal."""
    return subprocess.run(
        [sys.executable, "-c", "from jobcast.cli import main; main()", *args],
        capture_output=True,
        text=True,
        input=stdin,
        env=None if env is None else {**os.environ, **env},
    )


def test_imports_read_a_pipe(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'h.db'}"
    spool = tmp_path / "tmp"
    spool.mkdir()
    env = {"TMPDIR": str(spool)}
    trace = "execution;iteration;duration_s;scale_out\na;0;1.5;4\na;1;2.0;4\nb;0;1.4;4\n"
    ok = cli("import", "traces", "-", "--job", "k", "--db", db, "--json", stdin=trace, env=env)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["imports"][0] == {
        "file": "<stdin>", "job": "k", "executions": 2, "iterations": 3, "created_job": True,
    }
    bad = cli(
        "import", "traces", "-", "--job", "bad", "--db", db, stdin=trace + "b;1;x;4\n", env=env
    )
    assert bad.returncode == 2
    assert "<stdin>, line 5, column 'duration_s'" in bad.stderr, bad.stderr
    runs = cli("import", "csv", "-", "--job", "c", "--runtime", "r", "--db", db,
               stdin="r,x\n10,1\n12,2\n", env=env)
    assert runs.returncode == 0 and "from <stdin>" in runs.stdout, runs.stderr
    names = [j["name"] for j in run("jobs", "--db", db, "--json")["jobs"]]
    assert sorted(names) == ["c", "k"]  # the bad pipe stored nothing
    assert not list(spool.iterdir())  # the copies of the pipes are gone
    # the history records a pipe as <stdin>, not the copy's temporary path
    again = cli("import", "csv", "-", "--job", "c", "--runtime", "r", "--db", db,
                stdin="r,x\n10,1\n12,2\n", env=env)
    assert again.returncode == 2 and "imported before, from <stdin> on" in again.stderr
    with HistoryRepository(db) as repo, repo.engine.connect() as conn:
        both = "select origin from imports union select origin from executions"
        assert {o for (o,) in conn.execute(text(both))} == {"<stdin>"}


PAGERANK_SET = [
    "--set",
    "data_size_MB=284",
    "--set",
    "pages=2000000",
    "--set",
    "links=20000000",
    "--set",
    "convergence_criterion=0.001",
]


def test_output_through_a_pipe_is_complete_and_plain(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'h.db'}"
    lines = shared_file("c3o", "pagerank.tsv").read_text().splitlines()
    subset = [lines[0]] + [
        line for line in lines[1:] if line.split("\t")[1] in ("m4.2xlarge", "r4.xlarge")
    ]
    trace = tmp_path / "pagerank.tsv"
    trace.write_text("\n".join(subset) + "\n")
    long_name = "pagerank-on-the-shared-cluster-of-the-analytics-team-" + "x" * 40
    evil = "evil\x1b[31m\nname[bold]"
    run("import", "c3o", str(trace), "--job", long_name, "--db", db)
    refused = cli("import", "c3o", str(trace), "--job", evil, "--db", db)
    assert refused.returncode == 2 and "holds a control character" in refused.stderr
    # a history may hold such a name from before the check: it is shown escaped
    run("import", "c3o", str(trace), "--job", "placeholder", "--db", db)
    with HistoryRepository(db) as repo, repo.engine.begin() as conn:
        conn.execute(text("update jobs set name = :n where name = 'placeholder'"), {"n": evil})
    listing = cli("jobs", "--db", db)
    assert listing.returncode == 0, listing.stderr
    assert long_name in listing.stdout and "…" not in listing.stdout
    assert "\x1b" not in listing.stdout
    assert "evil\\x1b[31m\\nname[bold]" in listing.stdout
    configured = cli(
        "configure",
        "--job",
        long_name,
        "--deadline",
        "100000",
        "--model",
        "optimistic",
        *PAGERANK_SET,
        "--scale-out",
        "4,12",
        "--db",
        db,
    )
    assert configured.returncode == 0, configured.stderr
    out = configured.stdout
    assert "m4.2xlarge" in out and "r4.xlarge" in out and "…" not in out
    assert "e+" not in out  # no scientific notation
    assert long_name in out
    predicted = cli(
        "predict",
        "--job",
        long_name,
        "--machine-type",
        "m4.2xlarge",
        "--model",
        "optimistic",
        *PAGERANK_SET,
        "--scale-out",
        "4,64",
        "--db",
        db,
    )
    assert predicted.returncode == 0, predicted.stderr
    assert "20000000" in predicted.stdout and "2048000" in predicted.stdout  # 64 x 32000 MB
    assert "scale_out = 64 lies outside" in predicted.stderr.replace("\n", " ")
    refused = cli(
        "predict",
        "--job",
        long_name,
        "--machine-type",
        "c5.9xlarge",
        "--set",
        "pages=1",
        "--scale-out",
        "4",
        "--db",
        db,
    )
    assert refused.returncode == 2 and "unknown machine type 'c5.9xlarge'" in refused.stderr


def test_help_keeps_square_brackets() -> None:
    result = cli("workloads", "--help")
    assert result.returncode == 0 and "jobcast[spark]" in result.stdout
    listing = cli("--help").stdout  # short help not cut at 80 columns in a pipe
    assert "Import executions into the history (each import is one transaction)." in listing


def test_jobs_loads_no_heavy_library(db: str) -> None:
    probe = (
        "import sys\n"
        "from jobcast.cli import app\n"
        f"app(['jobs', '--db', {db!r}], standalone_mode=False)\n"
        "heavy = ['pandas', 'numpy', 'sklearn', 'alembic', 'scipy', 'matplotlib']\n"
        "print('LOADED', [m for m in heavy if m in sys.modules])\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "LOADED []" in result.stdout


def test_scale_out_lists_are_capped(db: str) -> None:
    result = cli(
        "predict",
        "--job",
        "sort",
        "--set",
        "data_size_MB=1",
        "--scale-out",
        "1-1000000",
        "--db",
        db,
    )
    assert result.returncode == 2 and "10,000" in result.stderr


def test_evaluate_privacy_refuses_a_plot_it_cannot_write(tmp_path: Path, jobcast: Jobcast) -> None:
    # refused before the experiments (minutes), not with a traceback after them
    missing = tmp_path / "missing" / "u.png"
    code, out, err = jobcast(
        "evaluate", "privacy", "--job", "sort", "--data-dir", str(tmp_path), "--plot", str(missing)
    )
    assert code == 2 and out == ""
    assert err == (
        f"error: --plot {missing}: the folder {missing.parent} does not exist; create it first\n"
    )
