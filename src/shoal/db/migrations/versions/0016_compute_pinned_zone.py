"""compute pinned zone

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-08 02:09:02.515196
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("compute_servers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("pinned_availability_zone", sa.String(length=255), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("compute_servers", schema=None) as batch_op:
        batch_op.drop_column("pinned_availability_zone")
