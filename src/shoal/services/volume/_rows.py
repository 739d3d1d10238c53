"""Database rows → the frozen records the Cinder API's views render."""

from __future__ import annotations

import json

from sqlalchemy.orm import object_session

from shoal.services.volume._qos import type_qos_ids
from shoal.services.volume.models import Attachment, Snapshot, Volume, VolumeType
from shoal.services.volume.records import (
    AttachmentRecord,
    SnapshotRecord,
    VolumeRecord,
    VolumeTypeRecord,
)

__all__ = ["attachment_record", "snapshot_record", "type_record", "volume_record"]


def attachment_record(row: Attachment) -> AttachmentRecord:
    """The record of one attachment row."""
    info = None if row.connection_info is None else json.loads(row.connection_info)
    return AttachmentRecord(
        id=row.id, volume_id=row.volume_id, status=row.status,
        instance_uuid=row.instance_uuid, attached_host=row.attached_host,
        mountpoint=row.mountpoint, attach_mode=row.attach_mode, attach_time=row.attach_time,
        detach_time=row.detach_time, connection_info=info)


def volume_record(row: Volume) -> VolumeRecord:
    """The record of one volume row, with its metadata of each kind and attachments."""
    by_kind: dict[str, dict[str, str]] = {"user": {}, "admin": {}, "image": {}}
    for item in row.metadata_items:
        by_kind[item.kind][item.key] = item.value
    vtype = row.volume_type
    return VolumeRecord(
        id=row.id, project_id=row.project_id, user_id=row.user_id, status=row.status,
        size=row.size, created_at=row.created_at, updated_at=row.updated_at, name=row.name,
        description=row.description, availability_zone=row.availability_zone,
        volume_type_id=row.volume_type_id,
        volume_type_name=None if vtype is None else vtype.name,
        snapshot_id=row.snapshot_id, source_volid=row.source_volid, bootable=row.bootable,
        multiattach=row.multiattach, host=row.host, migration_status=row.migration_status,
        use_quota=row.use_quota, group_id=row.group_id, metadata=by_kind["user"],
        admin_metadata=by_kind["admin"],
        image_metadata=by_kind["image"],
        attachments=tuple(attachment_record(a) for a in row.attachments))


def snapshot_record(row: Snapshot, availability_zone: str | None = None) -> SnapshotRecord:
    """The record of one snapshot row (``availability_zone``: its volume's)."""
    return SnapshotRecord(
        id=row.id, volume_id=row.volume_id, project_id=row.project_id, user_id=row.user_id,
        status=row.status, volume_size=row.volume_size, created_at=row.created_at,
        updated_at=row.updated_at, name=row.name, description=row.description,
        metadata={m.key: m.value for m in row.metadata_items}, progress=row.progress,
        use_quota=row.use_quota, group_snapshot_id=row.group_snapshot_id,
        availability_zone=availability_zone)


def type_record(row: VolumeType) -> VolumeTypeRecord:
    """The record of one volume type row (with the id of its QoS spec, read in the row's
    session)."""
    session = object_session(row)
    qos = None if session is None else type_qos_ids(session, (row.id,)).get(row.id)
    return VolumeTypeRecord(
        id=row.id, name=row.name, description=row.description, is_public=row.is_public,
        extra_specs={s.key: s.value for s in row.extra_specs}, qos_specs_id=qos)
