"""Keystone's ``POST /v3/auth/tokens`` body, parsed into what the service needs.

Accepted (the ``auth`` object of ``{"auth": {...}}``)::

    {"identity": {"methods": ["password"],
                  "password": {"user": {"id": ...} | {"name": ..., "domain": {...}},
                               "password": "..."}},
     "scope": {"project": {"id": ...} | {"name": ..., "domain": {...}}}}   # optional

    {"identity": {"methods": ["token"], "token": {"id": "<token id>"}}, "scope": ...}

Domain, system and trust scopes are refused (AuthenticationFailed: scope to a project);
``"scope": "unscoped"`` asks for an unscoped token explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shoal import errors
from shoal.services.identity._refs import ProjectRef, UserRef

__all__ = ["AuthRequest", "parse_auth"]

_UNSCOPED = "unscoped"


@dataclass(frozen=True)
class AuthRequest:
    """One of: ``user`` + ``password`` (method password), or ``token_id`` (method token).

    ``scope`` None with ``explicit_unscoped`` False: the user's default project, if any.
    """

    method: str
    user: UserRef | None = None
    password: str | None = field(default=None, repr=False)
    token_id: str | None = field(default=None, repr=False)
    scope: ProjectRef | None = None
    explicit_unscoped: bool = False


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise errors.InvalidArgument(f"'{where}' must be a JSON object")
    return value


def parse_auth(body: Any) -> AuthRequest:
    """Parse ``{"auth": {...}}`` (or the inner ``auth`` object). Raises InvalidArgument naming
    the field to fix, or AuthenticationFailed for methods and scopes shoal does not offer."""
    auth = _object(body, "auth")
    if "auth" in auth:
        auth = _object(auth["auth"], "auth")
    identity = _object(auth.get("identity"), "auth.identity")
    methods = identity.get("methods")
    if not isinstance(methods, list) or not methods or not all(isinstance(m, str) for m in methods):
        raise errors.InvalidArgument("'auth.identity.methods' must be a non-empty list of names")
    scope, unscoped = _scope(auth.get("scope"))
    if "password" in methods:
        password = _object(identity.get("password"), "auth.identity.password")
        user = _object(password.get("user"), "auth.identity.password.user")
        secret = user.get("password")
        if not isinstance(secret, str):
            raise errors.InvalidArgument("'auth.identity.password.user.password' must be a string")
        return AuthRequest("password", UserRef.from_json(user), secret, None, scope, unscoped)
    if "token" in methods:
        token = _object(identity.get("token"), "auth.identity.token")
        token_id = token.get("id")
        if not isinstance(token_id, str) or not token_id:
            raise errors.InvalidArgument("'auth.identity.token.id' must be a non-empty string")
        return AuthRequest("token", None, None, token_id, scope, unscoped)
    raise errors.AuthenticationFailed(
        f"authentication methods {methods} are not offered: use 'password' or 'token'"
    )


def _scope(value: Any) -> tuple[ProjectRef | None, bool]:
    if value is None:
        return None, False
    if value == _UNSCOPED:
        return None, True
    scope = _object(value, "auth.scope")
    if "project" in scope:
        return ProjectRef.from_json(scope["project"]), False
    kinds = ", ".join(sorted(scope)) or "empty"
    raise errors.AuthenticationFailed(
        f"scope ({kinds}) is not offered: scope the token to a project"
    )
