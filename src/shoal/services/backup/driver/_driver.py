"""``CephBackupDriver``: Cinder's Ceph backup driver over shoal's RBD layer."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

from shoal import errors
from shoal.cluster import EmbeddedSession, Session
from shoal.services.backup.driver._backup import BackupJob
from shoal.services.backup.driver._delete import DeleteJob
from shoal.services.backup.driver._errors import (
    BackupRBDOperationFailed,
    BackupUnavailable,
)
from shoal.services.backup.driver._names import backup_snaps, base_name, check_id, volume_name
from shoal.services.backup.driver._options import BackupOptions
from shoal.services.backup.driver._plumbing import Translated, log, open_image, open_pool
from shoal.services.backup.driver._restore import RestoreJob
from shoal.services.backup.driver._types import (
    BackupRef,
    BackupResult,
    DeleteResult,
    RestoreResult,
)
from shoal.services.backup.driver._verify import VerifyResult, verify_backup

__all__ = ["BUSY_RETRIES", "BUSY_RETRY_INTERVAL_S", "CephBackupDriver"]

#: Retries of removing a busy base image, and the wait between them (Cinder: 3 retries, 5 s apart).
BUSY_RETRIES = 3
BUSY_RETRY_INTERVAL_S = 5.0
#: The largest volume, GiB (librbd's image size limit is far larger; this bounds input).
_VOLUME_GIB_MAX = 1 << 20


def _check_gib(value: object, what: str) -> int:
    if (not isinstance(value, int) or isinstance(value, bool)
            or not 1 <= value <= _VOLUME_GIB_MAX):
        raise errors.InvalidArgument(f"{what} must be 1..{_VOLUME_GIB_MAX} GiB, not {value!r}")
    return value


def _check_pool(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise errors.InvalidArgument(f"{what} must be a non-empty pool name, not {value!r}")
    return value


class CephBackupDriver:
    """Back up RBD volumes into RBD base images, restore and delete them.

    ``source_session`` reads and snapshots the volumes (Cinder's volume user,
    ``client.cinder``); ``backup_session`` writes the backup pool (``backup_ceph_user``,
    ``client.cinder-backup``). Either backend (embedded or Ceph) works for either
    session. ``options``: :class:`BackupOptions` (``BackupOptions.from_config(cfg.cinder)``).
    ``clock`` names new snapshots (seconds since the epoch); ``sleep``,
    ``busy_retries`` and ``busy_retry_interval_s`` pace the retries of a busy base image.

    Stateless apart from its configuration: operations on different backups may run in
    parallel threads (the sessions are thread-safe). Each call opens its own I/O contexts.
    """

    def __init__(self, source_session: Session, backup_session: Session,
                 options: BackupOptions | None = None, *,
                 clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], object] = time.sleep,
                 busy_retries: int = BUSY_RETRIES,
                 busy_retry_interval_s: float = BUSY_RETRY_INTERVAL_S) -> None:
        if busy_retries < 0 or busy_retry_interval_s < 0:
            raise errors.InvalidArgument("busy retries and their interval must be >= 0")
        self.source_session = source_session
        self.backup_session = backup_session
        self.options = options or BackupOptions()
        if backup_session.entity != f"client.{self.options.user}":
            log.warning("the backup session is %s, but backup_ceph_user is %r",
                        backup_session.entity, self.options.user)
        self._clock = clock
        self._sleep = sleep
        self._busy_retries = busy_retries
        self._busy_retry_interval_s = busy_retry_interval_s

    def check_for_setup_error(self) -> None:
        """Check that the backup pool opens and that it can hold the images asked for.

        Raises:
            BackupUnavailable: the backup pool is missing, or ``backup_ceph_image_journals``
                is set on the embedded engine (which has no journaling).
        """
        with open_pool(self.backup_session, self.options.pool, "backup"):
            pass
        if self.options.image_journals and isinstance(self.backup_session, EmbeddedSession):
            raise BackupUnavailable("backup_ceph_image_journals needs RBD journaling, which "
                                    "the embedded engine does not have")

    # --- backup ---------------------------------------------------------------------------
    def backup(self, backup_id: str, volume_id: str, volume_pool: str, *,
               parent: BackupRef | None = None, snapshot_id: str | None = None,
               volume_size_gib: int, volume_metadata: str | None = None,
               container: str | None = None) -> BackupResult:
        """Back up volume ``volume_id`` (RBD image ``volume_pool/volume-<id>``).

        Without ``snapshot_id``, the RBD diff path (Cinder's ``_backup_rbd``):

        - ``parent`` None: a full backup into a new base image
          ``volume-<vid>.backup.<backup_id>`` (every full backup gets its own base:
          Cinder once made every backup incremental);
        - ``parent`` given: an incremental backup into the parent's base, from the
          parent's snapshot ``backup.<parent id>.snap.<t>``. If
          ``backup_ceph_max_snapshots`` > 0 and that snapshot was pruned from the
          volume, a full backup is taken instead (``forced_full_reason``).

        The volume is snapshotted as ``backup.<backup_id>.snap.<now>`` and the changes up
        to that snapshot are piped (``export-diff | import-diff``, in process) into the
        base, which gets the same snapshot: the backup's restore point. Then, with
        ``backup_ceph_max_snapshots`` > 0, the volume's older backup snapshots are pruned.

        With ``snapshot_id``: a full copy of ``volume-<vid>@snapshot-<sid>``, in
        ``backup_ceph_chunk_size`` pieces, into a new base ``volume-<vid>.backup.<id>``
        (zero chunks are not written); a ``parent`` is ignored (``forced_full_reason``).

        ``volume_metadata`` (text, e.g. Cinder's JSON) is kept in ``backup.<id>.meta``.
        ``container``: the pool to back up to (None: ``backup_ceph_pool``); an
        incremental backup goes to its parent's. ``volume_size_gib`` is the volume's
        size as its record says (the backup's size is the RBD image's).

        On failure nothing this call made is left (base image, snapshots, metadata).

        Raises:
            errors.InvalidArgument: a malformed id, pool or size.
            BackupRBDOperationFailed: ``parent`` is of another volume or pool, or its base
                image or restore point is gone, or the volume no longer has its snapshot
                (with ``backup_ceph_max_snapshots`` = 0).
            InvalidBackupRecord: ``parent``'s service_metadata names no base.
            VolumeNotFound: no such volume image (or snapshot).
            BackupExists: this backup id already has data in the pool.
            BackupStorageFull, BackupAccessDenied, BackupUnavailable: see the module doc.
        """
        check_id(backup_id, "backup id")
        check_id(volume_id, "volume id")
        if snapshot_id is not None:
            check_id(snapshot_id, "snapshot id")
        _check_pool(volume_pool, "volume pool")
        _check_gib(volume_size_gib, "volume size")
        pool = self._container_for(backup_id, volume_id, parent, container)
        with open_pool(self.source_session, volume_pool, "volume") as source, \
                open_pool(self.backup_session, pool, "backup") as target, \
                Translated(f"{source.describe()}, {target.describe()}"):
            job = BackupJob(backup_id, volume_id, source, target, self.options,
                            volume_metadata, self._clock)
            if snapshot_id is not None:
                result = job.backup_snapshot(snapshot_id, parent)
            else:
                result = job.backup_rbd(parent)
        if result.size_bytes != volume_size_gib << 30:
            log.info("backup %s: volume %s is %d bytes on RBD, %d GiB by its record",
                     backup_id, volume_id, result.size_bytes, volume_size_gib)
        return result

    def _container_for(self, backup_id: str, volume_id: str, parent: BackupRef | None,
                       container: str | None) -> str:
        if container is not None:
            _check_pool(container, "container")
        if parent is None:
            return container or self.options.pool
        check_id(parent.backup_id, "parent backup id")
        if parent.backup_id == backup_id:
            raise errors.InvalidArgument(f"backup {backup_id} cannot be its own parent")
        if parent.volume_id != volume_id:
            raise BackupRBDOperationFailed(
                f"parent backup {parent.backup_id} is of volume {parent.volume_id}, not "
                f"{volume_id}")
        parent_pool = parent.container or self.options.pool
        if container is not None and container != parent_pool:
            raise BackupRBDOperationFailed(
                f"an incremental backup goes to its parent's pool '{parent_pool}', "
                f"not '{container}'")
        return parent_pool

    def discard_partial(self, backup_id: str, volume_id: str, volume_pool: str, *,
                        parent: BackupRef | None = None, container: str | None = None
                        ) -> list[str]:
        """Remove what an interrupted :meth:`backup` (a killed process) may have left, so
        that it can run again: in the backup pool this backup's snapshot, its metadata
        object and its own base image (a full backup's; an incremental's base is the
        parent's and stays, its head rolled back by the next :meth:`backup`), then the
        volume's snapshots of this backup (``backup.<id>.snap.*``). Returns the volume
        snapshots removed. Idempotent.

        Raises:
            errors.InvalidArgument: a malformed id or pool.
            BackupInUse, BackupAccessDenied: as :meth:`delete_backup`.
        """
        check_id(backup_id, "backup id")
        check_id(volume_id, "volume id")
        _check_pool(volume_pool, "volume pool")
        pool = self._container_for(backup_id, volume_id, parent, container)
        if parent is None:
            base = base_name(volume_id, backup_id)
        else:
            base = parent.recorded_base() or base_name(volume_id, parent.backup_id)
        self.delete_backup(BackupRef(backup_id, volume_id, {"base": base}, pool))
        removed: list[str] = []
        with contextlib.ExitStack() as stack:
            try:
                source = stack.enter_context(open_pool(self.source_session, volume_pool,
                                                       "volume"))
            except BackupUnavailable:
                return removed
            with Translated(source.describe()):
                try:
                    img = open_image(source, volume_name(volume_id))
                except source.lib.ImageNotFound:
                    return removed
                with img:
                    for snap in backup_snaps(img.list_snaps()):
                        if snap.backup_id == backup_id:
                            img.remove_snap(snap.name)
                            removed.append(snap.name)
        return removed

    # --- restore --------------------------------------------------------------------------
    def restore(self, backup: BackupRef, volume_id: str, volume_pool: str,
                volume_size_gib: int, *, volume_is_new: bool) -> RestoreResult:
        """Restore ``backup`` onto volume ``volume_id`` (``volume_pool/volume-<id>``, an
        RBD image of exactly ``volume_size_gib`` GiB, at least the backup's size).

        A diff restore (the restore point piped into the volume, Cinder's
        ``_diff_restore_rbd``) when the backup has a restore point, the volume is not the
        one backed up, and the volume holds no data at all; the volume keeps its size
        and gets no snapshot. Otherwise (or if the diff fails) a full copy of the restore
        point (or of the base's head, for a snapshot backup) in
        ``backup_ceph_chunk_size`` pieces, at their own offsets: zero chunks are skipped
        only when ``volume_is_new`` (the volume was created for this restore), it holds
        no data and no failed diff wrote to it; otherwise they are written as zeros.
        Then, with ``restore_discard_excess_bytes``, the bytes past the backup are
        zeroed (discarded); without it they keep what they held.

        Returns how it restored, and the backup's volume metadata (None if none).

        Raises:
            errors.InvalidArgument: a malformed id, pool or size.
            InvalidBackupRecord: ``backup``'s service_metadata names no base.
            BackupNotFound: the backup's base image or restore point is gone.
            VolumeNotFound: no such volume image.
            VolumeSizeMismatch: the image is not ``volume_size_gib`` GiB.
            RestoreTargetTooSmall: the volume is smaller than the backup.
            BackupStorageFull, BackupAccessDenied, BackupUnavailable: see the module doc.
        """
        check_id(backup.backup_id, "backup id")
        check_id(backup.volume_id, "backup's volume id")
        check_id(volume_id, "volume id")
        _check_pool(volume_pool, "volume pool")
        _check_gib(volume_size_gib, "volume size")
        pool = backup.container or self.options.pool
        with open_pool(self.backup_session, pool, "backup") as source, \
                open_pool(self.source_session, volume_pool, "volume") as target, \
                Translated(f"{source.describe()}, {target.describe()}"):
            job = RestoreJob(backup, volume_id, volume_size_gib, bool(volume_is_new), source,
                             target, self.options)
            return job.run()

    # --- verify ---------------------------------------------------------------------------
    def verify(self, backup: BackupRef) -> VerifyResult:
        """Read ``backup``'s restore point in the backup pool (as the backup user) and
        compare it with the block digests stored with it (:mod:`._verify`); nothing is
        restored or written.

        Raises:
            errors.InvalidArgument: a malformed id.
            InvalidBackupRecord: ``backup``'s service_metadata names no base.
            BackupNotFound: the backup's base image or restore point is gone.
            BackupUnavailable, BackupAccessDenied: see the module doc.
        """
        check_id(backup.backup_id, "backup id")
        check_id(backup.volume_id, "backup's volume id")
        pool = backup.container or self.options.pool
        with open_pool(self.backup_session, pool, "backup") as target, \
                Translated(target.describe()):
            return verify_backup(target, backup)

    # --- delete ---------------------------------------------------------------------------
    def delete_backup(self, backup: BackupRef) -> DeleteResult:
        """Delete ``backup``'s data: its snapshot on the base image; the base image itself
        when no other backup snapshot remains on it (retrying while it is busy); then its
        metadata object. Idempotent: a backup whose data is already gone (or whose pool
        is) deletes without error. For a backup recorded without service_metadata, the
        shared legacy base ``volume-<vid>.backup.base`` is only removed if it held this
        backup's snapshot (otherwise it may be another backup's data). The volume's own
        backup snapshots stay (Cinder removes them with the volume, and
        ``backup_ceph_max_snapshots`` prunes them).

        Raises:
            errors.InvalidArgument: a malformed id.
            InvalidBackupRecord: ``backup``'s service_metadata names no base.
            BackupInUse: the base stayed busy through the retries, or has non-backup
                snapshots.
            BackupAccessDenied: the backup user may not write the pool.
        """
        check_id(backup.backup_id, "backup id")
        check_id(backup.volume_id, "backup's volume id")
        pool = backup.container or self.options.pool
        with contextlib.ExitStack() as stack:
            try:
                target = stack.enter_context(open_pool(self.backup_session, pool, "backup"))
            except BackupUnavailable as exc:
                log.warning("delete of backup %s: %s; nothing to remove", backup.backup_id, exc)
                return DeleteResult(None, (), False, False)
            with Translated(target.describe()):
                return DeleteJob(backup, target, self._busy_retries,
                                 self._busy_retry_interval_s, self._sleep).run()
