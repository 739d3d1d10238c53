"""Identity tables: domains, projects, users, roles, role assignments, implied roles, tokens.

Ids are opaque strings: 32 hex digits (uuid4), except the ``default`` domain (Keystone's
fixed id). Names are unique per domain (projects, users) or global (roles).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shoal.db import Base, UTCDateTime

__all__ = [
    "ID_LENGTH_MAX",
    "NAME_LENGTH_MAX",
    "Domain",
    "ImpliedRole",
    "Project",
    "Role",
    "RoleAssignment",
    "Token",
    "User",
    "new_id",
]

#: Longest id (Keystone: 64).
ID_LENGTH_MAX = 64
#: Longest name of a domain, project, user or role (Keystone: 255 for users, 64 for projects;
#: one limit here).
NAME_LENGTH_MAX = 255


def new_id() -> str:
    """A fresh id: 32 lowercase hex digits."""
    return uuid.uuid4().hex


class Domain(Base):
    __tablename__ = "identity_domains"

    id: Mapped[str] = mapped_column(String(ID_LENGTH_MAX), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH_MAX), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class Project(Base):
    __tablename__ = "identity_projects"
    __table_args__ = (UniqueConstraint("domain_id", "name"),)

    id: Mapped[str] = mapped_column(String(ID_LENGTH_MAX), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH_MAX))
    domain_id: Mapped[str] = mapped_column(ForeignKey("identity_domains.id"), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class User(Base):
    __tablename__ = "identity_users"
    __table_args__ = (UniqueConstraint("domain_id", "name"),)

    id: Mapped[str] = mapped_column(String(ID_LENGTH_MAX), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH_MAX))
    domain_id: Mapped[str] = mapped_column(ForeignKey("identity_domains.id"), index=True)
    #: argon2id PHC string ("$argon2id$v=19$m=...,t=...,p=...$salt$hash").
    password_hash: Mapped[str] = mapped_column(String(255))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    default_project_id: Mapped[str | None] = mapped_column(
        ForeignKey("identity_projects.id", ondelete="SET NULL"), default=None
    )


class Role(Base):
    __tablename__ = "identity_roles"

    id: Mapped[str] = mapped_column(String(ID_LENGTH_MAX), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH_MAX), unique=True)


class ImpliedRole(Base):
    """Holding ``prior_role`` implies ``implied_role`` too (admin → member → reader)."""

    __tablename__ = "identity_implied_roles"

    prior_role_id: Mapped[str] = mapped_column(
        ForeignKey("identity_roles.id", ondelete="CASCADE"), primary_key=True
    )
    implied_role_id: Mapped[str] = mapped_column(
        ForeignKey("identity_roles.id", ondelete="CASCADE"), primary_key=True
    )


class RoleAssignment(Base):
    """``user`` holds ``role`` on ``project``."""

    __tablename__ = "identity_role_assignments"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("identity_users.id", ondelete="CASCADE"), primary_key=True
    )
    project_id: Mapped[str] = mapped_column(
        ForeignKey("identity_projects.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role_id: Mapped[str] = mapped_column(
        ForeignKey("identity_roles.id", ondelete="CASCADE"), primary_key=True
    )


class Token(Base):
    """An issued token. Only the SHA-256 of the token id is stored (see the service doc)."""

    __tablename__ = "identity_tokens"

    id_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(
        ForeignKey("identity_users.id", ondelete="CASCADE"), index=True
    )
    #: None: an unscoped token.
    project_id: Mapped[str | None] = mapped_column(
        ForeignKey("identity_projects.id", ondelete="CASCADE"), index=True
    )
    #: Space-separated authentication methods ("password", "password token").
    methods: Mapped[str] = mapped_column(String(255))
    #: Keystone's audit id: 22 url-safe characters, shown to clients instead of the token id.
    audit_id: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
