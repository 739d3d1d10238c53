"""Cinder v3's admin and informational routes: ``os-services``, ``capabilities``,
``scheduler-stats``, ``os-hosts``, ``extensions``, ``os-quota-sets``,
``os-quota-class-sets``, volume type administration (create, update, delete, extra specs,
access, the ``is_public`` listing), ``messages`` (3.3+), and those of :mod:`.qos`
(``/qos-specs``) and :mod:`.encryption` (``/types/{id}/encryption``).

Joined into :func:`shoal.api.cinder.routes.volume_routes` (ahead of its own routes, so
``GET /types`` is served here). The services enforce the policy (admin-only where Cinder
says so); the handlers parse with :mod:`.admin_rules` and render with
:mod:`.admin_views` / :mod:`.service_views`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from shoal import errors
from shoal._time import utcnow
from shoal.api._body import read_json
from shoal.api._context import request_context
from shoal.api._errors import BadRequest
from shoal.api._ids import uuid_or_not_found
from shoal.api._microversion import APIVersion, api_version
from shoal.api.cinder import admin_rules as rules
from shoal.api.cinder import admin_views, service_views
from shoal.api.cinder import microversions as mv
from shoal.api.cinder.encryption import encryption_routes
from shoal.api.cinder.options import USER_VISIBLE_EXTRA_SPECS, VolumeApiOptions
from shoal.api.cinder.qos import qos_routes
from shoal.api.cinder.routes import view_context
from shoal.api.cinder.update import parse_volume_type_create, parse_volume_type_update
from shoal.services.volume import VolumeServices

__all__ = ["MESSAGES_VERSION", "admin_routes"]

#: ``/messages`` exists from this microversion on.
MESSAGES_VERSION: Final = APIVersion(3, 3)

_Handler = Callable[[Request], Awaitable[Response]]


def _json(body: Any, status_code: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status_code)


def _query_flag(request: Request, name: str) -> bool:
    """A boolean query parameter (``detail``, ``usage``); absent is False.

    Raises:
        BadRequest: a value that is no boolean.
    """
    value = request.query_params.get(name)
    if value is None:
        return False
    parsed = rules.parse_bool_text(value)
    if parsed is None:
        raise BadRequest(f"Invalid value '{value}' for {name}: use true or false")
    return parsed


class _Admin:
    """The handlers (one instance per app)."""

    def __init__(self, services: VolumeServices, options: VolumeApiOptions) -> None:
        self.volumes = services.volumes
        self.admin = services.admin
        self.types = services.types
        self.quota_sets = services.quota_sets
        self.messages = services.messages
        self.backups_served = services.backups is not None
        self.options = options

    # --- os-services -----------------------------------------------------------------------
    async def list_services(self, request: Request) -> Response:
        context = await request_context(request)
        ctx = view_context(request, context)
        records = await run_in_threadpool(lambda: self.admin.list_services(
            context, host=request.query_params.get("host"),
            binary=request.query_params.get("binary"),
            with_state=ctx.at_least(mv.BACKEND_STATE_REPORT)))
        return _json(service_views.services_body(records, ctx, now=utcnow(),
                                                 options=self.options))

    async def update_service(self, request: Request) -> Response:
        context = await request_context(request)
        update = rules.parse_service_update(request.path_params["action"],
                                            await read_json(request))
        if update.binary is None:
            await run_in_threadpool(lambda: self.admin.set_frozen(
                context, update.host, frozen=update.action == "freeze"))
            return Response(status_code=200)
        binary = update.binary
        record = await run_in_threadpool(lambda: self.admin.set_disabled(
            context, update.host, binary, disabled=update.action != "enable",
            reason=update.reason))
        return _json(admin_views.service_update_body(record, update.action))

    # --- backends --------------------------------------------------------------------------
    async def capabilities(self, request: Request) -> Response:
        context = await request_context(request)
        host = request.path_params["host"]
        _backend, stats = await run_in_threadpool(self.admin.capabilities, context, host)
        return _json(admin_views.capabilities_body(host, stats))

    async def get_pools(self, request: Request) -> Response:
        context = await request_context(request)
        detail = _query_flag(request, "detail")
        pools = await run_in_threadpool(self.admin.pools, context)
        name = request.query_params.get("name")
        if name is not None:
            pools = [p for p in pools if p.name == name]
        return _json(admin_views.pools_body(pools, detail=detail))

    async def list_hosts(self, request: Request) -> Response:
        context = await request_context(request)
        records = await run_in_threadpool(self.admin.hosts, context)
        return _json(admin_views.hosts_body(
            records, now=utcnow(), options=self.options,
            zone=request.query_params.get("zone"),
            service=request.query_params.get("service")))

    async def show_host(self, request: Request) -> Response:
        context = await request_context(request)
        host = request.path_params["host"]
        usages = await run_in_threadpool(self.admin.host_usage, context, host)
        return _json(admin_views.host_body(host, usages))

    async def extensions(self, request: Request) -> Response:
        context = await request_context(request)
        return _json(admin_views.extensions_body(view_context(request, context),
                                                 backups=self.backups_served))

    # --- quotas ----------------------------------------------------------------------------
    async def show_quota_set(self, request: Request) -> Response:
        context = await request_context(request)
        usage = _query_flag(request, "usage")
        quota_set = await run_in_threadpool(lambda: self.quota_sets.show(
            context, request.path_params["project_id"], usage=usage))
        return _json(admin_views.quota_set_body(quota_set))

    async def quota_defaults(self, request: Request) -> Response:
        context = await request_context(request)
        quota_set = await run_in_threadpool(self.quota_sets.defaults_for, context,
                                            request.path_params["project_id"])
        return _json(admin_views.quota_set_body(quota_set))

    async def update_quota_set(self, request: Request) -> Response:
        context = await request_context(request)
        update = rules.parse_quota_update(await read_json(request))
        quota_set = await run_in_threadpool(lambda: self.quota_sets.update(
            context, request.path_params["project_id"], update.limits,
            skip_validation=update.skip_validation))
        return _json(admin_views.quota_set_body(quota_set, with_id=False))

    async def delete_quota_set(self, request: Request) -> Response:
        context = await request_context(request)
        await run_in_threadpool(self.quota_sets.reset, context,
                                request.path_params["project_id"])
        return Response(status_code=200)

    async def show_quota_class(self, request: Request) -> Response:
        context = await request_context(request)
        quota_set = await run_in_threadpool(self.quota_sets.class_defaults, context,
                                            request.path_params["class_name"])
        return _json(admin_views.quota_class_body(quota_set))

    async def update_quota_class(self, request: Request) -> Response:
        context = await request_context(request)
        limits = rules.parse_quota_class_update(await read_json(request))
        quota_set = await run_in_threadpool(self.quota_sets.update_class, context,
                                            request.path_params["class_name"], limits)
        return _json(admin_views.quota_class_body(quota_set, with_id=False))

    # --- volume types ----------------------------------------------------------------------
    async def list_types(self, request: Request) -> Response:
        context = await request_context(request)
        is_public = rules.parse_is_public(request.query_params.get("is_public"))
        records = await run_in_threadpool(self.types.list_types, context, is_public)
        return _json(service_views.volume_types_body(
            records, view_context(request, context), limit=self.options.osapi_max_limit))

    async def create_type(self, request: Request) -> Response:
        context = await request_context(request)
        new = parse_volume_type_create(await read_json(request))
        record = await run_in_threadpool(lambda: self.volumes.create_type(
            context, new.name, description=new.description, is_public=new.is_public,
            extra_specs=dict(new.extra_specs)))
        return _json(service_views.volume_type_body(record, view_context(request, context),
                                                    purpose="create"))

    async def update_type(self, request: Request) -> Response:
        context = await request_context(request)
        update = parse_volume_type_update(await read_json(request))
        record = await run_in_threadpool(lambda: self.types.update(
            context, request.path_params["type_id"], name=update.name,
            description=update.description, set_description=update.description is not None,
            is_public=update.is_public))
        return _json(service_views.volume_type_body(record, view_context(request, context),
                                                    purpose="update"))

    async def delete_type(self, request: Request) -> Response:
        context = await request_context(request)
        await run_in_threadpool(self.types.delete, context, request.path_params["type_id"])
        return Response(status_code=202)

    async def extra_specs(self, request: Request) -> Response:
        context = await request_context(request)
        type_id = request.path_params["type_id"]
        if request.method == "POST":
            specs = rules.parse_extra_specs(await read_json(request))
            done = await run_in_threadpool(self.types.set_extra_specs, context, type_id,
                                           specs)
            return _json({"extra_specs": done})
        found = await run_in_threadpool(self.types.extra_specs, context, type_id)
        if not context.is_admin:
            found = {k: val for k, val in found.items() if k in USER_VISIBLE_EXTRA_SPECS}
        return _json({"extra_specs": found})

    async def extra_spec(self, request: Request) -> Response:
        context = await request_context(request)
        type_id = request.path_params["type_id"]
        key = request.path_params["key"]
        if request.method == "DELETE":
            await run_in_threadpool(self.types.delete_extra_spec, context, type_id, key)
            return Response(status_code=202)
        if request.method == "PUT":
            key, value = rules.parse_extra_spec_item(await read_json(request), key)
            done = await run_in_threadpool(self.types.set_extra_specs, context, type_id,
                                           {key: value})
            return _json(done)
        found = await run_in_threadpool(self.types.extra_specs, context, type_id)
        visible = context.is_admin or key in USER_VISIBLE_EXTRA_SPECS
        if key not in found or not visible:
            raise _no_spec(type_id, key)
        return _json({key: found[key]})

    async def type_access(self, request: Request) -> Response:
        context = await request_context(request)
        type_id = request.path_params["type_id"]
        projects = await run_in_threadpool(self.types.access, context, type_id)
        return _json(admin_views.type_access_body(type_id, projects))

    async def type_action(self, request: Request) -> Response:
        context = await request_context(request)
        add, project = rules.parse_type_access_action(await read_json(request))
        await run_in_threadpool(lambda: self.types.set_access(
            context, request.path_params["type_id"], project, add=add))
        return Response(status_code=202)

    # --- messages (3.3+) -------------------------------------------------------------------
    async def list_messages(self, request: Request) -> Response:
        context = await request_context(request)
        mv.require_version(api_version(request), MESSAGES_VERSION)
        records = await run_in_threadpool(self.messages.list_messages, context)
        return _json(admin_views.messages_body(records, view_context(request, context)))

    async def message(self, request: Request) -> Response:
        context = await request_context(request)
        mv.require_version(api_version(request), MESSAGES_VERSION)
        message_id = uuid_or_not_found(request.path_params["message_id"], "Message")
        if request.method == "DELETE":
            await run_in_threadpool(self.messages.delete, context, message_id)
            return Response(status_code=204)
        record = await run_in_threadpool(self.messages.get, context, message_id)
        return _json(admin_views.message_body(record, view_context(request, context)))


def _no_spec(type_id: str, key: str) -> errors.NotFound:
    return errors.NotFound(f"Volume Type {type_id} has no extra specs with key {key}.")


def admin_routes(services: VolumeServices, options: VolumeApiOptions) -> list[BaseRoute]:
    """The admin and informational routes under ``/volume/v3``."""
    h = _Admin(services, options)
    vtype = "/types/{type_id}"
    quota = "/os-quota-sets/{project_id}"
    table: tuple[tuple[str, _Handler, tuple[str, ...]], ...] = (
        ("/os-services", h.list_services, ("GET",)),
        ("/os-services/{action}", h.update_service, ("PUT",)),
        ("/capabilities/{host}", h.capabilities, ("GET",)),
        ("/scheduler-stats/get_pools", h.get_pools, ("GET",)),
        ("/os-hosts", h.list_hosts, ("GET",)),
        ("/os-hosts/{host}", h.show_host, ("GET",)),
        ("/extensions", h.extensions, ("GET",)),
        (quota, h.show_quota_set, ("GET",)),
        (quota, h.update_quota_set, ("PUT",)),
        (quota, h.delete_quota_set, ("DELETE",)),
        (quota + "/defaults", h.quota_defaults, ("GET",)),
        ("/os-quota-class-sets/{class_name}", h.show_quota_class, ("GET",)),
        ("/os-quota-class-sets/{class_name}", h.update_quota_class, ("PUT",)),
        ("/types", h.list_types, ("GET",)),
        ("/types", h.create_type, ("POST",)),
        (vtype, h.update_type, ("PUT",)),
        (vtype, h.delete_type, ("DELETE",)),
        (vtype + "/extra_specs", h.extra_specs, ("GET", "POST")),
        (vtype + "/extra_specs/{key}", h.extra_spec, ("GET", "PUT", "DELETE")),
        (vtype + "/os-volume-type-access", h.type_access, ("GET",)),
        (vtype + "/action", h.type_action, ("POST",)),
        ("/messages", h.list_messages, ("GET",)),
        ("/messages/{message_id}", h.message, ("GET", "DELETE")),
    )
    return [*(Route(path, handler, methods=list(methods)) for path, handler, methods in table),
            *qos_routes(services.qos), *encryption_routes(services.encryption)]
