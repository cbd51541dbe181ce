"""The collector endpoints against a real uvicorn server on loopback, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pandas as pd
import pytest
from fastapi import FastAPI, Request
from sqlalchemy import text

from jobcast.collect.protocol import MAX_BODY_BYTES, MAX_PARAMS, ExecutionReport
from jobcast.history import (
    Attribute,
    AttributeKind,
    ExecutionTable,
    HistoryRepository,
    JobSpec,
    Provenance,
    SourceKind,
)
from jobcast.service.collector import Collector

from .conftest import running_server

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
EXEC = "/api/v1/collector/executions"
IT_START = "/api/v1/collector/iterations/start"
IT_FINISH = "/api/v1/collector/iterations/finish"
HW = "/api/v1/collector/hardware"


@dataclass
class Server:
    base: str
    url: str

    def post(self, path: str, body: dict[str, object]) -> httpx.Response:
        return httpx.post(f"{self.base}{path}", json=body, timeout=30)

    def repo(self) -> HistoryRepository:
        return HistoryRepository(self.url)


def _serve(url: str, *, create_jobs: object = True) -> Iterator[Server]:
    repo = HistoryRepository(url)
    collector = Collector(repo)
    app = FastAPI()
    app.include_router(collector.router(create_jobs=create_jobs))  # type: ignore[arg-type]
    try:
        with running_server(app) as base:
            yield Server(base, url)
    finally:
        collector.close()
        repo.close()


@pytest.fixture
def server(db_url: str) -> Iterator[Server]:
    yield from _serve(db_url)


def _start_body(execution: str, job: str = "pagerank", **extra: object) -> dict[str, object]:
    body: dict[str, object] = {
        "execution": execution,
        "job": job,
        "started_at": T0.isoformat(),
        "scale_out": 4,
        "input_size": 512.0,
        "params": {"damping": 0.85},
    }
    body.update(extra)
    return body


def _start(srv: Server, execution: str, job: str = "pagerank") -> None:
    r = srv.post(EXEC, _start_body(execution, job))
    assert r.status_code == 201, r.text


def _at(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat()


def test_iterations_are_stored_at_once(server: Server) -> None:
    _start(server, "app-1")
    for i in range(3):
        r = server.post(IT_START, {"execution": "app-1", "iteration": i, "started_at": _at(10 * i)})
        assert r.status_code == 201, r.text
        r = server.post(
            IT_FINISH,
            {"execution": "app-1", "iteration": i, "finished_at": _at(10 * i + 8), "records": 9},
        )
        assert r.status_code == 201, r.text
        with server.repo() as repo:
            it = repo.iterations("pagerank", include_running=True)
        assert len(it) == i + 1 and it["duration_s"].iloc[-1] == pytest.approx(8.0)
    r = server.post(EXEC, _start_body("app-1", finished_at=_at(40)))
    assert r.status_code == 201, r.text
    with server.repo() as repo:
        ex = repo.executions("pagerank")
        assert ex["gross_runtime"].tolist() == [40.0]
        assert ex["input_size"].tolist() == [512.0]
        assert len(repo.iterations("pagerank")) == 3


def test_bad_submissions_get_clear_errors(server: Server) -> None:
    r = server.post(IT_START, {"execution": "nope", "iteration": 0, "started_at": _at(0)})
    assert r.status_code == 422 and "report its start first" in r.json()["detail"]
    r = server.post(IT_START, {"execution": "x", "iteration": -1, "started_at": _at(0)})
    assert r.status_code == 422 and "iteration" in r.json()["detail"]
    r = server.post(IT_START, {"execution": "x", "iteration": 0, "started_at": "2026-05-01T12:00"})
    assert r.status_code == 422 and "timezone" in r.json()["detail"]
    r = httpx.post(f"{server.base}{EXEC}", content=b"{not json", timeout=10)
    assert r.status_code == 422 and "invalid ExecutionReport" in r.json()["detail"]
    r = server.post(EXEC, _start_body("a", scale_out=10**30))
    assert r.status_code == 422 and "scale_out" in r.json()["detail"]
    r = server.post(EXEC, _start_body("a", job="bad\nname"))
    assert r.status_code == 422 and "control characters" in r.json()["detail"]
    # was accepted: a job whose page and API address (/jobs/NAME) lead elsewhere
    r = server.post(EXEC, _start_body("a", job="team/etl"))
    assert r.status_code == 422 and "holds '/'" in r.json()["detail"], r.text
    assert "e.g. 'team-etl'" in r.json()["detail"]
    r = server.post(EXEC, _start_body("a", job=".."))
    assert r.status_code == 422 and "step of a path" in r.json()["detail"], r.text
    r = server.post(EXEC, _start_body("a", params={"x": "a\x00b"}))
    assert r.status_code == 422 and "NUL" in r.json()["detail"]
    with server.repo() as repo:
        assert repo.list_jobs() == []


def test_a_text_for_a_numeric_attribute_is_refused(server: Server) -> None:
    _start(server, "app-1")  # creates the job: damping and input_size are numbers
    for params in ({"damping": "15 GB"}, {"damping": "nan"}, {"damping": "1e300"}):
        r = server.post(EXEC, _start_body("app-2", params=params))
        assert r.status_code == 422, r.text
        assert "attribute 'damping' holds numbers" in r.json()["detail"]
    r = server.post(EXEC, _start_body("app-3", params={"damping": "0.9"}))
    assert r.status_code == 201, r.text
    with server.repo() as repo, repo.engine.connect() as conn:
        stored = conn.execute(text("select external_id from executions")).scalars()
        assert sorted(stored) == ["app-1", "app-3"]


def test_imported_runs_are_never_overwritten(server: Server) -> None:
    spec = JobSpec("sort", (Attribute("size", AttributeKind.DATASET),))
    frame = pd.DataFrame(
        {"external_id": ["1"], "gross_runtime": [873.0], "scale_out": [36], "size": [100]}
    )
    with server.repo() as repo:
        repo.import_executions(ExecutionTable(spec, frame, Provenance(SourceKind.FILE, "t.csv")))
    for body in (
        _start_body("1", job="sort", params={}, input_size=None, scale_out=1),
        _start_body("1", job="sort", params={}, input_size=None, finished_at=_at(10**9)),
        _start_body("1", job="other", params={}),
    ):
        r = server.post(EXEC, body)
        assert r.status_code == 409, r.text
        assert "imported" in r.json()["detail"] and "id of your own" in r.json()["detail"]
    r = server.post(IT_START, {"execution": "1", "iteration": 0, "started_at": _at(0)})
    assert r.status_code == 409
    with server.repo() as repo:
        ex = repo.executions("sort")
        assert ex["gross_runtime"].tolist() == [873.0] and ex["scale_out"].tolist() == [36]
        assert [j.name for j in repo.list_jobs()] == ["sort"]


def test_finishes_are_checked_and_never_rewritten(server: Server) -> None:
    r = server.post(EXEC, _start_body("ghost", finished_at=_at(10)))
    assert r.status_code == 422 and "report its start first" in r.json()["detail"]
    _start(server, "app-1")
    r = server.post(EXEC, _start_body("app-1", finished_at=_at(-3600)))
    assert r.status_code == 422 and "not after its start" in r.json()["detail"]
    r = server.post(EXEC, _start_body("app-1", finished_at=_at(200)))
    assert r.status_code == 201
    r = server.post(EXEC, _start_body("app-1", finished_at=_at(200)))
    assert r.status_code == 200 and r.json()["stored"] is False  # idempotent retry
    r = server.post(EXEC, _start_body("app-1", finished_at=_at(863_716)))
    assert r.status_code == 409 and "never rewritten" in r.json()["detail"]
    r = server.post(EXEC, _start_body("app-1", scale_out=1))
    assert r.status_code == 409 and "scale_out" in r.json()["detail"]
    r = server.post(EXEC, _start_body("app-1"))
    assert r.status_code == 200  # the same start again
    r = server.post(IT_START, {"execution": "app-1", "iteration": 0, "started_at": _at(300)})
    assert r.status_code == 422 and "after the execution finished" in r.json()["detail"]
    with server.repo() as repo:
        assert repo.executions("pagerank")["gross_runtime"].tolist() == [200.0]


def test_iteration_reports_in_any_order(server: Server) -> None:
    _start(server, "app-1")
    fin = {"execution": "app-1", "iteration": 0, "finished_at": _at(8), "records": 5}
    start = {"execution": "app-1", "iteration": 0, "started_at": _at(2)}
    assert server.post(IT_FINISH, fin).status_code == 201
    assert server.post(IT_START, start).status_code == 201
    assert server.post(IT_START, start).status_code == 200  # retry
    assert server.post(IT_FINISH, fin).status_code == 200
    r = server.post(IT_FINISH, {**fin, "records": 6})
    assert r.status_code == 409 and "records" in r.json()["detail"]
    r = server.post(IT_START, {**start, "iteration": 1, "started_at": _at(-5)})
    assert r.status_code == 422 and "before the execution started" in r.json()["detail"]
    r = server.post(IT_START, {**start, "iteration": 2, "started_at": _at(20)})
    r = server.post(IT_FINISH, {**fin, "iteration": 2, "finished_at": _at(10)})
    assert r.status_code == 422 and "before started_at" in r.json()["detail"]
    with server.repo() as repo:
        it = repo.iterations("pagerank", include_running=True)
    assert it["duration_s"].iloc[0] == pytest.approx(6.0) and it["records"].iloc[0] == 5


def test_failed_run_is_kept_out_of_training(server: Server) -> None:
    _start(server, "ok")
    _start(server, "bad")
    for e in ("ok", "bad"):
        server.post(IT_START, {"execution": e, "iteration": 0, "started_at": _at(1)})
        server.post(IT_FINISH, {"execution": e, "iteration": 0, "finished_at": _at(5)})
    assert server.post(EXEC, _start_body("ok", finished_at=_at(30))).status_code == 201
    r = server.post(EXEC, _start_body("bad", finished_at=_at(30), completed=False))
    assert r.status_code == 201
    with server.repo() as repo:
        assert repo.executions("pagerank")["external_id"].tolist() == ["ok"]
        assert set(repo.iterations("pagerank")["execution"]) == {"ok"}
        every = repo.executions("pagerank", only_completed=False)
        assert sorted(every["external_id"]) == ["bad", "ok"]
    r = server.post(EXEC, _start_body("bad", finished_at=_at(30)))
    assert r.status_code == 409 and "failed" in r.json()["detail"]


def test_fifty_first_reports_of_a_new_job_race(server: Server) -> None:
    def first(k: int) -> int:
        with httpx.Client(base_url=server.base, timeout=60) as c:
            start = c.post(EXEC, json=_start_body(f"app-{k}", job="fresh")).status_code
            it = c.post(
                IT_START, json={"execution": f"app-{k}", "iteration": 0, "started_at": _at(1)}
            ).status_code
            return start + it

    with ThreadPoolExecutor(max_workers=50) as pool:
        codes = list(pool.map(first, range(50)))
    assert codes == [402] * 50
    with server.repo() as repo:
        assert [j.name for j in repo.list_jobs()] == ["fresh"]
        ex = repo.executions("fresh", only_completed=False)
        assert len(ex) == 50 and len(repo.iterations("fresh", include_running=True)) == 50


def test_concurrent_start_and_finish_lose_nothing(server: Server) -> None:
    executions = [f"app-{k}" for k in range(4)]
    for e in executions:
        _start(server, e)

    def submit(args: tuple[str, int]) -> list[int]:
        e, i = args
        with httpx.Client(base_url=server.base, timeout=60) as c:
            bodies = [
                (IT_START, {"execution": e, "iteration": i, "started_at": _at(i)}),
                (
                    IT_FINISH,
                    {"execution": e, "iteration": i, "records": i, "finished_at": _at(i + 1)},
                ),
            ]
            with ThreadPoolExecutor(max_workers=2) as both:  # sent together: either order
                return list(both.map(lambda pb: c.post(pb[0], json=pb[1]).status_code, bodies))

    jobs = [(e, i) for e in executions for i in range(25)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        codes = list(pool.map(submit, jobs))
    assert all(c == [201, 201] for c in codes), codes
    with server.repo() as repo:
        it = repo.iterations("pagerank", include_running=True)
    assert len(it) == len(jobs)
    assert it["duration_s"].eq(1.0).all()


def test_limits_answer_413_and_422(server: Server) -> None:
    big = json.dumps(_start_body("a", params={f"k{i}": i for i in range(700_000)}))
    assert len(big) > 10_000_000
    t = time.perf_counter()
    r = httpx.post(
        f"{server.base}{EXEC}",
        content=big.encode(),
        headers={"content-type": "application/json"},
        timeout=60,
    )
    assert r.status_code == 413 and "MAX_BODY_BYTES" in r.json()["detail"]
    assert time.perf_counter() - t < 10
    r = server.post(EXEC, _start_body("a", params={f"k{i}": i for i in range(MAX_PARAMS + 1)}))
    assert r.status_code == 422 and "MAX_PARAMS" in r.json()["detail"]
    sample = {
        "timestamp": _at(1),
        "cpu": 1,
        "disk_read": 0,
        "disk_write": 0,
        "net_rx": 0,
        "net_tx": 0,
    }
    r = server.post(HW, {"node": "n", "samples": [sample] * 10_001})
    assert r.status_code in (413, 422) and ("10000" in r.text or "MAX_BODY_BYTES" in r.text)
    assert MAX_BODY_BYTES < 10_000_000
    with server.repo() as repo:
        assert repo.list_jobs() == []


def test_hardware_samples_matched_by_time(server: Server) -> None:
    _start(server, "app-9")
    _start(server, "app-10")
    server.post(EXEC, _start_body("app-10", finished_at=_at(3)))
    sample = {
        "timestamp": _at(5),
        "cpu": 50.0,
        "disk_read": 1.0,
        "disk_write": 2.0,
        "net_rx": 3.0,
        "net_tx": 4.0,
    }
    r = server.post(HW, {"node": "n1", "execution": "app-9", "samples": [sample]})
    assert r.status_code == 201 and r.json()["stored"] == 1
    early = {**sample, "timestamp": _at(2)}
    r = server.post(HW, {"node": "n2", "samples": [sample, early]})
    # app-9 runs at both times; app-10 only at the early one
    assert r.status_code == 201 and r.json() == {"stored": 3, "received": 2}
    with server.repo() as repo:
        hw = repo.hardware("pagerank")
    assert sorted(hw["node"]) == ["n1", "n2", "n2", "n2"]


def test_unknown_job_needs_permission(db_url: str) -> None:
    def allowed(request: Request) -> bool:
        return request.headers.get("x-may-create") == "yes"

    for srv in _serve(db_url, create_jobs=allowed):
        r = srv.post(EXEC, _start_body("app-1", job="new"))
        assert r.status_code == 404 and "may not create jobs" in r.json()["detail"]
        with srv.repo() as repo:
            assert repo.list_jobs() == []
        r = httpx.post(
            f"{srv.base}{EXEC}",
            json=_start_body("app-1", job="new"),
            headers={"x-may-create": "yes"},
        )
        assert r.status_code == 201
        assert srv.post(EXEC, _start_body("app-2", job="new")).status_code == 201  # job exists now


def test_synchronous_use_without_http(repo: HistoryRepository) -> None:
    collector = Collector(repo)
    try:
        report = ExecutionReport(execution="e", job="j", started_at=T0, params={"size": 3})
        assert collector.execution(report)["stored"] is True
        assert collector.execution(report)["stored"] is False
    finally:
        collector.close()
    assert repo.executions("j", only_completed=False)["size"].tolist() == [3]


def test_routes_are_built_before_the_first_report(tmp_path: Path) -> None:
    # FastAPI builds included routes on the first request that reaches them (0.7 s inside
    # the event loop for the service): the router's lifespan builds them before serving
    from fastapi.testclient import TestClient

    repo = HistoryRepository(f"sqlite:///{tmp_path / 'h.db'}")
    collector = Collector(repo)
    app = FastAPI()
    app.include_router(collector.router(create_jobs=True))
    assert app.openapi_schema is None
    try:
        with TestClient(app) as client:
            assert app.openapi_schema is not None
            assert EXEC in app.openapi_schema["paths"]
            assert collector._thread is not None and collector._thread.is_alive()
            r = client.post(EXEC, json=_start_body("app-1"))
            assert r.status_code == 201, r.text
    finally:
        collector.close()
        repo.close()
