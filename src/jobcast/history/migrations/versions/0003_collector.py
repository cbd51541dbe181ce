"""collector: execution status, external-id index, content hash of imports

Revision ID: 0003
Revises: 0001
Create Date: 2026-12-02 17:20:00
"""

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0001"


def upgrade() -> None:
    with op.batch_alter_table("executions", schema=None) as batch_op:
        # running / completed / failed for collector runs; NULL for imported ones
        batch_op.add_column(sa.Column("status", sa.String(length=20), nullable=True))
        # collector reports name executions by external id alone
        batch_op.create_index("ix_executions_external_id", ["external_id"], unique=False)
    with op.batch_alter_table("imports", schema=None) as batch_op:
        # sha256 of what an import stored, so the same file imported twice is recognised
        batch_op.add_column(sa.Column("content_hash", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_imports_content_hash", ["job_id", "content_hash"], unique=False)
    with op.batch_alter_table("hardware_samples", schema=None) as batch_op:
        batch_op.create_index(
            "ix_hardware_samples_node_time", ["execution_id", "node", "timestamp"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("hardware_samples", schema=None) as batch_op:
        batch_op.drop_index("ix_hardware_samples_node_time")
    with op.batch_alter_table("imports", schema=None) as batch_op:
        batch_op.drop_index("ix_imports_content_hash")
        batch_op.drop_column("content_hash")
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.drop_index("ix_executions_external_id")
        batch_op.drop_column("status")
