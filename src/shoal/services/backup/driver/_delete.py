"""Deleting a backup (Cinder's ``delete_backup``): its snapshot on the base image, the
base image once no backup snapshot is left on it, and its metadata object."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from shoal.services.backup.driver._digest import remove_digests
from shoal.services.backup.driver._errors import BackupInUse
from shoal.services.backup.driver._meta import remove_meta
from shoal.services.backup.driver._names import backup_snaps, legacy_base_name
from shoal.services.backup.driver._plumbing import Pool, log, open_image
from shoal.services.backup.driver._restore import find_base
from shoal.services.backup.driver._types import BackupRef, DeleteResult

__all__ = ["DeleteJob"]


@dataclass
class DeleteJob:
    """Deleting one backup from ``pool`` (the backup pool, as the backup user)."""

    backup: BackupRef
    pool: Pool
    busy_retries: int
    busy_retry_interval_s: float
    sleep: Callable[[float], object]

    def run(self) -> DeleteResult:
        """See :meth:`CephBackupDriver.delete_backup`."""
        backup_id = self.backup.backup_id
        base = find_base(self.pool, self.backup)
        removed: list[str] = []
        base_removed = False
        if base is None:
            log.warning("backup %s of volume %s has no base image in pool '%s': removing its "
                        "metadata only", backup_id, self.backup.volume_id, self.pool.name)
        else:
            base_removed = self._remove_from_base(base, removed)
        remove_digests(self.pool.ioctx, backup_id)
        return DeleteResult(base, tuple(removed), base_removed,
                            remove_meta(self.pool.ioctx, backup_id))

    def _remove_from_base(self, base: str, removed: list[str]) -> bool:
        """Remove this backup's snapshot, then the base if no backup snapshot is left;
        retry a busy base. Returns whether the base was removed."""
        lib = self.pool.lib
        for attempt in range(self.busy_retries + 1):
            try:
                return self._remove_once(base, removed)
            except lib.ImageBusy:
                if attempt == self.busy_retries:
                    raise BackupInUse(
                        f"base image {self.pool.name}/{base} is busy (open elsewhere); "
                        f"gave up after {self.busy_retries} retries") from None
                log.info("base image %s/%s is busy: retrying in %ss", self.pool.name, base,
                         self.busy_retry_interval_s)
                self.sleep(self.busy_retry_interval_s)
        raise AssertionError("unreachable")

    def _remove_once(self, base: str, removed: list[str]) -> bool:
        lib = self.pool.lib
        try:
            with open_image(self.pool, base) as img:
                for snap in backup_snaps(img.list_snaps()):
                    if snap.backup_id == self.backup.backup_id:
                        img.remove_snap(snap.name)
                        removed.append(snap.name)
                remaining = backup_snaps(img.list_snaps())
        except lib.ImageNotFound:
            return False  # removed meanwhile
        if remaining:
            log.info("base image %s/%s keeps %d backup snapshot(s): not removed",
                     self.pool.name, base, len(remaining))
            return False
        if base == legacy_base_name(self.backup.volume_id) and not removed:
            # The shared legacy base was only guessed at (the backup's record names no
            # base) and holds nothing of this backup: it may be another backup's data.
            log.warning("backup %s has no snapshot on the legacy base image %s/%s: the base "
                        "is left alone", self.backup.backup_id, self.pool.name, base)
            return False
        try:
            lib.RBD().remove(self.pool.ioctx, base)
        except lib.ImageNotFound:
            return False
        except lib.ImageHasSnapshots:
            raise BackupInUse(f"base image {self.pool.name}/{base} has snapshots that "
                              "are not backups': remove them first") from None
        return True
