"""The token command line: create (JSON and table), list, revoke; the hub and serve commands."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jobcast.cli import app
from jobcast.history import HistoryRepository
from jobcast.history.tokens import TokenStore

runner = CliRunner()


def test_token_commands(db_url: str) -> None:
    r = runner.invoke(
        app, ["token", "create", "--scope", "collect", "--org", "acme", "--json", "--db", db_url]
    )
    assert r.exit_code == 0, r.output
    created = json.loads(r.stdout)
    assert created["token"].startswith("jc_") and created["scope"] == "collect"
    assert created["organization"] == "acme" and created["create_jobs"] is False
    r = runner.invoke(app, ["token", "create", "--scope", "admin", "--db", db_url])
    assert r.exit_code == 0 and "jc_" in r.stdout and "admin" in r.stdout
    r = runner.invoke(app, ["token", "list", "--json", "--db", db_url])
    listed = json.loads(r.stdout)["tokens"]
    assert [t["scope"] for t in listed] == ["collect", "admin"]
    assert "jc_" not in r.stdout  # secrets are never listed
    r = runner.invoke(app, ["token", "revoke", str(created["id"]), "--json", "--db", db_url])
    assert r.exit_code == 0 and json.loads(r.stdout)["revoked_at"]
    with HistoryRepository(db_url) as repo:
        assert TokenStore(repo).authenticate(created["token"]) is None
    r = runner.invoke(app, ["token", "create", "--scope", "root", "--db", db_url])
    assert r.exit_code != 0
    r = runner.invoke(app, ["token", "revoke", "999", "--db", db_url])
    assert r.exit_code != 0


def test_service_commands_are_registered() -> None:
    for args in (
        ["serve", "--help"],
        ["hub", "pull", "--help"],
        ["import", "history-server", "--help"],
    ):
        r = runner.invoke(app, args)
        assert r.exit_code == 0, (args, r.output)
    assert "--anonymous-read" in runner.invoke(app, ["serve", "--help"]).stdout


def test_serve_says_when_it_creates_a_new_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Was: `serve --db sqlite:///mistyped.db` silently started on a new, empty history."""
    import jobcast.service
    from jobcast.service import serving

    monkeypatch.setattr(jobcast.service, "create_app", lambda db, *, settings: "the app")
    monkeypatch.setattr(serving, "run", lambda app, sock, **kwargs: sock.close())
    root = logging.getLogger()
    level = root.level
    try:
        mistyped = tmp_path / "mistyped.db"
        with caplog.at_level(logging.WARNING, logger="jobcast.service"):
            r = runner.invoke(
                app, ["serve", "--log-format", "text", "--db", f"sqlite:///{mistyped}"]
            )
        assert r.exit_code == 0, r.output
        note = f"no history database at {mistyped}: creating a new, empty one there"
        assert note in " ".join(r.stdout.split())
        assert "check --db" in r.stdout
        assert any(note in rec.getMessage() for rec in caplog.records)  # the log says it too
        # an existing history: no note
        with HistoryRepository(f"sqlite:///{mistyped}"):
            pass
        caplog.clear()
        r = runner.invoke(app, ["serve", "--log-format", "text", "--db", f"sqlite:///{mistyped}"])
        assert r.exit_code == 0 and "no history database" not in r.stdout
        assert not caplog.records
    finally:
        root.setLevel(level)
