"""Compute tables added by migration 0011: flavors, their extra specs, and the projects a
private flavor is shared with (Nova's ``flavors``, ``flavor_extra_specs`` and
``flavor_projects`` of the API database).

``flavorid`` is the id users see (a string: ``"1"``, ``"m1.custom"`` or a UUID); ``id`` is
the row's own key. Sizes: ``memory_mb`` MiB, ``root_gb`` and ``ephemeral_gb`` GiB, ``swap``
MiB, as Nova keeps them. Extra specs and projects go with their flavor.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shoal.db import Base, UTCDateTime

__all__ = ["Flavor", "FlavorExtraSpec", "FlavorProject"]

_STRING: Final = 255


class Flavor(Base):
    """A flavor: the sizes a server gets."""

    __tablename__ = "compute_flavors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    flavorid: Mapped[str] = mapped_column(String(_STRING), unique=True)
    name: Mapped[str] = mapped_column(String(_STRING), unique=True)
    memory_mb: Mapped[int] = mapped_column(Integer)
    vcpus: Mapped[int] = mapped_column(Integer)
    root_gb: Mapped[int] = mapped_column(Integer)
    ephemeral_gb: Mapped[int] = mapped_column(Integer)
    swap: Mapped[int] = mapped_column(Integer)
    rxtx_factor: Mapped[float] = mapped_column(Float)
    is_public: Mapped[bool] = mapped_column(Boolean)
    disabled: Mapped[bool] = mapped_column(Boolean)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    extra_specs: Mapped[list[FlavorExtraSpec]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="FlavorExtraSpec.key")
    projects: Mapped[list[FlavorProject]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="FlavorProject.project_id")


class FlavorExtraSpec(Base):
    __tablename__ = "compute_flavor_extra_specs"
    __table_args__ = (UniqueConstraint("flavor_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    flavor_id: Mapped[int] = mapped_column(
        ForeignKey("compute_flavors.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(_STRING))
    value: Mapped[str] = mapped_column(String(_STRING))


class FlavorProject(Base):
    __tablename__ = "compute_flavor_projects"
    __table_args__ = (UniqueConstraint("flavor_id", "project_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    flavor_id: Mapped[int] = mapped_column(
        ForeignKey("compute_flavors.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[str] = mapped_column(String(_STRING))
