"""service: organizations, hashed API tokens and the sharing hub

Revision ID: 0004
Revises: 0001
Create Date: 2026-12-02 17:20:00
"""

import sqlalchemy as sa
from alembic import op

from jobcast.history.migrations.helpers import (
    create_keyed_table,
    drop_indexes,
    name,
    reference,
    timestamp,
)

revision: str = "0004"
down_revision: str | None = "0001"


def upgrade() -> None:
    create_keyed_table(
        "organizations",
        sa.Column("name", name(), nullable=False),
        sa.Column("created_at", timestamp(), nullable=False),
        sa.UniqueConstraint("name"),
    )
    create_keyed_table(
        "api_tokens",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=20), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=True),
        sa.Column("create_jobs", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", timestamp(), nullable=False),
        sa.Column("revoked_at", timestamp(), nullable=True),
        reference("org_id", "organizations"),
        sa.UniqueConstraint("digest"),
        indexed=["org_id"],
    )
    create_keyed_table(
        "hub_shares",
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("job", name(), nullable=False),
        sa.Column("epsilon", sa.Float(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("manifest", sa.JSON(), nullable=False),
        sa.Column("rows_csv", sa.Text(), nullable=False),
        sa.Column("published_at", timestamp(), nullable=False),
        reference("org_id", "organizations"),
        indexed=["org_id", "job"],
    )


def downgrade() -> None:
    drop_indexes("hub_shares", "job", "org_id")
    op.drop_table("hub_shares")
    drop_indexes("api_tokens", "org_id")
    op.drop_table("api_tokens")
    op.drop_table("organizations")
