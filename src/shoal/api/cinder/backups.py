"""Cinder v3 backup routes over :class:`shoal.services.backup.BackupService`.

``/backups`` (create 202, list, ``/detail``), ``/backups/{id}`` (show, update 3.9+, delete
202), ``/backups/{id}/restore`` (202), ``/backups/{id}/action`` (``os-reset_status``,
``os-force_delete``: admins), ``/backups/{id}/export_record`` and ``/backups/import_record``
(201; admins). shoal's own: ``POST /backups/{id}/shoal-verify`` (admins, 200: the stored data
checked against the backup's SHA-256) and ``GET /backups/shoal-chain?volume_id=V`` (a
volume's backup chains); what ``shoal backup verify|chain`` call.

Bodies are parsed with :mod:`.create`, :mod:`.update` and :mod:`.actions`,
lists filtered, sorted and paged with :mod:`.query`, replies rendered with :mod:`.views` for
the caller's microversion and role, as Tempest's schemas expect.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from shoal import errors, limits
from shoal.api._body import read_json
from shoal.api._context import request_context
from shoal.api._errors import BadRequest
from shoal.api._ids import uuid_or_not_found
from shoal.api._microversion import api_version
from shoal.api.cinder import actions, views
from shoal.api.cinder.create import parse_backup_create, parse_backup_restore
from shoal.api.cinder.options import VolumeApiOptions
from shoal.api.cinder.routes import list_reply, view_context
from shoal.api.cinder.update import parse_backup_update
from shoal.api.cinder.viewcontext import cinder_time
from shoal.services.backup import BackupChecks, BackupService

__all__ = ["backup_routes", "parse_import_record"]

_Handler = Callable[[Request], Awaitable[Response]]


def _json(body: Any, status_code: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status_code)


def parse_import_record(body: Any) -> tuple[str, str]:
    """``(backup_service, backup_url)`` of ``{"backup-record": {...}}``.

    Raises:
        BadRequest: another shape, or either value missing or no non-empty string (400).
    """
    record = body.get("backup-record") if isinstance(body, dict) else None
    if not isinstance(record, dict):
        raise BadRequest("Invalid input: the body must be {\"backup-record\": {...}}.")
    values = []
    for key in ("backup_service", "backup_url"):
        value = record.get(key)
        if not isinstance(value, str) or not value:
            raise BadRequest(f"Incorrect request body format: '{key}' must be a non-empty "
                             "string.")
        if len(value) > limits.backup_record_chars_max:
            raise BadRequest(f"Invalid input: '{key}' is too long.")
        values.append(value)
    return values[0], values[1]


class _Backups:
    """The handlers (one instance per app)."""

    def __init__(self, service: BackupService, options: VolumeApiOptions) -> None:
        self.service = service
        self.options = options

    async def create(self, request: Request) -> Response:
        context = await request_context(request)
        new = parse_backup_create(await read_json(request), api_version(request))
        record = await run_in_threadpool(lambda: self.service.create_backup(
            context, new.volume_id, name=new.name, description=new.description,
            container=new.container, incremental=new.incremental, force=new.force,
            snapshot_id=new.snapshot_id, metadata=dict(new.metadata),
            availability_zone=new.availability_zone))
        return _json(views.backup_body(record, view_context(request, context), detail=False),
                     202)

    async def _list(self, request: Request, *, detail: bool) -> Response:
        return await list_reply(request, "backup", self.options, self.service.list_backups,
                                views.backups_body, detail=detail)

    async def list(self, request: Request) -> Response:
        return await self._list(request, detail=False)

    async def list_detail(self, request: Request) -> Response:
        return await self._list(request, detail=True)

    async def show(self, request: Request) -> Response:
        context = await request_context(request)
        backup_id = uuid_or_not_found(request.path_params["backup_id"], "Backup")
        record = await run_in_threadpool(self.service.get_backup, context, backup_id)
        return _json(views.backup_body(record, view_context(request, context)))

    async def update(self, request: Request) -> Response:
        context = await request_context(request)
        backup_id = uuid_or_not_found(request.path_params["backup_id"], "Backup")
        update = parse_backup_update(await read_json(request), api_version(request))
        record = await run_in_threadpool(lambda: self.service.update_backup(
            context, backup_id, changes=update.changes, metadata=update.metadata))
        return _json(views.backup_body(record, view_context(request, context), detail=False))

    async def delete(self, request: Request) -> Response:
        context = await request_context(request)
        backup_id = uuid_or_not_found(request.path_params["backup_id"], "Backup")
        await run_in_threadpool(self.service.delete_backup, context, backup_id)
        return Response(status_code=202)

    async def restore(self, request: Request) -> Response:
        context = await request_context(request)
        backup_id = uuid_or_not_found(request.path_params["backup_id"], "Backup")
        target = parse_backup_restore(await read_json(request))
        restored = await run_in_threadpool(lambda: self.service.restore_backup(
            context, backup_id, volume_id=target.volume_id, name=target.name))
        return _json(views.backup_restore_body(*restored), 202)

    async def action(self, request: Request) -> Response:
        context = await request_context(request)
        backup_id = uuid_or_not_found(request.path_params["backup_id"], "Backup")
        action = actions.parse_backup_action(await read_json(request))
        if isinstance(action, actions.ResetStatus) and action.status is not None:
            status = action.status
            await run_in_threadpool(self.service.reset_status, context, backup_id, status)
        elif isinstance(action, actions.ForceDelete):
            await run_in_threadpool(lambda: self.service.delete_backup(
                context, backup_id, force=True))
        else:
            raise errors.NotSupported(f"The backup action {type(action).__name__} is not "
                                      "served.")
        return Response(status_code=202)

    def _checks(self) -> BackupChecks:
        if self.service.checks is None:
            raise errors.NotSupported("Backup verification is not served by this deployment.")
        return self.service.checks

    async def verify(self, request: Request) -> Response:
        context = await request_context(request)
        backup_id = uuid_or_not_found(request.path_params["backup_id"], "Backup")
        found = await run_in_threadpool(self._checks().verify, context, backup_id)
        return _json({"verification": {
            "backup_id": found.backup_id, "ok": found.ok, "reason": found.reason,
            "recorded_sha256": found.recorded, "computed_sha256": found.computed,
            "size_bytes": found.size_bytes, "location": found.location,
            "differing": [{"offset": o, "length": n} for o, n in found.differing],
            "verified_at": cinder_time(found.verified_at)}})

    async def chain(self, request: Request) -> Response:
        context = await request_context(request)
        volume_ids = request.query_params.getlist("volume_id")
        if len(volume_ids) != 1 or not volume_ids[0]:
            raise BadRequest("Give one volume_id: GET backups/shoal-chain?volume_id=<id>.")
        links = await run_in_threadpool(self._checks().chain, context, volume_ids[0])
        return _json({"volume_id": volume_ids[0], "backups": [{
            "depth": link.depth, "id": link.id, "name": link.name, "status": link.status,
            "is_incremental": link.is_incremental, "parent_id": link.parent_id,
            "size": link.size_gib, "data_bytes": link.data_bytes,
            "restore_point": link.restore_point, "sha256": link.sha256,
            "created_at": cinder_time(link.created_at),
            "verified_at": cinder_time(link.verified_at)} for link in links]})

    async def export_record(self, request: Request) -> Response:
        context = await request_context(request)
        backup_id = uuid_or_not_found(request.path_params["backup_id"], "Backup")
        record = await run_in_threadpool(self.service.export_record, context, backup_id)
        return _json({"backup-record": record})

    async def import_record(self, request: Request) -> Response:
        context = await request_context(request)
        backup_service, backup_url = parse_import_record(await read_json(request))
        record = await run_in_threadpool(self.service.import_record, context, backup_service,
                                         backup_url)
        return _json(views.backup_body(record, view_context(request, context), detail=False),
                     201)


def backup_routes(service: BackupService | None, options: VolumeApiOptions
                  ) -> list[BaseRoute]:
    """The backup routes under ``/volume/v3`` (none when the deployment serves no backups:
    those paths are then 404, as without a cinder-backup service)."""
    if service is None:
        return []
    h = _Backups(service, options)
    one = "/backups/{backup_id}"
    table: Sequence[tuple[str, _Handler, str]] = (
        ("/backups", h.create, "POST"),
        ("/backups", h.list, "GET"),
        ("/backups/detail", h.list_detail, "GET"),
        ("/backups/import_record", h.import_record, "POST"),
        ("/backups/shoal-chain", h.chain, "GET"),
        (one + "/shoal-verify", h.verify, "POST"),
        (one, h.show, "GET"),
        (one, h.update, "PUT"),
        (one, h.delete, "DELETE"),
        (one + "/restore", h.restore, "POST"),
        (one + "/action", h.action, "POST"),
        (one + "/export_record", h.export_record, "GET"),
    )
    return [Route(path, handler, methods=[method]) for path, handler, method in table]
