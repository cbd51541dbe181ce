"""Bounds on a request's cost: the body's size (413) and 422s that do not echo values."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from jobcast.history import HistoryRepository
from jobcast.history.importers import read_c3o
from jobcast.service import create_app, limits
from tests.conftest import shared_file


@pytest.fixture
def client(db_url: str):
    with HistoryRepository(db_url) as repo:
        repo.import_executions(read_c3o(shared_file("c3o-paper", "sort.csv"), job="sort"))
    app = create_app(db_url)
    with TestClient(app) as c:
        token = app.state.tokens.create("read").token
        c.headers["Authorization"] = f"Bearer {token}"
        yield c


def _limit(client: TestClient, limit: int) -> None:
    """Rebuild the app's middleware with another body limit."""
    app = client.app
    app.middleware_stack = None  # type: ignore[attr-defined]
    app.user_middleware = [  # type: ignore[attr-defined]
        m if m.cls is not limits.BodyLimit else type(m)(limits.BodyLimit, limit=limit)
        for m in app.user_middleware  # type: ignore[attr-defined]
    ]


def test_a_body_beyond_the_limit_is_refused_before_it_is_parsed(client: TestClient) -> None:
    """Was: any size read and parsed (a 60 MB body took the server's time and memory)."""
    big = json.dumps({"set": {"data_size_MB": 1000}, "scale_out": [2] * 400})
    assert len(big) > 1000
    _limit(client, 1000)
    r = client.post("/api/v1/jobs/sort/predict", content=big,
                    headers={"Content-Type": "application/json"})  # fmt: skip
    assert r.status_code == 413 and "larger than 1,000 bytes" in r.json()["detail"]

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(10):
            yield big[:200].encode()

    r = client.post("/api/v1/jobs/sort/predict", content=chunks(),
                    headers={"Content-Type": "application/json"})  # fmt: skip
    assert r.status_code == 413
    small = {"set": {"data_size_MB": 10000}, "scale_out": [4]}
    assert client.post("/api/v1/jobs/sort/predict", json=small).status_code == 200


def test_a_wrong_field_is_named_without_echoing_what_was_sent(client: TestClient) -> None:
    """Was: FastAPI's 422 returned the whole input (an 11 MB answer to a 12 MB request)."""
    huge = "x" * 100_000
    r = client.post("/api/v1/jobs/sort/predict", json={"set": {}, "scale_out": huge})
    assert r.status_code == 422
    (error,) = r.json()["detail"]
    assert error["loc"] == ["body", "scale_out"] and "input" not in error
    assert len(r.content) < 2000
    r = client.post("/api/v1/jobs/sort/predict", content=b"{not json",
                    headers={"Content-Type": "application/json"})  # fmt: skip
    assert r.status_code == 422
    assert "no valid JSON" in r.json()["detail"][0]["msg"]


def test_the_collector_keeps_its_own_limit(client: TestClient) -> None:
    _limit(client, 100)
    body = json.dumps({"execution": "e", "job": "j", "started_at": "x" * 300}).encode()
    r = client.post("/api/v1/collector/executions", content=body,
                    headers={"Content-Type": "application/json"})  # fmt: skip
    assert r.status_code == 403  # its own checks answer (a read token), not the API's limit


def test_a_share_too_large_for_a_hub_is_not_sent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Was: sent for a minute, then a 422 echoing the whole 97 MB package."""
    from jobcast.app import hub
    from jobcast.errors import InputError
    from tests.service.test_hub import _release

    d = _release(tmp_path, "big")
    size = len((d / "rows.csv").read_text())
    monkeypatch.setattr(hub, "MAX_ROWS_CSV", size // 4)
    with pytest.raises(InputError, match="more than a hub takes") as e:
        hub.publish_dir(d, url="http://127.0.0.1:9", token="t")
    assert "nothing was sent" in str(e.value) and "`jobcast share --rows`" in str(e.value)
