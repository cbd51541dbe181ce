"""The API end to end: executions, ETA, predictions, configuration, metrics, webhook."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient

from jobcast.history import HistoryRepository
from jobcast.history.importers import read_c3o
from jobcast.service import create_app
from jobcast.service.settings import ServiceSettings
from tests.conftest import shared_file
from tests.service.conftest import iterative_history, record_run


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _running(db_url: str) -> list[float]:
    """A finished iterative history and one execution 'now' running since a minute."""
    with HistoryRepository(db_url) as repo:
        durations = iterative_history(repo)
        start = datetime.now(UTC) - timedelta(seconds=sum(durations[:4]) + 3 * 2.0 + 1)
        record_run(repo, "loop", "now", durations[:4], start=start, finish=False)
    return durations


def test_running_executions_and_their_eta(db_url: str) -> None:
    _running(db_url)
    with TestClient(create_app(db_url, settings=ServiceSettings(anonymous_read=True))) as c:
        running = c.get("/api/v1/executions", params={"state": "running"}).json()["executions"]
        assert [e["id"] for e in running] == ["now"]
        assert running[0]["job"] == "loop" and running[0]["state"] == "running"
        finished = c.get("/api/v1/jobs/loop/executions", params={"state": "finished"}).json()
        assert len(finished["executions"]) == 6
        its = c.get("/api/v1/executions/now/iterations").json()["iterations"]
        assert [i["iteration"] for i in its] == [0, 1, 2, 3]
        eta = c.get("/api/v1/executions/now/eta").json()
        assert eta["execution"] == "now" and eta["iterations_done"] == 4
        assert eta["elapsed_s"] > 40 and eta["remaining_s"] > 0
        lo, hi = eta["interval_s"]
        assert lo <= eta["remaining_s"] <= hi
        assert 0 < eta["progress"] < 1 and eta["similar"]
        assert datetime.fromisoformat(eta["finish_at"]) > datetime.now(UTC)
        assert eta["deadline_risk"] is None and eta["warnings"] == []
        # a deadline that has nearly passed is at high risk, a generous one at low risk
        tight = c.get("/api/v1/executions/now/eta", params={"deadline_s": 50}).json()
        loose = c.get("/api/v1/executions/now/eta", params={"deadline_s": 10_000}).json()
        assert tight["deadline_risk"] > 0.9 > 0.1 > loose["deadline_risk"]
        assert c.get("/api/v1/executions/nope/eta").status_code == 404
        assert c.get("/api/v1/jobs/nope/executions").status_code == 404


def test_execution_listings_come_in_pages(db_url: str) -> None:
    """Was: every execution in one answer (69 MB for 300,000 runs)."""
    _running(db_url)  # 6 finished runs and one running
    with TestClient(create_app(db_url, settings=ServiceSettings(anonymous_read=True))) as c:
        everything = c.get("/api/v1/executions").json()
        assert len(everything["executions"]) == 7 and everything["next_offset"] is None
        ids, offset = [], 0
        while offset is not None:
            page = c.get("/api/v1/jobs/loop/executions", params={"limit": 3, "offset": offset})
            assert page.status_code == 200
            ids += [e["id"] for e in page.json()["executions"]]
            offset = page.json()["next_offset"]
        assert ids == [e["id"] for e in everything["executions"]]  # newest first, each once
        for bad in ({"limit": 0}, {"limit": 10_001}, {"offset": -1}):
            assert c.get("/api/v1/executions", params=bad).status_code == 422


def test_predict_and_configure(db_url: str) -> None:
    with HistoryRepository(db_url) as repo:
        repo.import_executions(read_c3o(shared_file("c3o-paper", "sort.csv"), job="sort"))
    app = create_app(db_url)
    with TestClient(app) as c:
        token = app.state.tokens.create("read").token
        r = c.post(
            "/api/v1/jobs/sort/predict",
            json={"set": {"data_size_MB": 15408}, "scale_out": [4, 8, 12], "model": "ernest"},
            headers=_bearer(token),
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["model"] == "ernest" and len(body["predictions"]) == 3
        assert all(p > 0 for p in body["predictions"])
        rows = [{"scale_out": 6, "data_size_MB": 12000}, {"scale_out": 10, "data_size_MB": 12000}]
        r = c.post(
            "/api/v1/jobs/sort/predict",
            json={"rows": rows, "model": "ernest"},
            headers=_bearer(token),
        )
        assert r.status_code == 200, r.text and len(r.json()["predictions"]) == 2
        bad = c.post("/api/v1/jobs/sort/predict", json={"set": {"x": 1}}, headers=_bearer(token))
        assert bad.status_code == 422
        r = c.post(
            "/api/v1/jobs/sort/configure",
            json={"deadline_s": 600, "set": {"data_size_MB": 15408}, "model": "ernest"},
            headers=_bearer(token),
        )
        assert r.status_code == 200, r.text
        conf = r.json()
        assert conf["feasible"] and conf["best"]["predicted_s"] <= 600 and conf["message"]
        r = c.post(
            "/api/v1/jobs/sort/configure",
            json={"deadline_s": 1, "set": {"data_size_MB": 15408}, "model": "ernest"},
            headers=_bearer(token),
        )
        assert r.status_code == 200 and not r.json()["feasible"] and r.json()["best"] is None
        assert (
            c.post(
                "/api/v1/jobs/nope/configure", json={"deadline_s": 5}, headers=_bearer(token)
            ).status_code
            == 404
        )


class _Receiver(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A real HTTP server on loopback recording the JSON bodies POSTed to it."""
    _Receiver.received = []
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", _Receiver.received
    server.shutdown()
    thread.join(timeout=5)


def test_metrics_and_the_deadline_webhook(
    db_url: str, receiver: tuple[str, list[dict[str, Any]]]
) -> None:
    url, received = receiver
    _running(db_url)
    settings = ServiceSettings(
        webhook_url=url,
        risk_threshold=0.5,
        deadlines=(("loop", 50.0),),
        watch_interval_s=3600,  # the test drives the passes itself
    )
    app = create_app(db_url, settings=settings)
    with TestClient(app) as c:
        token = app.state.tokens.create("read").token
        # the background pass runs at start-up too: whichever pass crosses first calls
        app.state.watcher.tick()
        for _ in range(100):
            if received:
                break
            time.sleep(0.1)
        app.state.watcher.tick()  # a later pass must not call again
        time.sleep(0.5)
        assert len(received) == 1
        [call] = received
        assert call["event"] == "deadline_risk" and call["execution"] == "now"
        assert call["job"] == "loop" and call["deadline_risk"] >= 0.5
        assert call["deadline_s"] == 50.0
        c.get("/api/v1/jobs", headers=_bearer(token))
        text = c.get("/metrics", headers=_bearer(token)).text
        assert 'jobcast_execution_progress{execution="now",job="loop"}' in text
        assert 'jobcast_execution_remaining_seconds{execution="now",job="loop"}' in text
        assert 'jobcast_execution_deadline_risk{execution="now",job="loop"}' in text
        assert 'jobcast_http_requests_total{method="GET",route="/api/v1/jobs",status="200"}' in text
        assert 'jobcast_webhook_calls_total{outcome="sent"} 1.0' in text
        # the ETA endpoint answers from the pass, with the webhook's deadline risk
        eta = c.get("/api/v1/executions/now/eta", headers=_bearer(token)).json()
        assert eta["deadline_risk"] == pytest.approx(call["deadline_risk"])
