"""``jobcast workloads run`` refuses, before running Spark, a job of another kind."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import Jobcast
from tests.conftest import shared_file


def test_a_workload_is_not_recorded_into_a_c3o_job_of_the_same_name(
    jobcast: Jobcast, tmp_path: Path
) -> None:
    """Was: the run joined the 270 C3O pagerank rows with pages/links empty, its input
    size and cores dropped; predict left it out and train progress found one run."""
    db = f"sqlite:///{tmp_path / 'h.db'}"
    code, _, err = jobcast(
        "import", "c3o", str(shared_file("c3o-paper", "pagerank.csv")), "--job", "pagerank",
        "--db", db,
    )
    assert code == 0, err
    logs = tmp_path / "events"
    code, _, err = jobcast(
        "workloads", "run", "pagerank", "--size", "200", "--event-log-dir", str(logs),
        "--db", db,
    )
    said = " ".join(err.split())
    assert code == 2 and "job 'pagerank' holds executions with the attributes" in said, err
    assert "--job pagerank-local" in said and "nothing was run" in said
    assert not logs.exists()  # refused before Spark ran (it makes the folder first)


def test_a_job_of_workload_runs_or_a_new_one_passes_the_check(tmp_path: Path) -> None:
    from jobcast.history import HistoryRepository, JobSpec
    from jobcast.history.records import Attribute, AttributeKind
    from jobcast.workloads.record import check_recordable

    repo = HistoryRepository(f"sqlite:///{tmp_path / 'h.db'}")
    check_recordable(repo, "kmeans")  # no such job yet
    spec = JobSpec(
        "kmeans",
        attributes=(
            Attribute("input_size", AttributeKind.DATASET),
            Attribute("cores", AttributeKind.RESOURCE),
            Attribute("k", AttributeKind.PARAMETER),
        ),
    )
    repo.start_execution(spec, "run-1", scale_out=2)
    check_recordable(repo, "kmeans")
