"""Backup tables: backups and their metadata (Cinder's ``backups`` and ``backup_metadata``,
trimmed to what the v3 API shows and the Ceph driver needs).

A backup's row lives while its data may: it is removed once the driver deleted the data
(Cinder soft-deletes; nothing here reads deleted rows). ``volume_id`` is no foreign key: a
backup outlives its volume. Sizes are GiB, as in Cinder.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shoal.db import Base, UTCDateTime

__all__ = ["Backup", "BackupMetadata"]

_ID = 36
NAME_LENGTH_MAX = 255


class Backup(Base):
    __tablename__ = "backup_backups"

    id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    user_id: Mapped[str] = mapped_column(String(255))
    volume_id: Mapped[str] = mapped_column(String(_ID), index=True)
    snapshot_id: Mapped[str | None] = mapped_column(String(_ID), nullable=True)
    #: The backup this one is incremental to (None: a full backup).
    parent_id: Mapped[str | None] = mapped_column(String(_ID), nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(255), index=True)
    fail_reason: Mapped[str | None] = mapped_column(String(255), nullable=True)
    name: Mapped[str | None] = mapped_column(String(NAME_LENGTH_MAX), nullable=True)
    description: Mapped[str | None] = mapped_column(String(NAME_LENGTH_MAX), nullable=True)
    availability_zone: Mapped[str | None] = mapped_column(String(255), nullable=True)
    #: The pool holding the data (the Ceph driver's container).
    container: Mapped[str | None] = mapped_column(String(255), nullable=True)
    #: GiB of the volume backed up.
    size: Mapped[int] = mapped_column(Integer)
    object_count: Mapped[int] = mapped_column(Integer, default=0)
    #: The driver's ``{"base": NAME}`` (JSON text), once the data is stored.
    service_metadata: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: The SHA-256 of the backed-up bytes (hex; the driver's block digests), None if unknown.
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: The snapshot of the base image this backup restores from (None: the base's head).
    restore_point: Mapped[str | None] = mapped_column(String(255), nullable=True)
    #: Bytes of data (not zeros) the backup moved into the pool.
    data_bytes: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    #: When ``shoal backup verify`` last found the stored data matching ``sha256``
    #: (None: never, or the last check found a difference).
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: The backup host (``HOST``), as ``os-services`` lists cinder-backup.
    host: Mapped[str | None] = mapped_column(String(255), nullable=True)
    #: When the data was captured (the snapshot's time for a snapshot backup).
    data_timestamp: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    metadata_items: Mapped[list[BackupMetadata]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="BackupMetadata.key")


class BackupMetadata(Base):
    __tablename__ = "backup_metadata"
    __table_args__ = (UniqueConstraint("backup_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    backup_id: Mapped[str] = mapped_column(
        ForeignKey("backup_backups.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(NAME_LENGTH_MAX))
    value: Mapped[str] = mapped_column(Text)
