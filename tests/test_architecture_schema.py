"""The migrations build exactly the tables ``history/schema.py`` defines, on both databases.

The schema is defined twice on purpose (the ORM metadata, and the frozen migration
scripts that bring an existing history to it); this keeps the two from drifting apart.
"""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine

from jobcast.history import HistoryRepository
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
