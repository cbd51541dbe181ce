"""Collector reports whose parameters hold true/false: categories, never the numbers 1 and 0."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jobcast.history import HistoryRepository

from .test_collector import EXEC, Server, _serve, _start_body


@pytest.fixture
def server(db_url: str) -> Iterator[Server]:
    yield from _serve(db_url)


def test_a_boolean_parameter_of_a_new_job_is_a_category(server: Server) -> None:
    """Was: ``"cache": true`` made a numeric attribute ``cache`` holding JSON true."""
    r = server.post(EXEC, _start_body("app-1", params={"damping": 0.85, "cache": True}))
    assert r.status_code == 201, r.text
    for execution, cache in (("app-2", False), ("app-3", "true")):
        r = server.post(EXEC, _start_body(execution, params={"damping": 0.9, "cache": cache}))
        assert r.status_code == 201, r.text
    with HistoryRepository(server.url) as repo:
        spec = repo.job("pagerank")
        numeric = {a.name: a.numeric for a in spec.attributes}
        assert numeric == {"input_size": True, "damping": True, "cache": False}
        assert spec.attribute_names[0] == "input_size"  # the report's own field comes first
        ex = repo.executions("pagerank", only_completed=False)
    assert ex["cache"].tolist() == ["true", "false", "true"]
    assert ex["input_size"].tolist() == [512.0] * 3


def test_a_boolean_for_a_numeric_parameter_is_refused(server: Server) -> None:
    """Was: ``"damping": true`` stored as a damping of 1."""
    assert server.post(EXEC, _start_body("app-1")).status_code == 201
    r = server.post(EXEC, _start_body("app-2", params={"damping": True}))
    assert r.status_code == 422, r.text
    assert "attribute 'damping' holds numbers" in r.json()["detail"]
