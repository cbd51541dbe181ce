"""Column types, keys and index steps the migration revisions share.

Frozen like the revisions themselves: a revision's DDL is built from these, so changing
one changes what every revision that uses it creates. Add a new helper instead.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.schema import SchemaItem

__all__ = [
    "create_indexes",
    "create_keyed_table",
    "create_privacy_releases",
    "drop_indexes",
    "measures",
    "name",
    "reference",
    "release_columns",
    "timestamp",
]


def timestamp() -> sa.DateTime:
    """The type of every point in time: a timestamp with time zone."""
    return sa.DateTime(timezone=True)


def name() -> sa.String:
    """The type of job, attribute, node and organization names (at most 200 characters)."""
    return sa.String(length=200)


def create_keyed_table(table: str, *items: SchemaItem, indexed: Sequence[str] = ()) -> None:
    """Create ``table``: an integer ``id`` primary key, then ``items``; index ``indexed``."""
    op.create_table(
        table,
        sa.Column("id", sa.Integer(), nullable=False),
        *items,
        sa.PrimaryKeyConstraint("id"),
    )
    if indexed:
        create_indexes(table, *indexed)


def reference(column: str, table: str) -> sa.ForeignKeyConstraint:
    """``column`` holds the ``id`` of a row of ``table``; deleting that row deletes this one."""
    return sa.ForeignKeyConstraint([column], [f"{table}.id"], ondelete="CASCADE")


def create_indexes(table: str, *columns: str) -> None:
    """Index each of ``columns`` of ``table`` on its own, as ``ix_<table>_<column>``."""
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in columns:
            batch_op.create_index(batch_op.f(f"ix_{table}_{column}"), [column], unique=False)


def drop_indexes(table: str, *columns: str) -> None:
    """Drop the indexes :func:`create_indexes` made on ``columns`` of ``table``."""
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in columns:
            batch_op.drop_index(batch_op.f(f"ix_{table}_{column}"))


def measures(*columns: str) -> list[sa.Column[float]]:
    """A nullable float column for each measured quantity (absent when not measured)."""
    return [sa.Column(column, sa.Float(), nullable=True) for column in columns]


def release_columns() -> list[sa.Column[object]]:
    """What a privacy release records: in ``privacy_releases``, then ``ledger_entries``."""
    return [
        sa.Column("created_at", timestamp(), nullable=False),
        sa.Column("epsilon", sa.Float(), nullable=True),
        sa.Column("no_dp", sa.Boolean(), nullable=False),
        sa.Column("method", sa.String(length=100), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("destination", sa.Text(), nullable=True),
    ]


def create_privacy_releases() -> None:
    """The ledger of revision 0001, by job id (0002 replaces it with ``ledger_entries``)."""
    create_keyed_table(
        "privacy_releases",
        sa.Column("job_id", sa.Integer(), nullable=False),
        *release_columns(),
        reference("job_id", "jobs"),
        indexed=["job_id"],
    )
