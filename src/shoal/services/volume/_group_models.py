"""Generic volume group tables (Cinder's ``group_types``, ``group_type_specs``, ``groups``,
``group_volume_type_mapping`` and ``group_snapshots``, trimmed to what the v3 API shows).

A volume belongs to at most one group (``volume_volumes.group_id``); a snapshot taken as
part of a group snapshot names it (``volume_snapshots.group_snapshot_id``). Both columns are
plain indexed ids, not foreign keys: the volume tables are declared in :mod:`.models`, which
knows nothing of groups. Rows are removed once deleted, as the volume tables' are.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shoal.db import Base, UTCDateTime
from shoal.services.volume.models import NAME_LENGTH_MAX

__all__ = ["Group", "GroupSnapshot", "GroupType", "GroupTypeSpec", "GroupVolumeType"]

_ID = 36


class GroupType(Base):
    """A group type: what kind of group a group is (its ``group_specs``)."""

    __tablename__ = "volume_group_types"

    id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH_MAX), unique=True)
    description: Mapped[str | None] = mapped_column(String(NAME_LENGTH_MAX), nullable=True)
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    specs: Mapped[list[GroupTypeSpec]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="GroupTypeSpec.key")


class GroupTypeSpec(Base):
    __tablename__ = "volume_group_type_specs"
    __table_args__ = (UniqueConstraint("group_type_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    group_type_id: Mapped[str] = mapped_column(
        ForeignKey("volume_group_types.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(NAME_LENGTH_MAX))
    value: Mapped[str | None] = mapped_column(String(NAME_LENGTH_MAX), nullable=True)


class Group(Base):
    """A generic volume group of one project, on one backend (``host``)."""

    __tablename__ = "volume_groups"

    id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    user_id: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(255), index=True)
    name: Mapped[str | None] = mapped_column(String(NAME_LENGTH_MAX), nullable=True)
    description: Mapped[str | None] = mapped_column(String(NAME_LENGTH_MAX), nullable=True)
    availability_zone: Mapped[str] = mapped_column(String(255))
    group_type_id: Mapped[str] = mapped_column(
        ForeignKey("volume_group_types.id"), index=True)
    #: ``host@backend#pool`` of the backend every member volume lives on.
    host: Mapped[str | None] = mapped_column(String(255), nullable=True)
    #: The group snapshot or group the group was made from (``create-from-src``).
    group_snapshot_id: Mapped[str | None] = mapped_column(String(_ID), nullable=True)
    source_group_id: Mapped[str | None] = mapped_column(String(_ID), nullable=True)
    replication_status: Mapped[str] = mapped_column(String(255), default="disabled")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    volume_types: Mapped[list[GroupVolumeType]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="GroupVolumeType.id")


class GroupVolumeType(Base):
    """One volume type a group's volumes may have."""

    __tablename__ = "volume_group_volume_types"
    __table_args__ = (UniqueConstraint("group_id", "volume_type_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    group_id: Mapped[str] = mapped_column(
        ForeignKey("volume_groups.id", ondelete="CASCADE"), index=True)
    volume_type_id: Mapped[str] = mapped_column(ForeignKey("volume_types.id"), index=True)


class GroupSnapshot(Base):
    """A snapshot of every volume of a group, taken together."""

    __tablename__ = "volume_group_snapshots"

    id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    group_id: Mapped[str] = mapped_column(ForeignKey("volume_groups.id"), index=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    user_id: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(255), index=True)
    name: Mapped[str | None] = mapped_column(String(NAME_LENGTH_MAX), nullable=True)
    description: Mapped[str | None] = mapped_column(String(NAME_LENGTH_MAX), nullable=True)
    group_type_id: Mapped[str] = mapped_column(String(_ID))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
