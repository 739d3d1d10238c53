"""Keystone v3 directory administration: domains, projects, users, roles and grants.

What Tempest's dynamic credentials and ``openstack project/user/role ...`` call, under
``/identity/v3`` (mount with :func:`identity_admin_routes` next to
:func:`shoal.api.identity_routes`):

==============================================  ==========================  ==============
path                                            methods                     policy
==============================================  ==========================  ==============
``/domains``                                    GET (``?name=&enabled=``)   admin
                                                POST                        admin
``/domains/{id}``                               GET                         admin, or own
``/projects``                                   GET (``?name=&domain_id=``) admin
                                                POST                        admin
``/projects/{id}``                              GET                         admin, or token's
                                                PATCH, DELETE               admin
``/projects/{p}/users/{u}/roles``               GET                         admin
``/projects/{p}/users/{u}/roles/{r}``           PUT, GET/HEAD, DELETE       admin
``/users``                                      GET (``?name=&domain_id=``) admin
                                                POST                        admin
``/users/{id}``                                 GET                         admin, or self
                                                PATCH, DELETE               admin
``/users/{id}/projects``                        GET                         admin, or self
``/users/{id}/password``                        POST                        original password
``/roles``                                      GET (``?name=``), POST      admin
``/roles/{id}``                                 GET, DELETE                 admin
``/role_assignments``                           GET                         admin
``/auth/projects``                              GET                         any valid token
==============================================  ==========================  ==============

"own" domain: the caller's user or project domain. Bodies and answers are Keystone's:
``{"project": {..., "links": {"self": url}}}``, collections ``{"projects": [...], "links":
{"self", "previous", "next"}}``; 201 on create, 204 on delete and on grant changes; errors
``{"error": {"code", "title", "message"}}`` (409 for a duplicate name). Users never show a
password hash. Attributes shoal does not store (``email``, user ``description``, role
``description``, ...) are accepted and ignored; project ``tags``, hierarchies
(``parent_id`` other than the domain) and ``is_domain`` are refused with 400.

``POST /users/{id}/password`` needs no token (as in Keystone: a user whose password expired
must be able to change it): the original password is the credential. It revokes the user's
tokens, as any password change does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any

import pydantic
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from shoal import errors
from shoal.api._app import PREFIX_KEY, PUBLIC_URL_KEY
from shoal.api._body import parse_model
from shoal.api._context import RequestContext, request_context, require_role
from shoal.api._errors import BadRequest
from shoal.api._versions import base_url
from shoal.services.identity import (
    DEFAULT_DOMAIN_ID,
    UNCHANGED,
    AssignmentInfo,
    DomainInfo,
    DomainRef,
    IdentityAdmin,
    IdentityService,
    ProjectInfo,
    ProjectRef,
    RoleInfo,
    Unchanged,
    UserInfo,
    UserRef,
)
from shoal.services.identity.models import NAME_LENGTH_MAX

__all__ = ["identity_admin_routes"]

Handler = Callable[[Request], Awaitable[Response]]

# ---------------------------------------------------------------------------------------------
# request bodies (strict types: "true" is no boolean; unknown attributes are ignored)

#: A domain, project, user or role name: 1 to NAME_LENGTH_MAX characters.
_Name = Annotated[str, pydantic.StringConstraints(min_length=1, max_length=NAME_LENGTH_MAX)]


class _Body(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(strict=True, extra="ignore")

    def require_not_null(self, *fields: str) -> None:
        """400 for a field sent as JSON ``null`` that may be left out but not be null."""
        for name in fields:
            if name in self.model_fields_set and getattr(self, name) is None:
                raise BadRequest(f"Invalid input for field {name!r}: it must not be null.")


class _DomainCreate(_Body):
    name: _Name
    description: str | None = None
    enabled: bool = True


class _ProjectCreate(_Body):
    name: _Name
    domain_id: str | None = None
    description: str | None = None
    enabled: bool = True
    parent_id: str | None = None
    is_domain: bool = False
    tags: list[str] = pydantic.Field(default_factory=list)


class _ProjectUpdate(_Body):
    name: _Name | None = None
    domain_id: str | None = None
    description: str | None = None
    enabled: bool | None = None
    is_domain: bool | None = None
    tags: list[str] | None = None


class _UserCreate(_Body):
    name: _Name
    domain_id: str | None = None
    password: str | None = None
    enabled: bool = True
    default_project_id: str | None = None


class _UserUpdate(_Body):
    name: _Name | None = None
    domain_id: str | None = None
    password: str | None = None
    enabled: bool | None = None
    default_project_id: str | None = None


class _PasswordChange(_Body):
    password: str
    original_password: str


class _RoleCreate(_Body):
    name: _Name
    domain_id: str | None = None


# ---------------------------------------------------------------------------------------------
# views


def _root(request: Request) -> str:
    """The identity service's versioned URL, ``http://host:port/identity/v3``."""
    public = request.scope.get(PUBLIC_URL_KEY)
    prefix = request.scope.get(PREFIX_KEY, "/identity")
    return f"{base_url(request, public if isinstance(public, str) else None)}{prefix}/v3"


def _self_link(request: Request) -> str:
    """The URL of this request (with its query), for a collection's ``links.self``."""
    public = request.scope.get(PUBLIC_URL_KEY)
    url = base_url(request, public if isinstance(public, str) else None) + request.url.path
    return f"{url}?{request.url.query}" if request.url.query else url


def _collection(request: Request, key: str, items: Sequence[dict[str, Any]]) -> JSONResponse:
    links = {"self": _self_link(request), "previous": None, "next": None}
    return JSONResponse({key: list(items), "links": links})


def _domain(root: str, domain: DomainInfo) -> dict[str, Any]:
    return {
        "id": domain.id,
        "name": domain.name,
        "description": domain.description,
        "enabled": domain.enabled,
        "tags": [],
        "options": {},
        "links": {"self": f"{root}/domains/{domain.id}"},
    }


def _project(root: str, project: ProjectInfo) -> dict[str, Any]:
    return {
        "id": project.id,
        "name": project.name,
        "domain_id": project.domain_id,
        "description": project.description,
        "enabled": project.enabled,
        "parent_id": project.domain_id,
        "is_domain": False,
        "tags": [],
        "options": {},
        "links": {"self": f"{root}/projects/{project.id}"},
    }


def _user(root: str, user: UserInfo) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": user.id,
        "name": user.name,
        "domain_id": user.domain_id,
        "enabled": user.enabled,
        "password_expires_at": None,
        "options": {},
        "links": {"self": f"{root}/users/{user.id}"},
    }
    if user.default_project_id is not None:
        view["default_project_id"] = user.default_project_id
    return view


def _role(root: str, role: RoleInfo) -> dict[str, Any]:
    return {
        "id": role.id,
        "name": role.name,
        "domain_id": None,
        "description": None,
        "options": {},
        "links": {"self": f"{root}/roles/{role.id}"},
    }


def _assignment(root: str, item: AssignmentInfo, names: bool) -> dict[str, Any]:
    user: dict[str, Any] = {"id": item.user.id}
    project: dict[str, Any] = {"id": item.project.id}
    role: dict[str, Any] = {"id": item.role.id}
    if names:
        user = item.user.to_json()
        project = item.project.to_json()
        role = item.role.to_json()
    granted = item.prior_role_id or item.role.id
    links = {"assignment": f"{root}/projects/{item.project.id}/users/{item.user.id}"
                           f"/roles/{granted}"}
    if item.prior_role_id is not None:
        links["prior_role"] = f"{root}/roles/{item.prior_role_id}/implies/{item.role.id}"
    return {"user": user, "scope": {"project": project}, "role": role, "links": links}


# ---------------------------------------------------------------------------------------------
# query parameters and policy


def _flag(request: Request, name: str) -> bool | None:
    """Keystone's reading of a boolean query parameter: absent None; ``0``/``false`` False;
    anything else (an empty value too, ``?effective``) True."""
    value = request.query_params.get(name)
    if value is None:
        return None
    return value.strip().lower() not in ("0", "false")


def _self_or_admin(context: RequestContext, user_id: str, action: str) -> None:
    if not (context.is_admin or context.user_id == user_id):
        raise _denied(action, "an admin or the user itself")


def _check_unsupported(tags: list[str] | None, is_domain: bool | None) -> None:
    if tags:
        raise BadRequest("Invalid input for field 'tags': project tags are not supported.")
    if is_domain:
        raise BadRequest(
            "Invalid input for field 'is_domain': projects acting as domains are not supported."
        )


def _denied(action: str, who: str) -> errors.PermissionDenied:
    return errors.PermissionDenied(
        f"You are not authorized to perform the requested action: identity:{action}"
        f" (only {who} may)."
    )


def _conflict(exc: errors.AlreadyExists, kind: str) -> errors.AlreadyExists:
    """Keystone's wording of a duplicate (409)."""
    return errors.AlreadyExists(f"Conflict occurred attempting to store {kind} - {exc.message}.")


class _Admin:
    """The endpoints; each identity call runs in Starlette's thread pool (the service is
    synchronous)."""

    def __init__(self, service: IdentityService) -> None:
        self.service = service
        self.admin = IdentityAdmin(service)

    async def _admin_context(self, request: Request) -> RequestContext:
        context = await request_context(request)
        require_role(context, "admin")
        return context

    async def _default_domain(self, context: RequestContext) -> str:
        """Keystone's domain for a create without ``domain_id``: the token's project's."""
        if context.project_id is None:
            return context.domain_id or DEFAULT_DOMAIN_ID
        project = await run_in_threadpool(self.admin.project, context.project_id)
        return project.domain_id

    # -- domains ---------------------------------------------------------------------------

    async def list_domains(self, request: Request) -> Response:
        await self._admin_context(request)
        found = await run_in_threadpool(
            self.admin.find_domains,
            name=request.query_params.get("name"),
            enabled=_flag(request, "enabled"),
        )
        return _collection(request, "domains", [_domain(_root(request), d) for d in found])

    async def create_domain(self, request: Request) -> Response:
        await self._admin_context(request)
        body = await parse_model(request, _DomainCreate, "domain")
        try:
            made = await run_in_threadpool(
                self.service.create_domain,
                body.name,
                description=body.description or "",
                enabled=body.enabled,
            )
        except errors.AlreadyExists as exc:
            raise _conflict(exc, "domain") from None
        return JSONResponse({"domain": _domain(_root(request), made)}, status_code=201)

    async def get_domain(self, request: Request) -> Response:
        context = await request_context(request)
        domain_id = request.path_params["domain_id"]
        if not context.is_admin and domain_id != context.domain_id:
            own = None
            if context.project_id is not None:
                own = await run_in_threadpool(self.admin.project, context.project_id)
            if own is None or own.domain_id != domain_id:
                raise _denied("get_domain", "an admin or a user of the domain")
        found = await run_in_threadpool(self.admin.domain, domain_id)
        return JSONResponse({"domain": _domain(_root(request), found)})

    # -- projects --------------------------------------------------------------------------

    async def list_projects(self, request: Request) -> Response:
        await self._admin_context(request)
        query = request.query_params
        found = await run_in_threadpool(
            self.admin.find_projects,
            name=query.get("name"),
            domain_id=query.get("domain_id"),
            enabled=_flag(request, "enabled"),
        )
        return _collection(request, "projects", [_project(_root(request), p) for p in found])

    async def create_project(self, request: Request) -> Response:
        context = await self._admin_context(request)
        body = await parse_model(request, _ProjectCreate, "project")
        _check_unsupported(body.tags, body.is_domain)
        domain_id = body.domain_id or await self._default_domain(context)
        if body.parent_id is not None and body.parent_id != domain_id:
            raise BadRequest(
                "Invalid input for field 'parent_id': project hierarchies are not supported;"
                " leave it out or give the project's domain_id."
            )
        try:
            await run_in_threadpool(self.admin.domain, domain_id)
        except errors.NotFound:
            raise BadRequest(
                f"Invalid input for field 'domain_id': domain {domain_id} does not exist."
            ) from None
        try:
            made = await run_in_threadpool(
                self.service.create_project,
                body.name,
                domain=DomainRef(id=domain_id),
                description=body.description or "",
                enabled=body.enabled,
            )
        except errors.AlreadyExists as exc:
            raise _conflict(exc, "project") from None
        return JSONResponse({"project": _project(_root(request), made)}, status_code=201)

    async def get_project(self, request: Request) -> Response:
        context = await request_context(request)
        project_id = request.path_params["project_id"]
        if not context.is_admin and context.project_id != project_id:
            raise _denied("get_project", "an admin or a token scoped to the project")
        found = await run_in_threadpool(self.admin.project, project_id)
        return JSONResponse({"project": _project(_root(request), found)})

    async def update_project(self, request: Request) -> Response:
        await self._admin_context(request)
        project_id = request.path_params["project_id"]
        body = await parse_model(request, _ProjectUpdate, "project")
        body.require_not_null("name", "enabled")
        _check_unsupported(body.tags, body.is_domain)
        current = await run_in_threadpool(self.admin.project, project_id)
        if body.domain_id is not None and body.domain_id != current.domain_id:
            raise BadRequest("Invalid input for field 'domain_id': it cannot be changed.")
        try:
            changed = await run_in_threadpool(
                self.admin.update_project,
                project_id,
                name=body.name,
                description=body.description,
                enabled=body.enabled,
            )
        except errors.AlreadyExists as exc:
            raise _conflict(exc, "project") from None
        return JSONResponse({"project": _project(_root(request), changed)})

    async def delete_project(self, request: Request) -> Response:
        await self._admin_context(request)
        project_id = request.path_params["project_id"]
        await run_in_threadpool(self.admin.project, project_id)  # Keystone's 404 wording
        await run_in_threadpool(self.service.delete_project, ProjectRef(id=project_id))
        return Response(status_code=204)

    # -- users -----------------------------------------------------------------------------

    async def list_users(self, request: Request) -> Response:
        await self._admin_context(request)
        query = request.query_params
        found = await run_in_threadpool(
            self.admin.find_users,
            name=query.get("name"),
            domain_id=query.get("domain_id"),
            enabled=_flag(request, "enabled"),
        )
        return _collection(request, "users", [_user(_root(request), u) for u in found])

    async def create_user(self, request: Request) -> Response:
        context = await self._admin_context(request)
        body = await parse_model(request, _UserCreate, "user")
        domain_id = body.domain_id or await self._default_domain(context)
        try:
            made = await run_in_threadpool(
                self.admin.create_user,
                body.name,
                body.password,
                domain_id=domain_id,
                default_project_id=body.default_project_id,
                enabled=body.enabled,
            )
        except errors.AlreadyExists as exc:
            raise _conflict(exc, "user") from None
        return JSONResponse({"user": _user(_root(request), made)}, status_code=201)

    async def get_user(self, request: Request) -> Response:
        context = await request_context(request)
        user_id = request.path_params["user_id"]
        _self_or_admin(context, user_id, "get_user")
        found = await run_in_threadpool(self.admin.user, user_id)
        return JSONResponse({"user": _user(_root(request), found)})

    async def update_user(self, request: Request) -> Response:
        await self._admin_context(request)
        user_id = request.path_params["user_id"]
        body = await parse_model(request, _UserUpdate, "user")
        body.require_not_null("name", "enabled")
        current = await run_in_threadpool(self.admin.user, user_id)
        if body.domain_id is not None and body.domain_id != current.domain_id:
            raise BadRequest("Invalid input for field 'domain_id': it cannot be changed.")
        default_project: str | Unchanged | None = UNCHANGED
        if "default_project_id" in body.model_fields_set:
            default_project = body.default_project_id
        try:
            changed = await run_in_threadpool(
                self.admin.update_user,
                user_id,
                name=body.name,
                enabled=body.enabled,
                password=body.password,
                default_project_id=default_project,
            )
        except errors.AlreadyExists as exc:
            raise _conflict(exc, "user") from None
        return JSONResponse({"user": _user(_root(request), changed)})

    async def delete_user(self, request: Request) -> Response:
        await self._admin_context(request)
        user_id = request.path_params["user_id"]
        await run_in_threadpool(self.admin.user, user_id)  # Keystone's 404 wording
        await run_in_threadpool(self.service.delete_user, UserRef(id=user_id))
        return Response(status_code=204)

    async def user_projects(self, request: Request) -> Response:
        context = await request_context(request)
        user_id = request.path_params["user_id"]
        _self_or_admin(context, user_id, "list_user_projects")
        found = await run_in_threadpool(self.admin.user_projects, user_id)
        return _collection(request, "projects", [_project(_root(request), p) for p in found])

    async def change_password(self, request: Request) -> Response:
        body = await parse_model(request, _PasswordChange, "user")
        await run_in_threadpool(
            self.admin.change_password,
            request.path_params["user_id"],
            body.original_password,
            body.password,
        )
        return Response(status_code=204)

    # -- roles -----------------------------------------------------------------------------

    async def list_roles(self, request: Request) -> Response:
        await self._admin_context(request)
        found = await run_in_threadpool(
            self.admin.find_roles, name=request.query_params.get("name")
        )
        return _collection(request, "roles", [_role(_root(request), r) for r in found])

    async def create_role(self, request: Request) -> Response:
        await self._admin_context(request)
        body = await parse_model(request, _RoleCreate, "role")
        if body.domain_id is not None:
            raise BadRequest(
                "Invalid input for field 'domain_id': domain-specific roles are not supported."
            )
        try:
            made = await run_in_threadpool(self.service.create_role, body.name)
        except errors.AlreadyExists as exc:
            raise _conflict(exc, "role") from None
        return JSONResponse({"role": _role(_root(request), made)}, status_code=201)

    async def get_role(self, request: Request) -> Response:
        await self._admin_context(request)
        found = await run_in_threadpool(self.admin.role, request.path_params["role_id"])
        return JSONResponse({"role": _role(_root(request), found)})

    async def delete_role(self, request: Request) -> Response:
        await self._admin_context(request)
        await run_in_threadpool(self.admin.delete_role, request.path_params["role_id"])
        return Response(status_code=204)

    # -- grants on projects ----------------------------------------------------------------

    async def put_grant(self, request: Request) -> Response:
        await self._admin_context(request)
        await run_in_threadpool(self.admin.grant, *_grant_ids(request))
        return Response(status_code=204)

    async def check_grant(self, request: Request) -> Response:
        await self._admin_context(request)
        user_id, project_id, role_id = _grant_ids(request)
        if not await run_in_threadpool(self.admin.has_grant, user_id, project_id, role_id):
            raise errors.NotFound(
                f"Could not find role assignment: user {user_id} has no role {role_id}"
                f" on project {project_id}."
            )
        return Response(status_code=204)

    async def delete_grant(self, request: Request) -> Response:
        await self._admin_context(request)
        await run_in_threadpool(self.admin.revoke, *_grant_ids(request))
        return Response(status_code=204)

    async def list_grants(self, request: Request) -> Response:
        await self._admin_context(request)
        params = request.path_params
        found = await run_in_threadpool(
            self.admin.granted_roles, params["user_id"], params["project_id"]
        )
        root = _root(request)
        views = [{k: v for k, v in _role(root, r).items() if k != "description"} for r in found]
        return _collection(request, "roles", views)

    async def role_assignments(self, request: Request) -> Response:
        await self._admin_context(request)
        query = request.query_params
        if query.get("user.id") and query.get("group.id"):
            raise BadRequest("Specify a user or group, not both.")
        if query.get("scope.project.id") and query.get("scope.domain.id"):
            raise BadRequest("Specify a domain or project, not both.")
        found: list[AssignmentInfo] = []  # shoal has no groups, domain or system grants
        if not any(query.get(k) for k in ("group.id", "scope.domain.id", "scope.system")):
            found = await run_in_threadpool(
                self.admin.assignments,
                user_id=query.get("user.id"),
                project_id=query.get("scope.project.id"),
                role_id=query.get("role.id"),
                effective=bool(_flag(request, "effective")),
            )
        names, root = bool(_flag(request, "include_names")), _root(request)
        views = [_assignment(root, a, names) for a in found]
        return _collection(request, "role_assignments", views)

    async def auth_projects(self, request: Request) -> Response:
        context = await request_context(request)
        found = await run_in_threadpool(
            self.admin.user_projects, context.user_id, usable_only=True
        )
        return _collection(request, "projects", [_project(_root(request), p) for p in found])

    def routes(self) -> list[BaseRoute]:
        grant = "/projects/{project_id}/users/{user_id}/roles/{role_id}"
        table: list[tuple[str, Handler, str]] = [
            ("/domains", self.list_domains, "GET"),
            ("/domains", self.create_domain, "POST"),
            ("/domains/{domain_id}", self.get_domain, "GET"),
            ("/projects", self.list_projects, "GET"),
            ("/projects", self.create_project, "POST"),
            ("/projects/{project_id}", self.get_project, "GET"),
            ("/projects/{project_id}", self.update_project, "PATCH"),
            ("/projects/{project_id}", self.delete_project, "DELETE"),
            ("/projects/{project_id}/users/{user_id}/roles", self.list_grants, "GET"),
            (grant, self.put_grant, "PUT"),
            (grant, self.check_grant, "GET"),
            (grant, self.delete_grant, "DELETE"),
            ("/users", self.list_users, "GET"),
            ("/users", self.create_user, "POST"),
            ("/users/{user_id}", self.get_user, "GET"),
            ("/users/{user_id}", self.update_user, "PATCH"),
            ("/users/{user_id}", self.delete_user, "DELETE"),
            ("/users/{user_id}/projects", self.user_projects, "GET"),
            ("/users/{user_id}/password", self.change_password, "POST"),
            ("/roles", self.list_roles, "GET"),
            ("/roles", self.create_role, "POST"),
            ("/roles/{role_id}", self.get_role, "GET"),
            ("/roles/{role_id}", self.delete_role, "DELETE"),
            ("/role_assignments", self.role_assignments, "GET"),
            ("/auth/projects", self.auth_projects, "GET"),
        ]
        # a GET route answers HEAD too (Starlette), as Keystone's do
        return [Route(path, handler, methods=[method]) for path, handler, method in table]


def _grant_ids(request: Request) -> tuple[str, str, str]:
    """(user id, project id, role id) of a ``/projects/{p}/users/{u}/roles/{r}`` path."""
    params = request.path_params
    return params["user_id"], params["project_id"], params["role_id"]


def identity_admin_routes(service: IdentityService) -> list[BaseRoute]:
    """Routes under ``/identity/v3`` for :func:`shoal.api.identity_app` (see the module doc),
    to mount with :func:`shoal.api.identity_routes`::

        identity_app(routes=[*identity_routes(service), *identity_admin_routes(service)],
                     validator=IdentityTokenValidator(service))
    """
    return _Admin(service).routes()
