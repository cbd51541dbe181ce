"""Health without job names for strangers, API messages in the API's words, UTC times."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from jobcast.history import HistoryRepository, JobSpec
from jobcast.history.importers import read_c3o
from jobcast.history.schema import BudgetChangeRow, ExecutionRow
from jobcast.service import create_app
from jobcast.service.answers import api_wording
from jobcast.service.settings import ServiceSettings
from tests.conftest import shared_file
from tests.service.conftest import iterative_history


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def app_client(db_url: str) -> Iterator[TestClient]:
    """The service (tokens required) on sort (C3O) and loop (iterations)."""
    with HistoryRepository(db_url) as repo:
        repo.import_executions(read_c3o(shared_file("c3o-paper", "sort.csv"), job="sort"))
        iterative_history(repo, n_runs=3)
    settings = ServiceSettings(model_workers=0, watch_interval_s=3600)
    with TestClient(create_app(db_url, settings=settings)) as c:
        yield c


def test_health_names_jobs_to_readers_only(app_client: TestClient, db_url: str) -> None:
    """Was: every job's name and model state to anyone."""
    tokens = app_client.app.state.tokens  # type: ignore[attr-defined]
    reader = tokens.create("read").token
    outsider = tokens.create("read", organization="acme").token
    for headers in ({}, _bearer("jc_forged"), {"Authorization": "Basic x"}, _bearer(outsider)):
        r = app_client.get("/api/v1/health", headers=headers)
        assert r.status_code == 200, r.text
        assert set(r.json()) == {"status", "ready"} and r.json()["status"] == "ok"
    body = app_client.get("/api/v1/health", headers=_bearer(reader)).json()
    assert set(body["progress_models"]) == {"loop", "sort"} and "version" in body
    # the dashboard's cookie is a reader's token too
    app_client.cookies.set("jobcast_token", reader)
    assert "progress_models" in app_client.get("/api/v1/health").json()


def test_health_with_anonymous_reads_shows_the_models(db_url: str) -> None:
    with HistoryRepository(db_url) as repo:
        iterative_history(repo, n_runs=3)
    settings = ServiceSettings(anonymous_read=True, model_workers=0, watch_interval_s=3600)
    with TestClient(create_app(db_url, settings=settings)) as c:
        assert set(c.get("/api/v1/health").json()["progress_models"]) == {"loop"}


def test_predict_and_configure_messages_name_the_json_fields(app_client: TestClient) -> None:
    """Was: "--set: job 'sort' has no context attribute ..." and "--machine-type"."""
    tokens = app_client.app.state.tokens  # type: ignore[attr-defined]
    h = _bearer(tokens.create("read").token)
    r = app_client.post(
        "/api/v1/jobs/sort/predict", json={"set": {"x": 1}, "scale_out": [4]}, headers=h
    )
    assert r.status_code == 422
    assert r.json()["detail"].startswith("set: job 'sort' has no context attribute 'x'")
    r = app_client.post(
        "/api/v1/jobs/sort/predict",
        json={"set": {"data_size_MB": 9000}, "scale_out": [4], "machine_type": "m5.xlarge"},
        headers=h,
    )
    assert r.status_code == 422 and "leave out machine_type" in r.json()["detail"]
    r = app_client.post(
        "/api/v1/jobs/sort/configure",
        json={"deadline_s": 600, "set": {"data_size_MB": 9000}, "machine_types": ["m5"]},
        headers=h,
    )
    assert r.status_code == 422 and "leave out machine_types" in r.json()["detail"]
    r = app_client.post(
        "/api/v1/jobs/sort/configure",
        json={"deadline_s": 1, "set": {"data_size_MB": 9000}, "model": "ernest"},
        headers=h,
    )
    assert r.status_code == 200 and not r.json()["feasible"]
    # ernest predicts no speed-up beyond the largest scale-out: larger ones are not advised
    assert "lower confidence; the model (ernest) predicts no speed-up beyond scale-out 12, so " \
        "allowing larger scale_outs would not help" in r.json()["message"]
    for body in (r.json(), r.json()["message"]):
        assert "--" not in str(body)


def test_api_wording() -> None:
    fields = {"--set": "set", "--scale-out": "scale_out"}
    assert api_wording("give rows (--input FILE.csv), or --set with --scale-out", fields) == (
        "give rows, or set with scale_out"
    )
    assert api_wording("(e.g. --set NAME=VALUE)", fields) == '(e.g. set: {"NAME": VALUE})'
    assert api_wording("--scale-outs and --other stay", fields) == "--scale-outs and --other stay"


def test_times_are_read_in_utc_on_every_database(repo: HistoryRepository) -> None:
    """Was naive on SQLite (and a +02:00 time stored as its wall clock, 2 h off)."""
    paris = timezone(timedelta(hours=2))
    start = datetime(2026, 12, 7, 3, 0, tzinfo=paris)
    repo.start_execution(JobSpec("j"), "a", started_at=start)
    repo.record_iteration(
        "j", "a", 0, values={"started_at": datetime(2026, 12, 7, 1, 0), "duration_s": 1.0}
    )
    repo.finish_execution("j", "a", finished_at=start + timedelta(minutes=5))
    repo.set_privacy_budget("j", 1.0, confirm_raise=True)
    with repo.transaction() as s:
        ex = s.scalars(select(ExecutionRow)).one()
        assert ex.started_at == start and ex.started_at.tzinfo == UTC
        assert ex.started_at.isoformat() == "2026-12-07T01:00:00+00:00"
        assert ex.finished_at is not None and ex.finished_at.utcoffset() == timedelta(0)
        # a naive time is taken as UTC (as the history's readers always took it)
        it = repo.iterations("j", include_running=True)
        assert str(it["started_at"].iloc[0]).startswith("2026-12-07 01:00:00")
        change = s.scalars(select(BudgetChangeRow)).one()
        assert change.changed_at.tzinfo == UTC
    # comparisons in SQL see the instant, not the wall clock
    assert repo.running_executions(datetime(2026, 12, 7, 1, 2, tzinfo=UTC)) == [("j", "a")]
    assert repo.running_executions(datetime(2026, 12, 7, 2, 2, tzinfo=UTC)) == []


def test_configure_answers_carry_the_warnings(app_client: TestClient) -> None:
    tokens = app_client.app.state.tokens  # type: ignore[attr-defined]
    h = _bearer(tokens.create("read").token)
    far = {"deadline_s": 600, "set": {"data_size_MB": 9_000_000}, "model": "ernest"}
    r = app_client.post("/api/v1/jobs/sort/configure", json=far, headers=h)
    assert r.status_code == 200, r.text
    (warning,) = [w for w in r.json()["warnings"] if "data_size_MB" in w]
    assert "--" not in warning
    near = {"deadline_s": 600, "set": {"data_size_MB": 12000}, "model": "ernest"}
    assert app_client.post("/api/v1/jobs/sort/configure", json=near, headers=h).json()[
        "warnings"
    ] == []


def test_configure_answer_carries_the_cli_json_fields(
    app_client: TestClient, db_url: str
) -> None:
    """Was: no currency, model, chosen, deadline_s, confidence (the CLI's --json has them)."""
    import json

    from typer.testing import CliRunner

    from jobcast.cli import app

    tokens = app_client.app.state.tokens  # type: ignore[attr-defined]
    h = _bearer(tokens.create("read").token)
    body = {"deadline_s": 600, "confidence": 0.9, "set": {"data_size_MB": 12000}}
    r = app_client.post("/api/v1/jobs/sort/configure", json=body, headers=h)
    assert r.status_code == 200, r.text
    api = r.json()
    cli = CliRunner().invoke(
        app,
        ["configure", "--job", "sort", "--deadline", "600", "--confidence", "0.9",
         "--set", "data_size_MB=12000", "--json", "--db", db_url],
    )
    assert cli.exit_code in (0, 3), cli.output
    expected = json.loads(cli.stdout)
    assert set(api) == {"job", *expected}
    for field in ("model", "chosen", "deadline_s", "confidence", "currency"):
        assert api[field] == expected[field], field
    assert api["currency"] == "machine-hours"  # sort records no machine types
    assert api["model"] == "auto" and api["chosen"] and api["deadline_s"] == 600.0
    assert api["confidence"] == 0.9


def test_booleans_are_refused_where_numbers_belong(app_client: TestClient) -> None:
    """Was: 200 with true read as 1.0."""
    tokens = app_client.app.state.tokens  # type: ignore[attr-defined]
    h = _bearer(tokens.create("read").token)
    for path, body, field in (
        ("predict", {"set": {"data_size_MB": True}, "scale_out": [4]}, "set.data_size_MB"),
        (
            "predict",
            {"rows": [{"scale_out": 4, "data_size_MB": 9000}, {"scale_out": 4, "k": False}]},
            "rows[1].k (row 2)",
        ),
        ("predict", {"set": {"data_size_MB": 9000}, "scale_out": [True]}, "scale_out[0]"),
        ("configure", {"deadline_s": True, "set": {"data_size_MB": 9000}}, "deadline_s"),
    ):
        r = app_client.post(f"/api/v1/jobs/sort/{path}", json=body, headers=h)
        assert r.status_code == 422, (body, r.text)
        message = r.json()["detail"][0]["msg"]
        assert f"{field} is " in message and "a boolean; give a number" in message, message
    ok = {"set": {"data_size_MB": 12000}, "scale_out": [4], "include_shared": False}
    assert app_client.post("/api/v1/jobs/sort/predict", json=ok, headers=h).status_code == 200


def test_rows_name_the_missing_scale_out(app_client: TestClient) -> None:
    """Was: "row 2, column 'scale_out': scale-out nan is not a whole number"."""
    tokens = app_client.app.state.tokens  # type: ignore[attr-defined]
    h = _bearer(tokens.create("read").token)
    url = "/api/v1/jobs/sort/predict"
    mixed = [{"scale_out": 4, "data_size_MB": 12000}, {"instance_count": 8, "data_size_MB": 12000}]
    r = app_client.post(url, json={"rows": mixed}, headers=h)
    assert r.status_code == 200, r.text  # either spelling, row by row
    assert [q["scale_out"] for q in r.json()["queries"]] == [4, 8]
    lacking = [{"instance_count": 4, "data_size_MB": 12000}, {"data_size_MB": 12000}]
    r = app_client.post(url, json={"rows": lacking}, headers=h)
    assert r.status_code == 422
    assert r.json()["detail"] == (
        "rows: row 2 gives no scale-out; add 'scale_out' or 'instance_count' (the number of "
        "machines) to it, as every row needs one"
    )
    both = [{"scale_out": 4, "instance_count": 4, "data_size_MB": 12000}]
    r = app_client.post(url, json={"rows": both}, headers=h)
    assert r.status_code == 422 and "row 1 gives the scale-out twice" in r.json()["detail"]


def test_a_missing_price_names_the_prices_field(db_url: str, tmp_path: Path) -> None:
    """Was: "add it to a JSON price file like {...}" (the command line's --prices)."""
    import itertools

    rows = ["instance_count,machine_type,data_size_MB,gross_runtime"]
    for mt, n, size in itertools.product(("m5.xlarge", "zz.custom"), (2, 4, 8), (1000, 3000)):
        rows.append(f"{n},{mt},{size},{size / n + (35 if mt == 'zz.custom' else 30)}")
    trace = tmp_path / "priced.csv"
    trace.write_text("\n".join(rows) + "\n")
    with HistoryRepository(db_url) as repo:
        repo.import_executions(read_c3o(trace, job="priced"))
    settings = ServiceSettings(model_workers=0, watch_interval_s=3600)
    with TestClient(create_app(db_url, settings=settings)) as c:
        h = _bearer(c.app.state.tokens.create("read").token)  # type: ignore[attr-defined]
        body = {"deadline_s": 600, "set": {"data_size_MB": 2000}, "model": "ernest"}
        r = c.post("/api/v1/jobs/priced/configure", json=body, headers=h)
        assert r.status_code == 422, r.text
        detail = r.json()["detail"]
        assert "No price for machine type 'zz.custom'" in detail
        assert 'the field "prices" of the request, like "prices": {"zz.custom": 0.4}' in detail
        assert "file" not in detail and "--" not in detail
        body["prices"] = {"zz.custom": 0.3}
        r = c.post("/api/v1/jobs/priced/configure", json=body, headers=h)
        assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    "message",
    [
        "No price for machine type 'x' (known: a); add it to a JSON price file like "
        '{"x": 0.4}.',
        "No price for machine type 'x' (known: a); add it to the JSON price file (--prices), "
        'like {"x": 0.4}.',
    ],
)
def test_api_wording_of_a_missing_price(message: str) -> None:
    worded = api_wording(message, {"--prices": "prices"})
    fix = 'add it to the field "prices" of the request, like "prices": {"x": 0.4}.'
    assert worded.endswith(fix)
