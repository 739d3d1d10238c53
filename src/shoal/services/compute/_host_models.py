"""Compute host tables added by migration 0014: the nova-compute service of each host
(Nova's ``services`` rows: ``disabled``, ``forced_down``) and server migrations (Nova's
``migrations``: live, cold and evacuations, with their status)."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import Boolean, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shoal.db import Base, UTCDateTime

__all__ = ["ComputeService", "Migration"]

_STRING: Final = 255
_UUID: Final = 36


class ComputeService(Base):
    """One service of one host (``nova-compute`` per compute host)."""

    __tablename__ = "compute_services"
    __table_args__ = (UniqueConstraint("host", "binary"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(_UUID), unique=True)
    host: Mapped[str] = mapped_column(String(_STRING))
    binary: Mapped[str] = mapped_column(String(_STRING))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled_reason: Mapped[str | None] = mapped_column(String(_STRING), nullable=True)
    forced_down: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Migration(Base):
    """One move of a server between hosts (``migration_type``: ``live-migration``,
    ``migration``, ``resize`` or ``evacuation``)."""

    __tablename__ = "compute_migrations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(_UUID), unique=True)
    server_id: Mapped[str] = mapped_column(String(_UUID), index=True)
    project_id: Mapped[str] = mapped_column(String(_STRING))
    user_id: Mapped[str] = mapped_column(String(_STRING))
    migration_type: Mapped[str] = mapped_column(String(_STRING))
    status: Mapped[str] = mapped_column(String(_STRING))
    source_compute: Mapped[str] = mapped_column(String(_STRING))
    dest_compute: Mapped[str | None] = mapped_column(String(_STRING), nullable=True)
    old_flavor: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON
    new_flavor: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
