"""ledger: releases kept by job name and data fingerprints, budget changes, imported shares

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 17:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # no foreign key to jobs: the ledger must outlive delete_job
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("epsilon", sa.Float(), nullable=True),
        sa.Column("no_dp", sa.Boolean(), nullable=False),
        sa.Column("method", sa.String(length=100), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("destination", sa.Text(), nullable=True),
        sa.Column("released_by", sa.String(length=200), nullable=True),
        sa.Column("digest", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_ledger_entries_job_name", "ledger_entries", ["job_name"])
    op.create_table(
        "ledger_fingerprints",
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["entry_id"], ["ledger_entries.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("entry_id", "fingerprint"),
    )
    op.create_index("ix_ledger_fingerprints_fingerprint", "ledger_fingerprints", ["fingerprint"])
    op.create_table(
        "budget_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_name", sa.String(length=200), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_by", sa.String(length=200), nullable=True),
        sa.Column("from_epsilon", sa.Float(), nullable=False),
        sa.Column("to_epsilon", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_budget_changes_job_name", "budget_changes", ["job_name"])
    op.create_table(
        "share_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("job_name", sa.String(length=200), nullable=False),
        sa.Column("origin", sa.Text(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
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
    with op.batch_alter_table("privacy_releases", schema=None) as batch_op:
        batch_op.drop_index("ix_privacy_releases_job_id")
    op.drop_table("privacy_releases")


def downgrade() -> None:
    op.create_table(
        "privacy_releases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("epsilon", sa.Float(), nullable=True),
        sa.Column("no_dp", sa.Boolean(), nullable=False),
        sa.Column("method", sa.String(length=100), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("destination", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("privacy_releases", schema=None) as batch_op:
        batch_op.create_index("ix_privacy_releases_job_id", ["job_id"], unique=False)
    op.execute(
        "INSERT INTO privacy_releases (job_id, created_at, epsilon, no_dp, method, rows, "
        "destination) SELECT jobs.id, e.created_at, e.epsilon, e.no_dp, e.method, e.rows, "
        "e.destination FROM ledger_entries e JOIN jobs ON jobs.name = e.job_name ORDER BY e.id"
    )
    op.drop_table("share_imports")
    op.drop_index("ix_budget_changes_job_name", table_name="budget_changes")
    op.drop_table("budget_changes")
    op.drop_index("ix_ledger_fingerprints_fingerprint", table_name="ledger_fingerprints")
    op.drop_table("ledger_fingerprints")
    op.drop_index("ix_ledger_entries_job_name", table_name="ledger_entries")
    op.drop_table("ledger_entries")
