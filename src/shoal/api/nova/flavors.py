"""Nova v2.1 flavor routes over :class:`shoal.services.compute.Flavors`.

``/flavors`` (list, create: admins, 200 as Nova), ``/flavors/detail``, ``/flavors/{id}``
(show, update: 2.55+ admins, delete: admins, 202), ``/flavors/{id}/os-extra_specs`` (list,
create: admins; ``/{key}`` show, update, delete: 200 as Nova), ``/flavors/{id}/os-flavor-access``
(admins) and ``/flavors/{id}/action`` (``addTenantAccess``/``removeTenantAccess``, admins).

Bodies are checked against Nova's JSON schemas (Nova's 400 wording); views follow Nova's
microversions: ``description`` from 2.55, ``extra_specs`` in the flavor from 2.61, ``swap``
0 (not ``""``) from 2.75; lists refuse unknown query parameters from 2.75.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from shoal import errors
from shoal.api._body import read_json
from shoal.api._context import request_context
from shoal.api._errors import BadRequest
from shoal.api._microversion import APIVersion, api_version
from shoal.api._validation import CINDER
from shoal.api.nova._views import NovaViews, nova_views
from shoal.services.compute import FlavorQuery, FlavorRecord, Flavors, NewFlavor

__all__ = ["flavor_routes"]

_Handler = Callable[[Request], Awaitable[Response]]

V2_55: Final = APIVersion(2, 55)
V2_61: Final = APIVersion(2, 61)
V2_75: Final = APIVersion(2, 75)

_NAME: Final = {"type": "string", "minLength": 1, "maxLength": 255,
                "pattern": r"^(?! )[\S ]*(?<! )$"}
_POSITIVE: Final = {"type": ["integer", "string"], "pattern": "^[0-9]*$", "minimum": 1,
                    "maximum": 2147483647}
_NON_NEGATIVE: Final = {**_POSITIVE, "minimum": 0}
_BOOLEAN: Final = {"type": ["boolean", "string"],
                   "enum": [True, "True", "TRUE", "true", "1", "ON", "On", "on", "YES", "Yes",
                            "yes", False, "False", "FALSE", "false", "0", "OFF", "Off", "off",
                            "NO", "No", "no"]}
_DESCRIPTION: Final = {"type": ["string", "null"], "minLength": 0, "maxLength": 65535,
                       "pattern": r"^[^\x00-\x1f\x7f]*$"}
_FLAVOR_PROPERTIES: Final = {
    "name": _NAME,
    "id": {"type": ["string", "number", "null"], "minLength": 1, "maxLength": 255,
           "pattern": r"^(?! )[a-zA-Z0-9. _-]+(?<! )$"},
    "ram": _POSITIVE, "vcpus": _POSITIVE, "disk": _NON_NEGATIVE,
    "OS-FLV-EXT-DATA:ephemeral": _NON_NEGATIVE, "swap": _NON_NEGATIVE,
    "rxtx_factor": {"type": ["number", "string"], "pattern": r"^[0-9]+(\.[0-9]+)?$",
                    "exclusiveMinimum": 0, "maximum": 3.40282e38},
    "os-flavor-access:is_public": _BOOLEAN,
}


def _create_schema(version: APIVersion) -> dict[str, Any]:
    properties = dict(_FLAVOR_PROPERTIES)
    if version >= V2_55:
        properties["description"] = _DESCRIPTION
    return {"type": "object", "required": ["flavor"], "additionalProperties": False,
            "properties": {"flavor": {
                "type": "object", "properties": properties, "additionalProperties": False,
                "required": ["name", "ram", "vcpus", "disk"]}}}


_UPDATE_SCHEMA: Final = {
    "type": "object", "required": ["flavor"], "additionalProperties": False,
    "properties": {"flavor": {"type": "object", "required": ["description"],
                              "additionalProperties": False,
                              "properties": {"description": _DESCRIPTION}}}}
_EXTRA_SPECS: Final = {
    "type": "object", "minProperties": 1,
    "patternProperties": {r"^[a-zA-Z0-9-_:. ]{1,255}$": {
        "type": ["string", "number", "boolean"], "minLength": 0, "maxLength": 255}},
    "additionalProperties": False}
_EXTRA_SPECS_SCHEMA: Final = {"type": "object", "required": ["extra_specs"],
                              "additionalProperties": False,
                              "properties": {"extra_specs": _EXTRA_SPECS}}
_TENANT: Final = {"type": "object", "required": ["tenant"], "additionalProperties": False,
                  "properties": {"tenant": {"type": "string", "minLength": 1,
                                            "maxLength": 255}}}
_ACTION_SCHEMA: Final = {"type": "object", "minProperties": 1, "maxProperties": 1,
                         "additionalProperties": False,
                         "properties": {"addTenantAccess": _TENANT,
                                        "removeTenantAccess": _TENANT}}
_LIST_PARAMS: Final = frozenset({"limit", "marker", "is_public", "minRam", "minDisk",
                                 "sort_key", "sort_dir"})
_TRUE: Final = frozenset({"1", "t", "true", "on", "y", "yes"})
_FALSE: Final = frozenset({"0", "f", "false", "off", "n", "no"})


def _json(body: Any, status_code: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status_code)


def _as_bool(value: object) -> bool:
    return value is True or str(value).lower() in _TRUE


def _flavor_view(flavor: FlavorRecord, views: NovaViews, *, detail: bool,
                 extra_specs: bool) -> dict[str, Any]:
    view: dict[str, Any] = {"id": flavor.flavorid, "name": flavor.name,
                            "links": views.links("flavors", flavor.flavorid)}
    if detail:
        view.update({
            "ram": flavor.memory_mb, "disk": flavor.root_gb, "swap": flavor.swap or "",
            "OS-FLV-EXT-DATA:ephemeral": flavor.ephemeral_gb,
            "OS-FLV-DISABLED:disabled": flavor.disabled, "vcpus": flavor.vcpus,
            "os-flavor-access:is_public": flavor.is_public,
            "rxtx_factor": flavor.rxtx_factor or ""})
        if views.version >= V2_75:
            view["swap"] = flavor.swap
    if views.version >= V2_55:
        view["description"] = flavor.description
    if detail and extra_specs and views.version >= V2_61:
        view["extra_specs"] = dict(flavor.extra_specs)
    return view


def _one(flavor: FlavorRecord, views: NovaViews) -> dict[str, Any]:
    return {"flavor": _flavor_view(flavor, views, detail=True, extra_specs=True)}


def _int_param(request: Request, name: str) -> int | None:
    value = request.query_params.get(name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise BadRequest(f"Invalid {name} filter [{value}]") from None


def _query(request: Request, admin: bool) -> FlavorQuery:
    params = request.query_params
    if api_version(request) >= V2_75:
        unknown = sorted(set(params) - _LIST_PARAMS)
        if unknown:
            raise BadRequest(f"Invalid input for query parameters {unknown[0]}. Value: "
                             f"{params[unknown[0]]}. Additional properties are not allowed "
                             f"('{unknown[0]}' was unexpected)")
    is_public: bool | None = True
    raw = params.get("is_public")
    if admin and raw is not None:
        lowered = raw.strip().lower()
        if lowered in ("none", "all"):
            is_public = None
        elif lowered in _TRUE or lowered in _FALSE:
            is_public = lowered in _TRUE
        else:
            raise BadRequest(f"Invalid is_public filter [{raw}]")
    limit = _int_param(request, "limit")
    if limit is not None and limit < 0:
        raise BadRequest("limit param must be positive")
    sort_key = params.get("sort_key") or "flavorid"
    sort_dir = params.get("sort_dir") or "asc"
    return FlavorQuery(is_public=is_public, min_memory_mb=_int_param(request, "minRam"),
                       min_root_gb=_int_param(request, "minDisk"), sort_key=sort_key,
                       sort_dir=sort_dir, limit=limit, marker=params.get("marker"))


class _FlavorHandlers:
    def __init__(self, flavors: Flavors) -> None:
        self.flavors = flavors

    async def _list(self, request: Request, *, detail: bool) -> Response:
        context = await request_context(request)
        query = _query(request, context.is_admin)
        found = await run_in_threadpool(self.flavors.list_flavors, context, query)
        views = nova_views(request, context)
        body: dict[str, Any] = {"flavors": [
            _flavor_view(f, views, detail=detail, extra_specs=True) for f in found]}
        if query.limit is not None and found and len(found) == query.limit:
            body["flavors_links"] = [{"rel": "next", "href": views.next_link(
                "flavors/detail" if detail else "flavors", request.query_params.multi_items(),
                found[-1].flavorid)}]
        return _json(body)

    async def list(self, request: Request) -> Response:
        return await self._list(request, detail=False)

    async def detail(self, request: Request) -> Response:
        return await self._list(request, detail=True)

    async def show(self, request: Request) -> Response:
        context = await request_context(request)
        found = await run_in_threadpool(self.flavors.get, context,
                                        request.path_params["flavor_id"])
        return _json(_one(found, nova_views(request, context)))

    async def create(self, request: Request) -> Response:
        context = await request_context(request)
        version = api_version(request)
        body = await read_json(request)
        CINDER.check(_create_schema(version), body)
        spec = body["flavor"]
        if not str(spec["name"]).strip():
            raise BadRequest("Invalid input for field/attribute name. Value: "
                             f"{spec['name']}. name may not be only spaces")
        flavorid = spec.get("id")
        rxtx = float(spec.get("rxtx_factor", 1.0))
        if not 0 < rxtx <= 3.40282e38:  # draft 4 reads exclusiveMinimum as a flag: Nova's check
            raise BadRequest("Invalid input received: 'rxtx_factor' argument must be a float "
                             "between 0 and 3.40282e+38")
        new = NewFlavor(
            name=spec["name"], memory_mb=int(spec["ram"]), vcpus=int(spec["vcpus"]),
            root_gb=int(spec["disk"]),
            flavorid=None if flavorid is None else str(flavorid),
            ephemeral_gb=int(spec.get("OS-FLV-EXT-DATA:ephemeral", 0)),
            swap=int(spec.get("swap", 0)), rxtx_factor=rxtx,
            is_public=_as_bool(spec.get("os-flavor-access:is_public", True)),
            description=spec.get("description"))
        made = await run_in_threadpool(self.flavors.create, context, new)
        return _json(_one(made, nova_views(request, context)))

    async def update(self, request: Request) -> Response:
        context = await request_context(request)
        if api_version(request) < V2_55:
            raise errors.NotFound("The resource could not be found.")  # Nova: before 2.55
        body = await read_json(request)
        CINDER.check(_UPDATE_SCHEMA, body)
        made = await run_in_threadpool(self.flavors.update_description, context,
                                       request.path_params["flavor_id"],
                                       body["flavor"]["description"])
        return _json(_one(made, nova_views(request, context)))

    async def delete(self, request: Request) -> Response:
        context = await request_context(request)
        await run_in_threadpool(self.flavors.delete, context, request.path_params["flavor_id"])
        return Response(status_code=202)

    # --- extra specs -----------------------------------------------------------------
    async def specs(self, request: Request) -> Response:
        context = await request_context(request)
        flavorid = request.path_params["flavor_id"]
        if request.method == "GET":
            found = await run_in_threadpool(self.flavors.extra_specs, context, flavorid)
            return _json({"extra_specs": found})
        body = await read_json(request)
        CINDER.check(_EXTRA_SPECS_SCHEMA, body)
        specs = {k: _spec_text(v) for k, v in body["extra_specs"].items()}
        done = await run_in_threadpool(self.flavors.set_extra_specs, context, flavorid, specs)
        return _json({"extra_specs": done})

    async def spec(self, request: Request) -> Response:
        context = await request_context(request)
        flavorid, key = request.path_params["flavor_id"], request.path_params["key"]
        if request.method == "DELETE":
            await run_in_threadpool(self.flavors.delete_extra_spec, context, flavorid, key)
            return Response(status_code=200)  # Nova answers 200 here
        if request.method == "PUT":
            body = await read_json(request)
            CINDER.check({**_EXTRA_SPECS, "maxProperties": 1}, body)
            if key not in body:
                raise BadRequest("Request body and URI mismatch")
            done = await run_in_threadpool(self.flavors.set_extra_specs, context, flavorid,
                                           {key: _spec_text(body[key])})
            return _json(done)
        found = await run_in_threadpool(self.flavors.extra_specs, context, flavorid)
        if key not in found:
            raise errors.NotFound(f"Flavor {flavorid} has no extra specs with key {key}.")
        return _json({key: found[key]})

    # --- access ------------------------------------------------------------------------
    async def access(self, request: Request) -> Response:
        context = await request_context(request)
        flavorid = request.path_params["flavor_id"]
        found = await run_in_threadpool(self.flavors.access, context, flavorid)
        return _json(_access_body(flavorid, found))

    async def action(self, request: Request) -> Response:
        context = await request_context(request)
        flavorid = request.path_params["flavor_id"]
        body = await read_json(request)
        CINDER.check(_ACTION_SCHEMA, body)
        add = "addTenantAccess" in body
        tenant = body["addTenantAccess" if add else "removeTenantAccess"]["tenant"]
        found = await run_in_threadpool(
            lambda: self.flavors.change_access(context, flavorid, tenant, add=add))
        return _json(_access_body(flavorid, found))


def _spec_text(value: object) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


def _access_body(flavorid: str, projects: Sequence[str]) -> Mapping[str, Any]:
    return {"flavor_access": [{"flavor_id": flavorid, "tenant_id": p} for p in projects]}


def flavor_routes(flavors: Flavors) -> list[BaseRoute]:
    """The flavor routes under ``/compute/v2.1``."""
    h = _FlavorHandlers(flavors)
    one = "/flavors/{flavor_id}"
    table: Sequence[tuple[str, _Handler, Sequence[str]]] = (
        ("/flavors", h.list, ("GET",)),
        ("/flavors", h.create, ("POST",)),
        ("/flavors/detail", h.detail, ("GET",)),
        (one, h.show, ("GET",)),
        (one, h.update, ("PUT",)),
        (one, h.delete, ("DELETE",)),
        (one + "/os-extra_specs", h.specs, ("GET", "POST")),
        (one + "/os-extra_specs/{key}", h.spec, ("GET", "PUT", "DELETE")),
        (one + "/os-flavor-access", h.access, ("GET",)),
        (one + "/action", h.action, ("POST",)),
    )
    return [Route(path, handler, methods=list(methods)) for path, handler, methods in table]

