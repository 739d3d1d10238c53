"""compute quotas

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-08 01:58:44.414167
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "compute_quotas",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("resource", sa.String(length=255), nullable=False),
        sa.Column("hard_limit", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compute_quotas")),
        sa.UniqueConstraint(
            "project_id", "resource", name=op.f("uq_compute_quotas_project_id_resource")
        ),
    )


def downgrade() -> None:

    op.drop_table("compute_quotas")
