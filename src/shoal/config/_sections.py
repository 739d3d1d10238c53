"""Typed views of the sections, the accessors services use.

Each class has one field per option of its section (same name, typed value,
upstream's unit); ``tests/unit/test_config_registry.py`` keeps them in step
with the registry. Paths are ``str`` as written (``""``: librados' default
search); unset options are None.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CephClientSection",
    "CinderBackendSection",
    "CinderSection",
    "GlanceSection",
    "GlanceStoreSection",
    "LibvirtSection",
    "NovaSection",
    "ShoalSection",
    "WorkaroundsSection",
]

_CEPH_BACKUP_DRIVERS = frozenset({"cinder.backup.drivers.ceph",
                                  "cinder.backup.drivers.ceph.CephBackupDriver"})
RBD_DRIVER = "cinder.volume.drivers.rbd.RBDDriver"


@dataclass(frozen=True)
class GlanceStoreSection:
    """Glance's ``[glance_store]`` (plus ``show_image_direct_url``)."""

    stores: tuple[str, ...]
    default_store: str
    rbd_store_pool: str
    rbd_store_user: str | None
    rbd_store_ceph_conf: str
    rbd_store_chunk_size: int  # MiB, a power of two
    rados_connect_timeout: int  # seconds; negative: librados' defaults
    rbd_thin_provisioning: bool
    show_image_direct_url: bool

    @property
    def rbd_store_chunk_size_bytes(self) -> int:
        """``rbd_store_chunk_size`` in bytes (8 MiB -> 8388608)."""
        return self.rbd_store_chunk_size << 20

    @property
    def rbd_order(self) -> int:
        """RBD object order of new images: log2 of the chunk size in bytes (8 MiB -> 23)."""
        return self.rbd_store_chunk_size_bytes.bit_length() - 1


@dataclass(frozen=True)
class GlanceSection:
    """Glance's own ``[DEFAULT]`` options."""

    show_multiple_locations: bool
    hashing_algorithm: str


@dataclass(frozen=True)
class CinderSection:
    """Cinder's ``[DEFAULT]``: backends and the Ceph backup driver."""

    enabled_backends: tuple[str, ...] | None
    glance_api_version: int
    default_volume_type: str
    storage_availability_zone: str
    backup_driver: str
    backup_ceph_conf: str
    backup_ceph_user: str
    backup_ceph_chunk_size: int  # bytes
    backup_ceph_pool: str
    backup_ceph_stripe_unit: int  # bytes; 0: object size
    backup_ceph_stripe_count: int  # 0: 1
    backup_ceph_image_journals: bool
    backup_ceph_max_snapshots: int  # 0: keep all
    restore_discard_excess_bytes: bool

    @property
    def backup_driver_is_ceph(self) -> bool:
        """Whether ``backup_driver`` names Cinder's Ceph backup driver (either spelling)."""
        return self.backup_driver in _CEPH_BACKUP_DRIVERS


@dataclass(frozen=True)
class CinderBackendSection:
    """One Cinder backend section (named by ``enabled_backends``)."""

    name: str
    volume_driver: str
    volume_backend_name: str | None
    rbd_cluster_name: str
    rbd_pool: str
    rbd_user: str | None
    rbd_ceph_conf: str
    rbd_keyring_conf: str
    rbd_flatten_volume_from_snapshot: bool
    rbd_secret_uuid: str | None
    rbd_max_clone_depth: int  # <= 0: full copies
    rbd_store_chunk_size: int  # MiB, a power of two
    rados_connect_timeout: int
    rados_connection_retries: int
    rados_connection_interval: int  # seconds
    replication_connect_timeout: int
    report_dynamic_total_capacity: bool
    rbd_exclusive_cinder_pool: bool
    enable_deferred_deletion: bool
    deferred_deletion_delay: int  # seconds
    deferred_deletion_purge_interval: int  # seconds
    rbd_concurrent_flatten_operations: int  # 0: unbounded
    image_volume_cache_enabled: bool
    backend_host: str | None
    report_discard_supported: bool
    image_upload_use_cinder_backend: bool

    @property
    def is_rbd(self) -> bool:
        """Whether this backend uses the RBD driver (the only one shoal serves)."""
        return self.volume_driver == RBD_DRIVER

    @property
    def reported_backend_name(self) -> str:
        """``volume_backend_name``, or ``RBD`` as the driver reports when unset."""
        return self.volume_backend_name or "RBD"

    @property
    def rbd_order(self) -> int:
        """RBD object order of new volumes (4 MiB -> 22)."""
        return (self.rbd_store_chunk_size << 20).bit_length() - 1


@dataclass(frozen=True)
class NovaSection:
    """Nova's ``[DEFAULT]`` options shoal reads."""

    force_raw_images: bool


@dataclass(frozen=True)
class LibvirtSection:
    """Nova's ``[libvirt]``."""

    virt_type: str
    images_type: str
    images_rbd_pool: str
    images_rbd_ceph_conf: str
    images_rbd_glance_store_name: str
    images_rbd_glance_copy_poll_interval: int  # seconds
    images_rbd_glance_copy_timeout: int  # seconds
    rbd_user: str | None
    rbd_secret_uuid: str | None
    rbd_connect_timeout: int  # seconds
    rbd_destroy_volume_retry_interval: int  # seconds
    rbd_destroy_volume_retries: int
    disk_cachemodes: tuple[str, ...]
    inject_password: bool
    inject_key: bool
    inject_partition: int  # -2 none, -1 find root, 0 whole disk, N partition
    hw_disk_discard: str | None
    live_migration_tunnelled: bool
    live_migration_flag: str
    block_migration_flag: str

    @property
    def cache_modes(self) -> dict[str, str]:
        """``disk_cachemodes`` as ``{disk type: mode}`` (e.g. ``{"network": "writeback"}``)."""
        pairs = (item.split("=", 1) for item in self.disk_cachemodes)
        return {kind.strip(): mode.strip() for kind, mode in pairs}

    @property
    def injection_enabled(self) -> bool:
        """Whether Nova would inject anything (the guide disables all injection)."""
        return self.inject_partition != -2 and (self.inject_password or self.inject_key)


@dataclass(frozen=True)
class WorkaroundsSection:
    """Nova's ``[workarounds]``."""

    never_download_image_if_on_rbd: bool


@dataclass(frozen=True)
class CephClientSection:
    """ceph.conf's ``[client]`` (falling back to ``[global]``)."""

    rbd_cache: bool
    rbd_cache_writethrough_until_flush: bool
    rbd_cache_size: int  # bytes
    rbd_concurrent_management_ops: int
    rbd_default_features: str
    rbd_default_order: int
    rbd_default_format: int
    rbd_default_clone_format: str
    admin_socket: str
    log_file: str
    fsid: str | None
    mon_host: str
    keyring: str


@dataclass(frozen=True)
class ShoalSection:
    """shoal's own ``[shoal]``."""

    backend: str
    data_dir: str | None
    ceph_conf: str
    host: str
    identity_port: int
    image_port: int
    volume_port: int
    compute_port: int
    database_url: str | None
    region_name: str
    admin_user: str
    admin_password: str | None
    admin_project: str
    demo_user: str
    demo_password: str | None
    demo_project: str
    token_expiration_s: int
    auth_url: str | None
    max_request_body_size_bytes: int

    @property
    def ports(self) -> dict[str, int]:
        """``{"identity": 5000, "image": 9292, "volume": 8776, "compute": 8774}`` (0: free port)."""
        return {"identity": self.identity_port, "image": self.image_port,
                "volume": self.volume_port, "compute": self.compute_port}
