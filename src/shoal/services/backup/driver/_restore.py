"""Restoring a backup to a volume (Cinder's ``_restore_volume``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from shoal import errors
from shoal.rbd import RbdImage
from shoal.services.backup.driver._backup import only_snap_of
from shoal.services.backup.driver._errors import (
    BackupNotFound,
    RestoreTargetTooSmall,
    VolumeNotFound,
    VolumeSizeMismatch,
)
from shoal.services.backup.driver._meta import read_meta
from shoal.services.backup.driver._names import (
    backup_snaps,
    base_name,
    legacy_base_name,
    volume_name,
)
from shoal.services.backup.driver._options import BackupOptions
from shoal.services.backup.driver._plumbing import Pool, image_exists, log, open_image
from shoal.services.backup.driver._transfer import (
    copy_chunks,
    has_extents,
    pipe_diff,
    zero_range,
)
from shoal.services.backup.driver._types import BackupRef, RestoreResult

__all__ = ["RestoreJob", "find_base", "restore_point_of"]

GiB = 1 << 30


def find_base(pool: Pool, backup: BackupRef) -> str | None:
    """The base image holding ``backup``: the one its record names; for a backup recorded
    without one, ``volume-<vid>.backup.<id>`` or else the legacy ``volume-<vid>.backup.base``.
    None if there is none.

    Raises:
        InvalidBackupRecord: the record's service_metadata names no base.
    """
    recorded = backup.recorded_base()
    names = [recorded] if recorded else [base_name(backup.volume_id, backup.backup_id),
                                         legacy_base_name(backup.volume_id)]
    for name in names:
        if image_exists(pool, name):
            return name
    return None


def restore_point_of(pool: Pool, base: str, backup_id: str) -> str | None:
    """``backup_id``'s snapshot on ``base``; None when the base holds no backup snapshot
    (a full copy, restored from its head).

    Raises:
        BackupNotFound: the base holds other backups' snapshots but not this one's
            (its head is another backup's data).
    """
    with open_image(pool, base, read_only=True) as img:
        snaps = backup_snaps(img.list_snaps())
    if not snaps:
        return None
    return only_snap_of(snaps, backup_id, base, BackupNotFound(
        f"the restore point of backup {backup_id} is missing from base image "
        f"{pool.name}/{base}"))


@dataclass
class RestoreJob:
    """One restore: ``source`` is the backup pool as the backup user, ``target`` the
    volume pool as the volume user."""

    backup: BackupRef
    volume_id: str
    volume_size_gib: int
    volume_is_new: bool
    source: Pool
    target: Pool
    options: BackupOptions

    def run(self) -> RestoreResult:
        """See :meth:`CephBackupDriver.restore`."""
        backup_id = self.backup.backup_id
        base = find_base(self.source, self.backup)
        if base is None:
            raise BackupNotFound(f"the data of backup {backup_id} is gone: no base image in "
                                 f"pool '{self.source.name}'")
        point = restore_point_of(self.source, base, backup_id)
        length = self.volume_size_gib * GiB
        volume = volume_name(self.volume_id)
        with open_image(self.source, base, snapshot=point, read_only=True) as src, \
                open_image(self.target, volume, missing=self._volume_missing) as dest:
            backup_bytes = int(src.size())
            if int(dest.size()) != length:
                raise VolumeSizeMismatch(
                    f"volume {self.volume_id} is {self.volume_size_gib} GiB but its RBD image "
                    f"{self.target.name}/{volume} is {dest.size()} bytes")
            if length < backup_bytes:
                raise RestoreTargetTooSmall(
                    f"volume {self.volume_id} ({self.volume_size_gib} GiB) is smaller than "
                    f"backup {backup_id} ({backup_bytes} bytes)")
            method, diff_failed = self._transfer(src, dest, point, backup_bytes, length)
        return RestoreResult(method, point, read_meta(self.source.ioctx, backup_id),
                             diff_failed)


    def _diff_allowed(self, point: str | None, empty: bool) -> bool:
        if point is None:
            return False
        if self.volume_id == self.backup.volume_id:
            log.debug("restoring to the backup's own volume %s: full copy", self.volume_id)
            return False
        if not empty:
            log.debug("volume %s holds data: full copy", self.volume_id)
            return False
        return True

    def _transfer(self, src: RbdImage, dest: RbdImage, point: str | None, backup_bytes: int,
                  length: int) -> tuple[Literal["diff", "full"], bool]:
        empty = not has_extents(dest)
        diff_failed = False
        if self._diff_allowed(point, empty):
            try:
                # No end snapshot on the volume, and never shrunk (import-diff would cut
                # it to the backup's size): an empty volume's bytes past it read as zeros.
                pipe_diff(src, dest, from_snap=None, end_snap=point, create_end_snap=False,
                          shrink=False)
                return "diff", False
            except (errors.NoSpace, errors.PermissionDenied):
                raise
            except errors.ShoalError as exc:
                log.warning("diff restore of backup %s to volume %s failed (%s): full copy",
                            self.backup.backup_id, self.volume_id, exc)
                diff_failed = True
        # Zero chunks may be skipped only on a volume that reads as zeros: a new one (as
        # the caller says) that holds no data (as the volume says: a "new" volume cloned
        # from an image does) and that no failed diff wrote to.
        skip = self.volume_is_new and empty and not diff_failed
        if self.volume_is_new and not empty:
            log.info("volume %s is new but holds data: zero chunks are written", self.volume_id)
        copy_chunks(src, dest, length=backup_bytes, chunk_bytes=self.options.chunk_size,
                    skip_zero_chunks=skip)
        if self.options.restore_discard_excess_bytes and length > backup_bytes:
            zero_range(dest, backup_bytes, length - backup_bytes)
        return "full", diff_failed

    def _volume_missing(self) -> errors.ShoalError:
        return VolumeNotFound(f"volume {self.volume_id} has no RBD image "
                              f"{self.target.name}/{volume_name(self.volume_id)}")
