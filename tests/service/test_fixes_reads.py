"""Reads found broken by a tester: runs without an ETA, finished runs, shared ids, 404s."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from jobcast.history import HistoryRepository, JobSpec
from jobcast.history.importers import read_c3o
from jobcast.history.schema import ExecutionRow, JobRow
from jobcast.service import create_app
from jobcast.service.settings import ServiceSettings
from tests.conftest import shared_file
from tests.service.conftest import iterative_history, record_run

#: anonymous reads, no model worker processes, no background pass of its own
OPEN = ServiceSettings(anonymous_read=True, model_workers=0, watch_interval_s=3600)


def _ago(seconds: float) -> datetime:
    return datetime.now(UTC) - timedelta(seconds=seconds)


@pytest.fixture
def client(db_url: str) -> Iterator[TestClient]:
    """Sort imported from C3O (row ids 1..), a loop history, and running executions.

    ``1`` is both sort's first (imported, finished) run and a running run of loop;
    ``twin`` runs in loop (3 iterations) and in loop2 (none yet); ``c3o-live`` was
    started by a collector in sort, whose history has no iterations (so it has no ETA).
    """
    with HistoryRepository(db_url) as repo:
        repo.import_executions(read_c3o(shared_file("c3o-paper", "sort.csv"), job="sort"))
        durations = iterative_history(repo)
        iterative_history(repo, "loop2", n_runs=3)
        repo.start_execution(JobSpec("sort"), "c3o-live", started_at=_ago(30))
        for run in ("1", "twin"):
            record_run(repo, "loop", run, durations[:3], start=_ago(60), finish=False)
        # collectors refuse an id another job's live run holds: written as an older
        # release (or another writer) could have left it
        with repo.transaction() as s:
            loop2 = s.scalar(select(JobRow.id).where(JobRow.name == "loop2"))
            s.add(
                ExecutionRow(
                    job_id=loop2,
                    external_id="twin",
                    started_at=_ago(60),
                    source="live",
                    origin="collector",
                    status="running",
                    attributes={},
                )
            )
    with TestClient(create_app(db_url, settings=OPEN)) as c:
        c.app.state.watcher.tick()  # type: ignore[attr-defined]
        yield c


def _row(page: str, execution: str, job: str) -> str:
    return page.split(f'data-execution="{execution}" data-job="{job}"')[1].split("</tr>")[0]


def test_dashboard_lists_a_run_without_an_eta(client: TestClient) -> None:
    """Was 500 (UndefinedError: 'dict object' has no attribute 'progress')."""
    r = client.get("/")
    assert r.status_code == 200, r.text
    row = _row(r.text, "c3o-live", "sort")
    for cell in ("elapsed", "remaining", "finish", "interval", "risk"):
        assert f'<td class="{cell}"></td>' in row
    assert '<span class="pct"></span>' in row and 'class="warn"' not in row
    # the runs that have one still show it
    assert "s</td>" in _row(r.text, "1", "loop").split('class="remaining">')[1]
    assert client.get("/jobs/sort").status_code == 200
    assert client.get("/jobs/loop").status_code == 200


def test_eta_of_a_finished_execution_is_refused(client: TestClient, db_url: str) -> None:
    """Was 200 with a finish time in the future (a live run) or a collector's 422."""
    with HistoryRepository(db_url) as repo:
        record_run(repo, "loop", "done", [10.0, 10.0], start=_ago(100), finish=True)
    r = client.get("/api/v1/executions/done/eta")
    assert r.status_code == 409, r.text
    detail = r.json()["detail"]
    assert "'done' of job 'loop' has finished" in detail and "after 25 s" in detail
    # with a deadline (never answered from the background pass) alike
    assert client.get("/api/v1/executions/done/eta", params={"deadline_s": 5}).status_code == 409
    # an imported run: finished too, not a collector's business
    r = client.get("/api/v1/executions/2/eta", params={"job": "sort"})
    assert r.status_code == 409, r.text
    assert "has finished after" in r.json()["detail"] and " s;" in r.json()["detail"]
    assert "collectors" not in r.json()["detail"]
    # the finished run is still read as a record, and the running ones keep their ETAs
    assert client.get("/api/v1/executions/done").json()["state"] == "finished"
    assert client.get("/api/v1/executions/1/eta", params={"job": "loop"}).status_code == 200


def test_ids_held_by_several_jobs_need_the_job(client: TestClient) -> None:
    """Was: /executions/1 answered loop's run, sort's '1' could not be read at all."""
    for path in ("/api/v1/executions/1", "/api/v1/executions/1/iterations"):
        r = client.get(path)
        assert r.status_code == 409, r.text
        assert "(loop, sort)" in r.json()["detail"] and "?job=NAME" in r.json()["detail"]
    # the ETA too, though the background pass holds loop's (sort's is finished)
    r = client.get("/api/v1/executions/1/eta")
    assert r.status_code == 409 and "(loop, sort)" in r.json()["detail"]
    sort = client.get("/api/v1/executions/1", params={"job": "sort"}).json()
    loop = client.get("/api/v1/executions/1", params={"job": "loop"}).json()
    assert (sort["job"], sort["state"], sort["gross_runtime"]) == ("sort", "finished", 368.0)
    assert (loop["job"], loop["state"]) == ("loop", "running")
    its = client.get("/api/v1/executions/1/iterations", params={"job": "loop"}).json()
    assert len(its["iterations"]) == 3
    assert client.get("/api/v1/executions/1/iterations", params={"job": "sort"}).json() == {
        "execution": "1",
        "iterations": [],
    }
    eta = client.get("/api/v1/executions/1/eta", params={"job": "loop"}).json()
    assert (eta["job"], eta["execution"], eta["iterations_done"]) == ("loop", "1", 3)
    # two running executions of one id: both estimated, both on the dashboard and in /metrics
    r = client.get("/api/v1/executions/twin/eta")
    assert r.status_code == 409 and "(loop, loop2)" in r.json()["detail"]
    for job, done in (("loop", 3), ("loop2", 0)):
        eta = client.get("/api/v1/executions/twin/eta", params={"job": job}).json()
        assert (eta["job"], eta["iterations_done"]) == (job, done)
    metrics = client.get("/metrics").text
    assert 'jobcast_execution_progress{execution="twin",job="loop"}' in metrics
    assert 'jobcast_execution_progress{execution="twin",job="loop2"}' in metrics
    page = client.get("/").text
    for job in ("loop", "loop2"):
        assert "s</td>" in _row(page, "twin", job).split('class="remaining">')[1]
    # ids held by one job read as before, with or without ?job=
    assert client.get("/api/v1/executions/c3o-live").json()["job"] == "sort"
    assert client.get("/api/v1/executions/loop-old-0", params={"job": "loop"}).status_code == 200
    assert client.get("/api/v1/executions/3").json()["job"] == "sort"  # a C3O row id


def test_unknown_executions_and_shares_are_404(client: TestClient) -> None:
    """Was 422 with a collector's message ("report its start first")."""
    for path in ("", "/iterations", "/eta"):
        r = client.get(f"/api/v1/executions/nope{path}")
        assert r.status_code == 404, (path, r.text)
        assert r.json()["detail"] == "no execution 'nope' is in the history"
    # ids that look like row ids past the database's integers are unknown too
    for big in ("99999999999", "9" * 30):
        assert client.get(f"/api/v1/executions/{big}").status_code == 404
    r = client.get("/api/v1/executions/c3o-live", params={"job": "loop"})
    assert r.status_code == 404 and "of job 'loop'" in r.json()["detail"]
    r = client.get("/api/v1/executions/1/eta", params={"job": "nojob"})
    assert r.status_code == 404 and "unknown job 'nojob'" in r.json()["detail"]
    r = client.get("/api/v1/hub/shares/999")
    assert r.status_code == 404 and r.json()["detail"] == "the hub has no share 999"


def test_times_keep_their_zone(client: TestClient) -> None:
    """Was "2026-...T01:00:00" (naive) on SQLite, "+00:00" on PostgreSQL."""
    record = client.get("/api/v1/executions/1", params={"job": "loop"}).json()
    assert record["started_at"].endswith("+00:00")
    its = client.get("/api/v1/executions/1/iterations", params={"job": "loop"}).json()
    assert all(i["started_at"].endswith("+00:00") for i in its["iterations"])
    listed = client.get("/api/v1/executions", params={"state": "running"}).json()
    assert all(e["started_at"].endswith("+00:00") for e in listed["executions"])
