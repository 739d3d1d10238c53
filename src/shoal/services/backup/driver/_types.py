"""What the backup driver is given about a backup, and what it returns."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from shoal.services.backup.driver._errors import InvalidBackupRecord

__all__ = [
    "FORCED_FULL_FROM_SNAPSHOT",
    "FORCED_FULL_PARENT_SNAPSHOT_PRUNED",
    "BackupRef",
    "BackupResult",
    "DeleteResult",
    "RestoreResult",
]

#: ``forced_full_reason`` when the parent's snapshot was pruned from the source volume
#: (``backup_ceph_max_snapshots``): Cinder's user message detail of that name.
FORCED_FULL_PARENT_SNAPSHOT_PRUNED = "INCREMENTAL_BACKUP_FORCES_FULL_BACKUP"
#: ``forced_full_reason`` when an incremental backup of a snapshot was asked for: a
#: backup of a snapshot is always a full copy.
FORCED_FULL_FROM_SNAPSHOT = "SNAPSHOT_BACKUP_IS_FULL"


@dataclass(frozen=True)
class BackupRef:
    """A stored backup, as the backup service's record knows it.

    Attributes:
        backup_id: the backup's id.
        volume_id: the id of the volume it was taken from.
        service_metadata: what :class:`BackupResult` gave (``{"base": NAME}``), as a
            mapping or as its JSON text (Cinder keeps the text); None for backups
            recorded without it (the legacy base names are then tried).
        container: the pool the backup is in; None: ``backup_ceph_pool``.
    """

    backup_id: str
    volume_id: str
    service_metadata: Mapping[str, str] | str | None = None
    container: str | None = None

    def recorded_base(self) -> str | None:
        """The base image name ``service_metadata`` records, or None if it records none.

        Raises:
            InvalidBackupRecord: ``service_metadata`` is not ``{"base": NAME}`` (or its JSON).
        """
        meta: object = self.service_metadata
        if meta is None or meta == "" or meta == {}:
            return None
        if isinstance(meta, str):
            try:
                meta = json.loads(meta)
            except ValueError:
                raise InvalidBackupRecord(
                    f"backup {self.backup_id}: service_metadata is not JSON: {meta!r}") from None
        base = meta.get("base") if isinstance(meta, Mapping) else None
        if not isinstance(base, str) or not base:
            raise InvalidBackupRecord(
                f"backup {self.backup_id}: service_metadata names no base image: {meta!r}")
        return base


@dataclass(frozen=True)
class BackupResult:
    """What :meth:`CephBackupDriver.backup` stored.

    Attributes:
        backup_id, volume_id: as given.
        container: the pool the backup went to (record it as the backup's container).
        service_metadata: ``{"base": NAME}``: the base image; record it (as
            :meth:`service_metadata_json` for Cinder's column).
        incremental: whether the data is a diff on the parent (False for every full
            backup, including forced ones: record the backup without a parent then).
        forced_full_reason: why an incremental backup was asked for and a full one
            taken (:data:`FORCED_FULL_PARENT_SNAPSHOT_PRUNED`,
            :data:`FORCED_FULL_FROM_SNAPSHOT`); None otherwise.
        size_bytes: the size of the backed-up volume (or snapshot), bytes.
        restore_point: the snapshot on the base image this backup restores from;
            None for a full copy (a snapshot backup), which is the base image's head.
        sha256: the digest of the backed-up bytes (:mod:`._digest`), hex; None when it
            could not be computed (an incremental whose parent has no digests).
        data_bytes: bytes of data (not zeros) this backup moved into the pool.
    """

    backup_id: str
    volume_id: str
    container: str
    service_metadata: dict[str, str] = field(default_factory=dict)
    incremental: bool = False
    forced_full_reason: str | None = None
    size_bytes: int = 0
    restore_point: str | None = None
    sha256: str | None = None
    data_bytes: int = 0

    def service_metadata_json(self) -> str:
        """``service_metadata`` as Cinder stores it: ``{"base": "NAME"}``."""
        return json.dumps(self.service_metadata, sort_keys=True)

    def ref(self) -> BackupRef:
        """The :class:`BackupRef` to restore, delete or chain on this backup."""
        return BackupRef(self.backup_id, self.volume_id, dict(self.service_metadata),
                         self.container)


@dataclass(frozen=True)
class RestoreResult:
    """What :meth:`CephBackupDriver.restore` did.

    Attributes:
        method: ``"diff"`` (an export-diff/import-diff of the restore point into an
            empty volume) or ``"full"`` (a chunked copy).
        restore_point: the base image's snapshot restored from; None: the base's head.
        volume_metadata: the volume metadata saved with the backup (``backup.<id>.meta``),
            None if there is none.
        diff_failed: a diff restore was tried and failed, so a full one was made.
    """

    method: Literal["diff", "full"]
    restore_point: str | None
    volume_metadata: str | None
    diff_failed: bool = False


@dataclass(frozen=True)
class DeleteResult:
    """What :meth:`CephBackupDriver.delete_backup` removed.

    Attributes:
        base: the base image looked at; None if none was found (nothing to remove).
        snapshots_removed: this backup's snapshots removed from the base.
        base_removed: the base image was removed (no backup snapshots were left).
        metadata_removed: the ``backup.<id>.meta`` object existed and was removed.
    """

    base: str | None
    snapshots_removed: tuple[str, ...]
    base_removed: bool
    metadata_removed: bool
