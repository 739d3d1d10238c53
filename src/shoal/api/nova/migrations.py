"""Nova's ``/os-migrations`` (admins) and ``/servers/{id}/migrations`` (the server's live
migrations in progress, 2.22+) over :class:`shoal.services.compute.ServerMoves`.

Fields per microversion: ``migration_type`` and ``links`` from 2.23, ``uuid`` from 2.59,
``user_id``/``project_id`` from 2.80. Aborting (``DELETE``) and forcing completion
(``action`` ``force_complete``) answer 400: a migration here completes at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from shoal import errors
from shoal.api._context import request_context
from shoal.api._errors import BadRequest
from shoal.api._microversion import APIVersion, api_version
from shoal.api.nova.server_views import isotime
from shoal.services.compute import ServerMoves

__all__ = ["migration_routes"]

_Handler = Callable[[Request], Awaitable[Response]]
V = APIVersion


def _view(m: dict[str, Any], version: APIVersion, *, of_server: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": m["id"], "status": m["status"], "source_compute": m["source_compute"],
        "dest_compute": m["dest_compute"], "source_node": m["source_node"],
        "dest_node": m["dest_node"], "dest_host": m["dest_host"],
        "created_at": isotime(m["created_at"]),
        "updated_at": isotime(m["updated_at"] or m["created_at"])}
    if of_server:
        out.update({"server_uuid": m["instance_uuid"], "disk_processed_bytes": 0,
                    "disk_remaining_bytes": 0, "disk_total_bytes": 0,
                    "memory_processed_bytes": 0, "memory_remaining_bytes": 0,
                    "memory_total_bytes": 0})
    else:
        out.update({"instance_uuid": m["instance_uuid"], "old_instance_type_id": None,
                    "new_instance_type_id": None})
        if version >= V(2, 23):
            out["migration_type"] = m["migration_type"]
    if version >= V(2, 59):
        out["uuid"] = m["uuid"]
    if version >= V(2, 80):
        out["user_id"], out["project_id"] = m["user_id"], m["project_id"]
    return out


class _Handlers:
    def __init__(self, moves: ServerMoves) -> None:
        self.moves = moves

    async def index(self, request: Request) -> Response:
        context = await request_context(request)
        version = api_version(request)
        found = await run_in_threadpool(lambda: self.moves.migrations(context))
        params = request.query_params
        for key in ("instance_uuid", "status", "migration_type", "source_compute"):
            value = params.get(key)
            if value is not None:
                found = [m for m in found if str(m[key]) == value]
        return JSONResponse({"migrations": [_view(m, version, of_server=False)
                                            for m in found]})

    async def of_server(self, request: Request) -> Response:
        context = await request_context(request)
        version = api_version(request)
        if version < V(2, 22):
            raise errors.NotFound("The resource could not be found.")
        server_id = request.path_params["server_id"]
        found = await run_in_threadpool(lambda: self.moves.migrations(
            context, server_id=server_id, in_progress=True))
        live = [m for m in found if m["migration_type"] == "live-migration"]
        wanted = request.path_params.get("migration_id")
        if wanted is None:
            return JSONResponse({"migrations": [_view(m, version, of_server=True)
                                                for m in live]})
        for m in live:
            if str(m["id"]) == wanted:
                return JSONResponse({"migration": _view(m, version, of_server=True)})
        raise errors.NotFound(f"Migration {wanted} for instance {server_id} could not be "
                              "found.")

    async def refuse(self, request: Request) -> Response:
        await request_context(request)
        raise BadRequest("Migrations in shoal complete at once: there is nothing to abort or "
                         "force to complete.")


def migration_routes(moves: ServerMoves) -> list[BaseRoute]:
    """The migration routes under ``/compute/v2.1``."""
    h = _Handlers(moves)
    one = "/servers/{server_id}/migrations"
    table: Sequence[tuple[str, _Handler, Sequence[str]]] = (
        ("/os-migrations", h.index, ("GET",)),
        (one, h.of_server, ("GET",)),
        (one + "/{migration_id}", h.of_server, ("GET",)),
        (one + "/{migration_id}", h.refuse, ("DELETE",)),
        (one + "/{migration_id}/action", h.refuse, ("POST",)),
    )
    return [Route(path, handler, methods=list(methods)) for path, handler, methods in table]
