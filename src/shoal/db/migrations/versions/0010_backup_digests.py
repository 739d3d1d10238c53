"""backup digests: each backup's SHA-256, restore point, data bytes and last verification

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 18:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("backup_backups") as batch:
        batch.add_column(sa.Column("sha256", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("restore_point", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("data_bytes", sa.BigInteger(), nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("verified_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("backup_backups") as batch:
        batch.drop_column("verified_at")
        batch.drop_column("data_bytes")
        batch.drop_column("restore_point")
        batch.drop_column("sha256")
