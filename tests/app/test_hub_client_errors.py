"""A hub client's failures are jobcast errors: 5xx, nonsense, no connection -> NetworkError.

A 4xx stays an InputError with the hub's message. The hub is a real HTTP server in a
thread (``http.server``), answering each path as the test says.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from jobcast.app.hub import HUB_PATH, list_remote, publish_dir, pull
from jobcast.errors import InputError, NetworkError
from jobcast.history import HistoryRepository
from tests.cli.conftest import Jobcast
from tests.helpers import run_main
from tests.service.conftest import free_port
from tests.service.test_hub import _release

#: One share record as a hub lists it.
RECORD = {
    "id": 1,
    "organization": "acme",
    "job": "sort",
    "epsilon": 1.0,
    "rows": 40,
    "columns": ["instance_count"],
    "method": "perfmodel",
    "published_at": "2026-01-02T03:04:05+00:00",
}

Answer = tuple[int, str]  # status and body (JSON when it parses)


@contextmanager
def _hub(answers: dict[str, Answer]) -> Iterator[str]:
    """A real HTTP server answering GET and POST of each path (query left out) as given."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            status, body = answers.get(self.path.split("?")[0], (404, '{"detail": "no path"}'))
            data = body.encode("utf-8")
            self.send_response(status)
            kind = "application/json" if body[:1] in "{[" else "text/html"
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = _answer

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._answer()

        def log_message(self, *args: Any) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def _listing(*records: dict[str, Any]) -> Answer:
    return 200, json.dumps({"shares": list(records)})


@pytest.fixture
def jobcast(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Jobcast:
    """``jobcast ARGS`` as a user runs it (as in tests/cli)."""
    return lambda *args: run_main(monkeypatch, capsys, *args)


@pytest.fixture(scope="module")
def share(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _release(tmp_path_factory.mktemp("share"), "share")


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_failing_hub_is_a_network_error_for_every_call(
    status: int, share: Path, sqlite_repo: HistoryRepository
) -> None:
    """Was an InputError ("bad input", exit 2) for every status >= 400."""
    answer = (status, '{"detail": "database is locked"}')
    with _hub({HUB_PATH: answer}) as url:
        calls = {
            "list": lambda: list_remote(url=url, token="t", job="sort"),
            "pull": lambda: pull(sqlite_repo, url=url, token="t", job="sort"),
            "publish": lambda: publish_dir(share, url=url, token="t"),
        }
        for name, call in calls.items():
            with pytest.raises(NetworkError) as raised:
                call()
            message = str(raised.value)
            assert not isinstance(raised.value, InputError), name
            assert f"the hub at {url} answered HTTP {status} (database is locked)" in message
            assert "try again later" in message, message


def test_a_share_the_hub_fails_to_send_is_a_network_error(sqlite_repo: HistoryRepository) -> None:
    answers = {HUB_PATH: _listing(RECORD), f"{HUB_PATH}/1": (500, "Internal Server Error")}
    with _hub(answers) as url:
        with pytest.raises(NetworkError, match=r"pulling share 1 from .*HTTP 500 \(Internal"):
            pull(sqlite_repo, url=url, token="t", job="sort")
    assert sqlite_repo.list_jobs() == []


def test_a_refused_request_stays_an_input_error_with_the_hubs_message(
    share: Path, sqlite_repo: HistoryRepository
) -> None:
    answers = {HUB_PATH: (403, '{"detail": "this token may not read the hub"}')}
    with _hub(answers) as url:
        for call in (
            lambda: list_remote(url=url, token="t"),
            lambda: pull(sqlite_repo, url=url, token="t", job="sort"),
            lambda: publish_dir(share, url=url, token="t"),
        ):
            with pytest.raises(InputError, match="HTTP 403: this token may not read the hub"):
                call()


@pytest.mark.parametrize(
    ("listing", "share_answer", "why"),
    [
        ((200, "<html>not a hub</html>"), None, "HTTP 200 without a JSON body"),
        ((200, "[1, 2]"), None, "a JSON list, not an object"),
        ((200, '{"items": []}'), None, "no JSON list of shares"),
        ((200, '{"shares": [7]}'), None, "a share record is a JSON int"),
        (_listing({"id": 1}), None, "a share record lacks organization, job"),
        (_listing({**RECORD, "id": "1/../x"}), None, "a share's id is '1/../x'"),
        (_listing({**RECORD, "published_at": "yesterday"}), None, "'yesterday' is no ISO"),
        (_listing(RECORD), (200, '{"id": 1}'), "share 1 comes without manifest and rows"),
    ],
)
def test_an_answer_no_hub_gives_is_a_network_error_not_a_key_error(
    sqlite_repo: HistoryRepository, listing: Answer, share_answer: Answer | None, why: str
) -> None:
    """A pull reading such answers raised KeyError, JSONDecodeError or TypeError."""
    answers = {HUB_PATH: listing}
    if share_answer is not None:
        answers[f"{HUB_PATH}/1"] = share_answer
    with _hub(answers) as url:
        with pytest.raises(NetworkError, match="did not answer as a jobcast hub does") as raised:
            pull(sqlite_repo, url=url, token="t", job="sort")
        assert why in str(raised.value)
        if share_answer is None:
            with pytest.raises(NetworkError, match="did not answer as a jobcast hub does"):
                list_remote(url=url, token="t")


def test_an_unreachable_hub_is_a_network_error_outside_the_cli(
    share: Path, sqlite_repo: HistoryRepository
) -> None:
    """Was a raw httpx.ConnectError for any caller but the command line."""
    url = f"http://127.0.0.1:{free_port()}"
    for call in (
        lambda: list_remote(url=url, token="t"),
        lambda: pull(sqlite_repo, url=url, token="t", job="sort"),
        lambda: publish_dir(share, url=url, token="t"),
    ):
        with pytest.raises(NetworkError, match=f"^cannot reach the hub at {url}: .*try again"):
            call()


def test_an_address_without_scheme_is_an_input_error_before_anything(tmp_path: Path) -> None:
    for call in (
        lambda: list_remote(url="hub.example.org", token="t"),
        lambda: publish_dir(tmp_path / "no-such-share", url="hub.example.org", token="t"),
    ):
        with pytest.raises(InputError, match="http:// or https://"):
            call()


def test_the_cli_exits_1_on_a_failing_hub(jobcast: Jobcast, share: Path, tmp_path: Path) -> None:
    with _hub({HUB_PATH: (503, "Service Unavailable")}) as url:
        db = f"sqlite:///{tmp_path / 'h.db'}"
        for args in (
            ["hub", "list", "--url", url, "--token", "t"],
            ["hub", "pull", "--job", "sort", "--url", url, "--db", db, "--token", "t"],
            ["hub", "publish", str(share), "--url", url, "--token", "t"],
        ):
            code, out, err = jobcast(*args)
            assert code == 1, (args, out, err)
            assert "answered HTTP 503 (Service Unavailable)" in err and "Traceback" not in err
            assert len(err.strip().splitlines()) == 1, err
