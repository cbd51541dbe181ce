from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jobcast.cli import app
from tests.conftest import shared_file

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
    out = run(
        "predict",
        "--job",
        "sort",
        "--set",
        "data_size_MB=12000",
        "--scale-out",
        "4",
        "--db",
        db,
        "--json",
    )
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
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from jobcast.cli import main; main()",
            "predict",
            "--job",
            "sort",
            "--db",
            db,
            *args,
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2, result.stderr
    assert fragment in result.stderr


def test_unknown_job(db: str) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from jobcast.cli import main; main()",
            "predict",
            "--job",
            "nope",
            "--set",
            "a=1",
            "--scale-out",
            "2",
            "--db",
            db,
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "unknown job 'nope'" in result.stderr
    assert "sort" in result.stderr


def test_bad_import_writes_nothing(db: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("instance_count,data_size_MB,gross_runtime\n2,100,10\n2,100,-1\n")
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from jobcast.cli import main; main()",
            "import",
            "c3o",
            str(bad),
            "--job",
            "other",
            "--db",
            db,
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "line 3" in result.stderr and "gross_runtime" in result.stderr
    names = [j["name"] for j in run("jobs", "--db", db, "--json")["jobs"]]
    assert names == ["sort"]


def test_configure_cheapest_and_infeasible(db: str) -> None:
    ok = run(
        "configure",
        "--job",
        "sort",
        "--deadline",
        "100000",
        "--set",
        "data_size_MB=12000",
        "--model",
        "ernest",
        "--db",
        db,
        "--json",
    )
    assert ok["feasible"] and ok["best"]["scale_out"] == min(
        c["scale_out"] for c in ok["candidates"]
    )
    tight = run(
        "configure",
        "--job",
        "sort",
        "--deadline",
        "1",
        "--set",
        "data_size_MB=12000",
        "--model",
        "ernest",
        "--db",
        db,
        "--json",
        code=3,
    )
    assert not tight["feasible"] and tight["best"] is None
    text = run(
        "configure",
        "--job",
        "sort",
        "--deadline",
        "1",
        "--set",
        "data_size_MB=12000",
        "--model",
        "ernest",
        "--db",
        db,
        code=3,
    )
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
