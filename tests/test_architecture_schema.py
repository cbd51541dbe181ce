"""The migrations build exactly the tables ``history/schema.py`` defines, on both databases.

The schema is defined twice on purpose (the ORM metadata, and the frozen migration
scripts that bring an existing history to it); this keeps the two from drifting apart.
"""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine

import jobcast.history.migrations as migrations
from jobcast.history import HistoryRepository
from jobcast.history.database import migrate
from jobcast.history.schema import Base


def test_upgrade_heads_matches_the_orm_metadata(history_url: str) -> None:
    HistoryRepository(history_url).close()  # a new history: `alembic upgrade heads`
    engine = create_engine(history_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
            tables = set(conn.dialect.get_table_names(conn))
    finally:
        engine.dispose()
    assert differences == []
    assert set(Base.metadata.tables) | {"alembic_version"} == tables


def test_downgrade_to_base_and_upgrade_again(history_url: str) -> None:
    """Every downgrade undoes its upgrade: base is empty, heads again equals the metadata."""
    HistoryRepository(history_url).close()
    cfg = Config()
    cfg.set_main_option("script_location", migrations.__path__[0])
    engine = create_engine(history_url)
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "base")
            assert set(conn.dialect.get_table_names(conn)) == {"alembic_version"}
        migrate(engine)
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()
