"""References to identity objects as Keystone requests give them: by id, or by name + domain."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shoal import errors

__all__ = ["DEFAULT_DOMAIN", "DomainRef", "ProjectRef", "UserRef"]


def _check_text(what: str, value: object) -> None:
    if not isinstance(value, str) or not value:
        raise errors.InvalidArgument(f"{what} must be a non-empty string, not {value!r}")


@dataclass(frozen=True)
class DomainRef:
    """A domain by ``id`` or by ``name`` (exactly one of them)."""

    id: str | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        if (self.id is None) == (self.name is None):
            raise errors.InvalidArgument("a domain is given by exactly one of 'id' or 'name'")
        _check_text("domain id" if self.id is not None else "domain name", self.id or self.name)

    @classmethod
    def from_json(cls, value: Any, what: str = "domain") -> DomainRef:
        """``{"id": ...}`` or ``{"name": ...}`` (a Keystone request's domain object)."""
        if not isinstance(value, dict):
            raise errors.InvalidArgument(f"{what} must be an object with 'id' or 'name'")
        return cls(id=value.get("id"), name=value.get("name"))

    def __str__(self) -> str:
        return f"domain id {self.id!r}" if self.id is not None else f"domain {self.name!r}"


#: Keystone's default domain (id ``default``, name ``Default``).
DEFAULT_DOMAIN = DomainRef(id="default")


@dataclass(frozen=True)
class _NamedRef:
    """By ``id``, or by ``name`` and ``domain``."""

    id: str | None = None
    name: str | None = None
    domain: DomainRef | None = None

    kind = "object"

    def __post_init__(self) -> None:
        if self.id is not None:
            _check_text(f"{self.kind} id", self.id)
            if self.name is not None:
                raise errors.InvalidArgument(f"give a {self.kind}'s 'id' or its 'name', not both")
            return
        if self.name is None:
            raise errors.InvalidArgument(f"a {self.kind} needs an 'id', or a 'name' and a 'domain'")
        _check_text(f"{self.kind} name", self.name)
        if self.domain is None:
            raise errors.InvalidArgument(
                f"{self.kind} {self.name!r}: a name needs a 'domain' ({{'id': 'default'}} or "
                "{'name': 'Default'})"
            )

    @classmethod
    def _parse(cls, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise errors.InvalidArgument(f"{cls.kind} must be an object with 'id' or 'name'")
        domain = value.get("domain")
        return {
            "id": value.get("id"),
            "name": value.get("name"),
            "domain": None if domain is None else DomainRef.from_json(domain, f"{cls.kind} domain"),
        }

    def __str__(self) -> str:
        if self.id is not None:
            return f"{self.kind} id {self.id!r}"
        return f"{self.kind} {self.name!r} in {self.domain}"


@dataclass(frozen=True)
class UserRef(_NamedRef):
    """A user by ``id``, or by ``name`` and ``domain``."""

    kind = "user"

    @classmethod
    def from_json(cls, value: Any) -> UserRef:
        """A Keystone ``identity.password.user`` object (its ``password`` key is ignored)."""
        return cls(**cls._parse(value))


@dataclass(frozen=True)
class ProjectRef(_NamedRef):
    """A project by ``id``, or by ``name`` and ``domain``."""

    kind = "project"

    @classmethod
    def from_json(cls, value: Any) -> ProjectRef:
        """A Keystone ``scope.project`` object."""
        return cls(**cls._parse(value))
