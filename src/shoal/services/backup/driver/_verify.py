"""Checking a stored backup against its digests, without restoring it (shoal's own:
Cinder has no such check).

The backup's restore point (its snapshot on the base image, or the base's head for a
snapshot backup) is read from the backup pool as the backup user, hashed block by block as
a backup hashes (:mod:`._digest`), and compared with the digests stored with it.
"""

from __future__ import annotations

from dataclasses import dataclass

from shoal.services.backup.driver._digest import BlockHasher, read_digests
from shoal.services.backup.driver._errors import BackupNotFound
from shoal.services.backup.driver._plumbing import Pool, open_image
from shoal.services.backup.driver._restore import find_base, restore_point_of
from shoal.services.backup.driver._transfer import diff_records
from shoal.services.backup.driver._types import BackupRef

__all__ = ["VerifyResult", "verify_backup"]


@dataclass(frozen=True)
class VerifyResult:
    """What :func:`verify_backup` found.

    Attributes:
        backup_id: the backup checked.
        base: its base image; restore_point: its snapshot there (None: the head).
        size_bytes: bytes read (the restore point's size).
        computed: the digest of the stored bytes (hex).
        stored: the digest stored with the backup (hex), None if it has none.
        differing: byte ranges ``(offset, length)`` whose blocks differ from the stored
            digests (empty when they match, or when there are none to compare).
    """

    backup_id: str
    base: str
    restore_point: str | None
    size_bytes: int
    computed: str
    stored: str | None
    differing: tuple[tuple[int, int], ...]

    @property
    def ok(self) -> bool:
        """Whether the stored bytes match the stored digests."""
        return self.stored is not None and self.stored == self.computed and not self.differing


def verify_backup(pool: Pool, backup: BackupRef) -> VerifyResult:
    """Hash ``backup``'s restore point in ``pool`` and compare it with its stored digests.

    Raises:
        InvalidBackupRecord: the record's service_metadata names no base.
        BackupNotFound: the base image or the restore point is gone.
    """
    base = find_base(pool, backup)
    if base is None:
        raise BackupNotFound(f"the data of backup {backup.backup_id} is gone: no base image "
                             f"in pool '{pool.name}'")
    point = restore_point_of(pool, base, backup.backup_id)
    with open_image(pool, base, snapshot=point, read_only=True) as img:
        size = int(img.size())
        hasher = BlockHasher(size)
        for record in diff_records(img, from_snap=None, end_snap=None):
            hasher.record(record)
    computed = hasher.finish()
    stored = read_digests(pool.ioctx, backup.backup_id)
    differing = () if stored is None else tuple(computed.differing(stored))
    return VerifyResult(backup.backup_id, base, point, size, computed.sha256(),
                        None if stored is None else stored.sha256(), differing)
