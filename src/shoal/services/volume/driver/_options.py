"""The RBD volume driver's options: one Cinder backend section, as plain values."""

from __future__ import annotations

from dataclasses import dataclass

from shoal import errors, limits
from shoal.config import ShoalConfig

__all__ = ["RbdDriverOptions"]

MiB = 1 << 20


@dataclass(frozen=True)
class RbdDriverOptions:
    """One backend's options, named as Cinder names them (defaults: Cinder's).

    Attributes:
        rbd_pool: the pool volumes live in.
        rbd_user: the cephx user without ``client.`` (None: no cephx), reported
            to Nova in connection info; the driver's session must be this user's.
        rbd_cluster_name: the cluster name reported to Nova.
        rbd_ceph_conf: the ceph.conf path, reported in ``location_info`` only.
        rbd_flatten_volume_from_snapshot: flatten volumes made from snapshots.
        rbd_secret_uuid: the libvirt secret holding the user's key (None: the
            cluster's fsid, as Cinder's ``do_setup`` sets it).
        rbd_max_clone_depth: clones of clones allowed before a clone is
            flattened; <= 0 makes ``create_cloned_volume`` a full copy.
        rbd_store_chunk_size: object size of new volumes, MiB (a power of two,
            1..32; order = log2 of it in bytes).
        rados_connection_retries: attempts at removing a busy volume or
            unprotecting a busy snapshot (at least one is made).
        rados_connection_interval: seconds between those attempts.
        report_dynamic_total_capacity: report total = free + used.
        rbd_exclusive_cinder_pool: the pool holds only this backend's volumes
            (no ``provisioned_capacity_gb`` is computed).
        enable_deferred_deletion: deleted volumes go to the pool's trash, to be
            purged after ``deferred_deletion_delay`` seconds.
        deferred_deletion_delay: seconds a deleted volume stays in the trash.
        deferred_deletion_purge_interval: seconds between trash purges (for the
            service that calls :meth:`RbdVolumeDriver.purge_trash`).
        rbd_concurrent_flatten_operations: flattens run at once (0: unbounded).
        volume_backend_name: the name reported in stats (``RBD`` when unset).
        reserved_percentage: reported in stats (Cinder's default 0).
        max_over_subscription_ratio: reported in stats (Cinder's default 20.0).

    Raises (constructor):
        errors.InvalidArgument: a value out of its range.
    """

    rbd_pool: str = "rbd"
    rbd_user: str | None = None
    rbd_cluster_name: str = "ceph"
    rbd_ceph_conf: str = ""
    rbd_flatten_volume_from_snapshot: bool = False
    rbd_secret_uuid: str | None = None
    rbd_max_clone_depth: int = 5
    rbd_store_chunk_size: int = 4
    rados_connection_retries: int = 3
    rados_connection_interval: float = 5.0
    report_dynamic_total_capacity: bool = True
    rbd_exclusive_cinder_pool: bool = True
    enable_deferred_deletion: bool = False
    deferred_deletion_delay: int = 0
    deferred_deletion_purge_interval: int = 60
    rbd_concurrent_flatten_operations: int = 3
    volume_backend_name: str = "RBD"
    reserved_percentage: int = 0
    max_over_subscription_ratio: float = 20.0

    def __post_init__(self) -> None:
        if not self.rbd_pool:
            raise errors.InvalidArgument("rbd_pool must not be empty")
        chunk = self.rbd_store_chunk_size
        if not 1 <= chunk <= limits.chunk_size_mib_max or chunk & (chunk - 1):
            raise errors.InvalidArgument(
                f"rbd_store_chunk_size must be a power of two 1..{limits.chunk_size_mib_max} MiB, "
                f"not {chunk!r}")
        if self.rbd_max_clone_depth > limits.clone_depth_max:
            raise errors.InvalidArgument(
                f"rbd_max_clone_depth must be at most {limits.clone_depth_max}")
        for name in ("rados_connection_retries", "rados_connection_interval",
                     "deferred_deletion_delay", "rbd_concurrent_flatten_operations",
                     "reserved_percentage"):
            if getattr(self, name) < 0:
                raise errors.InvalidArgument(f"{name} must not be negative")

    @property
    def chunk_bytes(self) -> int:
        """The object size of new volumes, bytes."""
        return self.rbd_store_chunk_size * MiB

    @property
    def order(self) -> int:
        """The RBD order of new volumes (4 MiB -> 22)."""
        return self.chunk_bytes.bit_length() - 1

    @classmethod
    def from_config(cls, cfg: ShoalConfig, backend: str) -> RbdDriverOptions:
        """The options of backend section ``backend`` of ``cfg``.

        Raises:
            errors.NotFound: ``backend`` is not an enabled backend.
            errors.InvalidArgument: the backend's ``volume_driver`` is not the RBD
                driver, or a value is out of range.
        """
        section = cfg.cinder_backend(backend)
        if not section.is_rbd:
            raise errors.InvalidArgument(
                f"backend {backend!r} uses {section.volume_driver}, not the RBD driver")
        return cls(
            rbd_pool=section.rbd_pool,
            rbd_user=section.rbd_user,
            rbd_cluster_name=section.rbd_cluster_name,
            rbd_ceph_conf=section.rbd_ceph_conf,
            rbd_flatten_volume_from_snapshot=section.rbd_flatten_volume_from_snapshot,
            rbd_secret_uuid=section.rbd_secret_uuid,
            rbd_max_clone_depth=section.rbd_max_clone_depth,
            rbd_store_chunk_size=section.rbd_store_chunk_size,
            rados_connection_retries=section.rados_connection_retries,
            rados_connection_interval=float(section.rados_connection_interval),
            report_dynamic_total_capacity=section.report_dynamic_total_capacity,
            rbd_exclusive_cinder_pool=section.rbd_exclusive_cinder_pool,
            enable_deferred_deletion=section.enable_deferred_deletion,
            deferred_deletion_delay=section.deferred_deletion_delay,
            deferred_deletion_purge_interval=section.deferred_deletion_purge_interval,
            rbd_concurrent_flatten_operations=section.rbd_concurrent_flatten_operations,
            volume_backend_name=section.reported_backend_name,
        )
