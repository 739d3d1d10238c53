"""``BackupService``: volume backups kept in the database, Cinder's backup API rules, their
long operations run as durable tasks (:mod:`._work`).

Every method takes the caller and enforces the backup policy (:mod:`.policy`) itself. A
request that starts work (create, delete, restore) writes the backup (and the volume) in
its transitional status and the task in one transaction and returns at once; a refusal
(bad state 400, over quota 413, unknown backup or volume 404) leaves nothing behind.

Statuses, as Cinder moves them:

- create: the volume ``available``/``in-use`` → ``backing-up`` → back (a snapshot's backup
  moves the snapshot instead); the backup ``creating`` → ``available`` | ``error``;
- restore: the backup ``available`` → ``restoring`` → ``available``; the target volume
  (new, or an existing ``available`` one at least the backup's size) ``restoring-backup`` →
  ``available`` | ``error_restoring``;
- delete: ``available``/``error`` (any status with ``force``, admins) → ``deleting`` →
  (row removed) | ``error_deleting``; a backup with incremental children is refused.

Messages are Cinder's (``Invalid backup: ...``, ``Backup <id> could not be found.``).
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shoal import errors, limits
from shoal._time import utcnow
from shoal.db import Database
from shoal.services.backup import policy
from shoal.services.backup._checks import BackupChecks
from shoal.services.backup._models import Backup, BackupMetadata
from shoal.services.tasks import ResourceRef, TaskRunner
from shoal.services.volume import VolumeService
from shoal.services.volume import quotas as volume_quotas
from shoal.services.volume.models import Snapshot, Volume
from shoal.services.volume.policy import CallerLike
from shoal.services.volume.quotas import QuotaExceeded
from shoal.services.volume.records import BackupRecord, as_utc

__all__ = ["BACKUP_SERVICE", "BackupService", "BackupServiceOptions", "volume_metadata_of"]

#: ``backup_service`` of exported records (the guide's ``backup_driver``).
BACKUP_SERVICE: Final = "cinder.backup.drivers.ceph"
#: Statuses a backup may be deleted from without ``force``.
DELETABLE_STATUSES: Final = ("available", "error")
#: Characters of ``fail_reason`` kept (Cinder's column).
FAIL_REASON_CHARS_MAX: Final = 255
#: The exported record's fields (Cinder's ``Backup`` object, those shoal keeps).
_RECORD_FIELDS: Final = ("id", "user_id", "project_id", "volume_id", "snapshot_id",
                         "parent_id", "status", "fail_reason", "display_name",
                         "display_description", "availability_zone", "container", "size",
                         "object_count", "service_metadata", "data_timestamp", "metadata")


@dataclass(frozen=True)
class BackupServiceOptions:
    """The backup service's settings: its host (``os-services``), availability zone, the
    default container (``backup_ceph_pool``), and each volume backend's RBD pool."""

    host: str
    availability_zone: str = "nova"
    container: str = "backups"
    volume_pools: Mapping[str, str] = field(default_factory=dict)


def _not_found(backup_id: str) -> errors.NotFound:
    return errors.NotFound(f"Backup {backup_id} could not be found.")


def _invalid_backup(reason: str) -> errors.InvalidArgument:
    return errors.InvalidArgument(f"Invalid backup: {reason}")


def _invalid_volume(reason: str) -> errors.InvalidArgument:
    return errors.InvalidArgument(f"Invalid volume: {reason}")


def _record(row: Backup, dependents: int) -> BackupRecord:
    return BackupRecord(
        id=row.id, volume_id=row.volume_id, project_id=row.project_id, user_id=row.user_id,
        status=row.status, size=row.size, created_at=row.created_at,
        updated_at=row.updated_at, name=row.name, description=row.description,
        availability_zone=row.availability_zone, container=row.container,
        object_count=row.object_count, fail_reason=row.fail_reason,
        snapshot_id=row.snapshot_id, data_timestamp=row.data_timestamp,
        parent_id=row.parent_id, num_dependent_backups=dependents,
        metadata={m.key: m.value for m in row.metadata_items}, host=row.host,
        sha256=row.sha256, restore_point=row.restore_point, data_bytes=row.data_bytes or 0,
        verified_at=row.verified_at)


def _dependents(session: Session, backup_ids: list[str] | None = None) -> dict[str, int]:
    """How many backups are incremental to each backup (of ``backup_ids``; None: all)."""
    query = select(Backup.parent_id, func.count()).where(Backup.parent_id.is_not(None))
    if backup_ids is not None:
        query = query.where(Backup.parent_id.in_(backup_ids))
    return {str(parent): int(count) for parent, count in
            session.execute(query.group_by(Backup.parent_id)).all()}


def volume_metadata_of(row: Volume) -> str:
    """What a backup keeps of its volume's record (JSON text, the driver's ``.meta``
    object): its user and image metadata and whether it is bootable, restored with it."""
    return json.dumps({
        "volume-base-metadata": {"bootable": row.bootable},
        "volume-metadata": {m.key: m.value for m in row.metadata_items if m.kind == "user"},
        "volume-glance-metadata": {m.key: m.value for m in row.metadata_items
                                   if m.kind == "image"},
    }, sort_keys=True)


class BackupService:
    """Backups of one deployment's volumes (see the module docstring).

    ``volumes`` is the volume service the backed-up volumes belong to (restores make new
    volumes through it); ``runner`` must have :class:`~._work.BackupWork`'s handlers.
    """

    def __init__(self, db: Database, runner: TaskRunner, volumes: VolumeService,
                 options: BackupServiceOptions, now: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.runner = runner
        self.volumes = volumes
        self.options = options
        self.now = now
        #: verification and chains (set by the deployment, which has the drivers).
        self.checks: BackupChecks | None = None

    # --- reading ---------------------------------------------------------------------------
    def _visible(self, session: Session, caller: CallerLike, backup_id: str,
                 action: str) -> Backup:
        row = session.get(Backup, backup_id)
        if row is None or not policy.may_see(caller, row.project_id):
            raise _not_found(backup_id)
        policy.authorize(caller, action, row.project_id)
        return row

    def _one(self, session: Session, row: Backup) -> BackupRecord:
        return _record(row, _dependents(session, [row.id]).get(row.id, 0))

    def get_backup(self, caller: CallerLike, backup_id: str) -> BackupRecord:
        """One backup (404 when absent or another project's, for a non-admin)."""
        with self.db.session(readonly=True) as session:
            return self._one(session, self._visible(session, caller, backup_id, "backup:get"))

    def list_backups(self, caller: CallerLike, *, all_projects: bool = False
                     ) -> list[BackupRecord]:
        """The caller's project's backups, newest first (an admin's ``all_projects``: every
        project's). Filtering, sorting and paging: :mod:`shoal.api.cinder.query`."""
        policy.authorize(caller, "backup:get_all", caller.project_id)
        query = select(Backup).order_by(Backup.created_at.desc(), Backup.id.desc())
        if not (all_projects and policy.is_admin(caller)):
            query = query.where(Backup.project_id == caller.project_id)
        with self.db.session(readonly=True) as session:
            rows = list(session.execute(query).scalars())
            counts = _dependents(session)
            return [_record(row, counts.get(row.id, 0)) for row in rows]

    # --- create ----------------------------------------------------------------------------
    def create_backup(
        self, caller: CallerLike, volume_id: str, *, name: str | None = None,
        description: str | None = None, container: str | None = None,
        incremental: bool = False, force: bool = False, snapshot_id: str | None = None,
        metadata: Mapping[str, str] | None = None, availability_zone: str | None = None,
    ) -> BackupRecord:
        """Record a backup of a volume (or of its snapshot) in ``creating`` and start it.

        The volume must be ``available``, or ``in-use`` with ``force`` (a snapshot's backup
        needs no force; the snapshot must be ``available``). ``incremental`` chains on the
        volume's latest backup (by ``data_timestamp``; before the snapshot's time for a
        snapshot's backup), which must be ``available``. ``container`` is the pool (None:
        ``backup_ceph_pool``); ``availability_zone`` must be the backup service's.

        Raises:
            NotFound: no such volume or snapshot for the caller.
            PolicyNotAuthorized: a reader.
            InvalidArgument: a status that does not allow it, no backup to chain on, an
                unknown availability zone, a snapshot of another volume.
            QuotaExceeded: over ``backups`` or ``backup_gigabytes``.
        """
        zone = availability_zone or self.options.availability_zone
        if zone != self.options.availability_zone:
            raise errors.InvalidArgument(f"Invalid input received: Availability zone '{zone}'"
                                         " is invalid: no backup service serves it.")
        with self.db.session() as session:
            vol = session.get(Volume, volume_id)
            if vol is None or not policy.may_see(caller, vol.project_id):
                raise errors.NotFound(f"Volume {volume_id} could not be found.")
            policy.authorize(caller, "backup:create", vol.project_id)
            snap = None if snapshot_id is None else self._snapshot_of(session, caller, vol,
                                                                      snapshot_id)
            _check_backup_source(vol, snap, force)
            parent = self._parent(session, vol, snap) if incremental else None
            project_id = vol.project_id
            volume_quotas.lock_project(session, project_id)
            _check_quota(session, project_id, self.volumes.options.quota_defaults, vol.size)
            now = self.now()
            row = Backup(
                id=str(uuid.uuid4()), project_id=project_id, user_id=caller.user_id,
                volume_id=volume_id, snapshot_id=snapshot_id,
                parent_id=None if parent is None else parent.id, status="creating",
                name=name, description=description, availability_zone=zone,
                container=container, size=vol.size, object_count=0, host=self.options.host,
                data_timestamp=now if snap is None else snap.created_at, created_at=now)
            row.metadata_items = [BackupMetadata(key=k, value=v)
                                  for k, v in sorted((metadata or {}).items())]
            session.add(row)
            if snap is not None:
                snap.status = "backing-up"
                snap.updated_at = now
            else:
                vol.previous_status = vol.status
                vol.status = "backing-up"
                vol.updated_at = now
            session.flush()
            backend, pool = self._backend_of(vol)
            self.runner.submit("backup.create", ResourceRef("backup", row.id, project_id), {
                "backend": backend, "pool": pool, "volume_id": volume_id,
                "snapshot_id": snapshot_id, "size": vol.size, "container": container,
                "parent": None if parent is None else _ref_params(parent),
                "volume_metadata": volume_metadata_of(vol)}, session=session)
            return _record(row, 0)

    def _snapshot_of(self, session: Session, caller: CallerLike, vol: Volume,
                     snapshot_id: str) -> Snapshot:
        snap = session.get(Snapshot, snapshot_id)
        if snap is None or not policy.may_see(caller, snap.project_id):
            raise errors.NotFound(f"Snapshot {snapshot_id} could not be found.")
        if snap.volume_id != vol.id:
            raise errors.InvalidArgument(f"Invalid input received: snapshot {snapshot_id} is "
                                         f"not a snapshot of volume {vol.id}.")
        return snap

    def _parent(self, session: Session, vol: Volume, snap: Snapshot | None) -> Backup:
        """The backup an incremental one chains on: the volume's latest by data time."""
        query = select(Backup).where(Backup.volume_id == vol.id,
                                     Backup.project_id == vol.project_id)
        if snap is not None:
            query = query.where(Backup.data_timestamp < snap.created_at)
        found = list(session.execute(query).scalars())
        if not found:
            raise _invalid_backup("No backups available to do an incremental backup.")
        latest = max(found, key=lambda b: (as_utc(b.data_timestamp), b.created_at, b.id))
        if latest.status != "available":
            raise _invalid_backup("The parent backup must be available for incremental "
                                  "backup.")
        return latest

    def _backend_of(self, vol: Volume) -> tuple[str, str]:
        """The volume's backend section and RBD pool."""
        for backend in self.volumes.options.backends:
            if backend.host == vol.host and backend.section in self.options.volume_pools:
                return backend.section, self.options.volume_pools[backend.section]
        raise errors.Unavailable(f"volume {vol.id} lives on host {vol.host}, which is not an "
                                 "enabled backend of this deployment")

    # --- update, reset, delete -------------------------------------------------------------
    def update_backup(self, caller: CallerLike, backup_id: str, *,
                      changes: Mapping[str, str | None],
                      metadata: Mapping[str, str] | None = None) -> BackupRecord:
        """Set ``name``/``description`` (3.9) and replace the metadata (3.43) if given."""
        with self.db.session() as session:
            row = self._visible(session, caller, backup_id, "backup:update")
            for key in ("name", "description"):
                if key in changes:
                    setattr(row, key, changes[key])
            if metadata is not None:
                row.metadata_items = [BackupMetadata(key=k, value=v)
                                      for k, v in sorted(metadata.items())]
            row.updated_at = self.now()
            session.flush()
            return self._one(session, row)

    def reset_status(self, caller: CallerLike, backup_id: str, status: str) -> None:
        """``os-reset_status`` (admins): set the backup's status, nothing else."""
        with self.db.session() as session:
            row = self._visible(session, caller, backup_id,
                                "volume_extension:backup_admin_actions:reset_status")
            row.status = status
            row.updated_at = self.now()

    def delete_backup(self, caller: CallerLike, backup_id: str, *, force: bool = False
                      ) -> None:
        """Start deleting a backup (202).

        Raises:
            InvalidArgument: not ``available``/``error`` without ``force``, or incremental
                backups depend on it.
            PolicyNotAuthorized: ``force`` by a non-admin.
        """
        action = "volume_extension:backup_admin_actions:force_delete" if force else \
            "backup:delete"
        with self.db.session() as session:
            row = self._visible(session, caller, backup_id, action)
            if not force and row.status not in DELETABLE_STATUSES:
                raise _invalid_backup("Backup status must be available or error")
            if _dependents(session, [row.id]).get(row.id, 0):
                raise _invalid_backup("Incremental backups exist for this backup.")
            row.status = "deleting"
            row.updated_at = self.now()
            self.runner.submit("backup.delete", ResourceRef("backup", row.id, row.project_id),
                               {"ref": _ref_params(row)}, session=session)

    # --- restore ---------------------------------------------------------------------------
    def restore_backup(self, caller: CallerLike, backup_id: str, *,
                       volume_id: str | None = None, name: str | None = None
                       ) -> tuple[str, str, str | None]:
        """Start restoring a backup into ``volume_id`` or, when None, a new volume of the
        backup's size named ``name`` (default ``restore_backup_<id>``). Returns the backup
        id, the volume id and the volume's name.

        Raises:
            NotFound: no such backup or volume for the caller.
            InvalidArgument: the backup is not ``available``; the volume is not
                ``available`` or smaller than the backup.
            QuotaExceeded: a new volume over ``volumes``/``gigabytes``.
        """
        with self.db.session() as session:
            row = self._visible(session, caller, backup_id, "backup:restore")
            if row.status != "available":
                raise _invalid_backup("Backup status must be available")
            if volume_id is None:
                vol, _ = self.volumes.add_volume_row(
                    session, caller, size=row.size,
                    name=name or f"restore_backup_{backup_id}",
                    description="auto-created_from_restore_from_backup",
                    status="restoring-backup")
                is_new = True
            else:
                vol = self._restore_target(session, caller, row, volume_id)
                is_new = False
            row.status = "restoring"
            row.updated_at = self.now()
            backend, pool = self._backend_of(vol)
            self.runner.submit("backup.restore", ResourceRef("backup", row.id, row.project_id),
                               {"backend": backend, "pool": pool, "volume_id": vol.id,
                                "volume_size": vol.size, "volume_is_new": is_new,
                                "ref": _ref_params(row)}, session=session)
            return row.id, vol.id, vol.name

    def _restore_target(self, session: Session, caller: CallerLike, row: Backup,
                        volume_id: str) -> Volume:
        vol = session.get(Volume, volume_id)
        if vol is None or not policy.may_see(caller, vol.project_id):
            raise errors.NotFound(f"Volume {volume_id} could not be found.")
        if vol.status != "available":
            raise _invalid_volume("Volume to be restored to must be available")
        if vol.size < row.size:
            raise errors.InvalidArgument(
                f"Invalid input received: volume size {vol.size} is too small to restore "
                f"backup of size {row.size}.")
        vol.status = "restoring-backup"
        vol.updated_at = self.now()
        return vol

    # --- export / import (admins) ----------------------------------------------------------
    def export_record(self, caller: CallerLike, backup_id: str) -> dict[str, str]:
        """``{"backup_service", "backup_url"}``: the backup's record, base64 JSON.

        Raises:
            InvalidArgument: the backup is not ``available``.
        """
        with self.db.session(readonly=True) as session:
            row = self._visible(session, caller, backup_id, "backup:backup-export")
            if row.status != "available":
                raise _invalid_backup("Backup status must be available and not restoring.")
            values = _ref_params(row) | {
                "id": row.id, "user_id": row.user_id, "project_id": row.project_id,
                "snapshot_id": row.snapshot_id, "parent_id": row.parent_id,
                "status": row.status, "fail_reason": row.fail_reason,
                "display_name": row.name, "display_description": row.description,
                "availability_zone": row.availability_zone, "size": row.size,
                "object_count": row.object_count,
                "data_timestamp": as_utc(row.data_timestamp).isoformat(),
                "metadata": {m.key: m.value for m in row.metadata_items}}
        text = json.dumps({k: values.get(k) for k in _RECORD_FIELDS}, sort_keys=True)
        return {"backup_service": BACKUP_SERVICE,
                "backup_url": base64.b64encode(text.encode()).decode()}

    def import_record(self, caller: CallerLike, backup_service: str, backup_url: str
                      ) -> BackupRecord:
        """Record a backup exported by :meth:`export_record` (admins), ``available`` at
        once (the Ceph driver keeps no state beyond the record).

        Raises:
            InvalidArgument: another backup service, or a malformed record.
            AlreadyExists: a live backup has the record's id (Cinder: 400).
        """
        policy.authorize(caller, "backup:backup-import")
        if backup_service not in (BACKUP_SERVICE, f"{BACKUP_SERVICE}.CephBackupDriver"):
            raise errors.InvalidArgument(f"Invalid input received: backup service "
                                         f"{backup_service} is not served here.")
        values = _decode_record(backup_url)
        with self.db.session() as session:
            backup_id = values["id"]
            if session.get(Backup, backup_id) is not None:
                raise _invalid_backup("Backup already exists in database.")
            project_id = caller.project_id or values["project_id"]
            volume_quotas.lock_project(session, project_id)
            _check_quota(session, project_id, self.volumes.options.quota_defaults,
                         values["size"])
            now = self.now()
            row = Backup(
                id=backup_id, project_id=project_id, user_id=caller.user_id,
                volume_id=values["volume_id"], snapshot_id=values["snapshot_id"],
                parent_id=None, status="available", name=values["display_name"],
                description=values["display_description"],
                availability_zone=self.options.availability_zone,
                container=values["container"], size=values["size"],
                object_count=values["object_count"],
                service_metadata=values["service_metadata"], host=self.options.host,
                data_timestamp=values["data_timestamp"], created_at=now)
            row.metadata_items = [BackupMetadata(key=k, value=v)
                                  for k, v in sorted(values["metadata"].items())]
            session.add(row)
            session.flush()
            return _record(row, 0)


def _check_backup_source(vol: Volume, snap: Snapshot | None, force: bool) -> None:
    """Cinder's status checks of a new backup's volume and snapshot."""
    if vol.status not in ("available", "in-use"):
        raise _invalid_volume(f'Volume to be backed up must be available or in-use, but the '
                              f'current status is "{vol.status}".')
    if vol.status == "in-use" and snap is None and not force:
        raise _invalid_volume("Backing up an in-use volume must use the force flag.")
    if snap is not None and snap.status != "available":
        raise errors.InvalidArgument(f'Invalid snapshot: Snapshot to be backed up must be '
                                     f'available, but the current status is "{snap.status}".')


def _check_quota(session: Session, project_id: str,
                 defaults: volume_quotas.QuotaDefaults, size_gib: int) -> None:
    """Refuse one more backup of ``size_gib`` GiB over ``backup_gigabytes`` or ``backups``
    (with Cinder's messages); the project must be locked."""
    limits = volume_quotas.limits_for(session, project_id, defaults)
    count, used = volume_quotas.backup_usage(session, project_id)
    limit = limits["backup_gigabytes"]
    if limit != -1 and used + size_gib > limit:
        raise QuotaExceeded(f"Requested backup exceeds allowed Backup gigabytes quota. "
                            f"Requested {size_gib}G, quota is {limit}G and {used}G has been "
                            "consumed.")
    if limits["backups"] != -1 and count + 1 > limits["backups"]:
        raise QuotaExceeded(f"Maximum number of backups allowed ({limits['backups']}) "
                            "exceeded")


def _ref_params(row: Backup) -> dict[str, Any]:
    """What the driver needs of a stored backup (:class:`~.driver.BackupRef`'s fields)."""
    return {"backup_id": row.id, "volume_id": row.volume_id,
            "service_metadata": row.service_metadata, "container": row.container}


def _decode_record(backup_url: str) -> dict[str, Any]:
    """An exported record's fields, checked.

    Raises:
        InvalidArgument: not base64 JSON of a record with an id, volume id and size.
    """
    if len(backup_url) > limits.backup_record_chars_max:
        raise errors.InvalidArgument("Invalid input received: backup_url is too long.")
    try:
        values = json.loads(base64.b64decode(backup_url, validate=True))
    except (binascii.Error, ValueError):
        raise errors.InvalidArgument("Invalid input received: backup_url is not an "
                                     "exported backup record.") from None
    if not isinstance(values, dict):
        raise errors.InvalidArgument("Invalid input received: backup_url holds no record.")
    try:
        backup_id = str(uuid.UUID(str(values["id"])))
        volume_id = str(uuid.UUID(str(values["volume_id"])))
        size = int(values["size"])
        stamp = datetime.fromisoformat(str(values.get("data_timestamp")))
    except (KeyError, ValueError, TypeError):
        raise errors.InvalidArgument("Invalid input received: the backup record needs an "
                                     "id, a volume_id, a size and a data_timestamp.") from None
    metadata = values.get("metadata") or {}
    if not isinstance(metadata, dict) or size < 0:
        raise errors.InvalidArgument("Invalid input received: a malformed backup record.")

    def text(key: str) -> str | None:
        value = values.get(key)
        return None if value is None else str(value)[:FAIL_REASON_CHARS_MAX]
    return {"id": backup_id, "volume_id": volume_id, "size": size,
            "data_timestamp": as_utc(stamp), "project_id": text("project_id") or "",
            "snapshot_id": text("snapshot_id"), "display_name": text("display_name"),
            "display_description": text("display_description"),
            "container": text("container"), "service_metadata": values.get("service_metadata"),
            "object_count": int(values.get("object_count") or 0),
            "metadata": {str(k): str(v) for k, v in metadata.items()}}
