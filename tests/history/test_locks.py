"""The one write lock of the history (hub, ledger, schema), on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Connection, event

from jobcast.history import HistoryRepository
from jobcast.history.locks import begin_immediate, hold_write_lock

KEY = 0x6A746573  # "jtes": no caller's key


def _statements(repo: HistoryRepository) -> list[str]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(repo.engine, "before_cursor_execute", record)
    return seen


def test_the_lock_is_the_dialect_s_own(repo: HistoryRepository) -> None:
    seen = _statements(repo)
    with repo.engine.begin() as conn:
        hold_write_lock(conn, key=KEY, table="hub_shares")
    if repo.engine.dialect.name == "postgresql":
        assert seen == ["SELECT pg_advisory_xact_lock(%(k)s)"]
    else:
        assert seen == ["UPDATE hub_shares SET id = id WHERE 1 = 0"]


def test_sqlite_begins_immediate_when_no_transaction_is_open(
    sqlite_repo: HistoryRepository,
) -> None:
    seen = _statements(sqlite_repo)
    with sqlite_repo.engine.begin() as conn:
        hold_write_lock(conn, key=KEY, table="jobs", column="name", begin=begin_immediate)
        assert conn.connection.driver_connection.in_transaction
        # inside the open transaction the no-op UPDATE takes the lock instead
        hold_write_lock(conn, key=KEY, table="jobs", column="name", begin=begin_immediate)
    assert seen == ["BEGIN IMMEDIATE", "UPDATE jobs SET name = name WHERE 1 = 0"]


def _second_waits(repo: HistoryRepository, take: Callable[[Connection], None]) -> None:
    """``take`` in a second transaction waits until the first one, holding the lock, ends."""
    done = threading.Event()

    def second() -> None:
        with repo.engine.begin() as conn:
            take(conn)
            done.set()

    with repo.engine.begin() as conn:
        take(conn)
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.5)
        assert not done.is_set(), "the second writer did not wait for the lock"
    thread.join(timeout=30)
    assert done.is_set()


def test_a_second_writer_waits_for_the_lock(repo: HistoryRepository) -> None:
    _second_waits(repo, lambda conn: hold_write_lock(conn, key=KEY, table="hub_shares"))


@pytest.mark.postgres
def test_postgres_tries_first_and_says_when_it_waits(postgres_url: str) -> None:
    repo = HistoryRepository(postgres_url)
    waits: list[int] = []
    try:
        with repo.engine.begin() as conn:  # a free lock: taken without waiting
            hold_write_lock(conn, key=KEY, on_wait=lambda: waits.append(1))
        assert waits == []
        _second_waits(
            repo, lambda conn: hold_write_lock(conn, key=KEY, on_wait=lambda: waits.append(1))
        )
        assert waits == [1]  # the second writer said so, the first did not
    finally:
        repo.close()
