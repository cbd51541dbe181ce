"""``jobcast token`` and a --db that does not exist: list and revoke refuse, create says so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jobcast.history import HistoryRepository
from jobcast.history.tokens import TokenStore
from tests.helpers import run_main


@pytest.mark.parametrize("args", [["token", "list"], ["token", "revoke", "1"]])
def test_list_and_revoke_refuse_a_missing_database(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    args: list[str],
) -> None:
    """Was: `token list --db .../none.db` created none.db and listed no tokens."""
    missing = tmp_path / "none.db"
    code, out, err = run_main(monkeypatch, capsys, *args, "--db", f"sqlite:///{missing}")
    assert code == 2, (out, err)
    err = " ".join(err.split())
    assert f"error: no history database at {missing}, so no tokens there" in err
    assert "check --db (or $JOBCAST_DB)" in err
    assert not missing.exists()


def test_create_on_a_missing_database_says_it_created_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Was: `token create --db .../typo-h.db` created typo-h.db without a word."""
    typo = tmp_path / "typo-h.db"
    url = f"sqlite:///{typo}"
    code, out, err = run_main(
        monkeypatch, capsys, "token", "create", "--scope", "read", "--json", "--db", url
    )
    assert code == 0, err
    token = json.loads(out)["token"]  # standard output is the JSON alone
    err = " ".join(err.split())
    assert f"note: no history database at {typo}: created a new, empty one there" in err
    assert "delete this file" in err
    with HistoryRepository(url) as repo:  # the first token of a new history is usable
        assert TokenStore(repo).authenticate(token) is not None
    # the database exists now: no note, in the table output either
    code, out, err = run_main(
        monkeypatch, capsys, "token", "create", "--scope", "read", "--db", url
    )
    assert code == 0 and "jc_" in out and "note" not in err
    code, out, err = run_main(monkeypatch, capsys, "token", "list", "--json", "--db", url)
    assert code == 0 and len(json.loads(out)["tokens"]) == 2


def test_token_help_says_what_happens_to_a_missing_database() -> None:
    from typer.testing import CliRunner

    from jobcast.cli import app

    help_text = " ".join(CliRunner().invoke(app, ["token", "create", "--help"]).stdout.split())
    assert "does not exist yet, it is created" in help_text
    for command in ("list", "revoke"):
        help_text = " ".join(CliRunner().invoke(app, ["token", command, "--help"]).stdout.split())
        assert "does not exist is refused" in help_text
