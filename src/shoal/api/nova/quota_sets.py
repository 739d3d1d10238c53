"""Nova's ``/os-quota-sets/{project_id}`` (show, ``/defaults``, ``/detail``; update and
delete for admins) over :class:`shoal.services.compute.ComputeQuotas`.

Resources per microversion: the network ones (``fixed_ips``, ``floating_ips``,
``security_groups``, ``security_group_rules``: fixed values, shoal has no networking)
until 2.35; the ``injected_file*`` ones until 2.56.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from shoal.api._body import read_json
from shoal.api._context import request_context
from shoal.api._microversion import APIVersion, api_version
from shoal.api._validation import CINDER
from shoal.services.compute import ComputeQuotas

__all__ = ["quota_set_routes"]

_Handler = Callable[[Request], Awaitable[Response]]
V = APIVersion
_NETWORK: Final = {"fixed_ips": -1, "floating_ips": 10, "security_groups": 10,
                   "security_group_rules": 20}
_INJECTED: Final = ("injected_files", "injected_file_content_bytes",
                    "injected_file_path_bytes")
_LIMIT: Final = {"type": ["integer", "string"], "pattern": "^-?[0-9]+$", "minimum": -1}


def _shown(values: Mapping[str, Any], version: APIVersion, network: Any) -> dict[str, Any]:
    out = {k: v for k, v in values.items() if not (version >= V(2, 57) and k in _INJECTED)}
    if version < V(2, 36):
        out.update({k: network(v) for k, v in _NETWORK.items()})
    return out


def _update_schema(version: APIVersion) -> dict[str, Any]:
    names = ["instances", "cores", "ram", "metadata_items", "key_pairs", "server_groups",
             "server_group_members"]
    if version < V(2, 57):
        names += list(_INJECTED)
    properties: dict[str, Any] = {n: _LIMIT for n in names}
    if version < V(2, 36):
        properties.update({n: _LIMIT for n in _NETWORK})
    properties["force"] = {"type": ["boolean", "string"]}
    return {"type": "object", "required": ["quota_set"], "additionalProperties": False,
            "properties": {"quota_set": {"type": "object", "properties": properties,
                                         "additionalProperties": False}}}


class _Handlers:
    def __init__(self, quotas: ComputeQuotas) -> None:
        self.quotas = quotas

    async def show(self, request: Request) -> Response:
        context = await request_context(request)
        project = request.path_params["project_id"]
        version = api_version(request)
        found = await run_in_threadpool(self.quotas.show, context, project)
        return JSONResponse({"quota_set": {"id": project,
                                           **_shown(found, version, lambda v: v)}})

    async def defaults(self, request: Request) -> Response:
        await request_context(request)
        project = request.path_params["project_id"]
        return JSONResponse({"quota_set": {"id": project, **_shown(
            self.quotas.defaults(), api_version(request), lambda v: v)}})

    async def detail(self, request: Request) -> Response:
        context = await request_context(request)
        project = request.path_params["project_id"]
        found = await run_in_threadpool(self.quotas.detail, context, project)
        return JSONResponse({"quota_set": {"id": project, **_shown(
            found, api_version(request),
            lambda v: {"limit": v, "in_use": 0, "reserved": 0})}})

    async def update(self, request: Request) -> Response:
        context = await request_context(request)
        project = request.path_params["project_id"]
        version = api_version(request)
        body = await read_json(request)
        CINDER.check(_update_schema(version), body)
        spec = dict(body["quota_set"])
        force = str(spec.pop("force", False)).lower() in ("true", "1", "yes")
        values = {k: int(v) for k, v in spec.items() if k not in _NETWORK}
        done = await run_in_threadpool(lambda: self.quotas.update(
            context, project, values, force=force))
        return JSONResponse({"quota_set": _shown(done, version, lambda v: v)})

    async def delete(self, request: Request) -> Response:
        context = await request_context(request)
        await run_in_threadpool(self.quotas.delete, context,
                                request.path_params["project_id"])
        return Response(status_code=202)


def quota_set_routes(quotas: ComputeQuotas) -> list[BaseRoute]:
    """The ``os-quota-sets`` routes under ``/compute/v2.1``."""
    h = _Handlers(quotas)
    one = "/os-quota-sets/{project_id}"
    table: Sequence[tuple[str, _Handler, Sequence[str]]] = (
        (one, h.show, ("GET",)),
        (one, h.update, ("PUT",)),
        (one, h.delete, ("DELETE",)),
        (one + "/defaults", h.defaults, ("GET",)),
        (one + "/detail", h.detail, ("GET",)),
    )
    return [Route(path, handler, methods=list(methods)) for path, handler, methods in table]
