"""The token command line: create (JSON and table), list, revoke; the hub and serve commands."""

from __future__ import annotations

import json

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
