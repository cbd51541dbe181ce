from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from jobcast.errors import (
    BudgetExceededError,
    ConflictError,
    DatabaseError,
    InputError,
    JobConflictError,
    UnknownJobError,
)
from jobcast.history import HistoryRepository
from jobcast.history.importers import read_c3o
from jobcast.history.records import (
    Attribute,
    AttributeKind,
    ExecutionTable,
    IterationTable,
    JobSpec,
    Provenance,
    SourceKind,
)
from tests.conftest import shared_file


def _spec(name: str = "j", attrs: tuple[str, ...] = ("size",)) -> JobSpec:
    return JobSpec(name, tuple(Attribute(a, AttributeKind.DATASET) for a in attrs))


def _table(spec: JobSpec, n: int = 3, source: SourceKind = SourceKind.FILE) -> ExecutionTable:
    frame = pd.DataFrame(
        {
            "gross_runtime": [10.0 + i for i in range(n)],
            "scale_out": [2 + i for i in range(n)],
            "machine_type": ["m4.xlarge"] * n,
            **{a: [100 * (i + 1) for i in range(n)] for a in spec.attribute_names},
        }
    )
    eps = 1.0 if source == SourceKind.SHARE else None
    return ExecutionTable(spec, frame, Provenance(source, "test", eps))


def test_round_trip_and_listing(repo: HistoryRepository) -> None:
    spec = _spec()
    summary = repo.import_executions(_table(spec))
    assert summary.executions == 3 and summary.created_job
    frame = repo.executions("j")
    assert list(frame["gross_runtime"]) == [10.0, 11.0, 12.0]
    assert list(frame["scale_out"]) == [2, 3, 4]
    assert list(frame["size"]) == [100, 200, 300]
    jobs = repo.list_jobs()
    assert [j.name for j in jobs] == ["j"] and jobs[0].total_executions == 3
    assert repo.job("j").attribute_names == ("size",)


def test_shared_rows_can_be_excluded(repo: HistoryRepository) -> None:
    spec = _spec()
    repo.import_executions(_table(spec))
    repo.import_executions(_table(spec, 2, SourceKind.SHARE))
    assert len(repo.executions("j")) == 5
    own = repo.executions("j", include_shared=False)
    assert len(own) == 3 and set(own["source"]) == {"file"}


def test_unknown_job_names_known_ones(repo: HistoryRepository) -> None:
    repo.import_executions(_table(_spec("alpha")))
    with pytest.raises(UnknownJobError, match="alpha"):
        repo.executions("beta")


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        (" gbt ", "starts or ends with white space; use 'gbt'"),
        ("gbt\t", "starts or ends with white space"),
        ("g\x07bt", "control character"),
        ("gu\u0308", "not in Unicode normal form NFC"),
        # its page and API address (/jobs/NAME) would lead elsewhere
        ("team/etl", "holds '/'.*use another separator, e.g. 'team-etl'"),
        ("<b>x</b>", "holds '/'"),
        ("..", "step of a path.*give the job a name with other characters"),
        (".", "step of a path"),
    ],
)
def test_new_jobs_get_names_that_read_as_one(
    repo: HistoryRepository, name: str, fragment: str
) -> None:
    with pytest.raises(InputError, match=fragment):
        repo.import_executions(_table(_spec(name)))
    with pytest.raises(InputError, match=fragment):
        repo.start_execution(_spec(name), "app-1", scale_out=2, attributes={"size": 5})
    assert repo.list_jobs() == []
    repo.import_executions(_table(_spec("g\u00fc")))  # the NFC form is taken


def test_a_job_named_before_the_check_stays_usable(repo: HistoryRepository) -> None:
    from sqlalchemy import text

    with repo.engine.begin() as conn:
        conn.execute(
            text("insert into jobs (name, runtime_column, created_at) values (' old ', 'r', :t)"),
            {"t": datetime(2026, 1, 1, tzinfo=UTC)},
        )
    repo.import_executions(_table(_spec(" old ", ())))
    assert len(repo.executions(" old ")) == 3
    t0 = datetime(2026, 1, 2, tzinfo=UTC)
    repo.start_execution(_spec(" old ", ()), "app-1", scale_out=2, started_at=t0)


def test_job_with_other_attributes_conflicts(repo: HistoryRepository) -> None:
    repo.import_executions(_table(_spec("j", ("size",))))
    with pytest.raises(JobConflictError, match="other context attributes"):
        repo.import_executions(_table(_spec("j", ("size", "k"))))
    assert len(repo.executions("j")) == 3


def test_failed_import_writes_nothing(repo: HistoryRepository) -> None:
    spec = _spec()
    iterations = pd.DataFrame(
        {
            "execution": ["a", "a", "a"],
            "iteration": [0, 1, 1],
            "duration_s": [1.0, 2.0, 3.0],
            "scale_out": [2, 2, 2],
        }
    )
    table = _table(spec, 1)
    table = ExecutionTable(spec, table.frame.assign(external_id=["a"]), table.provenance)
    with pytest.raises(DatabaseError):  # the duplicate iteration index violates the schema
        repo.import_iterations(IterationTable(table, iterations))
    with pytest.raises(UnknownJobError):
        repo.executions("j")  # not even the job was created


def test_iterations_round_trip(repo: HistoryRepository) -> None:
    spec = _spec()
    table = _table(spec, 2)
    table = ExecutionTable(spec, table.frame.assign(external_id=["a", "b"]), table.provenance)
    it = pd.DataFrame(
        {
            "execution": ["a", "a", "b"],
            "iteration": [0, 1, 0],
            "duration_s": [1.0, 2.0, 3.0],
            "scale_out": [2, 4, 3],
            "records": [10.0, 5.0, None],
        }
    )
    summary = repo.import_iterations(IterationTable(table, it))
    assert summary.iterations == 3
    out = repo.iterations("j")
    assert list(out["execution"]) == ["a", "a", "b"]
    assert list(out["scale_out"]) == [2, 4, 3]
    assert list(out["size"]) == [100, 100, 200]
    with pytest.raises(InputError, match="imported before"):
        repo.import_iterations(IterationTable(table, it))
    # other data for the same executions: named, with the origin and what to do
    other = it.assign(duration_s=it["duration_s"] * 2)
    with pytest.raises(InputError, match="imported before") as err:
        repo.import_iterations(IterationTable(table, other))
    message = str(err.value)
    assert message.startswith(f"{table.provenance.origin}: ")
    assert "['a', 'b'] of this import" in message and "leave them out" in message


def test_live_collection(repo: HistoryRepository) -> None:
    spec = _spec()
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    repo.start_execution(spec, "app-1", scale_out=2, attributes={"size": 5}, started_at=t0)
    repo.record_iteration("j", "app-1", 0, values={"started_at": t0, "scale_out": 2})
    repo.record_iteration(
        "j",
        "app-1",
        0,
        values={"finished_at": datetime(2026, 1, 1, 0, 0, 3, tzinfo=UTC), "records": 7},
    )
    running = repo.iterations("j", include_running=True)
    assert running["duration_s"].tolist() == [3.0] and running["records"].tolist() == [7.0]
    assert repo.iterations("j").empty  # still running
    repo.finish_execution("j", "app-1", finished_at=datetime(2026, 1, 1, 0, 0, 10, tzinfo=UTC))
    assert repo.executions("j")["gross_runtime"].tolist() == [10.0]
    with pytest.raises(InputError, match="no execution"):
        repo.record_iteration("j", "app-2", 0, values={})


def test_privacy_ledger_refuses_over_budget(repo: HistoryRepository) -> None:
    repo.import_executions(_table(_spec()))
    repo.set_privacy_budget("j", 2.0)
    repo.record_release("j", epsilon=1.5, method="m", rows=10)
    with pytest.raises(BudgetExceededError, match="never free"):
        repo.record_release("j", epsilon=1.0, method="m", rows=10)
    repo.record_release("j", epsilon=0.5, method="m", rows=10)
    assert repo.spent_epsilon("j") == pytest.approx(2.0)
    assert len(repo.releases("j")) == 2
    with pytest.raises(InputError):
        repo.record_release("j", epsilon=0.0, method="m", rows=10)
    with pytest.raises(InputError):
        repo.set_privacy_budget("j", -1)


def test_progress_parameters(repo: HistoryRepository) -> None:
    repo.import_executions(_table(_spec()))
    assert repo.progress_parameters("j") is None
    repo.save_progress_parameters("j", {"b": 2.0})
    repo.save_progress_parameters("j", {"b": 3.0})
    assert repo.progress_parameters("j") == {"b": 3.0}


def test_c3o_import_of_shared_trace(repo: HistoryRepository) -> None:
    table = read_c3o(shared_file("c3o", "sort.tsv"), job="sort")
    repo.import_executions(table)
    frame = repo.executions("sort")
    assert len(frame) == 630
    assert frame["gross_runtime"].gt(0).all() and frame["machine_type"].notna().all()
    assert repo.job("sort").attribute("data_size_MB").kind == AttributeKind.DATASET


def test_the_files_of_one_import_go_in_together(repo: HistoryRepository) -> None:
    from jobcast.app.imports import import_c3o

    kmeans = shared_file("c3o-paper", "kmeans.csv")
    pagerank = shared_file("c3o-paper", "pagerank.csv")
    # the second file conflicts while writing (other attributes; the same file again)
    with pytest.raises(JobConflictError, match="other context attributes"):
        import_c3o(repo, [kmeans, pagerank], job="k")
    with pytest.raises(ConflictError, match="Nothing was written; to keep both copies"):
        import_c3o(repo, [kmeans, kmeans], job="k")
    assert repo.list_jobs() == []
    (summary,) = import_c3o(repo, [kmeans], job="k")
    assert summary.created_job and summary.executions == len(repo.executions("k"))


def test_default_url_uses_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    from jobcast.history.database import resolve_url

    monkeypatch.setenv("JOBCAST_DB", str(tmp_path / "x.db"))
    assert resolve_url(None) == f"sqlite:///{tmp_path / 'x.db'}"
    assert resolve_url("sqlite:///y.db") == "sqlite:///y.db"


def test_sqlite_uses_wal(sqlite_repo: HistoryRepository) -> None:
    with sqlite_repo.engine.connect() as conn:
        mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
    assert mode == "wal"


def test_two_imports_creating_one_job_at_once_both_land(repo: HistoryRepository) -> None:
    """Was: the second failed with "another import created this job at the same time"."""
    import threading
    import time

    spec = _spec("new")
    results: list[object] = []

    def second() -> None:
        try:
            results.append(repo.import_executions(_table(spec, 2)))
        except Exception as e:  # noqa: BLE001 - the failure is what is asserted
            results.append(e)

    with repo.transaction() as s:  # the first import, between creating the job and commit
        _, created = repo._ensure_job(s, spec)
        assert created
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.5)
        assert not results, "the second import did not wait for the job's creation"
    thread.join(timeout=30)
    (summary,) = results
    assert not isinstance(summary, Exception), summary
    assert summary.executions == 2 and not summary.created_job
    assert [j.name for j in repo.list_jobs()] == ["new"]
    assert len(repo.executions("new")) == 2
