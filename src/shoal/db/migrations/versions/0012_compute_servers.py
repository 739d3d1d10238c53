"""compute servers

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08 01:09:41.942040
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "compute_instance_actions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("server_id", sa.String(length=36), nullable=False),
        sa.Column("action", sa.String(length=255), nullable=False),
        sa.Column("request_id", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("start_time", sa.DateTime(), nullable=False),
        sa.Column("finish_time", sa.DateTime(), nullable=True),
        sa.Column("message", sa.String(length=255), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compute_instance_actions")),
    )
    with op.batch_alter_table("compute_instance_actions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_compute_instance_actions_server_id"), ["server_id"], unique=False
        )

    op.create_table(
        "compute_servers",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("flavor", sa.Text(), nullable=False),
        sa.Column("image_id", sa.String(length=36), nullable=True),
        sa.Column("vm_state", sa.String(length=255), nullable=False),
        sa.Column("task_state", sa.String(length=255), nullable=True),
        sa.Column("power_state", sa.Integer(), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=True),
        sa.Column("node", sa.String(length=255), nullable=True),
        sa.Column("availability_zone", sa.String(length=255), nullable=True),
        sa.Column("key_name", sa.String(length=255), nullable=True),
        sa.Column("key_data", sa.Text(), nullable=True),
        sa.Column("user_data", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("hostname", sa.String(length=255), nullable=False),
        sa.Column("locked", sa.Boolean(), nullable=False),
        sa.Column("locked_reason", sa.Text(), nullable=True),
        sa.Column("locked_by", sa.String(length=255), nullable=True),
        sa.Column("config_drive", sa.String(length=255), nullable=False),
        sa.Column("access_ip_v4", sa.String(length=255), nullable=False),
        sa.Column("access_ip_v6", sa.String(length=255), nullable=False),
        sa.Column("reservation_id", sa.String(length=255), nullable=False),
        sa.Column("launch_index", sa.Integer(), nullable=False),
        sa.Column("root_device_name", sa.String(length=255), nullable=True),
        sa.Column("networks", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("launched_at", sa.DateTime(), nullable=True),
        sa.Column("terminated_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compute_servers")),
    )
    with op.batch_alter_table("compute_servers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_compute_servers_deleted_at"), ["deleted_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_compute_servers_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "compute_block_device_mappings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("server_id", sa.String(length=36), nullable=False),
        sa.Column("source_type", sa.String(length=255), nullable=False),
        sa.Column("destination_type", sa.String(length=255), nullable=False),
        sa.Column("boot_index", sa.Integer(), nullable=True),
        sa.Column("image_id", sa.String(length=36), nullable=True),
        sa.Column("snapshot_id", sa.String(length=36), nullable=True),
        sa.Column("volume_id", sa.String(length=36), nullable=True),
        sa.Column("volume_size", sa.Integer(), nullable=True),
        sa.Column("device_name", sa.String(length=255), nullable=True),
        sa.Column("delete_on_termination", sa.Boolean(), nullable=False),
        sa.Column("attachment_id", sa.String(length=36), nullable=True),
        sa.Column("tag", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["server_id"],
            ["compute_servers.id"],
            name=op.f("fk_compute_block_device_mappings_server_id_compute_servers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compute_block_device_mappings")),
    )
    with op.batch_alter_table("compute_block_device_mappings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_compute_block_device_mappings_server_id"), ["server_id"], unique=False
        )

    op.create_table(
        "compute_instance_action_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=255), nullable=False),
        sa.Column("start_time", sa.DateTime(), nullable=False),
        sa.Column("finish_time", sa.DateTime(), nullable=True),
        sa.Column("result", sa.String(length=255), nullable=True),
        sa.Column("traceback", sa.Text(), nullable=True),
        sa.Column("host", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["compute_instance_actions.id"],
            name=op.f("fk_compute_instance_action_events_action_id_compute_instance_actions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compute_instance_action_events")),
    )
    with op.batch_alter_table("compute_instance_action_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_compute_instance_action_events_action_id"), ["action_id"], unique=False
        )

    op.create_table(
        "compute_server_faults",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("server_id", sa.String(length=36), nullable=False),
        sa.Column("code", sa.Integer(), nullable=False),
        sa.Column("message", sa.String(length=255), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["server_id"],
            ["compute_servers.id"],
            name=op.f("fk_compute_server_faults_server_id_compute_servers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compute_server_faults")),
    )
    with op.batch_alter_table("compute_server_faults", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_compute_server_faults_server_id"), ["server_id"], unique=False
        )

    op.create_table(
        "compute_server_metadata",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("server_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["server_id"],
            ["compute_servers.id"],
            name=op.f("fk_compute_server_metadata_server_id_compute_servers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compute_server_metadata")),
        sa.UniqueConstraint(
            "server_id", "key", name=op.f("uq_compute_server_metadata_server_id_key")
        ),
    )
    with op.batch_alter_table("compute_server_metadata", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_compute_server_metadata_server_id"), ["server_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("compute_server_metadata", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_compute_server_metadata_server_id"))

    op.drop_table("compute_server_metadata")
    with op.batch_alter_table("compute_server_faults", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_compute_server_faults_server_id"))

    op.drop_table("compute_server_faults")
    with op.batch_alter_table("compute_instance_action_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_compute_instance_action_events_action_id"))

    op.drop_table("compute_instance_action_events")
    with op.batch_alter_table("compute_block_device_mappings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_compute_block_device_mappings_server_id"))

    op.drop_table("compute_block_device_mappings")
    with op.batch_alter_table("compute_servers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_compute_servers_project_id"))
        batch_op.drop_index(batch_op.f("ix_compute_servers_deleted_at"))

    op.drop_table("compute_servers")
    with op.batch_alter_table("compute_instance_actions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_compute_instance_actions_server_id"))

    op.drop_table("compute_instance_actions")
