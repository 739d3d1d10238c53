"""Who calls a service: the identity the API edge authenticated, without HTTP.

The API builds a :class:`Caller` from its request context (``shoal.api._context``) and
passes it to every service method that applies policy; the service's policy module
(e.g. :mod:`shoal.services.image.policy`) decides what the caller may see and do.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Caller"]


@dataclass(frozen=True)
class Caller:
    """The authenticated caller of one service call.

    Attributes:
        user_id: Keystone user id.
        project_id: the token's project (None for an unscoped token: owns nothing).
        roles: role names on that project, lower case (Keystone's defaults: ``admin``
            implies ``member``, ``member`` implies ``reader``).
        domain_id: the project's domain.
    """

    user_id: str
    project_id: str | None
    roles: frozenset[str] = field(default_factory=frozenset)
    domain_id: str = "default"

    @property
    def is_admin(self) -> bool:
        """True when the caller holds the ``admin`` role (every project, every rule)."""
        return "admin" in self.roles

    def has_role(self, *roles: str) -> bool:
        """True when the caller holds one of ``roles``; ``admin`` holds them all."""
        return self.is_admin or any(role.lower() in self.roles for role in roles)
