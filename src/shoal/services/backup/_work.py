"""The backup service's long operations, each a durable task (:mod:`shoal.services.tasks`).

==================  ======================================  =================================
kind                from → to                               on failure
==================  ======================================  =================================
``backup.create``   creating → available; the volume (or    error (``fail_reason``); the
                    snapshot) back to its status            volume (snapshot) back
``backup.restore``  restoring → available; the volume       available; the volume
                    restoring-backup → available            error_restoring
``backup.delete``   deleting → (row removed)                error_deleting
==================  ======================================  =================================

Every handler is resumable: a ``shoal up`` killed mid-backup runs it again at the next start,
after removing what the cut-short attempt left (the volume's snapshot of this backup, and
this backup's data in the backup pool: :meth:`CephBackupDriver.discard_partial`), so no
orphan snapshot or base image remains; a cut-short restore is simply run again (a full
copy writes every byte, and a new volume's image is made anew).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Final

from sqlalchemy.orm import Session

from shoal.services.backup._from_backup import VolumeFromBackupWork
from shoal.services.backup._models import Backup
from shoal.services.backup._service import FAIL_REASON_CHARS_MAX
from shoal.services.backup.driver import (
    FORCED_FULL_FROM_SNAPSHOT,
    FORCED_FULL_PARENT_SNAPSHOT_PRUNED,
    BackupRef,
    CephBackupDriver,
)
from shoal.services.tasks import TaskContext, TaskInfo, TaskRunner
from shoal.services.volume._work import Hook, backend_driver, register_resumable
from shoal.services.volume.driver import RbdVolumeDriver
from shoal.services.volume.models import Message, Snapshot, Volume, VolumeMetadata

__all__ = ["KINDS", "BackupWork"]

log = logging.getLogger(__name__)

KINDS: Final = ("backup.create", "backup.restore", "backup.delete")


def _ref(params: Mapping[str, Any]) -> BackupRef:
    return BackupRef(params["backup_id"], params["volume_id"], params.get("service_metadata"),
                     params.get("container"))


class BackupWork:
    """The task handlers over each volume backend's backup driver.

    ``drivers`` maps a volume backend (``enabled_backends`` section) to the backup driver
    reading its volumes; ``volume_drivers`` to its RBD volume driver (a restore's new volume
    is made with it). Each task names its backend in ``params["backend"]``.
    """

    def __init__(self, drivers: Mapping[str, CephBackupDriver],
                 volume_drivers: Mapping[str, RbdVolumeDriver], now: Callable[[], Any]) -> None:
        self.drivers = dict(drivers)
        self.volume_drivers = dict(volume_drivers)
        self.now = now

    def _driver(self, ctx: TaskContext) -> CephBackupDriver:
        backend = ctx.params.get("backend")
        if backend is None:  # a delete needs no volume backend: any driver's pool will do
            return next(iter(self.drivers.values()))
        return backend_driver(self.drivers, backend)

    def register(self, runner: TaskRunner) -> None:
        """Register every kind of :data:`KINDS` with its handler and failure hook."""
        table: list[tuple[str, Callable[[TaskContext], None], Hook]] = [
            ("backup.create", self.create_backup, self._create_failed),
            ("backup.restore", self.restore_backup, self._restore_failed),
            ("backup.delete", self.delete_backup, self._delete_failed),
            *VolumeFromBackupWork(self).table(),  # backup.create_volume (3.47)
        ]
        register_resumable(runner, table)

    # --- failure hooks (in the failure's transaction; idempotent) -------------------------
    def _mark_failed(self, session: Session, task: TaskInfo, status: str, message: str) -> None:
        """Set the backup row (if any) to ``status`` with ``message`` (cut to
        :data:`FAIL_REASON_CHARS_MAX` characters) as its ``fail_reason``."""
        row = session.get(Backup, task.resource.id)
        if row is not None:
            row.status = status
            row.fail_reason = message[:FAIL_REASON_CHARS_MAX]
            row.updated_at = self.now()

    def _create_failed(self, session: Session, task: TaskInfo, message: str) -> None:
        self._mark_failed(session, task, "error", message)
        self._release_source(session, task.params)
        log.warning("backup %s: create failed: %s", task.resource.id, message)

    def _restore_failed(self, session: Session, task: TaskInfo, message: str) -> None:
        row = session.get(Backup, task.resource.id)
        if row is not None and row.status == "restoring":
            row.status = "available"
            row.updated_at = self.now()
        vol = session.get(Volume, task.params["volume_id"])
        if vol is not None:
            vol.status = "error_restoring"
            vol.updated_at = self.now()
        log.warning("backup %s: restore to volume %s failed: %s", task.resource.id,
                    task.params["volume_id"], message)

    def _delete_failed(self, session: Session, task: TaskInfo, message: str) -> None:
        self._mark_failed(session, task, "error_deleting", message)
        log.warning("backup %s: delete failed: %s", task.resource.id, message)

    def _release_source(self, session: Session, params: Mapping[str, Any]) -> None:
        """Put the backed-up volume (or snapshot) back in the status it had."""
        snapshot_id = params.get("snapshot_id")
        if snapshot_id is not None:
            snap = session.get(Snapshot, snapshot_id)
            if snap is not None and snap.status == "backing-up":
                snap.status = "available"
                snap.updated_at = self.now()
            return
        vol = session.get(Volume, params["volume_id"])
        if vol is not None and vol.status == "backing-up":
            vol.status = vol.previous_status or "available"
            vol.previous_status = None
            vol.updated_at = self.now()

    # --- handlers --------------------------------------------------------------------------
    def create_backup(self, ctx: TaskContext) -> None:
        """Back the volume (or its snapshot) up; record where the data went."""
        p = ctx.params
        driver = self._driver(ctx)
        backup_id = ctx.resource.id
        parent = None if p.get("parent") is None else _ref(p["parent"])
        if ctx.resumed:
            removed = driver.discard_partial(backup_id, p["volume_id"], p["pool"],
                                             parent=parent, container=p.get("container"))
            log.info("backup %s: resumed; removed what the cut-short attempt left (source "
                     "snapshots %s)", backup_id, removed)
        ctx.check()
        result = driver.backup(backup_id, p["volume_id"], p["pool"], parent=parent,
                               snapshot_id=p.get("snapshot_id"),
                               volume_size_gib=int(p["size"]),
                               volume_metadata=p.get("volume_metadata"),
                               container=p.get("container"))
        with ctx.finish() as session:
            self._release_source(session, p)
            row = session.get(Backup, backup_id)
            if row is None:
                return
            if row.status == "creating":  # not force-deleted or reset meanwhile
                row.status = "available"
            row.container = result.container
            row.service_metadata = result.service_metadata_json()
            row.sha256 = result.sha256
            row.restore_point = result.restore_point
            row.data_bytes = result.data_bytes
            row.fail_reason = None
            if not result.incremental:
                row.parent_id = None
            row.updated_at = self.now()
            if result.forced_full_reason is not None and p.get("parent") is not None:
                session.add(_forced_full_message(row, result.forced_full_reason, self.now()))

    def restore_backup(self, ctx: TaskContext) -> None:
        """Restore the backup into the volume (made first when it is new)."""
        p = ctx.params
        driver = self._driver(ctx)
        volume_id = p["volume_id"]
        size = int(p["volume_size"])
        is_new = bool(p["volume_is_new"])
        if is_new:
            volume_driver = self.volume_drivers[p["backend"]]
            if ctx.resumed:
                volume_driver.delete_volume(volume_id)
            volume_driver.create_volume(volume_id, size)
        ctx.check()
        result = driver.restore(_ref(p["ref"]), volume_id, p["pool"], size,
                                volume_is_new=is_new)
        with ctx.finish() as session:
            vol = session.get(Volume, volume_id)
            if vol is not None:
                vol.status = "available"
                vol.updated_at = self.now()
                if result.volume_metadata is not None:
                    _apply_volume_metadata(vol, result.volume_metadata)
            row = session.get(Backup, ctx.resource.id)
            if row is not None and row.status == "restoring":
                row.status = "available"
                row.updated_at = self.now()

    def delete_backup(self, ctx: TaskContext) -> None:
        """Remove the backup's data, then its row."""
        self._driver(ctx).delete_backup(_ref(ctx.params["ref"]))
        with ctx.finish() as session:
            row = session.get(Backup, ctx.resource.id)
            if row is not None:
                session.delete(row)


#: What the user is told when an incremental backup was taken full (by reason).
_FORCED_FULL_TEXT: Final = {
    FORCED_FULL_PARENT_SNAPSHOT_PRUNED: (
        "backup create: the volume no longer has the snapshot of the parent backup "
        "(backup_ceph_max_snapshots pruned it), so a full backup was taken instead of an "
        "incremental one."),
    FORCED_FULL_FROM_SNAPSHOT: (
        "backup create: a backup of a snapshot is always full, so a full backup was taken "
        "instead of an incremental one."),
}


def _forced_full_message(row: Backup, reason: str, now: Any) -> Message:
    """The user message (``/v3/messages``) of an incremental backup taken full."""
    return Message(id=str(uuid.uuid4()), project_id=row.project_id,
                   resource_type="VOLUME_BACKUP", resource_uuid=row.id,
                   event_id=f"VOLUME_BACKUP_{reason}", message_level="WARNING",
                   user_message=_FORCED_FULL_TEXT.get(reason, reason), created_at=now)


def _apply_volume_metadata(vol: Volume, text: str) -> None:
    """Give a restored volume the backed-up volume's metadata (user keys and image
    properties merged over its own) and bootable flag; a malformed record is logged and
    skipped (the data is restored all the same)."""
    try:
        saved = json.loads(text)
    except ValueError:
        saved = None
    if not isinstance(saved, dict):
        log.warning("volume %s: the backup's volume metadata is not readable: %r", vol.id,
                    text[:200])
        return
    base = saved.get("volume-base-metadata") or {}
    if "bootable" in base:
        vol.bootable = bool(base["bootable"])
    current = {(m.kind, m.key): m for m in vol.metadata_items}
    for kind, values in (("user", saved.get("volume-metadata") or {}),
                         ("image", saved.get("volume-glance-metadata") or {})):
        for key, value in sorted(values.items()):
            item = current.get((kind, key))
            if item is None:
                vol.metadata_items.append(VolumeMetadata(kind=kind, key=key, value=str(value)))
            else:
                item.value = str(value)
            if kind == "image" and key == "image_id":
                vol.image_id = str(value)
