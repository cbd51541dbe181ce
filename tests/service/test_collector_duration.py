"""An iteration's duration agrees with its start and end: the collector client and service.

Over a real uvicorn server on loopback, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from jobcast.collect import CollectorClient
from jobcast.collect.protocol import utc_now
from jobcast.errors import InputError
from jobcast.history import HistoryRepository
from jobcast.service import create_app
from jobcast.service.settings import ServiceSettings

from .conftest import running_server

T0 = datetime(2026, 5, 1, 19, 0, 38, 680000, tzinfo=UTC)
EXEC = "/api/v1/collector/executions"
IT_START = "/api/v1/collector/iterations/start"
IT_FINISH = "/api/v1/collector/iterations/finish"


@pytest.fixture
def service(db_url: str) -> Iterator[str]:
    """The whole service (token checks off) on ``db_url``; yields its base URL."""
    settings = ServiceSettings(require_tokens=False, model_workers=0, watch_interval_s=3600)
    with running_server(create_app(db_url, settings=settings)) as base:
        yield base


def _durations(db_url: str, job: str) -> list[float]:
    with HistoryRepository(db_url) as repo:
        it = repo.iterations(job, include_running=True)
    return [float(d) for d in it.sort_values("iteration")["duration_s"]]


def test_replayed_iterations_last_what_their_times_say(service: str, db_url: str) -> None:
    """Was: duration_s measured between the two calls (0.0037 s for a 138 s iteration)."""
    with CollectorClient(service) as client:
        client.start_execution("replay-1", job="replayed", scale_out=4, started_at=T0)
        for k in range(12):
            start = T0 + timedelta(seconds=1 + 20 * k)
            client.iteration_started(k, started_at=start)
            client.iteration_finished(k, finished_at=start + timedelta(seconds=11.5), records=k)
        assert client.refused == 0, [r.describe() for r in client.refusals]
        assert client.pending == 0
    assert _durations(db_url, "replayed") == pytest.approx([11.5] * 12)


def test_one_given_time_is_measured_against_the_other_end(service: str, db_url: str) -> None:
    with CollectorClient(service) as client:
        client.start_execution("half-1", job="half", started_at=utc_now() - timedelta(minutes=5))
        # a start given, the end now: the time since that start
        client.iteration_started(0, started_at=utc_now() - timedelta(seconds=30))
        client.iteration_finished(0)
        # a live start, an end given: from the time iteration_started was called
        before = utc_now()
        client.iteration_started(1)
        client.iteration_finished(1, finished_at=before + timedelta(seconds=4))
        # no time given: the time between the calls
        client.iteration_started(2)
        client.iteration_finished(2)
        assert client.refused == 0, [r.describe() for r in client.refusals]
    first, second, third = _durations(db_url, "half")
    assert first == pytest.approx(30.0, abs=1.0)
    assert second == pytest.approx(4.0, abs=0.5)
    assert 0 <= third < 1.0


def test_an_end_before_the_given_start_is_refused_by_the_client(service: str) -> None:
    with CollectorClient(service) as client:
        client.start_execution("neg-1", job="neg", started_at=T0)
        client.iteration_started(0, started_at=T0 + timedelta(seconds=10))
        with pytest.raises(InputError, match="finished_at .* is before its started_at"):
            client.iteration_finished(0, finished_at=T0 + timedelta(seconds=5))


def _at(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat()


def _post(base: str, path: str, body: dict[str, object]) -> httpx.Response:
    return httpx.post(f"{base}{path}", json=body, timeout=30)


def test_a_duration_contradicting_start_and_end_is_refused(service: str, db_url: str) -> None:
    """Was: duration_s 0.0037 stored for an iteration from 19:00:38.68 to 19:02:57.05."""
    body = {"execution": "app-1", "job": "pagerank", "started_at": _at(0), "scale_out": 4}
    assert _post(service, EXEC, body).status_code == 201
    start = {"execution": "app-1", "iteration": 0, "started_at": _at(0)}
    assert _post(service, IT_START, start).status_code == 201
    finish = {"execution": "app-1", "iteration": 0, "finished_at": _at(138.37)}
    r = _post(service, IT_FINISH, {**finish, "duration_s": 0.0037})
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert "duration_s 0.0037 s contradicts finished_at - started_at = 138.37 s" in detail
    assert "iteration 0" in detail
    # longer than its wall time by more than the slack: refused too
    r = _post(service, IT_FINISH, {**finish, "duration_s": 140.0})
    assert r.status_code == 422 and "duration_s 140 s" in r.json()["detail"]

    # within the tolerance: shorter than the wall time (driver work), or a bit longer
    for i, duration in ((1, 10.9), (2, 5.0), (3, 4.0)):
        start = {"execution": "app-1", "iteration": i, "started_at": _at(200 + 20 * i)}
        assert _post(service, IT_START, start).status_code == 201
        fin = {"execution": "app-1", "iteration": i, "finished_at": _at(210 + 20 * i)}
        r = _post(service, IT_FINISH, {**fin, "duration_s": duration})
        assert r.status_code == 201, (duration, r.text)
    # without a duration: finished_at - started_at, as before
    assert _post(service, IT_FINISH, finish).status_code == 201
    assert _durations(db_url, "pagerank") == pytest.approx([138.37, 10.9, 5.0, 4.0])


def test_a_start_contradicting_an_earlier_finish_is_refused(service: str) -> None:
    """A finish may come first: its duration is checked when the start arrives."""
    body = {"execution": "app-2", "job": "pagerank", "started_at": _at(0), "scale_out": 4}
    assert _post(service, EXEC, body).status_code == 201
    finish = {"execution": "app-2", "iteration": 0, "finished_at": _at(60), "duration_s": 0.5}
    assert _post(service, IT_FINISH, finish).status_code == 201
    r = _post(service, IT_START, {"execution": "app-2", "iteration": 0, "started_at": _at(1)})
    assert r.status_code == 422, r.text
    assert "duration_s 0.5 s contradicts finished_at - started_at = 59 s" in r.json()["detail"]
