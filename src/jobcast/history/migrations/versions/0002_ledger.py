"""ledger: releases kept by job name and data fingerprints, budget changes, imported shares

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 17:30:00
"""

import sqlalchemy as sa
from alembic import op

from jobcast.history.migrations.helpers import (
    create_indexes,
    create_keyed_table,
    create_privacy_releases,
    drop_indexes,
    name,
    reference,
    release_columns,
    timestamp,
)

revision: str = "0002"
down_revision: str | None = "0001"


def upgrade() -> None:
    # no foreign key to jobs: the ledger must outlive delete_job
    create_keyed_table(
        "ledger_entries",
        sa.Column("job_name", name(), nullable=False),
        *release_columns(),
        sa.Column("released_by", name(), nullable=True),
        sa.Column("digest", sa.String(length=64), nullable=True),
        indexed=["job_name"],
    )
    op.create_table(
        "ledger_fingerprints",
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=32), nullable=False),
        reference("entry_id", "ledger_entries"),
        sa.PrimaryKeyConstraint("entry_id", "fingerprint"),
    )
    create_indexes("ledger_fingerprints", "fingerprint")
    create_keyed_table(
        "budget_changes",
        sa.Column("job_name", name(), nullable=False),
        sa.Column("changed_at", timestamp(), nullable=False),
        sa.Column("changed_by", name(), nullable=True),
        sa.Column("from_epsilon", sa.Float(), nullable=False),
        sa.Column("to_epsilon", sa.Float(), nullable=False),
        indexed=["job_name"],
    )
    create_keyed_table(
        "share_imports",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("job_name", name(), nullable=False),
        sa.Column("origin", sa.Text(), nullable=False),
        sa.Column("imported_at", timestamp(), nullable=False),
        sa.UniqueConstraint("digest"),
    )
    # the old ledger, keyed by job id (lost with the job), moves over by name; the budgets
    # set on jobs become recorded changes from the default (5.0 at the time)
    op.execute(
        "INSERT INTO ledger_entries (job_name, created_at, epsilon, no_dp, method, rows, "
        "destination) SELECT jobs.name, r.created_at, r.epsilon, r.no_dp, r.method, r.rows, "
        "r.destination FROM privacy_releases r JOIN jobs ON jobs.id = r.job_id ORDER BY r.id"
    )
    op.execute(
        "INSERT INTO budget_changes (job_name, changed_at, changed_by, from_epsilon, to_epsilon) "
        "SELECT name, created_at, 'migration 0002', 5.0, privacy_budget FROM jobs "
        "WHERE privacy_budget IS NOT NULL"
    )
    drop_indexes("privacy_releases", "job_id")
    op.drop_table("privacy_releases")


def downgrade() -> None:
    create_privacy_releases()
    op.execute(
        "INSERT INTO privacy_releases (job_id, created_at, epsilon, no_dp, method, rows, "
        "destination) SELECT jobs.id, e.created_at, e.epsilon, e.no_dp, e.method, e.rows, "
        "e.destination FROM ledger_entries e JOIN jobs ON jobs.name = e.job_name ORDER BY e.id"
    )
    op.drop_table("share_imports")
    drop_indexes("budget_changes", "job_name")
    op.drop_table("budget_changes")
    drop_indexes("ledger_fingerprints", "fingerprint")
    op.drop_table("ledger_fingerprints")
    drop_indexes("ledger_entries", "job_name")
    op.drop_table("ledger_entries")
