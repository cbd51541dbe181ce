"""Structured logs: one JSON object per line, an access record per request."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

from fastapi.testclient import TestClient

from jobcast.service import create_app
from jobcast.service.logs import ACCESS_LOGGER, JsonFormatter


def test_access_records_are_json(tmp_path: Path) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    access = logging.getLogger(ACCESS_LOGGER)
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    try:
        app = create_app(f"sqlite:///{tmp_path / 'h.db'}")
        with TestClient(app) as c:
            token = app.state.tokens.create("read")
            c.get("/api/v1/jobs", headers={"Authorization": f"Bearer {token.token}"})
            c.get("/api/v1/jobs")
    finally:
        access.removeHandler(handler)
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    ok, denied = records[-2], records[-1]
    assert ok["logger"] == ACCESS_LOGGER and ok["level"] == "info"
    assert ok["route"] == "/api/v1/jobs" and ok["status"] == 200
    assert ok["token_id"] == token.info.id and ok["duration_ms"] >= 0
    assert ok["time"].endswith("+00:00") and ok["message"] == "GET /api/v1/jobs 200"
    assert denied["status"] == 401 and denied["token_id"] is None
