"""The collector's ASGI fast path answers exactly as its FastAPI routes, and passes the rest on."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, HTTPException, Request
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from jobcast.collect.protocol import MAX_BODY_BYTES
from jobcast.history import HistoryRepository
from jobcast.history.tokens import TokenStore
from jobcast.service import create_app
from jobcast.service.collector import Collector
from jobcast.service.collector_http import CollectorFastPath, install_collector

EXEC = "/api/v1/collector/executions"
IT_START = "/api/v1/collector/iterations/start"
T0 = "2026-05-01T12:00:00+00:00"
# headers an answer of either path may carry; uvicorn adds date and server itself
COMPARED = ("content-type", "content-length", "www-authenticate", "retry-after", "location")


def _start(execution: str, job: str = "pagerank", **extra: object) -> dict[str, object]:
    return {
        "execution": execution,
        "job": job,
        "started_at": T0,
        "scale_out": 4,
        "params": {"damping": 0.85},
        **extra,
    }


class Twins:
    """The service twice on one history: with its fast path, and with its FastAPI routes only."""

    def __init__(self, fast: TestClient, plain: TestClient, tokens: TokenStore) -> None:
        self.fast = fast
        self.plain = plain
        self.tokens = tokens

    def both(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[httpx.Response, httpx.Response]:
        """The same request to both services; each body may name ``{who}`` (fast, plain)."""
        answers = []
        for who, client in (("fast", self.fast), ("plain", self.plain)):
            head = dict(headers or {})
            if token is not None:
                head["Authorization"] = f"Bearer {token}"
            content = body
            if isinstance(body, dict):
                content = json.dumps(body).replace("{who}", who).encode()
                head.setdefault("content-type", "application/json")
            answers.append(
                client.request(method, path, content=content, headers=head, follow_redirects=False)
            )
        return answers[0], answers[1]

    def same(self, *args: Any, **kwargs: Any) -> httpx.Response:
        """Send to both and check the answers are identical (status, body, headers)."""
        fast, plain = self.both(*args, **kwargs)
        assert fast.status_code == plain.status_code, (fast.text, plain.text)
        assert fast.content.replace(b"fast", b"{who}") == plain.content.replace(b"plain", b"{who}")
        for name in COMPARED:
            if name == "content-length":  # the names differ in length
                continue
            assert fast.headers.get(name) == plain.headers.get(name), name
        return fast


@pytest.fixture
def twins(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Twins]:
    fast_app = create_app(db_url)
    plain_app = create_app(db_url)
    assert any(m.cls is CollectorFastPath for m in fast_app.user_middleware)
    plain_app.user_middleware = [
        m for m in plain_app.user_middleware if m.cls is not CollectorFastPath
    ]
    # the fast app's POSTs never reach a collector route (else the comparison proves nothing)
    routed: list[tuple[str, str, str]] = []
    handle = APIRoute.handle

    async def counted(self: APIRoute, scope: Any, receive: Any, send: Any) -> None:
        who = "fast" if scope["app"] is fast_app else "plain"
        routed.append((who, scope["method"], self.path))
        await handle(self, scope, receive, send)

    monkeypatch.setattr(APIRoute, "handle", counted)
    with TestClient(fast_app) as fast, TestClient(plain_app) as plain:
        yield Twins(fast, plain, fast_app.state.tokens)
        posts = [r for r in routed if r[1] == "POST" and r[2].startswith("/api/v1/collector/")]
        assert ("plain", "POST", EXEC) in posts
        assert not [r for r in posts if r[0] == "fast"], posts


def test_answers_are_identical(twins: Twins) -> None:
    store = twins.tokens
    creator = store.create("collect", create_jobs=True).token
    plain = store.create("collect").token
    read = store.create("read").token
    org = store.create("admin", organization="acme").token
    body = _start("app-{who}")
    # authentication: none, malformed, unknown, a read token, an organization's token
    r = twins.same("POST", EXEC, body=body)
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    assert (
        twins.same("POST", EXEC, body=body, headers={"Authorization": "Basic x"}).status_code == 401
    )
    assert twins.same("POST", EXEC, body=body, token="jc_unknown").status_code == 401
    r = twins.same("POST", EXEC, body=body, token=read)
    assert r.status_code == 403 and "collect" in r.json()["detail"]
    assert twins.same("POST", EXEC, body=body, token=org).status_code == 403
    # a collect token without --create-jobs: the job is unknown
    r = twins.same("POST", EXEC, body=_start("app-{who}", job="job-{who}"), token=plain)
    assert r.status_code == 404 and "may not create jobs" in r.json()["detail"]
    # good reports, a repeat, a conflict, a refusal
    r = twins.same("POST", EXEC, body=_start("app-{who}", job="job-{who}"), token=creator)
    assert r.status_code == 201 and r.json()["stored"] is True
    r = twins.same("POST", EXEC, body=_start("app-{who}", job="job-{who}"), token=plain)
    assert r.status_code == 200 and r.json()["stored"] is False
    r = twins.same(
        "POST", EXEC, body=_start("app-{who}", job="job-{who}", scale_out=9), token=plain
    )
    assert r.status_code == 409
    it = {"execution": "app-{who}", "iteration": 0, "started_at": "2026-05-01T11:00:00+00:00"}
    r = twins.same("POST", IT_START, body=it, token=plain)
    assert r.status_code == 422 and "before the execution started" in r.json()["detail"]
    # bodies: not JSON, invalid, too large (declared, and sent without a declared length)
    r = twins.same("POST", EXEC, body=b"{nope", token=plain)
    assert r.status_code == 422 and "invalid ExecutionReport" in r.json()["detail"]
    r = twins.same("POST", EXEC, body=_start("x", started_at="2026-05-01T12:00"), token=plain)
    assert r.status_code == 422 and "timezone" in r.json()["detail"]
    r = twins.same("POST", EXEC, body=b"x" * (MAX_BODY_BYTES + 1), token=plain)
    assert r.status_code == 413 and "MAX_BODY_BYTES" in r.json()["detail"]
    chunks = [b"x" * 1_000_000] * 5
    for client in (twins.fast, twins.plain):
        r = client.post(EXEC, content=iter(chunks), headers={"Authorization": f"Bearer {plain}"})
        assert r.status_code == 413, r.text
    # what the fast path passes on: other methods, other paths, a trailing slash
    assert twins.same("GET", EXEC, token=plain).status_code == 405
    assert twins.same("POST", "/api/v1/collector/nope", body=body, token=plain).status_code == 404
    assert twins.same("POST", EXEC + "/", body=body, token=plain).status_code == 307
    # both counted every answer alike
    fast_m, plain_m = (_collector_metrics(c, read) for c in (twins.fast, twins.plain))
    assert fast_m == plain_m and any('status="201"' in line for line in fast_m)
    assert any("jobcast_collector_submissions_total" in line for line in fast_m)


def _collector_metrics(client: TestClient, token: str) -> list[str]:
    """The collector's request counts of a service (not its timings)."""
    text = client.get("/metrics", headers={"Authorization": f"Bearer {token}"}).text
    return [
        line
        for line in text.splitlines()
        if "collector" in line
        and not line.startswith("#")
        and not any(part in line for part in ("_created", "_bucket", "_sum"))
    ]


class _Recorder:
    """An ASGI app that records the paths reaching it and answers 299."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.seen.append(f"{scope['method']} {scope['path']}")
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def test_only_the_collector_posts_are_taken(tmp_path: Any) -> None:
    repo = HistoryRepository(f"sqlite:///{tmp_path / 'h.db'}")
    collector = Collector(repo)
    behind = _Recorder()
    routes = [r for r in collector.router(create_jobs=True).routes if isinstance(r, APIRoute)]
    fast = CollectorFastPath(behind, collector=collector, routes=routes, create_jobs=True)

    async def post(path: str, *, method: str = "POST", root_path: str = "") -> int:
        transport = httpx.ASGITransport(app=fast, root_path=root_path)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            return (await c.request(method, path, json=_start("a1"))).status_code

    try:
        assert asyncio.run(post(EXEC)) == 201
        assert asyncio.run(post(EXEC, method="PUT")) == 299
        assert asyncio.run(post(EXEC + "/")) == 299
        assert asyncio.run(post("/api/v1/jobs")) == 299
        assert asyncio.run(post("/svc" + EXEC, root_path="/svc")) == 299
        assert behind.seen == [
            f"PUT {EXEC}",
            f"POST {EXEC}/",
            "POST /api/v1/jobs",
            f"POST /svc{EXEC}",
        ]
        assert repo.executions("pagerank", only_completed=False)["external_id"].tolist() == ["a1"]
    finally:
        collector.close()
        repo.close()


def test_guard_errors_go_to_the_apps_handlers(tmp_path: Any) -> None:
    repo = HistoryRepository(f"sqlite:///{tmp_path / 'h.db'}")
    collector = Collector(repo)
    app = FastAPI()

    class Refused(Exception):
        pass

    async def guard(request: Request) -> None:
        who = request.headers.get("x-who")
        if who == "teapot":
            raise HTTPException(418, "short and stout", headers={"x-why": "tea"})
        if who == "custom":
            raise Refused()
        request.state.token = who

    @app.exception_handler(Refused)
    def refused(_request: Request, _exc: Refused) -> Any:  # a synchronous handler
        from fastapi.responses import PlainTextResponse

        return PlainTextResponse("refused", status_code=451)

    def may_create(request: Request) -> bool:
        return request.state.token == "boss"

    install_collector(app, collector, create_jobs=may_create, guard=guard)
    try:
        with TestClient(app) as c:
            r = c.post(EXEC, json=_start("a1"), headers={"x-who": "teapot"})
            assert r.status_code == 418 and r.json() == {"detail": "short and stout"}
            assert r.headers["x-why"] == "tea"
            r = c.post(EXEC, json=_start("a1"), headers={"x-who": "custom"})
            assert (r.status_code, r.text) == (451, "refused")
            r = c.post(EXEC, json=_start("a1"), headers={"x-who": "worker"})
            assert r.status_code == 404 and "may not create jobs" in r.json()["detail"]
            r = c.post(EXEC, json=_start("a1"), headers={"x-who": "boss"})
            assert r.status_code == 201
            assert EXEC in c.get("/openapi.json").json()["paths"]
    finally:
        collector.close()
        repo.close()
