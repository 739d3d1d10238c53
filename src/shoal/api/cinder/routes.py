"""Cinder v3 routes over :class:`shoal.services.volume.VolumeService`.

Mounted under ``/volume/v3`` (with or without the project id) by
:func:`shoal.api.volume_app`. Each handler parses the request with the pure rules of this
package (:mod:`.create`, :mod:`.update`, :mod:`.actions`, :mod:`.query`), calls the service
(which enforces Cinder's policy and rules itself) in a worker thread, and renders the reply
with :mod:`.views` / :mod:`.service_views` for the caller's microversion and role.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from shoal import errors
from shoal.api._app import PUBLIC_URL_KEY
from shoal.api._body import read_json
from shoal.api._context import RequestContext, request_context
from shoal.api._ids import uuid_or_not_found
from shoal.api._microversion import APIVersion, api_version
from shoal.api._versions import base_url
from shoal.api.cinder import actions, service_views, views
from shoal.api.cinder import microversions as mv
from shoal.api.cinder import transfers as transfer_rules
from shoal.api.cinder.create import (
    NewVolume,
    parse_attachment_create,
    parse_snapshot_create,
    parse_volume_create,
)
from shoal.api.cinder.options import VolumeApiOptions
from shoal.api.cinder.query import apply_query, parse_query
from shoal.api.cinder.update import (
    parse_attachment_update,
    parse_metadata,
    parse_metadata_item,
    parse_snapshot_update,
    parse_volume_update,
)
from shoal.api.cinder.viewcontext import ViewContext
from shoal.services.backup import create_volume_from_backup
from shoal.services.volume import VolumeServices, VolumeSource
from shoal.services.volume import policy as volume_policy
from shoal.services.volume.quotas import QuotaDefaults
from shoal.services.volume.records import BackupRecord, SnapshotRecord, VolumeRecord

__all__ = ["volume_routes"]

_Handler = Callable[[Request], Awaitable[Response]]


def _json(body: Any, status_code: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status_code)


def view_context(request: Request, context: RequestContext) -> ViewContext:
    """Who a reply is rendered for: the microversion, the versioned endpoint, the role."""
    public = request.scope.get(PUBLIC_URL_KEY)
    root = base_url(request, public if isinstance(public, str) else None)
    return ViewContext(version=api_version(request), endpoint=f"{root}/volume/v3",
                       project_id=context.project_id, is_admin=context.is_admin,
                       is_service="service" in context.roles)


_Listed = TypeVar("_Listed", VolumeRecord, SnapshotRecord, BackupRecord)


async def list_reply(
    request: Request,
    resource: str,
    options: VolumeApiOptions,
    fetch: Callable[..., Iterable[_Listed]],
    render: Callable[..., dict[str, Any]],
    *,
    detail: bool,
) -> Response:
    """The reply to ``GET /{resource}s[/detail]``: parse the query string (:mod:`.query`),
    fetch every record in a worker thread (``fetch(context, all_projects=...)``), filter,
    sort and page them for the caller, and render the page with ``render`` (one of
    :mod:`.views`' ``*s_body``: items, view context, ``detail``, ``params``, ``limit``,
    ``count``).

    Raises:
        BadRequest: a query Cinder refuses (400).
        NotFound: a ``marker`` the caller cannot see (404).
    """
    context = await request_context(request)
    params = list(request.query_params.multi_items())
    query = parse_query(resource, params, api_version(request), is_admin=context.is_admin,
                        options=options)
    records = await run_in_threadpool(lambda: fetch(context, all_projects=query.all_projects))
    result = apply_query(records, query, project_id=context.project_id,
                         is_admin=context.is_admin)
    return _json(render(result.items, view_context(request, context), detail=detail,
                        params=params, limit=query.limit, count=result.count))


class _Volumes:
    """The handlers (one instance per app)."""

    def __init__(self, services: VolumeServices, options: VolumeApiOptions,
                 quota_defaults: QuotaDefaults) -> None:
        self.service = services.volumes
        self.attachments = services.attachments
        self.transfers = services.transfers
        self.backups = services.backups
        self.options = options
        self.quota_defaults = quota_defaults

    # --- volumes ---------------------------------------------------------------------------
    async def create_volume(self, request: Request) -> Response:
        context = await request_context(request)
        version = api_version(request)
        new = parse_volume_create(await read_json(request), version)
        if new.backup_id is not None:
            made = await run_in_threadpool(self._from_backup, context, new)
            return _json(views.volume_body(made, view_context(request, context),
                                           extended=False), 202)
        image_id = None
        if new.image is not None:
            image_id = await run_in_threadpool(self.service.resolve_image, context,
                                               new.image.value, new.image.kind)
        source = VolumeSource(image_id=image_id, snapshot_id=new.snapshot_id,
                              source_volid=new.source_volid)
        record = await run_in_threadpool(
            lambda: self.service.create_volume(
                context, size=new.size, name=new.name, description=new.description,
                volume_type=new.volume_type, availability_zone=new.availability_zone,
                metadata=dict(new.metadata), source=source, multiattach=new.multiattach,
                group_id=new.group_id))
        return _json(views.volume_body(record, view_context(request, context),
                                       extended=False), 202)

    def _from_backup(self, context: RequestContext, new: NewVolume) -> VolumeRecord:
        """A volume restored from backup ``new.backup_id`` (3.47); a deployment serving no
        backups has none to find (404)."""
        assert new.backup_id is not None
        if self.backups is None:
            raise errors.NotFound(f"Backup {new.backup_id} could not be found.")
        return create_volume_from_backup(
            self.backups, context, new.backup_id, size=new.size, name=new.name,
            description=new.description, volume_type=new.volume_type,
            availability_zone=new.availability_zone, metadata=dict(new.metadata),
            multiattach=new.multiattach, group_id=new.group_id)

    async def _list(self, request: Request, *, detail: bool) -> Response:
        return await list_reply(request, "volume", self.options, self.service.list_volumes,
                                views.volumes_body, detail=detail)

    async def list_volumes(self, request: Request) -> Response:
        return await self._list(request, detail=False)

    async def list_volumes_detail(self, request: Request) -> Response:
        return await self._list(request, detail=True)

    async def volume_summary(self, request: Request) -> Response:
        """``GET /volumes/summary`` (3.12): count, GiB and (3.36) every metadata value."""
        context = await request_context(request)
        version = api_version(request)
        mv.require_version(version, mv.VOLUME_SUMMARY)
        all_projects = context.is_admin and _flag(request, "all_tenants")
        records = await run_in_threadpool(lambda: self.service.list_volumes(
            context, all_projects=all_projects))
        summary: dict[str, Any] = {"total_size": sum(r.size for r in records),
                                   "total_count": len(records)}
        if version >= mv.VOLUME_SUMMARY_METADATA:
            metadata: dict[str, list[str]] = {}
            for record in records:
                for key, value in record.metadata.items():
                    if value not in metadata.setdefault(key, []):
                        metadata[key].append(value)
            summary["metadata"] = metadata
        return _json({"volume-summary": summary})

    async def show_volume(self, request: Request) -> Response:
        context = await request_context(request)
        volume_id = uuid_or_not_found(request.path_params["volume_id"], "Volume")
        record = await run_in_threadpool(self.service.get_volume, context, volume_id)
        return _json(views.volume_body(record, view_context(request, context)))

    async def update_volume(self, request: Request) -> Response:
        context = await request_context(request)
        volume_id = uuid_or_not_found(request.path_params["volume_id"], "Volume")
        update = parse_volume_update(await read_json(request), api_version(request))
        record = await run_in_threadpool(
            lambda: self.service.update_volume(context, volume_id, changes=update.changes))
        return _json(views.volume_body(record, view_context(request, context),
                                       extended=False))

    async def delete_volume(self, request: Request) -> Response:
        context = await request_context(request)
        volume_id = uuid_or_not_found(request.path_params["volume_id"], "Volume")
        cascade = _flag(request, "cascade")
        force = _flag(request, "force")
        await run_in_threadpool(lambda: self.service.delete_volume(
            context, volume_id, cascade=cascade, force=force))
        return Response(status_code=202)

    async def volume_action(self, request: Request) -> Response:
        context = await request_context(request)
        volume_id = uuid_or_not_found(request.path_params["volume_id"], "Volume")
        version = api_version(request)
        action = actions.parse_volume_action(await read_json(request), version)
        reply = await run_in_threadpool(self._volume_action, context, volume_id, version,
                                        action)
        if reply is None:
            return Response(status_code=202)
        status, body = reply
        return Response(status_code=status) if body is None else _json(body, status)

    def _volume_action(self, context: RequestContext, volume_id: str, version: APIVersion,
                       action: object) -> tuple[int, Any] | None:
        """Run one parsed volume action; None: 202 without a body, else (status, body)."""
        service, attach = self.service, self.attachments
        if isinstance(action, actions.ExtendVolume):
            service.extend_volume(context, volume_id, action.new_size,
                                  attached_allowed=version >= mv.EXTEND_IN_USE_VOLUME)
        elif isinstance(action, actions.RevertVolume):
            mv.require_version(version, mv.VOLUME_REVERT)
            service.revert_to_snapshot(context, volume_id, action.snapshot_id)
        elif isinstance(action, actions.SimpleVolumeAction):
            {"os-reserve": attach.reserve, "os-unreserve": attach.unreserve,
             "os-begin_detaching": attach.begin_detaching,
             "os-roll_detaching": attach.roll_detaching}[action.name](context, volume_id)
        elif isinstance(action, actions.AttachVolume):
            attach.attach(context, volume_id, mountpoint=action.mountpoint,
                          instance_uuid=action.instance_uuid, host_name=action.host_name,
                          mode=action.mode)
        elif isinstance(action, actions.DetachVolume):
            attach.detach(context, volume_id, action.attachment_id)
        elif isinstance(action, actions.InitializeConnection):
            connector = action.connector if isinstance(action.connector, dict) else {}
            info = attach.initialize_connection(context, volume_id, connector)
            return 200, {"connection_info": info}
        elif isinstance(action, actions.TerminateConnection):
            attach.terminate_connection(context, volume_id)
        elif isinstance(action, actions.ForceDetach):
            attach.force_detach(context, volume_id, action.attachment_id)
        elif isinstance(action, actions.SetBootable):
            service.set_bootable(context, volume_id, action.bootable)
            return 200, None
        elif isinstance(action, actions.UpdateReadonly):
            attach.set_readonly(context, volume_id, action.readonly)
        elif isinstance(action, actions.SetImageMetadata):
            values = service.set_metadata(context, volume_id, action.metadata, replace=False,
                                          kind="image")
            return 200, {"metadata": values}
        elif isinstance(action, actions.UnsetImageMetadata):
            service.delete_metadata(context, volume_id, action.key, kind="image")
            return 200, None
        elif isinstance(action, actions.ShowImageMetadata):
            return 200, {"metadata": service.metadata(context, volume_id, kind="image")}
        elif isinstance(action, actions.ResetStatus):
            service.reset_status(context, volume_id, status=action.status,
                                 attach_status=action.attach_status,
                                 migration_status=action.migration_status)
        elif isinstance(action, actions.ForceDelete):
            service.delete_volume(context, volume_id, force=True)
        elif isinstance(action, actions.RetypeVolume):
            service.retype_volume(context, volume_id, action.new_type,
                                  migration_policy=action.migration_policy)
        elif isinstance(action, actions.UploadToImage):
            started = service.upload_to_image(context, volume_id, action)
            return 202, actions.upload_image_body(
                started, is_admin=volume_policy.is_admin(context))
        else:
            raise errors.NotSupported(f"The volume action {type(action).__name__} is not "
                                      "served yet.")
        return None

    # --- volume metadata -------------------------------------------------------------------
    async def volume_metadata(self, request: Request) -> Response:
        context = await request_context(request)
        volume_id = uuid_or_not_found(request.path_params["volume_id"], "Volume")
        if request.method == "GET":
            values = await run_in_threadpool(self.service.metadata, context, volume_id)
        else:
            wanted = parse_metadata(await read_json(request))
            values = await run_in_threadpool(lambda: self.service.set_metadata(
                context, volume_id, wanted, replace=request.method == "PUT"))
        return _json({"metadata": values})

    async def volume_metadata_item(self, request: Request) -> Response:
        context = await request_context(request)
        volume_id = uuid_or_not_found(request.path_params["volume_id"], "Volume")
        key = request.path_params["key"]
        if request.method == "DELETE":
            await run_in_threadpool(self.service.delete_metadata, context, volume_id, key)
            return Response(status_code=200)
        if request.method == "PUT":
            key, value = parse_metadata_item(await read_json(request), key)
            await run_in_threadpool(lambda: self.service.set_metadata(
                context, volume_id, {key: value}, replace=False))
            return _json({"meta": {key: value}})
        values = await run_in_threadpool(self.service.metadata, context, volume_id)
        if key not in values:
            raise errors.NotFound(f"Volume {volume_id} has no metadata with key {key}.")
        return _json({"meta": {key: values[key]}})

    # --- snapshots -------------------------------------------------------------------------
    async def create_snapshot(self, request: Request) -> Response:
        context = await request_context(request)
        new = parse_snapshot_create(await read_json(request), api_version(request))
        record = await run_in_threadpool(lambda: self.service.create_snapshot(
            context, new.volume_id, name=new.name, description=new.description,
            metadata=dict(new.metadata), force=new.force))
        return _json(views.snapshot_body(record, view_context(request, context),
                                         extended=False), 202)

    async def _list_snapshots(self, request: Request, *, detail: bool) -> Response:
        return await list_reply(request, "snapshot", self.options, self.service.list_snapshots,
                                views.snapshots_body, detail=detail)

    async def list_snapshots(self, request: Request) -> Response:
        return await self._list_snapshots(request, detail=False)

    async def list_snapshots_detail(self, request: Request) -> Response:
        return await self._list_snapshots(request, detail=True)

    async def show_snapshot(self, request: Request) -> Response:
        context = await request_context(request)
        snapshot_id = uuid_or_not_found(request.path_params["snapshot_id"], "Snapshot")
        record = await run_in_threadpool(self.service.get_snapshot, context, snapshot_id)
        return _json(views.snapshot_body(record, view_context(request, context)))

    async def update_snapshot(self, request: Request) -> Response:
        context = await request_context(request)
        snapshot_id = uuid_or_not_found(request.path_params["snapshot_id"], "Snapshot")
        update = parse_snapshot_update(await read_json(request))
        record = await run_in_threadpool(lambda: self.service.update_snapshot(
            context, snapshot_id, changes=update.changes))
        return _json(views.snapshot_body(record, view_context(request, context),
                                         extended=False))

    async def delete_snapshot(self, request: Request) -> Response:
        context = await request_context(request)
        snapshot_id = uuid_or_not_found(request.path_params["snapshot_id"], "Snapshot")
        await run_in_threadpool(self.service.delete_snapshot, context, snapshot_id)
        return Response(status_code=202)

    async def snapshot_action(self, request: Request) -> Response:
        context = await request_context(request)
        snapshot_id = uuid_or_not_found(request.path_params["snapshot_id"], "Snapshot")
        action = actions.parse_snapshot_action(await read_json(request))
        if isinstance(action, actions.ResetStatus) and action.status is not None:
            await run_in_threadpool(self.service.reset_snapshot_status, context, snapshot_id,
                                    action.status)
        elif isinstance(action, actions.ForceDelete):
            await run_in_threadpool(lambda: self.service.delete_snapshot(
                context, snapshot_id, force=True))
        elif isinstance(action, actions.UpdateSnapshotStatus):
            await run_in_threadpool(self.service.update_snapshot_status, context,
                                    snapshot_id, action.status, action.progress)
        else:
            raise errors.NotSupported(f"The snapshot action {type(action).__name__} is not "
                                      "served.")
        return Response(status_code=202)

    async def snapshot_metadata(self, request: Request) -> Response:
        context = await request_context(request)
        snapshot_id = uuid_or_not_found(request.path_params["snapshot_id"], "Snapshot")
        if request.method == "GET":
            values = await run_in_threadpool(self.service.snapshot_metadata, context,
                                             snapshot_id)
        else:
            wanted = parse_metadata(await read_json(request))
            values = await run_in_threadpool(lambda: self.service.set_snapshot_metadata(
                context, snapshot_id, wanted, replace=request.method == "PUT"))
        return _json({"metadata": values})

    async def snapshot_metadata_item(self, request: Request) -> Response:
        context = await request_context(request)
        snapshot_id = uuid_or_not_found(request.path_params["snapshot_id"], "Snapshot")
        key = request.path_params["key"]
        if request.method == "DELETE":
            await run_in_threadpool(self.service.delete_snapshot_metadata, context,
                                    snapshot_id, key)
            return Response(status_code=200)
        if request.method == "PUT":
            key, value = parse_metadata_item(await read_json(request), key)
            await run_in_threadpool(lambda: self.service.set_snapshot_metadata(
                context, snapshot_id, {key: value}, replace=False))
            return _json({"meta": {key: value}})
        values = await run_in_threadpool(self.service.snapshot_metadata, context, snapshot_id)
        if key not in values:
            raise errors.NotFound(f"Snapshot {snapshot_id} has no metadata with key {key}.")
        return _json({"meta": {key: values[key]}})

    # --- attachments (3.27+) ---------------------------------------------------------------
    async def create_attachment(self, request: Request) -> Response:
        context = await request_context(request)
        new = parse_attachment_create(await read_json(request), api_version(request))
        record = await run_in_threadpool(lambda: self.attachments.create(
            context, new.volume_id, new.instance_uuid, connector=new.connector,
            mode=new.mode))
        return _json(views.attachment_body(record))

    async def update_attachment(self, request: Request) -> Response:
        context = await request_context(request)
        attachment_id = request.path_params["attachment_id"]
        connector = parse_attachment_update(await read_json(request), api_version(request))
        record = await run_in_threadpool(self.attachments.update, context, attachment_id,
                                         connector)
        return _json(views.attachment_body(record))

    async def attachment_action(self, request: Request) -> Response:
        context = await request_context(request)
        attachment_id = request.path_params["attachment_id"]
        actions.parse_attachment_action(await read_json(request), api_version(request))
        await run_in_threadpool(self.attachments.complete, context, attachment_id)
        return Response(status_code=204)

    async def delete_attachment(self, request: Request) -> Response:
        context = await request_context(request)
        mv.require_version(api_version(request), mv.NEW_ATTACH)
        attachment_id = request.path_params["attachment_id"]
        record = await run_in_threadpool(self.attachments.delete, context, attachment_id)
        return _json({"attachments": [views.attachment_view(record, detail=False)]})

    async def show_attachment(self, request: Request) -> Response:
        context = await request_context(request)
        mv.require_version(api_version(request), mv.NEW_ATTACH)
        record = await run_in_threadpool(self.attachments.get, context,
                                         request.path_params["attachment_id"])
        return _json(views.attachment_body(record))

    async def _list_attachments(self, request: Request, *, detail: bool) -> Response:
        context = await request_context(request)
        mv.require_version(api_version(request), mv.NEW_ATTACH)
        all_projects = context.is_admin and _flag(request, "all_tenants")
        records = await run_in_threadpool(lambda: self.attachments.list(
            context, all_projects=all_projects))
        volume_id = request.query_params.get("volume_id")
        if volume_id is not None:
            records = [r for r in records if r.volume_id == volume_id]
        return _json(views.attachments_body(records, detail=detail))

    async def list_attachments(self, request: Request) -> Response:
        return await self._list_attachments(request, detail=False)

    async def list_attachments_detail(self, request: Request) -> Response:
        return await self._list_attachments(request, detail=True)

    # --- transfers -------------------------------------------------------------------------
    # ``collection`` is ``os-volume-transfer`` (the first API: its bodies never change) or
    # ``volume-transfers`` (3.55+: ``no_snapshots``; 3.57+: the projects and ``accepted``).
    def _transfer_version(self, request: Request, collection: str) -> APIVersion | None:
        """The microversion the transfer bodies follow (None: the first API's bodies)."""
        if collection == "os-volume-transfer":
            return None
        version = api_version(request)
        mv.require_version(version, transfer_rules.NO_SNAPSHOTS)
        return version

    async def create_transfer(self, request: Request, collection: str) -> Response:
        context = await request_context(request)
        version = self._transfer_version(request, collection)
        volume_id, name, no_snapshots = transfer_rules.parse_transfer_create(
            await read_json(request), allow_no_snapshots=version is not None)
        record = await run_in_threadpool(lambda: self.transfers.create(
            context, volume_id, name=name, no_snapshots=no_snapshots))
        return _json(transfer_rules.transfer_body(record, view_context(request, context),
                                                  collection=collection, version=version), 202)

    async def list_transfers(self, request: Request, collection: str, detail: bool
                             ) -> Response:
        context = await request_context(request)
        version = self._transfer_version(request, collection)
        all_projects = context.is_admin and _flag(request, "all_tenants")
        records = await run_in_threadpool(lambda: self.transfers.list(
            context, all_projects=all_projects))
        return _json(transfer_rules.transfers_body(records, view_context(request, context),
                                                   collection=collection, detail=detail,
                                                   version=version))

    async def show_transfer(self, request: Request, collection: str) -> Response:
        context = await request_context(request)
        version = self._transfer_version(request, collection)
        transfer_id = uuid_or_not_found(request.path_params["transfer_id"], "Transfer")
        record = await run_in_threadpool(self.transfers.get, context, transfer_id)
        return _json(transfer_rules.transfer_body(record, view_context(request, context),
                                                  collection=collection, version=version))

    async def delete_transfer(self, request: Request, collection: str) -> Response:
        context = await request_context(request)
        self._transfer_version(request, collection)
        transfer_id = uuid_or_not_found(request.path_params["transfer_id"], "Transfer")
        await run_in_threadpool(self.transfers.delete, context, transfer_id)
        return Response(status_code=202)

    async def accept_transfer(self, request: Request, collection: str) -> Response:
        context = await request_context(request)
        version = self._transfer_version(request, collection)
        transfer_id = uuid_or_not_found(request.path_params["transfer_id"], "Transfer")
        auth_key = transfer_rules.parse_accept(await read_json(request))
        record = await run_in_threadpool(self.transfers.accept, context, transfer_id,
                                         auth_key)
        return _json(transfer_rules.transfer_body(record, view_context(request, context),
                                                  collection=collection, version=version,
                                                  accept=True), 202)

    def transfer_routes(self) -> list[tuple[str, _Handler, str]]:
        """The transfer routes of both collections, bound to their collection."""
        table: list[tuple[str, _Handler, str]] = []
        for c in ("os-volume-transfer", "volume-transfers"):
            one = f"/{c}/{{transfer_id}}"
            table += [
                (f"/{c}", functools.partial(self.create_transfer, collection=c), "POST"),
                (f"/{c}", functools.partial(self.list_transfers, collection=c,
                                            detail=False), "GET"),
                (f"/{c}/detail", functools.partial(self.list_transfers, collection=c,
                                                   detail=True), "GET"),
                (one, functools.partial(self.show_transfer, collection=c), "GET"),
                (one, functools.partial(self.delete_transfer, collection=c), "DELETE"),
                (one + "/accept", functools.partial(self.accept_transfer, collection=c),
                 "POST"),
            ]
        return table

    # --- types (the rest: .admin_routes), zones, limits -----------------------------------
    async def show_type(self, request: Request) -> Response:
        context = await request_context(request)
        ref = request.path_params["type_id"]
        record = await run_in_threadpool(self.service.get_type, context,
                                         None if ref == "default" else ref)
        return _json(service_views.volume_type_body(record, view_context(request, context)))

    async def availability_zones(self, request: Request) -> Response:
        await request_context(request)
        zone = self.service.options.availability_zone
        return _json(service_views.availability_zones_body([(zone, True)]))

    async def limits(self, request: Request) -> Response:
        context = await request_context(request)
        limits, in_use = await run_in_threadpool(self.service.project_limits, context)
        return _json(service_views.limits_body(limits, in_use))


def _flag(request: Request, name: str) -> bool:
    """A boolean query parameter as Cinder reads it (``True``/``true``/``1``...)."""
    value = request.query_params.get(name)
    if value is None:
        return False
    lowered = value.strip().lower()
    if lowered in ("1", "t", "true", "on", "y", "yes"):
        return True
    if lowered in ("0", "f", "false", "off", "n", "no", ""):
        return False
    raise errors.InvalidArgument(f"Invalid value '{value}' for {name}: use true or false")


def volume_routes(services: VolumeServices, options: VolumeApiOptions,
                  quota_defaults: QuotaDefaults) -> list[BaseRoute]:
    """Routes under ``/volume/v3`` for :func:`shoal.api.volume_app` (the admin ones of
    :mod:`.admin_routes` first)."""
    from shoal.api.cinder.admin_routes import admin_routes  # it imports view_context
    from shoal.api.cinder.backups import backup_routes  # it imports view_context
    from shoal.api.cinder.groups import group_routes  # likewise

    h = _Volumes(services, options, quota_defaults)
    volume = "/volumes/{volume_id}"
    snapshot = "/snapshots/{snapshot_id}"
    table: Sequence[tuple[str, _Handler, str]] = (
        ("/volumes", h.create_volume, "POST"),
        ("/volumes", h.list_volumes, "GET"),
        ("/volumes/detail", h.list_volumes_detail, "GET"),
        ("/volumes/summary", h.volume_summary, "GET"),
        (volume, h.show_volume, "GET"),
        (volume, h.update_volume, "PUT"),
        (volume, h.delete_volume, "DELETE"),
        (volume + "/action", h.volume_action, "POST"),
        (volume + "/metadata", h.volume_metadata, "GET"),
        (volume + "/metadata", h.volume_metadata, "POST"),
        (volume + "/metadata", h.volume_metadata, "PUT"),
        (volume + "/metadata/{key}", h.volume_metadata_item, "GET"),
        (volume + "/metadata/{key}", h.volume_metadata_item, "PUT"),
        (volume + "/metadata/{key}", h.volume_metadata_item, "DELETE"),
        ("/snapshots", h.create_snapshot, "POST"),
        ("/snapshots", h.list_snapshots, "GET"),
        ("/snapshots/detail", h.list_snapshots_detail, "GET"),
        (snapshot, h.show_snapshot, "GET"),
        (snapshot, h.update_snapshot, "PUT"),
        (snapshot, h.delete_snapshot, "DELETE"),
        (snapshot + "/action", h.snapshot_action, "POST"),
        (snapshot + "/metadata", h.snapshot_metadata, "GET"),
        (snapshot + "/metadata", h.snapshot_metadata, "POST"),
        (snapshot + "/metadata", h.snapshot_metadata, "PUT"),
        (snapshot + "/metadata/{key}", h.snapshot_metadata_item, "GET"),
        (snapshot + "/metadata/{key}", h.snapshot_metadata_item, "PUT"),
        (snapshot + "/metadata/{key}", h.snapshot_metadata_item, "DELETE"),
        ("/attachments", h.create_attachment, "POST"),
        ("/attachments", h.list_attachments, "GET"),
        ("/attachments/detail", h.list_attachments_detail, "GET"),
        ("/attachments/{attachment_id}", h.show_attachment, "GET"),
        ("/attachments/{attachment_id}", h.update_attachment, "PUT"),
        ("/attachments/{attachment_id}", h.delete_attachment, "DELETE"),
        ("/attachments/{attachment_id}/action", h.attachment_action, "POST"),
        *h.transfer_routes(),
        ("/types/{type_id}", h.show_type, "GET"),
        ("/os-availability-zone", h.availability_zones, "GET"),
        ("/limits", h.limits, "GET"),
    )
    return [*admin_routes(services, options), *group_routes(services),
            *backup_routes(services.backups, options),
            *(Route(path, handler, methods=[method]) for path, handler, method in table)]

