"""Bad collector reports, each answered 4xx with a message naming the limit, nothing written."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from jobcast.errors import JobcastError
from tests.hardening.conftest import counts

T = "2026-05-01T12:00:00+00:00"
START = {"execution": "c1", "job": "sort", "started_at": T, "params": {"data_size_MB": 1}}
SAMPLE = {"timestamp": T, "cpu": 1, "disk_read": 0, "disk_write": 0, "net_rx": 0, "net_tx": 0}
EX, ITS, ITF, HW = (
    "/api/v1/collector/executions",
    "/api/v1/collector/iterations/start",
    "/api/v1/collector/iterations/finish",
    "/api/v1/collector/hardware",
)


def _later(seconds: int) -> str:
    return f"2026-05-01T12:00:{seconds:02d}+00:00"


HTTP_CASES: list[tuple[str, str, object, int, str]] = [
    (
        "unknown-execution",
        ITS,
        {"execution": "zz", "iteration": 0, "started_at": T},
        422,
        "start first",
    ),
    (
        "negative-iteration",
        ITS,
        {"execution": "c1", "iteration": -1, "started_at": T},
        422,
        "iteration",
    ),
    (
        "naive-time",
        ITS,
        {"execution": "c1", "iteration": 0, "started_at": "2026-05-01T12:00"},
        422,
        "timezone",
    ),
    ("not-json", EX, b"{nope", 422, "invalid ExecutionReport"),
    ("scale-out-1e30", EX, {**START, "execution": "c2", "scale_out": 10**30}, 422, "scale_out"),
    ("newline-in-job", EX, {**START, "job": "a\nb"}, 422, "control characters"),
    ("nul-in-param", EX, {**START, "params": {"data_size_MB": "a\x00"}}, 422, "NUL"),
    (
        "too-many-params",
        EX,
        {**START, "params": {f"k{i}": i for i in range(101)}},
        422,
        "MAX_PARAMS",
    ),
    ("body-too-large", EX, b"x" * 5_000_000, 413, "MAX_BODY_BYTES"),
    ("imported-run-id", EX, {**START, "execution": "imported-1"}, 409, "id of your own"),
    (
        "finish-without-start",
        EX,
        {**START, "execution": "c9", "finished_at": _later(9)},
        422,
        "start first",
    ),
    (
        "finish-before-start",
        EX,
        {**START, "finished_at": "2026-05-01T11:00:00+00:00"},
        422,
        "not after its start",
    ),
    (
        "second-finish",
        EX,
        {**START, "execution": "done", "finished_at": _later(50)},
        409,
        "never rewritten",
    ),
    ("restart-other-values", EX, {**START, "started_at": _later(1)}, 409, "started already"),
    (
        "unknown-job",
        EX,
        {**START, "execution": "c5", "job": "nojob", "params": {}},
        404,
        "may not create jobs",
    ),
    ("unknown-param", EX, {**START, "execution": "c3", "params": {"zz": 1}}, 422, "zz"),
    ("cpu-150", HW, {"node": "n", "samples": [{**SAMPLE, "cpu": 150}]}, 422, "cpu"),
    ("too-many-samples", HW, {"node": "n", "samples": [SAMPLE] * 10_001}, 422, "10000"),
    (
        "iteration-ends-before-start",
        ITF,
        {"execution": "c1", "iteration": 5, "finished_at": _later(1)},
        422,
        "before started_at",
    ),
    (
        "iteration-before-run",
        ITS,
        {"execution": "c1", "iteration": 6, "started_at": "2026-05-01T11:00:00+00:00"},
        422,
        "before the execution started",
    ),
    (
        "iteration-rewritten",
        ITS,
        {"execution": "c1", "iteration": 7, "started_at": _later(3)},
        409,
        "never rewritten",
    ),
    (
        "input-size-inf",
        EX,
        b'{"execution":"c4","job":"sort","started_at":"2026-05-01T12:00:00Z","input_size":1e400}',
        422,
        "input_size",
    ),
    (
        "hardware-imported-run",
        HW,
        {"node": "n", "execution": "imported-1", "samples": [SAMPLE]},
        409,
        "imported",
    ),
]


@pytest.fixture(scope="module")
def collector(history: str) -> Iterator[Callable[[str, object], object]]:
    import pandas as pd
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from jobcast.history import HistoryRepository
    from jobcast.history.records import ExecutionTable, Provenance, SourceKind
    from jobcast.service.collector import Collector

    repo = HistoryRepository(history)
    frame = pd.DataFrame(
        {
            "external_id": ["imported-1"],
            "gross_runtime": [10.0],
            "scale_out": [2],
            "data_size_MB": [5],
        }
    )
    try:
        repo.import_executions(
            ExecutionTable(repo.job("sort"), frame, Provenance(SourceKind.FILE, "setup.csv"))
        )
    except JobcastError:
        pass  # imported by the other backend's run of this module already
    col = Collector(repo)
    api = FastAPI()
    api.include_router(col.router(create_jobs=False))
    with TestClient(api) as client:

        def post(path: str, body: object) -> object:
            if isinstance(body, bytes):
                return client.post(path, content=body, headers={"content-type": "application/json"})
            return client.post(path, json=body)

        post(EX, START)
        post(EX, {**START, "execution": "done"})
        post(EX, {**START, "execution": "done", "finished_at": _later(40)})
        post(ITS, {"execution": "c1", "iteration": 5, "started_at": _later(5)})
        post(ITS, {"execution": "c1", "iteration": 7, "started_at": _later(2)})
        yield post
    col.close()
    repo.close()


@pytest.mark.parametrize(
    ("path", "body", "status", "says"),
    [c[1:] for c in HTTP_CASES],
    ids=[c[0] for c in HTTP_CASES],
)
def test_bad_report_is_refused(
    collector: Callable[[str, object], object],
    history: str,
    path: str,
    body: object,
    status: int,
    says: str,
) -> None:
    held = counts(history)
    response = collector(path, body)
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    detail = response.json()["detail"]  # type: ignore[attr-defined]
    assert says.lower() in detail.lower(), detail
    assert counts(history) == held, "something was written"
