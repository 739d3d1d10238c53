"""Server tables added by migration 0012 (Nova's ``instances``, ``instance_metadata``,
``instance_faults``, ``block_device_mapping``, ``instance_actions`` and
``instance_actions_events`` of the cell database).

A server keeps a copy of its flavor (``flavor`` JSON: Nova's embedded flavor, so a deleted
flavor does not change running servers). States are Nova's: ``vm_state`` (``building``,
``active``, ``stopped``, ``paused``, ``suspended``, ``error``, ``deleted``), ``task_state``
(None or ``scheduling``, ``spawning``, ``powering-off`` ...) and ``power_state`` (0 NOSTATE,
1 RUNNING, 3 PAUSED, 4 SHUTDOWN, 6 CRASHED, 7 SUSPENDED). A deleted server keeps its row
with ``deleted_at`` set (Nova soft-deletes; admins list them with ``deleted=True``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shoal.db import Base, UTCDateTime

__all__ = ["BlockDeviceMapping", "InstanceAction", "InstanceActionEvent", "Server",
           "ServerFault", "ServerMetadata"]

_STRING: Final = 255
_UUID: Final = 36


class Server(Base):
    """One server (a Nova instance)."""

    __tablename__ = "compute_servers"

    id: Mapped[str] = mapped_column(String(_UUID), primary_key=True)
    name: Mapped[str] = mapped_column(String(_STRING))
    project_id: Mapped[str] = mapped_column(String(_STRING), index=True)
    user_id: Mapped[str] = mapped_column(String(_STRING))
    flavor: Mapped[str] = mapped_column(Text)  # JSON, see the module doc
    image_id: Mapped[str | None] = mapped_column(String(_UUID), nullable=True)
    vm_state: Mapped[str] = mapped_column(String(_STRING))
    task_state: Mapped[str | None] = mapped_column(String(_STRING), nullable=True)
    power_state: Mapped[int] = mapped_column(Integer, default=0)
    host: Mapped[str | None] = mapped_column(String(_STRING), nullable=True)
    node: Mapped[str | None] = mapped_column(String(_STRING), nullable=True)
    availability_zone: Mapped[str | None] = mapped_column(String(_STRING), nullable=True)
    #: the zone the create asked for (2.96 ``pinned_availability_zone``; migration 0016)
    pinned_availability_zone: Mapped[str | None] = mapped_column(String(_STRING),
                                                                 nullable=True)
    key_name: Mapped[str | None] = mapped_column(String(_STRING), nullable=True)
    key_data: Mapped[str | None] = mapped_column(Text, nullable=True)
    user_data: Mapped[str | None] = mapped_column(Text, nullable=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    hostname: Mapped[str] = mapped_column(String(_STRING))
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    locked_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    locked_by: Mapped[str | None] = mapped_column(String(_STRING), nullable=True)
    config_drive: Mapped[str] = mapped_column(String(_STRING), default="")
    access_ip_v4: Mapped[str] = mapped_column(String(_STRING), default="")
    access_ip_v6: Mapped[str] = mapped_column(String(_STRING), default="")
    reservation_id: Mapped[str] = mapped_column(String(_STRING))
    launch_index: Mapped[int] = mapped_column(Integer, default=0)
    root_device_name: Mapped[str | None] = mapped_column(String(_STRING), nullable=True)
    networks: Mapped[str] = mapped_column(Text)  # JSON: "auto", "none" or the list asked
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    launched_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    terminated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True,
                                                        index=True)

    metadata_items: Mapped[list[ServerMetadata]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ServerMetadata.key")
    faults: Mapped[list[ServerFault]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ServerFault.id")
    block_devices: Mapped[list[BlockDeviceMapping]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="BlockDeviceMapping.id")


class ServerMetadata(Base):
    __tablename__ = "compute_server_metadata"
    __table_args__ = (UniqueConstraint("server_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    server_id: Mapped[str] = mapped_column(
        ForeignKey("compute_servers.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(_STRING))
    value: Mapped[str] = mapped_column(String(_STRING))


class ServerFault(Base):
    """Why a server went to ERROR (the newest is shown)."""

    __tablename__ = "compute_server_faults"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    server_id: Mapped[str] = mapped_column(
        ForeignKey("compute_servers.id", ondelete="CASCADE"), index=True)
    code: Mapped[int] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(String(_STRING))
    details: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class BlockDeviceMapping(Base):
    """One disk of a server as ``block_device_mapping_v2`` asked (sizes: GiB)."""

    __tablename__ = "compute_block_device_mappings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    server_id: Mapped[str] = mapped_column(
        ForeignKey("compute_servers.id", ondelete="CASCADE"), index=True)
    source_type: Mapped[str] = mapped_column(String(_STRING))  # image|volume|snapshot|blank
    destination_type: Mapped[str] = mapped_column(String(_STRING))  # local|volume
    boot_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    image_id: Mapped[str | None] = mapped_column(String(_UUID), nullable=True)
    snapshot_id: Mapped[str | None] = mapped_column(String(_UUID), nullable=True)
    volume_id: Mapped[str | None] = mapped_column(String(_UUID), nullable=True)
    volume_size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    device_name: Mapped[str | None] = mapped_column(String(_STRING), nullable=True)
    delete_on_termination: Mapped[bool] = mapped_column(Boolean, default=False)
    attachment_id: Mapped[str | None] = mapped_column(String(_UUID), nullable=True)
    tag: Mapped[str | None] = mapped_column(String(_STRING), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class InstanceAction(Base):
    """One action asked of a server (``os-instance-actions``)."""

    __tablename__ = "compute_instance_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    server_id: Mapped[str] = mapped_column(String(_UUID), index=True)
    action: Mapped[str] = mapped_column(String(_STRING))
    request_id: Mapped[str] = mapped_column(String(_STRING))
    user_id: Mapped[str] = mapped_column(String(_STRING))
    project_id: Mapped[str] = mapped_column(String(_STRING))
    start_time: Mapped[datetime] = mapped_column(UTCDateTime)
    finish_time: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    message: Mapped[str | None] = mapped_column(String(_STRING), nullable=True)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    events: Mapped[list[InstanceActionEvent]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="InstanceActionEvent.id")


class InstanceActionEvent(Base):
    """One step of an action (``compute__do_build_and_run_instance`` ...)."""

    __tablename__ = "compute_instance_action_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    action_id: Mapped[int] = mapped_column(
        ForeignKey("compute_instance_actions.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(_STRING))
    start_time: Mapped[datetime] = mapped_column(UTCDateTime)
    finish_time: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    result: Mapped[str | None] = mapped_column(String(_STRING), nullable=True)
    traceback: Mapped[str | None] = mapped_column(Text, nullable=True)
    host: Mapped[str | None] = mapped_column(String(_STRING), nullable=True)
