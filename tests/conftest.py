"""Shared fixtures: history repositories on SQLite and on the real PostgreSQL server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobcast.history import HistoryRepository

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SHARED_DATA = SHARED / "data"
PG_ADMIN_URL = os.environ.get(
    "JOBCAST_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
#: Command-line options of a query on the sort job (imported from c3o-paper/sort.csv).
SORT_QUERY = ("--job", "sort", "--set", "data_size_MB=12000")


def shared_file(*parts: str) -> Path:
    """Path of a file of ../shared/data; skips (never in CI) when shared/ is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing; CI must run with ../shared beside the project")
        pytest.skip(f"{path} is absent (../shared is not beside the project)")
    return path


@pytest.fixture
def sqlite_repo(tmp_path: Path) -> Iterator[HistoryRepository]:
    repo = HistoryRepository(f"sqlite:///{tmp_path / 'history.db'}")
    yield repo
    repo.close()


def _pg_available() -> str | None:
    try:
        import psycopg

        with psycopg.connect(
            PG_ADMIN_URL.replace("postgresql+psycopg", "postgresql"), connect_timeout=3
        ):
            return None
    except Exception as e:  # noqa: BLE001 - any failure means the server is not usable
        return str(e)


def pg_database(prefix: str = "jobcast_test") -> Iterator[str]:
    """Create a fresh PostgreSQL database, yield its URL, drop it when resumed.

    Skips (fails in CI) when the server is not reachable.
    """
    import psycopg

    problem = _pg_available()
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL on 127.0.0.1:5432 is not reachable in CI: {problem}")
        pytest.skip(f"PostgreSQL on 127.0.0.1:5432 is not reachable: {problem}")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = PG_ADMIN_URL.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    yield from pg_database()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def history_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty database on SQLite and on PostgreSQL (each test runs on both)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'history.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def repo(history_url: str) -> Iterator[HistoryRepository]:
    """The repository on SQLite and on PostgreSQL (each test runs against both)."""
    r = HistoryRepository(history_url)
    yield r
    r.close()
