"""Who is asking: the request context, the token validator interface, and policy checks.

A request carries its token in ``X-Auth-Token``. The app's :class:`TokenValidator`
(Keystone's token store, or a remote Keystone; the identity piece provides them) turns it
into a :class:`RequestContext`. Handlers ask for it and check roles and projects::

    async def delete_volume(request: Request) -> Response:
        context = await request_context(request)
        require_role(context, "admin", "member")   # readers may not write
        volume = ...
        require_project(context, volume.project_id)

Roles follow Keystone's defaults: ``admin`` implies everything, ``member`` may read and
write its project, ``reader`` may only read. A missing or refused token is 401; a known
user without the role or outside the project is 403.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Final, Protocol, runtime_checkable

from starlette.requests import Request
from starlette.responses import Response

from shoal.api._errors import BadRequest
from shoal.errors import AuthenticationFailed, PermissionDenied
from shoal.services._caller import Caller

__all__ = [
    "RequestContext",
    "TokenValidator",
    "request_context",
    "require_project",
    "require_role",
    "requires_role",
]

TOKEN_HEADER: Final = "X-Auth-Token"
_CONTEXT_KEY: Final = "shoal.context"
#: Scope key holding the project id a Cinder/Nova URL carried (``/v3/{project_id}/...``).
URL_PROJECT_KEY: Final = "shoal.url_project_id"
#: Scope key holding the app's validator (set by the app factory).
VALIDATOR_KEY: Final = "shoal.validator"


@dataclass(frozen=True)
class RequestContext:
    """The authenticated caller of one request.

    Attributes:
        user_id: Keystone user id.
        project_id: the token's project (None for an unscoped token).
        roles: role names on that project, lower case.
        user_name, project_name, domain_id: as in the token, for views and logs.
        token: the token itself, for calls to other services on the caller's behalf.
    """

    user_id: str
    project_id: str | None
    roles: frozenset[str] = field(default_factory=frozenset)
    user_name: str = ""
    project_name: str = ""
    domain_id: str = "default"
    token: str = field(default="", repr=False)

    @property
    def is_admin(self) -> bool:
        """True when the caller holds the ``admin`` role."""
        return "admin" in self.roles

    def has_role(self, *roles: str) -> bool:
        """True when the caller holds one of ``roles``; ``admin`` holds them all."""
        return self.is_admin or any(role.lower() in self.roles for role in roles)

    def caller(self) -> Caller:
        """This context as the services' :class:`~shoal.services.Caller` (no token)."""
        return Caller(user_id=self.user_id, project_id=self.project_id, roles=self.roles,
                      domain_id=self.domain_id)


@runtime_checkable
class TokenValidator(Protocol):
    """Turns a token into the caller's context (implemented by the identity service).

    ``validate`` must raise :class:`shoal.errors.AuthenticationFailed` for an unknown,
    expired or revoked token (message saying which), and may raise
    :class:`shoal.errors.Unavailable` when it cannot check now (503).
    """

    async def validate(self, token: str) -> RequestContext: ...


async def request_context(request: Request) -> RequestContext:
    """The context of ``request``'s caller, validated once per request.

    Raises:
        AuthenticationFailed: no ``X-Auth-Token``, or the validator refused it (401).
        BadRequest: the URL names a project other than the token's (400, as upstream's
            "Malformed request URL").
    """
    cached = request.scope.get(_CONTEXT_KEY)
    if isinstance(cached, RequestContext):
        return cached
    token = request.headers.get(TOKEN_HEADER, "").strip()
    if not token:
        raise AuthenticationFailed("The request you have made requires authentication.")
    validator = request.scope.get(VALIDATOR_KEY)
    if not isinstance(validator, TokenValidator):
        raise AuthenticationFailed("This service has no token validator configured.")
    context = await validator.validate(token)
    url_project = request.scope.get(URL_PROJECT_KEY)
    if url_project is not None and url_project != context.project_id:
        raise BadRequest(
            f"Malformed request URL: the URL's project_id {url_project!r} does not match"
            f" the token's project_id {context.project_id!r}."
        )
    request.scope[_CONTEXT_KEY] = context
    return context


def require_role(context: RequestContext, *roles: str) -> None:
    """Allow callers holding any of ``roles`` (admin always passes).

    Raises:
        PermissionDenied: the caller holds none of them (403).
    """
    if not roles:
        raise ValueError("require_role needs at least one role")
    if not context.has_role(*roles):
        wanted = " or ".join(repr(r) for r in roles)
        raise PermissionDenied(
            f"Policy does not allow this request: it needs the role {wanted} on the project."
        )


def require_project(context: RequestContext, project_id: str | None) -> None:
    """Allow the caller to touch a resource owned by ``project_id`` (admin: any project).

    Raises:
        PermissionDenied: the resource belongs to another project (403).
    """
    if context.is_admin:
        return
    if context.project_id is None or context.project_id != project_id:
        raise PermissionDenied(
            "Policy does not allow this request: the resource belongs to another project."
        )


Handler = Callable[[Request], Awaitable[Response]]


def requires_role(*roles: str) -> Callable[[Handler], Handler]:
    """Decorate an endpoint so it authenticates and needs one of ``roles``::

        @requires_role("admin")
        async def list_services(request: Request) -> Response: ...
    """
    if not roles:
        raise ValueError("requires_role needs at least one role")

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def checked(request: Request) -> Response:
            require_role(await request_context(request), *roles)
            return await handler(request)

        return checked

    return decorate
