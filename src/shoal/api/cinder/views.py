"""Volumes, snapshots, backups and attachments rendered as Cinder v3's JSON bodies.

Each body holds exactly the fields upstream answers at the request's microversion and
for the caller (:class:`~shoal.api.cinder.viewcontext.ViewContext`); Tempest checks
them against schemas that refuse unknown fields. What depends on what:

========================================  =========  ==========================================
field                                     from       shown to
========================================  =========  ==========================================
volume ``migration_status``               3.0        admins
volume ``group_id``                       3.13       everyone
volume ``provider_id``                    3.21       admins
volume ``shared_targets``, ``service_uuid``  3.48    everyone (``shared_targets`` null from 3.69,
                                                     before that null shows as true)
volume ``cluster_name``                   3.61       admins
volume ``volume_type_id``                 3.63       everyone (``volume_type`` is then the name
                                                     or null)
volume ``encryption_key_id``              3.64       everyone, when set (not the fixed key)
volume ``consumes_quota``                 3.65       everyone
``os-vol-tenant-attr:tenant_id``          3.0        readers of the volume (show and detail
                                                     lists only, not create/update replies)
``os-vol-host-attr:host``                 3.0        admins (show and detail lists)
``os-vol-mig-status-attr:migstat``,       3.0        admins (show and detail lists)
``os-vol-mig-status-attr:name_id``
``volume_image_metadata``                 3.0        show: when the volume has some; detail
                                                     list: on all when one in the page has
attachment ``host_name``                  3.0        admins and the service role (else null)
snapshot ``group_snapshot_id``            3.14       everyone (not in the summary list)
snapshot ``user_id``                      3.41       everyone (not in the summary list)
snapshot ``consumes_quota``               3.65       everyone (not in the summary list)
``os-extended-snapshot-attributes:*``     3.0        readers (show and detail lists)
backup ``metadata``                       3.43       everyone
backup ``encryption_key_id``              3.64       everyone, when set
``os-backup-project-attr:project_id``     3.18       admins (show and detail lists)
backup ``user_id``                        3.56       admins (show and detail lists)
backup ``verified_at`` (shoal's own)      any        admins, once a check matched (absent
                                                     before: Tempest's schema has no such key)
list ``count``                            3.45       when asked (``with_count``)
========================================  =========  ==========================================

A volume's ``status`` hides Cinder's internal managing statuses (``managing`` shows as
``creating``, ``error_managing`` as ``error``, ``error_managing_deleting`` as
``deleting``); ``bootable`` is the string ``"true"``/``"false"``; ``metadata`` includes
the visible admin metadata (``readonly``, ``attached_mode``). Lists carry
``<collection>_links`` with a ``next`` link when the page is full (Cinder's rule: as
many items as the limit, or the requested count reaches it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final, TypeVar

from shoal.api.cinder import microversions as mv
from shoal.api.cinder.viewcontext import ViewContext, cinder_time
from shoal.services.volume.records import (
    AttachmentRecord,
    BackupRecord,
    SnapshotRecord,
    VolumeRecord,
)

__all__ = [
    "FIXED_KEY_ID",
    "attachment_body",
    "attachment_view",
    "attachments_body",
    "backup_body",
    "backup_detail",
    "backup_restore_body",
    "backup_summary",
    "backups_body",
    "collection_links",
    "snapshot_body",
    "snapshot_detail",
    "snapshot_summary",
    "snapshots_body",
    "volume_attachments",
    "volume_body",
    "volume_detail",
    "volume_summary",
    "volumes_body",
]

#: The key id Cinder's fixed-key manager gives every volume; views never show it.
FIXED_KEY_ID: Final = "00000000-0000-0000-0000-000000000000"
#: Internal statuses shown as their public counterpart.
_STATUS_SHOWN: Final = {
    "managing": "creating", "error_managing": "error", "error_managing_deleting": "deleting",
}
#: Admin metadata keys a volume's ``metadata`` shows.
_VISIBLE_ADMIN_METADATA: Final = ("readonly", "attached_mode")

_Item = TypeVar("_Item")


# --- collections ----------------------------------------------------------------------


def collection_links(
    ids: Sequence[str],
    ctx: ViewContext,
    *,
    path: str,
    params: Sequence[tuple[str, str]],
    limit: int,
    count: int | None = None,
) -> list[dict[str, str]]:
    """The ``next`` link of a page, as Cinder decides it, or ``[]``.

    Args:
        ids: the page's ids, in order.
        ctx: who the body is for.
        path: the collection path after the project (``volumes/detail``).
        params: the request's query parameters (repeated in the link).
        limit: the page size asked for (or the default maximum).
        count: the total ``with_count`` asked for, else None.

    A link is given when the page is not empty and ``limit`` is at most the count (the
    total when known, else the page length): a full last page also gets one.
    """
    known = count or len(ids)
    if ids and limit <= known:
        return [{"rel": "next", "href": ctx.next_link(path, params, ids[-1])}]
    return []


def _list_body(
    key: str,
    items: Sequence[_Item],
    render: Callable[[_Item], dict[str, Any]],
    ids: Sequence[str],
    ctx: ViewContext,
    *,
    path: str,
    params: Sequence[tuple[str, str]],
    limit: int,
    count: int | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {key: [render(item) for item in items]}
    links = collection_links(ids, ctx, path=path, params=params, limit=limit, count=count)
    if links:
        body[f"{key}_links"] = links
    if count is not None and ctx.at_least(mv.SUPPORT_COUNT_INFO):
        body["count"] = count
    return body


# --- volumes ---------------------------------------------------------------------------


def volume_summary(volume: VolumeRecord, ctx: ViewContext) -> dict[str, Any]:
    """One volume of ``GET /volumes``: ``id``, ``name``, ``links``."""
    return {"id": volume.id, "name": volume.name, "links": ctx.links("volumes", volume.id)}


def volume_attachments(volume: VolumeRecord, ctx: ViewContext) -> list[dict[str, Any]]:
    """A volume's ``attachments``: its attached (not reserved or detached) ones."""
    shown = []
    for attachment in volume.attachments:
        if attachment.status != "attached":
            continue
        host = attachment.attached_host if ctx.is_admin or ctx.is_service else None
        shown.append({
            "id": volume.id,
            "attachment_id": attachment.id,
            "volume_id": volume.id,
            "server_id": attachment.instance_uuid,
            "host_name": host,
            "device": attachment.mountpoint,
            "attached_at": cinder_time(attachment.attach_time),
        })
    return shown


def _volume_metadata(volume: VolumeRecord) -> dict[str, str]:
    metadata = dict(volume.metadata)
    for key in _VISIBLE_ADMIN_METADATA:
        if key in volume.admin_metadata:
            metadata[key] = volume.admin_metadata[key]
    return metadata


def _volume_type(volume: VolumeRecord, ctx: ViewContext) -> str | None:
    if ctx.at_least(mv.VOLUME_TYPE_ID_IN_VOLUME_DETAIL):
        return volume.volume_type_name
    return volume.volume_type_name or volume.volume_type_id


def _shown_key(key_id: str | None) -> str | None:
    return key_id if key_id and key_id != FIXED_KEY_ID else None


def volume_detail(
    volume: VolumeRecord,
    ctx: ViewContext,
    *,
    extended: bool = True,
    image_metadata: bool | None = None,
) -> dict[str, Any]:
    """One volume as ``GET /volumes/{id}`` (and create, update, detail lists) show it.

    Args:
        volume: the volume.
        ctx: who the body is for.
        extended: add the fields Cinder's API extensions add to show and detail lists
            (tenant, host, migration attributes, image metadata); False for the replies
            of create and update.
        image_metadata: whether to add ``volume_image_metadata``; None: when the volume
            has some (a detail list decides for its whole page).
    """
    view: dict[str, Any] = {
        "id": volume.id,
        "status": _STATUS_SHOWN.get(volume.status, volume.status),
        "size": volume.size,
        "availability_zone": volume.availability_zone,
        "created_at": cinder_time(volume.created_at),
        "updated_at": cinder_time(volume.updated_at),
        "name": volume.name,
        "description": volume.description,
        "volume_type": _volume_type(volume, ctx),
        "snapshot_id": volume.snapshot_id,
        "source_volid": volume.source_volid,
        "metadata": _volume_metadata(volume),
        "links": ctx.links("volumes", volume.id),
        "user_id": volume.user_id,
        "bootable": "true" if volume.bootable else "false",
        "encrypted": volume.encryption_key_id is not None,
        "replication_status": volume.replication_status,
        "consistencygroup_id": volume.consistencygroup_id,
        "multiattach": volume.multiattach,
        "attachments": volume_attachments(volume, ctx),
    }
    if ctx.is_admin:
        view["migration_status"] = volume.migration_status
    _add_versioned_volume_fields(view, volume, ctx)
    if extended:
        _add_extension_fields(view, volume, ctx, image_metadata)
    return view


def _add_versioned_volume_fields(
    view: dict[str, Any], volume: VolumeRecord, ctx: ViewContext
) -> None:
    if ctx.at_least(mv.GROUP_VOLUME):
        view["group_id"] = volume.group_id
    if ctx.is_admin and ctx.at_least(mv.VOLUME_DETAIL_PROVIDER_ID):
        view["provider_id"] = volume.provider_id
    if ctx.at_least(mv.VOLUME_SHARED_TARGETS_AND_SERVICE_FIELDS):
        shared = volume.shared_targets
        if shared is None and not ctx.at_least(mv.SHARED_TARGETS_TRISTATE):
            shared = True
        view["shared_targets"] = shared
        view["service_uuid"] = volume.service_uuid
    if ctx.is_admin and ctx.at_least(mv.VOLUME_CLUSTER_NAME):
        view["cluster_name"] = volume.cluster_name
    if ctx.at_least(mv.VOLUME_TYPE_ID_IN_VOLUME_DETAIL):
        view["volume_type_id"] = volume.volume_type_id
    key_id = _shown_key(volume.encryption_key_id)
    if key_id is not None and ctx.at_least(mv.ENCRYPTION_KEY_ID_IN_DETAILS):
        view["encryption_key_id"] = key_id
    if ctx.at_least(mv.USE_QUOTA):
        view["consumes_quota"] = volume.use_quota


def _add_extension_fields(
    view: dict[str, Any], volume: VolumeRecord, ctx: ViewContext, image_metadata: bool | None
) -> None:
    view["os-vol-tenant-attr:tenant_id"] = volume.project_id
    if ctx.is_admin:
        view["os-vol-host-attr:host"] = volume.host
        view["os-vol-mig-status-attr:migstat"] = volume.migration_status
        view["os-vol-mig-status-attr:name_id"] = volume.name_id
    if image_metadata if image_metadata is not None else bool(volume.image_metadata):
        view["volume_image_metadata"] = dict(volume.image_metadata)


def volume_body(volume: VolumeRecord, ctx: ViewContext, *, extended: bool = True
                ) -> dict[str, Any]:
    """``{"volume": ...}``: show (``extended``), or the reply of create/update (not)."""
    return {"volume": volume_detail(volume, ctx, extended=extended)}


def volumes_body(
    volumes: Sequence[VolumeRecord],
    ctx: ViewContext,
    *,
    detail: bool,
    params: Sequence[tuple[str, str]] = (),
    limit: int,
    count: int | None = None,
) -> dict[str, Any]:
    """The body of ``GET /volumes`` (``detail`` False) or ``GET /volumes/detail``.

    Args:
        volumes: the page, in order.
        ctx: who the body is for.
        detail: detailed items (with the extension fields) or summaries.
        params: the request's query parameters, for the ``next`` link.
        limit: the page size asked for (or the default), for the ``next`` link.
        count: the total number of matches when ``with_count`` asked for it.
    """
    if detail:
        with_images = any(volume.image_metadata for volume in volumes)

        def render(volume: VolumeRecord) -> dict[str, Any]:
            return volume_detail(volume, ctx, image_metadata=with_images)
    else:
        def render(volume: VolumeRecord) -> dict[str, Any]:
            return volume_summary(volume, ctx)
    return _list_body("volumes", volumes, render, [v.id for v in volumes], ctx,
                      path="volumes/detail" if detail else "volumes", params=params,
                      limit=limit, count=count)


# --- snapshots -------------------------------------------------------------------------


def snapshot_summary(snapshot: SnapshotRecord, ctx: ViewContext) -> dict[str, Any]:
    """One snapshot of ``GET /snapshots`` (no microversioned fields)."""
    del ctx  # the summary is the same for everyone at every version
    return {
        "id": snapshot.id,
        "created_at": cinder_time(snapshot.created_at),
        "updated_at": cinder_time(snapshot.updated_at),
        "name": snapshot.name,
        "description": snapshot.description,
        "volume_id": snapshot.volume_id,
        "status": snapshot.status,
        "size": snapshot.volume_size,
        "metadata": dict(snapshot.metadata),
    }


def snapshot_detail(
    snapshot: SnapshotRecord, ctx: ViewContext, *, extended: bool = True
) -> dict[str, Any]:
    """One snapshot as show and detail lists (``extended``) or create/update show it."""
    view = snapshot_summary(snapshot, ctx)
    if ctx.at_least(mv.GROUP_SNAPSHOTS):
        view["group_snapshot_id"] = snapshot.group_snapshot_id
    if ctx.at_least(mv.SNAPSHOT_LIST_USER_ID):
        view["user_id"] = snapshot.user_id
    if ctx.at_least(mv.USE_QUOTA):
        view["consumes_quota"] = snapshot.use_quota
    if extended:
        view["os-extended-snapshot-attributes:progress"] = snapshot.progress
        view["os-extended-snapshot-attributes:project_id"] = snapshot.project_id
    return view


def snapshot_body(snapshot: SnapshotRecord, ctx: ViewContext, *, extended: bool = True
                  ) -> dict[str, Any]:
    """``{"snapshot": ...}``: show (``extended``), or the reply of create/update."""
    return {"snapshot": snapshot_detail(snapshot, ctx, extended=extended)}


def snapshots_body(
    snapshots: Sequence[SnapshotRecord],
    ctx: ViewContext,
    *,
    detail: bool,
    params: Sequence[tuple[str, str]] = (),
    limit: int,
    count: int | None = None,
) -> dict[str, Any]:
    """The body of ``GET /snapshots`` or ``GET /snapshots/detail`` (see
    :func:`volumes_body` for the arguments)."""
    def render(snapshot: SnapshotRecord) -> dict[str, Any]:
        if detail:
            return snapshot_detail(snapshot, ctx)
        return snapshot_summary(snapshot, ctx)
    return _list_body("snapshots", snapshots, render, [s.id for s in snapshots], ctx,
                      path="snapshots/detail" if detail else "snapshots", params=params,
                      limit=limit, count=count)


# --- backups ---------------------------------------------------------------------------


def backup_summary(backup: BackupRecord, ctx: ViewContext) -> dict[str, Any]:
    """One backup of ``GET /backups``, and the reply of create and update."""
    return {"id": backup.id, "name": backup.name, "links": ctx.links("backups", backup.id)}


def backup_detail(
    backup: BackupRecord, ctx: ViewContext, *, extended: bool = True
) -> dict[str, Any]:
    """One backup as show and detail lists show it; ``extended`` adds the admin-only
    project and user attributes (Cinder adds them to show and detail lists only)."""
    view: dict[str, Any] = {
        "id": backup.id,
        "status": backup.status,
        "size": backup.size,
        "object_count": backup.object_count,
        "availability_zone": backup.availability_zone,
        "container": backup.container,
        "created_at": cinder_time(backup.created_at),
        "updated_at": cinder_time(backup.updated_at),
        "name": backup.name,
        "description": backup.description,
        "fail_reason": backup.fail_reason,
        "volume_id": backup.volume_id,
        "links": ctx.links("backups", backup.id),
        "is_incremental": backup.is_incremental,
        "has_dependent_backups": backup.has_dependent_backups,
        "snapshot_id": backup.snapshot_id,
        "data_timestamp": cinder_time(backup.data_timestamp),
    }
    if ctx.at_least(mv.BACKUP_METADATA):
        view["metadata"] = dict(backup.metadata)
    key_id = _shown_key(backup.encryption_key_id)
    if key_id is not None and ctx.at_least(mv.ENCRYPTION_KEY_ID_IN_DETAILS):
        view["encryption_key_id"] = key_id
    if extended and ctx.is_admin:
        if ctx.at_least(mv.BACKUP_PROJECT):
            view["os-backup-project-attr:project_id"] = backup.project_id
        if ctx.at_least(mv.BACKUP_PROJECT_USER_ID):
            view["user_id"] = backup.user_id
        if backup.verified_at is not None:  # shoal's own; absent until a check matched
            view["verified_at"] = cinder_time(backup.verified_at)
    return view


def backup_body(backup: BackupRecord, ctx: ViewContext, *, detail: bool = True
                ) -> dict[str, Any]:
    """``{"backup": ...}``: show (``detail``), or the summary create/update answer."""
    if detail:
        return {"backup": backup_detail(backup, ctx)}
    return {"backup": backup_summary(backup, ctx)}


def backups_body(
    backups: Sequence[BackupRecord],
    ctx: ViewContext,
    *,
    detail: bool,
    params: Sequence[tuple[str, str]] = (),
    limit: int,
    count: int | None = None,
) -> dict[str, Any]:
    """The body of ``GET /backups`` or ``GET /backups/detail`` (see
    :func:`volumes_body`; Cinder's next link says ``backups`` for both)."""
    def render(backup: BackupRecord) -> dict[str, Any]:
        return backup_detail(backup, ctx) if detail else backup_summary(backup, ctx)
    return _list_body("backups", backups, render, [b.id for b in backups], ctx,
                      path="backups", params=params, limit=limit, count=count)


def backup_restore_body(backup_id: str, volume_id: str, volume_name: str | None
                        ) -> dict[str, Any]:
    """The reply of ``POST /backups/{id}/restore``: which volume receives the data."""
    return {"restore": {"backup_id": backup_id, "volume_id": volume_id,
                        "volume_name": volume_name}}


# --- attachments (the 3.27 attachments API) --------------------------------------------


def attachment_view(attachment: AttachmentRecord, *, detail: bool = True) -> dict[str, Any]:
    """One attachment of ``/attachments``: the summary (``id``, ``status``,
    ``instance``, ``volume_id``) and, in ``detail``, times (empty string when unset, as
    Cinder), ``attach_mode`` and ``connection_info``."""
    view: dict[str, Any] = {
        "id": attachment.id,
        "status": attachment.status,
        "instance": attachment.instance_uuid,
        "volume_id": attachment.volume_id,
    }
    if detail:
        view["attached_at"] = cinder_time(attachment.attach_time) or ""
        view["detached_at"] = cinder_time(attachment.detach_time) or ""
        view["attach_mode"] = attachment.attach_mode
        view["connection_info"] = (None if attachment.connection_info is None
                                   else dict(attachment.connection_info))
    return view


def attachment_body(attachment: AttachmentRecord) -> dict[str, Any]:
    """``{"attachment": ...}`` (detailed) for show, create and update."""
    return {"attachment": attachment_view(attachment)}


def attachments_body(attachments: Iterable[AttachmentRecord], *, detail: bool
                     ) -> dict[str, Any]:
    """The body of ``GET /attachments`` (summaries) or ``/attachments/detail``."""
    return {"attachments": [attachment_view(a, detail=detail) for a in attachments]}
