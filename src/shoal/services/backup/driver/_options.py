"""The Ceph backup driver's options (Cinder's ``[DEFAULT] backup_ceph_*``)."""

from __future__ import annotations

from dataclasses import dataclass

from shoal import errors
from shoal.config import CinderSection

__all__ = ["CHUNK_BYTES_MAX", "BackupOptions"]

MiB = 1 << 20
#: The largest ``backup_ceph_chunk_size`` accepted: a chunk is held in memory whole.
CHUNK_BYTES_MAX = 1 << 30


@dataclass(frozen=True)
class BackupOptions:
    """What the driver does, with upstream's defaults.

    Attributes:
        ceph_conf: ``backup_ceph_conf``; the ceph.conf of the backup cluster (the
            caller opens the backup session with it; kept for reporting).
        user: ``backup_ceph_user``; the backup session's user, without ``client.``.
        chunk_size: ``backup_ceph_chunk_size``, bytes (1..1 GiB): the piece size of
            full copies (snapshot backups, full restores).
        pool: ``backup_ceph_pool``; where backups go unless a backup names a container.
        stripe_unit: ``backup_ceph_stripe_unit``, bytes of new base images; 0: the
            object size.
        stripe_count: ``backup_ceph_stripe_count`` of new base images; 0: 1.
        image_journals: ``backup_ceph_image_journals``: base images get journaling
            (and exclusive-lock), for rbd-mirror. Ceph only.
        max_snapshots: ``backup_ceph_max_snapshots``: backup snapshots kept on a source
            volume after each backup (the newest ones); 0 keeps all. An incremental
            backup whose parent's snapshot was pruned from the source becomes full.
        restore_discard_excess_bytes: ``restore_discard_excess_bytes``: a full restore
            to a volume larger than the backup zeroes (discards) the bytes past it.

    Raises (constructor):
        errors.InvalidArgument: a value out of range or an empty pool.
    """

    ceph_conf: str = "/etc/ceph/ceph.conf"
    user: str = "cinder"
    chunk_size: int = 128 * MiB
    pool: str = "backups"
    stripe_unit: int = 0
    stripe_count: int = 0
    image_journals: bool = False
    max_snapshots: int = 0
    restore_discard_excess_bytes: bool = True

    def __post_init__(self) -> None:
        if not 1 <= self.chunk_size <= CHUNK_BYTES_MAX:
            raise errors.InvalidArgument(
                f"backup_ceph_chunk_size must be 1..{CHUNK_BYTES_MAX} bytes, "
                f"not {self.chunk_size}")
        for name in ("stripe_unit", "stripe_count", "max_snapshots"):
            if getattr(self, name) < 0:
                raise errors.InvalidArgument(f"backup_ceph_{name} must be >= 0")
        if not self.pool:
            raise errors.InvalidArgument("backup_ceph_pool must not be empty")

    @classmethod
    def from_config(cls, section: CinderSection) -> BackupOptions:
        """The options as ``cfg.cinder`` (shoal.conf's Cinder ``[DEFAULT]``) sets them."""
        return cls(
            ceph_conf=section.backup_ceph_conf,
            user=section.backup_ceph_user,
            chunk_size=section.backup_ceph_chunk_size,
            pool=section.backup_ceph_pool,
            stripe_unit=section.backup_ceph_stripe_unit,
            stripe_count=section.backup_ceph_stripe_count,
            image_journals=section.backup_ceph_image_journals,
            max_snapshots=section.backup_ceph_max_snapshots,
            restore_discard_excess_bytes=section.restore_discard_excess_bytes,
        )
