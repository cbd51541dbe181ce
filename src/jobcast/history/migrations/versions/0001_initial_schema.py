"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22 01:26:07.361457
"""

import sqlalchemy as sa
from alembic import op

from jobcast.history.migrations.helpers import (
    create_keyed_table,
    create_privacy_releases,
    drop_indexes,
    measures,
    name,
    reference,
    timestamp,
)

revision: str = "0001"
down_revision: str | None = None


def upgrade() -> None:
    create_keyed_table(
        "jobs",
        sa.Column("name", name(), nullable=False),
        sa.Column("created_at", timestamp(), nullable=False),
        sa.Column("runtime_column", name(), nullable=True),
        sa.Column("scale_out_column", name(), nullable=True),
        sa.Column("machine_type_column", name(), nullable=True),
        sa.Column("privacy_budget", sa.Float(), nullable=True),
        sa.UniqueConstraint("name"),
    )
    create_keyed_table(
        "imports",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("origin", sa.Text(), nullable=False),
        sa.Column("epsilon", sa.Float(), nullable=True),
        sa.Column("created_at", timestamp(), nullable=False),
        sa.Column("executions", sa.Integer(), nullable=False),
        reference("job_id", "jobs"),
        indexed=["job_id"],
    )
    create_keyed_table(
        "job_attributes",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("name", name(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("numeric", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        reference("job_id", "jobs"),
        sa.UniqueConstraint("job_id", "name"),
        indexed=["job_id"],
    )
    create_privacy_releases()
    op.create_table(
        "progress_parameters",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("trained_at", timestamp(), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        reference("job_id", "jobs"),
        sa.PrimaryKeyConstraint("job_id"),
    )
    create_keyed_table(
        "executions",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=True),
        sa.Column("external_id", sa.String(length=300), nullable=True),
        sa.Column("scale_out", sa.Integer(), nullable=True),
        sa.Column("machine_type", sa.String(length=100), nullable=True),
        sa.Column("gross_runtime", sa.Float(), nullable=True),
        sa.Column("started_at", timestamp(), nullable=True),
        sa.Column("finished_at", timestamp(), nullable=True),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("origin", sa.Text(), nullable=True),
        sa.Column("share_epsilon", sa.Float(), nullable=True),
        reference("import_id", "imports"),
        reference("job_id", "jobs"),
        sa.UniqueConstraint("job_id", "external_id"),
        indexed=["job_id"],
    )
    create_keyed_table(
        "hardware_samples",
        sa.Column("execution_id", sa.Integer(), nullable=False),
        sa.Column("node", name(), nullable=False),
        sa.Column("timestamp", timestamp(), nullable=False),
        *measures("cpu_percent", "disk_read_bps", "disk_write_bps", "net_rx_bps", "net_tx_bps"),
        reference("execution_id", "executions"),
        indexed=["execution_id"],
    )
    create_keyed_table(
        "iterations",
        sa.Column("execution_id", sa.Integer(), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("started_at", timestamp(), nullable=True),
        sa.Column("finished_at", timestamp(), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("scale_out", sa.Integer(), nullable=True),
        *measures("records", "cpu", "disk", "net"),
        sa.Column("metrics", sa.JSON(), nullable=True),
        reference("execution_id", "executions"),
        sa.UniqueConstraint("execution_id", "index"),
        indexed=["execution_id"],
    )


def downgrade() -> None:
    drop_indexes("iterations", "execution_id")
    op.drop_table("iterations")
    drop_indexes("hardware_samples", "execution_id")
    op.drop_table("hardware_samples")
    drop_indexes("executions", "job_id")
    op.drop_table("executions")
    op.drop_table("progress_parameters")
    drop_indexes("privacy_releases", "job_id")
    op.drop_table("privacy_releases")
    drop_indexes("job_attributes", "job_id")
    op.drop_table("job_attributes")
    drop_indexes("imports", "job_id")
    op.drop_table("imports")
    op.drop_table("jobs")
