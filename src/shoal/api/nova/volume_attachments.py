"""Nova's ``/servers/{id}/os-volume_attachments`` over
:class:`shoal.services.compute.ServerVolumes`: list, attach (200), show, detach (202).

Views per microversion: ``tag`` from 2.70, ``delete_on_termination`` from 2.79,
``attachment_id`` and ``bdm_uuid`` from 2.89 (which drops ``id``). Swapping a volume
(``PUT``, admins): its data copied to the new volume, which takes the old one's device.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from shoal.api._body import read_json
from shoal.api._context import request_context
from shoal.api._microversion import APIVersion, api_version
from shoal.api._validation import CINDER
from shoal.services.compute import ServerVolumes, VolumeAttached

__all__ = ["volume_attachment_routes"]

_Handler = Callable[[Request], Awaitable[Response]]
V = APIVersion
_BDM_NAMESPACE: Final = uuid.UUID("2b0a3c8e-5f1d-4e7a-9c61-0d4f8a6b3e25")


def _schema(version: APIVersion) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "volumeId": {"type": "string", "format": "uuid", "minLength": 1},
        "device": {"type": ["string", "null"], "pattern": "(^/dev/x{0,1}[a-z]{0,1}d{0,1})"
                                                          "([a-z]+)[0-9]*$"}}
    if version >= V(2, 49):
        properties["tag"] = {"type": "string", "minLength": 1, "maxLength": 60,
                             "pattern": r"^[^,/]*$"}
    if version >= V(2, 79):
        properties["delete_on_termination"] = {"type": "boolean"}
    return {"type": "object", "required": ["volumeAttachment"], "additionalProperties": False,
            "properties": {"volumeAttachment": {
                "type": "object", "properties": properties, "required": ["volumeId"],
                "additionalProperties": False}}}


_SWAP_SCHEMA: Final = {"type": "object", "required": ["volumeAttachment"],
                       "additionalProperties": False, "properties": {"volumeAttachment": {
                           "type": "object", "required": ["volumeId"],
                           "properties": {"volumeId": {"type": "string", "format": "uuid"},
                                          "device": {}, "tag": {},
                                          "delete_on_termination": {}},
                           "additionalProperties": False}}}


def _view(item: VolumeAttached, server_id: str, version: APIVersion) -> dict[str, Any]:
    out: dict[str, Any] = {"serverId": server_id, "volumeId": item.volume_id,
                           "device": item.device}
    if version < V(2, 89):
        out["id"] = item.volume_id
    if version >= V(2, 70):
        out["tag"] = item.tag
    if version >= V(2, 79):
        out["delete_on_termination"] = item.delete_on_termination
    if version >= V(2, 89):
        out["attachment_id"] = item.attachment_id
        out["bdm_uuid"] = str(uuid.uuid5(_BDM_NAMESPACE, f"{server_id}/{item.volume_id}"))
    return out


class _Handlers:
    def __init__(self, volumes: ServerVolumes) -> None:
        self.volumes = volumes

    async def list(self, request: Request) -> Response:
        context = await request_context(request)
        server_id = request.path_params["server_id"]
        found = await run_in_threadpool(self.volumes.listed, context, server_id)
        version = api_version(request)
        return JSONResponse({"volumeAttachments": [_view(v, server_id, version)
                                                   for v in found]})

    async def attach(self, request: Request) -> Response:
        context = await request_context(request)
        server_id = request.path_params["server_id"]
        version = api_version(request)
        body = await read_json(request)
        CINDER.check(_schema(version), body)
        spec = body["volumeAttachment"]
        made = await run_in_threadpool(lambda: self.volumes.attach(
            context, server_id, spec["volumeId"], device=spec.get("device"),
            tag=spec.get("tag"), delete_on_termination=spec.get("delete_on_termination",
                                                                False)))
        return JSONResponse({"volumeAttachment": _view(made, server_id, version)})

    async def show(self, request: Request) -> Response:
        context = await request_context(request)
        server_id = request.path_params["server_id"]
        found = await run_in_threadpool(self.volumes.shown, context, server_id,
                                        request.path_params["volume_id"])
        return JSONResponse({"volumeAttachment": _view(found, server_id,
                                                       api_version(request))})

    async def swap(self, request: Request) -> Response:
        """``PUT .../os-volume_attachments/{old}`` with ``{"volumeAttachment":
        {"volumeId": new}}`` (admins): 202 once the new volume holds the data."""
        context = await request_context(request)
        body = await read_json(request)
        CINDER.check(_SWAP_SCHEMA, body)
        new = body["volumeAttachment"]["volumeId"]
        await run_in_threadpool(self.volumes.swap, context, request.path_params["server_id"],
                                request.path_params["volume_id"], new)
        return Response(status_code=202)

    async def detach(self, request: Request) -> Response:
        context = await request_context(request)
        await run_in_threadpool(self.volumes.detach, context,
                                request.path_params["server_id"],
                                request.path_params["volume_id"])
        return Response(status_code=202)


def volume_attachment_routes(volumes: ServerVolumes) -> list[BaseRoute]:
    """The ``os-volume_attachments`` routes under ``/compute/v2.1``."""
    h = _Handlers(volumes)
    base = "/servers/{server_id}/os-volume_attachments"
    table: Sequence[tuple[str, _Handler, Sequence[str]]] = (
        (base, h.list, ("GET",)),
        (base, h.attach, ("POST",)),
        (base + "/{volume_id}", h.show, ("GET",)),
        (base + "/{volume_id}", h.swap, ("PUT",)),
        (base + "/{volume_id}", h.detach, ("DELETE",)),
    )
    return [Route(path, handler, methods=list(methods)) for path, handler, methods in table]
