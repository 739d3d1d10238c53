"""compute keypairs

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08 01:00:54.922363
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "compute_key_pairs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=255), nullable=False),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("type", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("type IN ('ssh', 'x509')", name=op.f("ck_compute_key_pairs_type")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compute_key_pairs")),
        sa.UniqueConstraint("user_id", "name", name=op.f("uq_compute_key_pairs_user_id_name")),
    )


def downgrade() -> None:
    op.drop_table("compute_key_pairs")
