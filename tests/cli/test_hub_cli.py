"""``jobcast hub list|publish|pull`` on an unreachable or a malformed URL: one line, exit 1 or 2."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import Jobcast
from tests.service.conftest import free_port, running_server
from tests.service.test_hub import _release


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOBCAST_TOKEN", "jc_whatever")


def _commands(url: str, tmp_path: Path) -> list[list[str]]:
    db = f"sqlite:///{tmp_path / 'h.db'}"
    return [
        ["hub", "list", "--url", url],
        ["hub", "pull", "--job", "sort", "--url", url, "--db", db],
        ["hub", "publish", str(tmp_path / "no-such-share"), "--url", url],
    ]


def test_a_closed_port_is_one_line(jobcast: Jobcast, tmp_path: Path) -> None:
    """Was a traceback of httpx.ConnectError."""
    url = f"http://127.0.0.1:{free_port()}"
    publish = ["hub", "publish", str(_release(tmp_path, "share")), "--url", url]
    for args in [*_commands(url, tmp_path)[:2], publish]:
        code, out, err = jobcast(*args)
        assert code == 1, (args, out, err)
        assert err.startswith(f"error: cannot reach the hub at {url}: "), err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_url_without_scheme_is_refused(jobcast: Jobcast, tmp_path: Path) -> None:
    """Was a traceback of httpx.UnsupportedProtocol."""
    for url in ("127.0.0.1:8765", "hub.example.org", "ftp://hub.example.org"):
        for args in _commands(url, tmp_path):
            code, out, err = jobcast(*args)
            assert code == 2, (args, out, err)
            assert "http:// or https://" in err and url in err, err
            assert "Traceback" not in err


def test_a_server_that_is_no_hub(jobcast: Jobcast, tmp_path: Path) -> None:
    """A URL answering something else than a hub's JSON: said so, in one line."""
    from fastapi import FastAPI
    from fastapi.responses import HTMLResponse

    other = FastAPI()

    @other.get("/{path:path}", response_class=HTMLResponse)
    def page(path: str) -> str:
        return "<html>not a hub</html>"

    with running_server(other) as url:
        for args in _commands(url, tmp_path)[:2]:
            code, out, err = jobcast(*args)
            assert code == 1, (args, out, err)
            assert "did not answer as a jobcast hub does" in err and "Traceback" not in err


def _hub(tmp_path: Path) -> tuple[Path, Any, str, str]:
    """A released share of job sort, a hub service, a publisher's and a reader's token."""
    from jobcast.history.tokens import TokenStore
    from jobcast.service import create_app

    share = _release(tmp_path, "share-a")
    app = create_app(f"sqlite:///{tmp_path / 'hub.db'}")
    store: TokenStore = app.state.tokens
    writer = store.create("collect", organization="acme").token
    reader = store.create("read", organization="globex").token
    return share, app, writer, reader


def test_pulling_a_job_the_hub_has_no_shares_of_says_so(
    jobcast: Jobcast, tmp_path: Path
) -> None:
    """Was an empty table and exit status 0, for a misspelt --job too."""
    from jobcast.app.hub import publish_dir

    share, app, writer, reader = _hub(tmp_path)
    db = f"sqlite:///{tmp_path / 'h.db'}"
    with running_server(app) as url:
        pull = ["hub", "pull", "--url", url, "--token", reader, "--db", db]
        code, out, err = jobcast(*pull, "--job", "sort")
        assert code == 2 and f"the hub at {url} has no shares of job 'sort'" in err, err
        assert "it holds no shares yet" in " ".join(err.split())
        publish_dir(share, url=url, token=writer)
        code, out, err = jobcast(*pull, "--job", "nope")
        message = " ".join(err.split())
        assert code == 2 and "has no shares of job 'nope' (shares of: sort)" in message, err
        assert "--job" in message and not out.strip()
        code, out, err = jobcast(*pull, "--job", "sort", "--attribute", "no_such_column")
        said = "None of the hub's shares of job 'sort' holds column(s) no_such_column; nothing"
        assert code == 0 and f"{said} was pulled." in " ".join(out.split()), (out, err)
        code, out, _ = jobcast("hub", "list", "--url", url, "--token", reader, "--job", "nope")
        assert code == 0 and f"The hub at {url} has no shares of job 'nope'." in out
        code, out, _ = jobcast(*pull, "--job", "sort")
        assert code == 0 and "acme" in out


def test_a_pull_into_a_job_with_runs_of_its_own_says_they_are_pooled(
    jobcast: Jobcast, tmp_path: Path
) -> None:
    """Was: 1000 shared rows joined the 36 own runs of job sort without a word."""
    from jobcast.app.hub import publish_dir
    from tests.conftest import shared_file

    share, app, writer, reader = _hub(tmp_path)
    own = f"sqlite:///{tmp_path / 'own.db'}"
    code, _, err = jobcast(
        "import", "c3o", str(shared_file("c3o-paper", "sort.csv")), "--job", "sort", "--db", own
    )
    assert code == 0, err
    with running_server(app) as url:
        publish_dir(share, url=url, token=writer)
        pull = ["hub", "pull", "--url", url, "--token", reader, "--job", "sort"]
        code, _, err = jobcast(*pull, "--db", own)
        said = " ".join(err.split())
        assert code == 0 and "job 'sort' now holds" in said and "beside its 36 own" in said, err
        assert "--no-include-shared" in said and "--into NAME" in said
        # into a job of its own: nothing pooled, nothing said
        apart = f"sqlite:///{tmp_path / 'apart.db'}"
        code, _, err = jobcast(*pull, "--db", apart)
        assert code == 0 and "now holds" not in err, err
