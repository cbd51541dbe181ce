"""Opening a history whose schema revision jobcast does not know: a clear error, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from jobcast.errors import DatabaseError
from jobcast.history import HistoryRepository
from jobcast.history.database import create_history_engine, migrate


def _foreign(url: str, revision: str) -> None:
    engine = create_history_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)"))
        conn.execute(text("INSERT INTO alembic_version VALUES (:v)"), {"v": revision})
    engine.dispose()


def test_migrate_names_an_unknown_revision_and_the_fix(history_url: str) -> None:
    _foreign(history_url, "not-ours")
    engine = create_history_engine(history_url)
    try:
        with pytest.raises(DatabaseError, match="'not-ours'") as caught:
            migrate(engine)
    finally:
        engine.dispose()
    message = str(caught.value)
    assert "newer jobcast" in message and "--db" in message
    assert "history.db" in message or "jobcast_test" in message


def test_repository_refuses_a_history_of_an_unknown_revision(history_url: str) -> None:
    _foreign(history_url, "0999_from_the_future")
    with pytest.raises(DatabaseError, match="0999_from_the_future.*another --db"):
        HistoryRepository(history_url)


def test_a_known_history_still_opens(history_url: str) -> None:
    with HistoryRepository(history_url) as repo:
        assert repo.list_jobs() == []


def _open_after(barrier: object, url: str) -> None:
    barrier.wait()  # type: ignore[attr-defined]
    HistoryRepository(url).close()


def test_processes_opening_a_new_history_at_once_all_succeed(history_url: str) -> None:
    """A team's first commands, or two service replicas, creating the schema together."""
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    for _round in range(3):
        if history_url.startswith("sqlite"):
            path = history_url.split("///", 1)[1]
            for suffix in ("", "-wal", "-shm"):
                Path(path + suffix).unlink(missing_ok=True)
        else:
            engine = create_history_engine(history_url)
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
            engine.dispose()
        barrier = ctx.Barrier(4)
        procs = [ctx.Process(target=_open_after, args=(barrier, history_url)) for _ in range(4)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(120)
        assert [p.exitcode for p in procs] == [0, 0, 0, 0]
