"""Cinder's Ceph backup driver (``cinder.backup.drivers.ceph``) over shoal's RBD layer.

Synchronous and HTTP-free; the backup service calls it. It works on the embedded engine
and on Ceph alike (:func:`shoal.rbd.backend.rbd_lib_for`), moving data in process with
``diff_iterate``/``read``/``write`` as ``rbd export-diff | rbd import-diff`` would.
Public API::

    options = BackupOptions.from_config(cfg.cinder)
    driver = CephBackupDriver(cinder_session, cinder_backup_session, options)
    full = driver.backup(backup_id, volume_id, "volumes", volume_size_gib=10)
    #  -> BackupResult(service_metadata={"base": "volume-<vid>.backup.<id>"}, incremental=False,
    #                  forced_full_reason=None, container="backups", restore_point=..., ...)
    incr = driver.backup(backup2_id, volume_id, "volumes", parent=full.ref(),
                         volume_size_gib=10)
    driver.restore(incr.ref(), new_volume_id, "volumes", 10, volume_is_new=True)
    driver.verify(incr.ref())            # VerifyResult: the stored bytes against full.sha256
    driver.delete_backup(incr.ref())     # DeleteResult
    BackupRef(backup_id, volume_id, service_metadata='{"base": "..."}', container="backups")

Each backup records the SHA-256 of its bytes (``BackupResult.sha256``), kept as block
digests in ``backup.<id>.sha256`` so that an incremental updates it from its diff alone
(``_digest``), and :meth:`CephBackupDriver.verify` checks the stored data against it.

Every error is a :mod:`shoal.errors` class with its HTTP status (see ``_errors``).
Differences from Cinder 29's driver (deliberate fixes):

- a backup of a snapshot is stored under its own base (``volume-<vid>.backup.<id>``,
  recorded in ``service_metadata``) instead of the shared ``volume-<vid>.backup.base``,
  where a second snapshot backup of the same volume collided;
- the diff restore never shrinks the volume (import-diff cut a larger volume to the
  backup's size) and leaves no backup snapshot on it;
- restore refuses a base whose snapshots do not include the backup's restore point
  (rather than copying the head, which is another backup's data), and skips zero chunks
  only on a new volume that also holds no data;
- a failed (or cut short) incremental backup leaves the parent's base as it was: the
  base's head is rolled back to the parent's restore point before the next import;
- deleting a backup recorded without ``service_metadata`` removes the shared legacy base
  only if it held that backup's snapshot;
- the excess bytes of a full restore are discarded in object-aligned pieces, with the
  partial objects at either end zeroed, so that no stale bytes survive at piece edges;
- backup snapshots are ordered by snapshot id, not by the text of their timestamps;
- pruning source snapshots is best effort: a snapshot that cannot be removed is
  logged, and the completed backup stands.
"""

from __future__ import annotations

from shoal.services.backup.driver._digest import BLOCK_BYTES as DIGEST_BLOCK_BYTES
from shoal.services.backup.driver._driver import BUSY_RETRIES as BUSY_RETRIES
from shoal.services.backup.driver._driver import BUSY_RETRY_INTERVAL_S as BUSY_RETRY_INTERVAL_S
from shoal.services.backup.driver._driver import CephBackupDriver as CephBackupDriver
from shoal.services.backup.driver._errors import BackupAccessDenied as BackupAccessDenied
from shoal.services.backup.driver._errors import BackupExists as BackupExists
from shoal.services.backup.driver._errors import BackupInUse as BackupInUse
from shoal.services.backup.driver._errors import BackupNotFound as BackupNotFound
from shoal.services.backup.driver._errors import BackupOperationError as BackupOperationError
from shoal.services.backup.driver._errors import (
    BackupRBDOperationFailed as BackupRBDOperationFailed,
)
from shoal.services.backup.driver._errors import BackupStorageFull as BackupStorageFull
from shoal.services.backup.driver._errors import BackupUnavailable as BackupUnavailable
from shoal.services.backup.driver._errors import InvalidBackupRecord as InvalidBackupRecord
from shoal.services.backup.driver._errors import RestoreTargetTooSmall as RestoreTargetTooSmall
from shoal.services.backup.driver._errors import VolumeNotFound as VolumeNotFound
from shoal.services.backup.driver._errors import VolumeSizeMismatch as VolumeSizeMismatch
from shoal.services.backup.driver._names import BACKUP_SNAP_PATTERN as BACKUP_SNAP_PATTERN
from shoal.services.backup.driver._names import BackupSnap as BackupSnap
from shoal.services.backup.driver._names import backup_snaps as backup_snaps
from shoal.services.backup.driver._options import CHUNK_BYTES_MAX as CHUNK_BYTES_MAX
from shoal.services.backup.driver._options import BackupOptions as BackupOptions
from shoal.services.backup.driver._types import (
    FORCED_FULL_FROM_SNAPSHOT as FORCED_FULL_FROM_SNAPSHOT,
)
from shoal.services.backup.driver._types import (
    FORCED_FULL_PARENT_SNAPSHOT_PRUNED as FORCED_FULL_PARENT_SNAPSHOT_PRUNED,
)
from shoal.services.backup.driver._types import BackupRef as BackupRef
from shoal.services.backup.driver._types import BackupResult as BackupResult
from shoal.services.backup.driver._types import DeleteResult as DeleteResult
from shoal.services.backup.driver._types import RestoreResult as RestoreResult
from shoal.services.backup.driver._verify import VerifyResult as VerifyResult

__all__ = [
    "BACKUP_SNAP_PATTERN",
    "BUSY_RETRIES",
    "BUSY_RETRY_INTERVAL_S",
    "CHUNK_BYTES_MAX",
    "DIGEST_BLOCK_BYTES",
    "FORCED_FULL_FROM_SNAPSHOT",
    "FORCED_FULL_PARENT_SNAPSHOT_PRUNED",
    "BackupAccessDenied",
    "BackupExists",
    "BackupInUse",
    "BackupNotFound",
    "BackupOperationError",
    "BackupOptions",
    "BackupRBDOperationFailed",
    "BackupRef",
    "BackupResult",
    "BackupSnap",
    "BackupStorageFull",
    "BackupUnavailable",
    "CephBackupDriver",
    "DeleteResult",
    "InvalidBackupRecord",
    "RestoreResult",
    "RestoreTargetTooSmall",
    "VerifyResult",
    "VolumeNotFound",
    "VolumeSizeMismatch",
    "backup_snaps",
]
