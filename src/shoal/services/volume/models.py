"""Volume tables: volumes, their metadata, attachments, snapshots, volume types, transfers,
quotas, user messages and the admin's state of services (Cinder's schema, trimmed to what
the v3 API shows).

Ids are UUID strings (36 characters with dashes). Sizes are GiB, as in Cinder. A deleted
volume's or snapshot's row is removed once its RBD image or snapshot is gone (Cinder keeps
soft-deleted rows; nothing here reads them), so a row exists exactly while the backend may
hold the resource: a record without its image, or an image without its record, is what the
volume service's recovery looks for after a crash.

Metadata of three kinds share one table per resource, told apart by ``kind``: ``user`` (the
``metadata`` the client sets), ``admin`` (``readonly``, ``attached_mode``...) and ``image``
(``volume_image_metadata``: the Glance properties copied from the source image).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shoal.db import Base, UTCDateTime

__all__ = [
    "METADATA_KINDS",
    "Attachment",
    "Message",
    "ProjectLock",
    "Quota",
    "ServiceState",
    "Snapshot",
    "SnapshotMetadata",
    "Transfer",
    "Volume",
    "VolumeMetadata",
    "VolumeType",
    "VolumeTypeExtraSpec",
    "VolumeTypeProject",
]

#: Cinder's column lengths: names and descriptions 255, metadata keys and values 255.
NAME_LENGTH_MAX = 255
#: ``kind`` of a metadata row (module docstring).
METADATA_KINDS = ("user", "admin", "image")
_ID = 36


class Volume(Base):
    __tablename__ = "volume_volumes"

    id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    user_id: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(255), index=True)
    size: Mapped[int] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(String(NAME_LENGTH_MAX), nullable=True, index=True)
    description: Mapped[str | None] = mapped_column(String(NAME_LENGTH_MAX), nullable=True)
    availability_zone: Mapped[str | None] = mapped_column(String(255), nullable=True)
    volume_type_id: Mapped[str | None] = mapped_column(
        ForeignKey("volume_types.id"), nullable=True, index=True)
    snapshot_id: Mapped[str | None] = mapped_column(String(_ID), nullable=True)
    source_volid: Mapped[str | None] = mapped_column(String(_ID), nullable=True)
    #: The Glance image the volume was made from (its properties are ``image`` metadata).
    image_id: Mapped[str | None] = mapped_column(String(_ID), nullable=True)
    bootable: Mapped[bool] = mapped_column(Boolean, default=False)
    multiattach: Mapped[bool] = mapped_column(Boolean, default=False)
    #: ``host@backend#pool`` once scheduled.
    host: Mapped[str | None] = mapped_column(String(255), nullable=True)
    migration_status: Mapped[str | None] = mapped_column(String(255), nullable=True)
    #: The status to return to when a transient one (``backing-up``, ``extending`` on an
    #: in-use volume...) ends.
    previous_status: Mapped[str | None] = mapped_column(String(255), nullable=True)
    provider_location: Mapped[str | None] = mapped_column(String(255), nullable=True)
    #: False for temporary volumes (Cinder's ``use_quota``).
    use_quota: Mapped[bool] = mapped_column(Boolean, default=True)
    #: The generic group the volume belongs to (``_group_models.Group``), if any.
    group_id: Mapped[str | None] = mapped_column(String(_ID), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    metadata_items: Mapped[list[VolumeMetadata]] = relationship(
        cascade="all, delete-orphan", lazy="selectin",
        order_by="(VolumeMetadata.kind, VolumeMetadata.key)")
    attachments: Mapped[list[Attachment]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="Attachment.created_at")
    volume_type: Mapped[VolumeType | None] = relationship(lazy="joined")


class VolumeMetadata(Base):
    __tablename__ = "volume_metadata"
    __table_args__ = (UniqueConstraint("volume_id", "kind", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    volume_id: Mapped[str] = mapped_column(
        ForeignKey("volume_volumes.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    key: Mapped[str] = mapped_column(String(NAME_LENGTH_MAX))
    value: Mapped[str] = mapped_column(Text)


class Attachment(Base):
    __tablename__ = "volume_attachments"

    id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    volume_id: Mapped[str] = mapped_column(
        ForeignKey("volume_volumes.id", ondelete="CASCADE"), index=True)
    #: ``attach_status``: reserved, attaching, attached, detaching, error_attaching...
    status: Mapped[str] = mapped_column(String(255))
    instance_uuid: Mapped[str | None] = mapped_column(String(_ID), nullable=True)
    attached_host: Mapped[str | None] = mapped_column(String(255), nullable=True)
    mountpoint: Mapped[str | None] = mapped_column(String(255), nullable=True)
    attach_mode: Mapped[str | None] = mapped_column(String(4), nullable=True)
    #: JSON: the connector the attachment was made for, and the driver's answer to it.
    connector: Mapped[str | None] = mapped_column(Text, nullable=True)
    connection_info: Mapped[str | None] = mapped_column(Text, nullable=True)
    attach_time: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    detach_time: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Snapshot(Base):
    __tablename__ = "volume_snapshots"

    id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    volume_id: Mapped[str] = mapped_column(ForeignKey("volume_volumes.id"), index=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    user_id: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(255), index=True)
    #: GiB of the volume when the snapshot was taken.
    volume_size: Mapped[int] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(String(NAME_LENGTH_MAX), nullable=True, index=True)
    description: Mapped[str | None] = mapped_column(String(NAME_LENGTH_MAX), nullable=True)
    progress: Mapped[str] = mapped_column(String(255), default="0%")
    use_quota: Mapped[bool] = mapped_column(Boolean, default=True)
    #: The group snapshot it was taken as part of (``_group_models.GroupSnapshot``), if any.
    group_snapshot_id: Mapped[str | None] = mapped_column(String(_ID), nullable=True,
                                                          index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    metadata_items: Mapped[list[SnapshotMetadata]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="SnapshotMetadata.key")


class SnapshotMetadata(Base):
    __tablename__ = "volume_snapshot_metadata"
    __table_args__ = (UniqueConstraint("snapshot_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    snapshot_id: Mapped[str] = mapped_column(
        ForeignKey("volume_snapshots.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(NAME_LENGTH_MAX))
    value: Mapped[str] = mapped_column(Text)


class VolumeType(Base):
    __tablename__ = "volume_types"

    id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH_MAX), unique=True)
    description: Mapped[str | None] = mapped_column(String(NAME_LENGTH_MAX), nullable=True)
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    extra_specs: Mapped[list[VolumeTypeExtraSpec]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="VolumeTypeExtraSpec.key")
    projects: Mapped[list[VolumeTypeProject]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="VolumeTypeProject.project_id")


class VolumeTypeExtraSpec(Base):
    __tablename__ = "volume_type_extra_specs"
    __table_args__ = (UniqueConstraint("volume_type_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    volume_type_id: Mapped[str] = mapped_column(
        ForeignKey("volume_types.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(NAME_LENGTH_MAX))
    value: Mapped[str] = mapped_column(String(NAME_LENGTH_MAX))


class VolumeTypeProject(Base):
    """A project given access to a private volume type."""

    __tablename__ = "volume_type_projects"
    __table_args__ = (UniqueConstraint("volume_type_id", "project_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    volume_type_id: Mapped[str] = mapped_column(
        ForeignKey("volume_types.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[str] = mapped_column(String(255))


class Transfer(Base):
    """A volume offered to another project; the auth key is kept only as a salted hash."""

    __tablename__ = "volume_transfers"

    id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    volume_id: Mapped[str] = mapped_column(
        ForeignKey("volume_volumes.id", ondelete="CASCADE"), index=True)
    name: Mapped[str | None] = mapped_column(String(NAME_LENGTH_MAX), nullable=True)
    salt: Mapped[str] = mapped_column(String(255))
    crypt_hash: Mapped[str] = mapped_column(String(255))
    source_project_id: Mapped[str] = mapped_column(String(255), index=True)
    destination_project_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    accepted: Mapped[bool] = mapped_column(Boolean, default=False)
    no_snapshots: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Quota(Base):
    """A project's limit for one resource that differs from the configured default.

    ``resource`` is ``volumes``, ``gigabytes``, ``snapshots``, ``backups``,
    ``backup_gigabytes``, ``per_volume_gigabytes``, or a per-type one
    (``volumes_<type>``...). ``hard_limit`` -1 is unlimited.
    """

    __tablename__ = "volume_quotas"
    __table_args__ = (UniqueConstraint("project_id", "resource"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    resource: Mapped[str] = mapped_column(String(300))
    hard_limit: Mapped[int] = mapped_column(BigInteger)


class ProjectLock(Base):
    """One row per project, locked (``SELECT ... FOR UPDATE``) while a quota is checked and
    the resource inserted, so that two requests cannot both pass the same last unit of
    quota (SQLite serialises writers anyway: ``BEGIN IMMEDIATE``)."""

    __tablename__ = "volume_project_locks"

    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)


class Message(Base):
    """A user message (``/v3/messages``, 3.3+): why an asynchronous operation failed."""

    __tablename__ = "volume_messages"

    id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    request_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    resource_type: Mapped[str | None] = mapped_column(String(255), nullable=True)
    resource_uuid: Mapped[str | None] = mapped_column(String(_ID), nullable=True)
    event_id: Mapped[str] = mapped_column(String(255))
    message_level: Mapped[str] = mapped_column(String(255))
    #: Cinder's ``action_id`` / ``detail_id`` codes (``001``: SCHEDULE_ALLOCATE_VOLUME...).
    action_id: Mapped[str | None] = mapped_column(String(10), nullable=True)
    detail_id: Mapped[str | None] = mapped_column(String(10), nullable=True)
    #: The text shown as ``user_message`` (Cinder builds it from action and detail).
    user_message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ServiceState(Base):
    """What an admin set on one service (``os-services`` enable/disable/freeze/thaw).

    Services themselves are the parts of the running deployment (a ``cinder-volume`` per
    enabled backend, the scheduler); a row exists only once an admin changed one, and
    keeps the change across restarts. ``host`` is ``HOST@BACKEND`` for a volume service.
    """

    __tablename__ = "volume_service_states"
    __table_args__ = (UniqueConstraint("binary", "host"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    binary: Mapped[str] = mapped_column(String(255))
    host: Mapped[str] = mapped_column(String(255))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled_reason: Mapped[str | None] = mapped_column(String(255), nullable=True)
    frozen: Mapped[bool] = mapped_column(Boolean, default=False)
    #: When an admin last changed it (shown as ``updated_at`` when more recent).
    modified_at: Mapped[datetime] = mapped_column(UTCDateTime)
