"""The collector client sends its bearer token: reports reach a service that requires one."""

from __future__ import annotations

import pytest

from jobcast.collect.client import CollectorClient
from jobcast.history import HistoryRepository
from jobcast.service import create_app
from tests.service.conftest import running_server


def test_client_reports_with_its_token(
    db_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(db_url)
    token = app.state.tokens.create("collect", create_jobs=True).token
    with running_server(app) as url:
        with CollectorClient(url, token=token) as client:
            assert client.start_execution("app-1", job="etl", scale_out=2)
            assert client.iteration_started(0) and client.iteration_finished(0, records=10)
        monkeypatch.setenv("JOBCAST_TOKEN", token)
        with CollectorClient(url) as client:  # the token from the environment
            assert client.start_execution("app-2", job="etl", scale_out=2)
        monkeypatch.delenv("JOBCAST_TOKEN")
        with CollectorClient(url, retries=1) as client:  # no token: refused with a warning
            client.start_execution("app-3", job="etl", scale_out=2)
        assert "(401)" in caplog.text
    with HistoryRepository(db_url) as repo:
        ids = set(repo.executions("etl", only_completed=False)["external_id"])
        assert ids == {"app-1", "app-2"}
        assert len(repo.iterations("etl", include_running=True)) == 1
