"""`evaluate privacy` on a job other than the c3o-paper five: its domain file, or a clear error."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from jobcast.errors import InputError
from jobcast.evaluation.privacy import evaluate_privacy
from jobcast.evaluation.privacy_domains import load_job
from tests.conftest import shared_file
from tests.helpers import run_main

#: grep.csv of c3o-paper under other names (as `import csv --runtime secs` would keep them)
RENAMED = {
    "instance_count": "nodes",
    "data_size_MB": "size_mb",
    "p_occurrence": "prob",
    "gross_runtime": "secs",
}
DOMAIN = {
    "columns": {
        "nodes": {"type": "numeric", "values": [2, 4, 6, 8, 10, 12], "integer": True},
        "size_mb": {"type": "numeric", "lower": 1000, "upper": 300000, "log": True},
        "prob": {"type": "numeric", "lower": 0, "upper": 10, "log": False},
        "secs": {"type": "numeric", "lower": 10, "upper": 14400, "log": True},
    }
}


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """logscan.csv and grep.csv: the c3o-paper grep rows with renamed columns."""
    frame = pd.read_csv(shared_file("c3o-paper", "grep.csv")).rename(columns=RENAMED)
    d = tmp_path / "data"
    d.mkdir()
    frame.to_csv(d / "logscan.csv", index=False)
    frame.to_csv(d / "grep.csv", index=False)
    (tmp_path / "domain.json").write_text(json.dumps(DOMAIN))
    return d


def _run(data_dir: Path, job: str, domain_file: Path | None) -> object:
    return evaluate_privacy(
        [job], methods=["perfmodel"], epsilons=[1.0], include_no_dp=False, models=["gbm"],
        experiments=["train_sizes"], sizes=[300], repeats=1, data_dir=data_dir,
        domain_file=domain_file, seed=0,
    )


@pytest.mark.parametrize("job", ["logscan", "grep"])
def test_a_job_with_its_own_domain_file_is_evaluated(data_dir, job):
    """Was: KeyError 'logscan' / "['p_occurrence'] not in index" tracebacks."""
    result = _run(data_dir, job, data_dir.parent / "domain.json")
    assert result.errors == []
    (rec,) = result.utility
    assert rec.job == job and math.isfinite(rec.mape) and 0 < rec.mape < 1.0


def test_the_domain_file_is_used_with_the_jobs_column_names(data_dir):
    frame, domain = load_job("logscan", data_dir, data_dir.parent / "domain.json")
    assert domain is not None
    # the scale-out (first) and runtime (last) take the roles the experiments use
    assert list(frame.columns) == ["instance_count", "size_mb", "prob", "gross_runtime"]
    assert domain.names == ("instance_count", "size_mb", "prob", "gross_runtime")


@pytest.mark.parametrize(
    ("job", "says"),
    [
        ("logscan", "built-in public domains only for the c3o-paper jobs"),
        ("grep", "are not those of the c3o-paper job 'grep'"),
    ],
)
def test_without_a_domain_file_the_error_says_what_to_give(data_dir, job, says):
    with pytest.raises(InputError) as e:
        _run(data_dir, job, None)
    text = str(e.value)
    assert says in text and str(data_dir / f"{job}.csv") in text
    assert "--domain FILE" in text and "['nodes', 'size_mb', 'prob', 'secs']" in text


def test_a_domain_file_for_other_columns_is_named(data_dir, tmp_path):
    wrong = json.loads(json.dumps(DOMAIN))
    wrong["columns"]["Prob"] = wrong["columns"].pop("prob")
    path = tmp_path / "wrong.json"
    path.write_text(json.dumps(wrong))
    says = r"wrong\.json does not declare.*\['Prob'\].*\['prob'\]"
    with pytest.raises(InputError, match=says) as e:
        _run(data_dir, "logscan", path)
    # the same did-you-mean as a release's check of a job's columns (one core)
    assert "did you mean 'Prob' -> 'prob'" in str(e.value)


def test_risk_needs_built_in_domains(data_dir):
    with pytest.raises(InputError, match="risk and secrets"):
        evaluate_privacy(
            ["logscan"], methods=["perfmodel"], epsilons=[1.0], experiments=["risk"],
            data_dir=data_dir, domain_file=data_dir.parent / "domain.json",
        )


def test_the_command_line_fails_cleanly_and_documents_domain(data_dir, monkeypatch, capsys):
    code, _, err = run_main(
        monkeypatch, capsys, "evaluate", "privacy", "--data-dir", str(data_dir), "--job",
        "logscan", "--methods", "perfmodel", "--epsilons", "1", "--experiments",
        "train_sizes", "--sizes", "300", "--models", "gbm", "--repeats", "1",
    )
    assert code == 2 and "Traceback" not in err and "--domain FILE" in err
    code, out, _ = run_main(monkeypatch, capsys, "evaluate", "privacy", "--help")
    assert code == 0 and "--domain" in out and "runtime last" in out


def test_the_time_experiment_is_shown_and_the_no_dp_warning_said_once(
    monkeypatch, capsys, caplog
):
    """Was: an empty utility table (the timings only in --json), and the no-DP reference
    column's warning once per fit (10 times for two sizes)."""
    data = shared_file("c3o-paper", "sort.csv").parent
    code, out, err = run_main(
        monkeypatch, capsys, "evaluate", "privacy", "--data-dir", str(data), "--job", "sort",
        "--methods", "perfmodel", "--epsilons", "1", "--experiments", "time,train_sizes",
        "--sizes", "200,1000", "--models", "gbm", "--repeats", "2",
    )
    assert code == 0, err
    assert "Synthesis time" in out and "perfmodel" in out
    assert "Mean MAPE over jobs" in out
    said = [r.getMessage() for r in caplog.records]
    assert sum("WITHOUT differential privacy" in m for m in said) == 1, said
