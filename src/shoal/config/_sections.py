"""Typed views of the sections, the accessors services use.

Each class has one field per option of its section (same name, typed value,
upstream's unit); ``tests/unit/config/test_registry.py`` keeps them in step
with the registry. Paths are ``str`` as written (``""``: librados' default
search); unset options are None.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

__all__ = [
    "KEYSTONE_TIMEOUT_S_DEFAULT",
    "CephClientSection",
    "CinderBackendSection",
    "CinderSection",
    "GlanceSection",
    "GlanceStoreSection",
    "KeystoneAuthtokenSection",
    "LibvirtSection",
    "NovaSection",
    "ShoalSection",
    "WorkaroundsSection",
    "identity_v3_url",
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
    image_size_cap: int
    image_property_quota: int
    image_tag_quota: int
    image_location_quota: int
    image_member_quota: int
    limit_param_default: int
    api_limit_max: int


@dataclass(frozen=True)
class ImageFormatSection:
    """Glance's ``[image_format]``."""

    disk_formats: tuple[str, ...]
    container_formats: tuple[str, ...]


@dataclass(frozen=True)
class ImageConversionSection:
    """Glance's ``[image_conversion]``."""

    output_format: str | None


@dataclass(frozen=True)
class CinderSection:
    """Cinder's ``[DEFAULT]``: backends and the Ceph backup driver."""

    enabled_backends: tuple[str, ...] | None
    glance_api_version: int
    auth_strategy: str  # "keystone" (shoal refuses "noauth")
    default_volume_type: str
    storage_availability_zone: str
    quota_volumes: int  # -1: unlimited
    quota_snapshots: int
    quota_gigabytes: int  # GiB
    quota_backups: int
    quota_backup_gigabytes: int  # GiB
    per_volume_size_limit: int  # GiB; -1: unlimited
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
    image_conversion_dir: str  # empty: <data dir>/conversion
    enable_force_upload: bool

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
    max_request_body_size_bytes: int
    access_log: bool
    compute_hosts: tuple[str, ...]

    @property
    def ports(self) -> dict[str, int]:
        """``{"identity": 5000, "image": 9292, "volume": 8776, "compute": 8774}`` (0: free port)."""
        return {"identity": self.identity_port, "image": self.image_port,
                "volume": self.volume_port, "compute": self.compute_port}


#: Seconds to wait for each answer from a remote Keystone when ``http_connect_timeout``
#: is unset (upstream then waits without limit; shoal answers 503 instead of hanging).
KEYSTONE_TIMEOUT_S_DEFAULT = 10


def _http_url(url: str) -> str:
    """``url`` without trailing slashes, checked to be ``http(s)://host[:port][/path]``.

    Raises:
        ValueError: another scheme, no host, a bad port, a query or a fragment.
    """
    text = url.strip().rstrip("/")
    parts = urlsplit(text)
    try:
        parts.port  # noqa: B018 (raises ValueError on a bad port)
    except ValueError:
        raise ValueError(f"{url!r} has a bad port") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an http:// or https:// URL with a host")
    if parts.query or parts.fragment:
        raise ValueError(f"{url!r} has a query or fragment; give the endpoint only")
    return text


def identity_v3_url(auth_url: str) -> str:
    """The Keystone v3 root of ``auth_url``: ``http://h:5000`` and ``http://h:5000/v3``
    both give ``http://h:5000/v3``; ``http://h/identity`` gives ``http://h/identity/v3``.

    Raises:
        ValueError: not an http(s) URL, or a v2.0 endpoint (Identity v2 is gone).
    """
    url = _http_url(auth_url)
    last = urlsplit(url).path.rsplit("/", 1)[-1]
    if last == "v3":
        return url
    if last in ("v2.0", "v2"):
        raise ValueError(f"{auth_url!r} is an Identity v2 endpoint; give the v3 one "
                         "(or the unversioned root)")
    return f"{url}/v3"


@dataclass(frozen=True)
class KeystoneAuthtokenSection:
    """keystonemiddleware's ``[keystone_authtoken]``: the remote Keystone the APIs validate
    tokens against, and the service user they validate with.

    Unset ``auth_url`` (:attr:`enabled` false) means shoal's own identity service. When it
    is set, loading the configuration has checked it and the credentials (``username``,
    ``password``, ``project_name`` and each domain by name or id).
    """

    www_authenticate_uri: str | None
    auth_url: str | None
    auth_type: str | None  # "password", "v3password", None: password
    username: str | None
    password: str | None = field(repr=False)
    user_domain_name: str | None
    user_domain_id: str | None
    project_name: str | None
    project_domain_name: str | None
    project_domain_id: str | None
    token_cache_time: int  # seconds; -1 or 0: no cache
    http_connect_timeout: int | None  # seconds; None: KEYSTONE_TIMEOUT_S_DEFAULT
    http_request_max_retries: int
    insecure: bool
    cafile: str | None
    memcached_servers: tuple[str, ...] | None  # not used
    service_token_roles: tuple[str, ...]  # not used
    service_token_roles_required: bool  # not used

    @property
    def enabled(self) -> bool:
        """Whether tokens are validated by a remote Keystone (``auth_url`` is set)."""
        return self.auth_url is not None

    @property
    def identity_url(self) -> str:
        """Keystone's v3 root (``auth_url`` + ``/v3`` unless it ends so).

        Raises:
            ValueError: ``auth_url`` is unset or not a v3-capable http(s) URL.
        """
        if self.auth_url is None:
            raise ValueError("[keystone_authtoken] auth_url is not set")
        return identity_v3_url(self.auth_url)

    @property
    def public_url(self) -> str | None:
        """The endpoint 401 answers point clients to: ``www_authenticate_uri``, else
        ``auth_url`` (None when neither is set)."""
        return self.www_authenticate_uri or self.auth_url

    @property
    def timeout_s(self) -> float:
        """Seconds to wait for each answer from Keystone."""
        if self.http_connect_timeout is None:
            return float(KEYSTONE_TIMEOUT_S_DEFAULT)
        return float(self.http_connect_timeout)

    @property
    def missing(self) -> tuple[str, ...]:
        """Options a remote Keystone needs that are unset (empty when complete)."""
        out = [name for name in ("username", "password", "project_name")
               if not getattr(self, name)]
        if not (self.user_domain_name or self.user_domain_id):
            out.append("user_domain_name")
        if not (self.project_domain_name or self.project_domain_id):
            out.append("project_domain_name")
        return tuple(out)

    @property
    def user_domain(self) -> dict[str, str]:
        """The service user's domain as Keystone's auth body names it (id wins)."""
        return _domain(self.user_domain_id, self.user_domain_name)

    @property
    def project_domain(self) -> dict[str, str]:
        """The service project's domain as Keystone's auth body names it (id wins)."""
        return _domain(self.project_domain_id, self.project_domain_name)


def _domain(domain_id: str | None, name: str | None) -> dict[str, str]:
    if domain_id:
        return {"id": domain_id}
    if name:
        return {"name": name}
    raise ValueError("no domain name or id is set")
