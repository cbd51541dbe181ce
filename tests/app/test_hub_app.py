"""The hub's use cases: a package is stored once, and pulls at once import each share once."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from jobcast.app import hub
from jobcast.app.hub import publish, pull
from jobcast.errors import ConflictError
from jobcast.history import HistoryRepository
from jobcast.history.schema import HubShareRow, ImportRow
from jobcast.history.tokens import TokenStore
from jobcast.service import create_app
from tests.collect.recording_server import running_server
from tests.service.test_hub import _release


def _package(directory: Path) -> tuple[dict, str]:
    return (
        json.loads((directory / "manifest.json").read_text()),
        (directory / "rows.csv").read_text(),
    )


def _hub_shares(repo: HistoryRepository) -> int:
    with repo.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(HubShareRow)) or 0)


def test_publishing_one_package_again_stores_it_once(repo: HistoryRepository, tmp_path: Path):
    manifest, rows = _package(_release(tmp_path, "share-a"))
    tokens = TokenStore(repo)
    tokens.create("collect", organization="acme")
    tokens.create("collect", organization="globex")
    first = publish(repo, "acme", manifest, rows)
    assert first["already_published"] is False
    again = publish(repo, "acme", manifest, rows)
    assert again["id"] == first["id"] and again["already_published"] is True
    # another organization cannot publish it as its own
    with pytest.raises(ConflictError, match=f"another organization as share {first['id']}"):
        publish(repo, "globex", manifest, rows)
    # several at once: still one
    done: list[dict] = []
    workers = [
        threading.Thread(target=lambda: done.append(publish(repo, "acme", manifest, rows)))
        for _ in range(4)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert {d["id"] for d in done} == {first["id"]} and len(done) == 4
    assert _hub_shares(repo) == 1
    # another package of the same job is stored
    other_manifest, other_rows = _package(_release(tmp_path, "share-b"))
    assert publish(repo, "acme", other_manifest, other_rows)["id"] != first["id"]
    assert _hub_shares(repo) == 2


def test_two_pulls_at_once_import_a_share_once(
    repo: HistoryRepository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    share = _release(tmp_path, "share-a")
    app = create_app(f"sqlite:///{tmp_path / 'hub.db'}")
    store: TokenStore = app.state.tokens
    writer = store.create("collect", organization="acme").token
    reader = store.create("read", organization="globex").token
    # both pulls find the share new, then race (before the fix both imported it)
    from jobcast.app import share_import

    both_checked = threading.Barrier(2, timeout=60)
    checked = share_import.not_new

    def not_new_then_race(*args: object, **kwargs: object) -> object:
        answer = checked(*args, **kwargs)  # type: ignore[arg-type]
        both_checked.wait()
        return answer

    monkeypatch.setattr(share_import, "not_new", not_new_then_race)
    results: list[list[dict]] = []
    errors: list[BaseException] = []

    def one_pull() -> None:
        try:
            with HistoryRepository(repo.url) as mine:
                results.append(pull(mine, url=url, token=reader, job="sort"))
        except BaseException as e:  # reported below
            errors.append(e)

    with running_server(app) as url:
        hub.publish_dir(share, url=url, token=writer)
        pulls = [threading.Thread(target=one_pull) for _ in range(2)]
        for p in pulls:
            p.start()
        for p in pulls:
            p.join(120)
    assert not errors, errors
    outcomes = sorted((r[0]["imported"], r[0]["skipped"]) for r in results)
    assert outcomes[1] == (40, None)
    assert outcomes[0][0] == 0 and outcomes[0][1] in ("imported", "importing")
    assert len(repo.executions("sort")) == 40
    with repo.transaction() as s:
        assert s.scalar(select(func.count()).select_from(ImportRow)) == 1
