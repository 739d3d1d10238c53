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

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from shoal import errors
from shoal.api._app import PREFIX_KEY, PUBLIC_URL_KEY
from shoal.api._body import read_valid_object
from shoal.api._context import RequestContext, request_context, require_role
from shoal.api._errors import BadRequest
from shoal.api._validation import KEYSTONE
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
# request bodies: Keystone's JSON schemas (draft 2020-12; "true" is no boolean; attributes
# shoal does not store are allowed and ignored, as Keystone's additionalProperties: true)

#: A domain, project, user or role name: 1 to NAME_LENGTH_MAX characters, not all blank.
_NAME: Final[Mapping[str, Any]] = {
    "type": "string", "minLength": 1, "maxLength": NAME_LENGTH_MAX, "pattern": r"[\S]+",
}
#: An id another attribute refers to (Keystone's ``id_string``), or null.
_ID_OR_NULL: Final[Mapping[str, Any]] = {
    "type": ["string", "null"], "minLength": 1, "maxLength": 64, "pattern": "^[a-zA-Z0-9-]+$",
}
_TEXT_OR_NULL: Final[Mapping[str, Any]] = {"type": ["string", "null"]}
_BOOLEAN: Final[Mapping[str, Any]] = {"type": "boolean"}
#: Project tags (shoal refuses any after validation: they are not stored).
_TAGS: Final[Mapping[str, Any]] = {
    "type": "array", "maxItems": 80, "uniqueItems": True,
    "items": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[^,/]*$"},
}


def _object(properties: Mapping[str, Any], *, required: Sequence[str] = (),
            update: bool = False) -> dict[str, Any]:
    """A body object's schema; ``update`` asks for at least one attribute (PATCH)."""
    schema: dict[str, Any] = {"type": "object", "properties": dict(properties),
                              "additionalProperties": True}
    if required:
        schema["required"] = list(required)
    if update:
        schema["minProperties"] = 1
    return schema


_DOMAIN_CREATE: Final = _object(
    {"name": _NAME, "description": _TEXT_OR_NULL, "enabled": _BOOLEAN}, required=["name"])
_PROJECT_PROPERTIES: Final[Mapping[str, Any]] = {
    "name": _NAME, "description": _TEXT_OR_NULL, "domain_id": _ID_OR_NULL,
    "enabled": _BOOLEAN, "is_domain": _BOOLEAN, "parent_id": _ID_OR_NULL, "tags": _TAGS,
}
_PROJECT_CREATE: Final = _object(_PROJECT_PROPERTIES, required=["name"])
_PROJECT_UPDATE: Final = _object(_PROJECT_PROPERTIES, update=True)
_USER_PROPERTIES: Final[Mapping[str, Any]] = {
    "name": _NAME, "domain_id": _ID_OR_NULL, "password": _TEXT_OR_NULL,
    "enabled": _BOOLEAN, "default_project_id": _ID_OR_NULL, "description": _TEXT_OR_NULL,
}
_USER_CREATE: Final = _object(_USER_PROPERTIES, required=["name"])
_USER_UPDATE: Final = _object(_USER_PROPERTIES, update=True)
_PASSWORD_CHANGE: Final = _object(
    {"password": {"type": "string"}, "original_password": {"type": "string"}},
    required=["password", "original_password"])
_ROLE_CREATE: Final = _object(
    {"name": _NAME, "domain_id": _ID_OR_NULL, "description": _TEXT_OR_NULL},
    required=["name"])


async def _body(request: Request, schema: Mapping[str, Any], root_key: str) -> dict[str, Any]:
    """``{root_key: {...}}``'s object, checked against ``schema`` as Keystone checks it.

    Raises:
        BadRequest: malformed JSON, no object under ``root_key``, or the schema refuses it
            ("Invalid input for field '<name>': <reason>", 400).
    """
    return await read_valid_object(request, schema, KEYSTONE, root_key)


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


def _check_unsupported(project: Mapping[str, Any]) -> None:
    """Refuse what shoal's projects cannot hold: tags, acting as a domain (400)."""
    if project.get("tags"):
        raise BadRequest("Invalid input for field 'tags': project tags are not supported.")
    if project.get("is_domain"):
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
        body = await _body(request, _DOMAIN_CREATE, "domain")
        try:
            made = await run_in_threadpool(
                self.service.create_domain,
                body["name"],
                description=body.get("description") or "",
                enabled=body.get("enabled", True),
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
        body = await _body(request, _PROJECT_CREATE, "project")
        _check_unsupported(body)
        domain_id = body.get("domain_id") or await self._default_domain(context)
        parent_id = body.get("parent_id")
        if parent_id is not None and parent_id != domain_id:
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
                body["name"],
                domain=DomainRef(id=domain_id),
                description=body.get("description") or "",
                enabled=body.get("enabled", True),
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
        body = await _body(request, _PROJECT_UPDATE, "project")
        _check_unsupported(body)
        current = await run_in_threadpool(self.admin.project, project_id)
        domain_id = body.get("domain_id")
        if domain_id is not None and domain_id != current.domain_id:
            raise BadRequest("Invalid input for field 'domain_id': it cannot be changed.")
        try:
            changed = await run_in_threadpool(
                self.admin.update_project,
                project_id,
                name=body.get("name"),
                description=body.get("description"),
                enabled=body.get("enabled"),
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
        body = await _body(request, _USER_CREATE, "user")
        domain_id = body.get("domain_id") or await self._default_domain(context)
        try:
            made = await run_in_threadpool(
                self.admin.create_user,
                body["name"],
                body.get("password"),
                domain_id=domain_id,
                default_project_id=body.get("default_project_id"),
                enabled=body.get("enabled", True),
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
        body = await _body(request, _USER_UPDATE, "user")
        current = await run_in_threadpool(self.admin.user, user_id)
        domain_id = body.get("domain_id")
        if domain_id is not None and domain_id != current.domain_id:
            raise BadRequest("Invalid input for field 'domain_id': it cannot be changed.")
        default_project: str | Unchanged | None = UNCHANGED
        if "default_project_id" in body:
            default_project = body["default_project_id"]
        try:
            changed = await run_in_threadpool(
                self.admin.update_user,
                user_id,
                name=body.get("name"),
                enabled=body.get("enabled"),
                password=body.get("password"),
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
        body = await _body(request, _PASSWORD_CHANGE, "user")
        await run_in_threadpool(
            self.admin.change_password,
            request.path_params["user_id"],
            body["original_password"],
            body["password"],
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
        body = await _body(request, _ROLE_CREATE, "role")
        if body.get("domain_id") is not None:
            raise BadRequest(
                "Invalid input for field 'domain_id': domain-specific roles are not supported."
            )
        try:
            made = await run_in_threadpool(self.service.create_role, body["name"])
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
