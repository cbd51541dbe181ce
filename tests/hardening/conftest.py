"""Fixtures of the hardening suite: the bad files and a history on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from typer.testing import CliRunner

from jobcast.cli import app
from tests.conftest import pg_database, shared_file
from tests.hardening.files import write_files

runner = CliRunner()

_TABLES = (
    "jobs",
    "job_attributes",
    "imports",
    "executions",
    "iterations",
    "hardware_samples",
    "ledger_entries",
    "budget_changes",
)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("bad")
    write_files(d)
    return d


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def history(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, files: Path
) -> Iterator[str]:
    """A history holding job ``sort`` (C3O) with one live execution ``e1`` and dool samples."""
    if request.param == "sqlite":
        gen: Iterator[str] = iter([f"sqlite:///{tmp_path_factory.mktemp('db') / 'h.db'}"])
    else:
        gen = pg_database("jobcast_hard")
    url = next(gen)
    sort = str(shared_file("c3o-paper", "sort.csv"))
    ok("import", "c3o", sort, "--job", "sort", "--db", url)
    from datetime import UTC, datetime

    from jobcast.history import HistoryRepository

    with HistoryRepository(url) as repo:
        repo.start_execution(
            repo.job("sort"),
            "e1",
            attributes={"data_size_MB": 1},
            started_at=datetime(2026, 11, 22, 1, 39, tzinfo=UTC),
        )
    ok("import", "dool", str(files / "dool.csv"), "--job", "sort", "--execution", "e1", "--db", url)
    yield url
    for _ in gen:  # drops the PostgreSQL database
        pass


def ok(*args: str) -> None:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, (result.output, result.exception)


def counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        names = set(inspect(engine).get_table_names())
        with engine.connect() as conn:
            return {
                t: int(conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one())
                for t in _TABLES
                if t in names
            }
    finally:
        engine.dispose()
