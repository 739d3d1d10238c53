"""compute hosts and migrations

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08 01:51:03.670389
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "compute_migrations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("server_id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("migration_type", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=255), nullable=False),
        sa.Column("source_compute", sa.String(length=255), nullable=False),
        sa.Column("dest_compute", sa.String(length=255), nullable=True),
        sa.Column("old_flavor", sa.Text(), nullable=True),
        sa.Column("new_flavor", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compute_migrations")),
        sa.UniqueConstraint("uuid", name=op.f("uq_compute_migrations_uuid")),
    )
    with op.batch_alter_table("compute_migrations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_compute_migrations_server_id"), ["server_id"], unique=False
        )

    op.create_table(
        "compute_services",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("binary", sa.String(length=255), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", sa.String(length=255), nullable=True),
        sa.Column("forced_down", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compute_services")),
        sa.UniqueConstraint("host", "binary", name=op.f("uq_compute_services_host_binary")),
        sa.UniqueConstraint("uuid", name=op.f("uq_compute_services_uuid")),
    )


def downgrade() -> None:

    op.drop_table("compute_services")
    with op.batch_alter_table("compute_migrations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_compute_migrations_server_id"))

    op.drop_table("compute_migrations")
