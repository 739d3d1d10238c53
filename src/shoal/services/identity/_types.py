"""What the identity service returns: plain frozen records (no ORM objects leak out)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shoal import errors

__all__ = [
    "CatalogProvider",
    "DomainInfo",
    "IssuedToken",
    "NamedRecord",
    "ProjectInfo",
    "RoleAssignmentInfo",
    "RoleInfo",
    "TokenData",
    "UserInfo",
    "keystone_time",
]


def keystone_time(moment: datetime) -> str:
    """``2026-11-23T17:54:56.228996Z``: Keystone's timestamp format (UTC, microseconds)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class DomainInfo:
    id: str
    name: str
    description: str
    enabled: bool


@dataclass(frozen=True)
class ProjectInfo:
    id: str
    name: str
    domain_id: str
    description: str
    enabled: bool


@dataclass(frozen=True)
class UserInfo:
    """A user (never its password hash)."""

    id: str
    name: str
    domain_id: str
    enabled: bool
    default_project_id: str | None


@dataclass(frozen=True)
class RoleInfo:
    id: str
    name: str

    def to_json(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name}


@dataclass(frozen=True)
class RoleAssignmentInfo:
    """A direct assignment: ``user_id`` holds ``role`` on ``project_id``."""

    user_id: str
    project_id: str
    role: RoleInfo


@dataclass(frozen=True)
class NamedRecord:
    """A user or project as a token shows it: id, name and its domain's id and name."""

    id: str
    name: str
    domain_id: str
    domain_name: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "domain": {"id": self.domain_id, "name": self.domain_name},
        }


@dataclass(frozen=True)
class TokenData:
    """A valid token's content, as of its validation (roles are the current effective ones).

    ``project`` None means an unscoped token (no roles). ``roles`` include implied roles
    (admin ⇒ member ⇒ reader), sorted by name.
    """

    audit_id: str
    methods: tuple[str, ...]
    issued_at: datetime
    expires_at: datetime
    user: NamedRecord
    project: NamedRecord | None
    roles: tuple[RoleInfo, ...] = field(default=())

    @property
    def role_names(self) -> frozenset[str]:
        return frozenset(role.name for role in self.roles)

    @property
    def project_id(self) -> str | None:
        return None if self.project is None else self.project.id

    @property
    def is_admin(self) -> bool:
        """Whether the token carries the ``admin`` role (on its project)."""
        return "admin" in self.role_names

    def has_role(self, name: str) -> bool:
        """Whether the token carries role ``name`` (directly or implied)."""
        return name in self.role_names

    def require_role(self, *names: str) -> None:
        """Raise PermissionDenied unless the token carries at least one of ``names``."""
        if not self.role_names.intersection(names):
            wanted = " or ".join(repr(n) for n in names)
            where = f"project {self.project.name!r}" if self.project else "an unscoped token"
            raise errors.PermissionDenied(f"this action needs the role {wanted} on {where}")

    def to_keystone(self, catalog: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """The Keystone v3 body ``{"token": {...}}`` (``catalog`` omitted when None)."""
        token: dict[str, Any] = {
            "audit_ids": [self.audit_id],
            "methods": list(self.methods),
            "issued_at": keystone_time(self.issued_at),
            "expires_at": keystone_time(self.expires_at),
            "user": {**self.user.to_json(), "password_expires_at": None},
        }
        if self.project is not None:
            token["project"] = self.project.to_json()
            token["is_domain"] = False
            token["roles"] = [role.to_json() for role in self.roles]
        if catalog is not None:
            token["catalog"] = catalog
        return {"token": token}


@dataclass(frozen=True)
class IssuedToken:
    """A new token: ``id`` is the secret the client sends as ``X-Auth-Token``."""

    id: str = field(repr=False)
    data: TokenData


#: Builds the service catalog of a token (the API layer knows the endpoints).
CatalogProvider = Callable[[TokenData], list[dict[str, Any]]]
