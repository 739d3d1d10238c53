"""Nova's ``POST /os-server-external-events`` (admins; what Neutron and Cinder send):
each event is answered per server — 200 ``completed`` for a server of this deployment
that is not building, 422 when it has no host yet, 404 for an unknown one — and the reply
is 200 when at least one event was accepted, else 404, as Nova. shoal keeps nothing of
them (no hypervisor waits on ``network-vif-plugged`` and Cinder extends no attached disk
here): accepting them lets Cinder and Neutron clients talk to shoal unchanged."""

from __future__ import annotations

from typing import Any, Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from shoal import errors
from shoal.api._body import read_json
from shoal.api._context import request_context
from shoal.api._validation import CINDER
from shoal.services.compute import Servers

__all__ = ["external_event_routes"]

_NAMES: Final = ["network-changed", "network-vif-plugged", "network-vif-unplugged",
                 "network-vif-deleted", "volume-extended", "power-update",
                 "accelerator-request-bound", "volume-reimaged"]
_SCHEMA: Final = {"type": "object", "required": ["events"], "additionalProperties": False,
                  "properties": {"events": {"type": "array", "minItems": 1, "items": {
                      "type": "object", "required": ["name", "server_uuid"],
                      "additionalProperties": False, "properties": {
                          "name": {"type": "string", "enum": _NAMES},
                          "server_uuid": {"type": "string", "format": "uuid"},
                          "status": {"type": "string",
                                     "enum": ["failed", "completed", "in-progress"]},
                          "tag": {"type": "string", "maxLength": 255}}}}}}


def external_event_routes(servers: Servers) -> list[BaseRoute]:
    """The route under ``/compute/v2.1``."""

    async def post(request: Request) -> Response:
        context = await request_context(request)
        if not context.is_admin:
            raise errors.PermissionDenied("Policy doesn't allow os_compute_api:os-server-"
                                          "external-events:create to be performed.")
        body = await read_json(request)
        CINDER.check(_SCHEMA, body)
        answered: list[dict[str, Any]] = []
        for event in body["events"]:
            item = {"status": "completed", **event}
            try:
                server = await run_in_threadpool(servers.get, context, event["server_uuid"])
            except errors.NotFound:
                item.update(code=404, status="failed")
            else:
                item["code"] = 422 if server.host is None else 200
                if item["code"] != 200:
                    item["status"] = "failed"
            answered.append(item)
        accepted = any(e["code"] == 200 for e in answered)
        return JSONResponse({"events": answered}, status_code=200 if accepted else 404)

    return [Route("/os-server-external-events", post, methods=["POST"])]
