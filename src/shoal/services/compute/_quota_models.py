"""Compute quota overrides added by migration 0015 (Nova's ``quotas`` table of the API
database): one row per project and resource whose limit an admin changed; a resource
without a row has Nova's default (:data:`shoal.services.compute.QUOTA_DEFAULTS`)."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shoal.db import Base, UTCDateTime

__all__ = ["ComputeQuota"]

_STRING: Final = 255


class ComputeQuota(Base):
    """The limit of ``resource`` for ``project_id`` (-1: unlimited)."""

    __tablename__ = "compute_quotas"
    __table_args__ = (UniqueConstraint("project_id", "resource"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(String(_STRING))
    resource: Mapped[str] = mapped_column(String(_STRING))
    hard_limit: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
