"""Every option shoal reads, with upstream's type, default and a help text.

Defaults are upstream's built-in ones (glance_store 5.x, glance, cinder 29,
nova 34, Ceph), not the guide's: :func:`shoal.config.write_default` writes the
guide's values into ``shoal.conf``. Sections:

- ``[glance_store]`` (Glance's store options, plus ``show_image_direct_url``,
  which Glance reads from ``[DEFAULT]``: both places are accepted);
- ``[DEFAULT]``: Cinder's (``enabled_backends``, backup options), Glance's and
  Nova's ``[DEFAULT]`` options share it, with oslo.log's (``debug``, ``log_file``,
  ``log_dir``, ``use_stderr``) that every service reads;
- Cinder backend sections named by ``enabled_backends`` (``BACKEND`` here);
- Nova's ``[libvirt]`` and ``[workarounds]``;
- ceph.conf's ``[client]`` (names with spaces, dashes or underscores are one);
- shoal's own ``[shoal]``;
- keystonemiddleware's ``[keystone_authtoken]`` (shoal.conf only): a remote Keystone
  to validate tokens against, instead of shoal's own identity service.
"""

from __future__ import annotations

from collections.abc import Iterable

from shoal import limits
from shoal.config._option import BACKEND, Option, Service

__all__ = ["OPTIONS", "by_section"]

_MIB_ORDER_MAX = 1 << (limits.rbd_order_max - 20)


def _opts(service: Service, section: str, *specs: tuple[object, ...]) -> list[Option]:
    """Options from ``(name, kind, default, help, {extra fields})`` tuples."""
    out = []
    for spec in specs:
        name, kind, default, help_text, *rest = spec
        extra: dict[str, object] = dict(rest[0]) if rest else {}  # type: ignore[call-overload]
        out.append(Option(service=service, section=section, name=str(name), kind=kind,  # type: ignore[arg-type]
                          default=default, help=str(help_text), **extra))  # type: ignore[arg-type]
    return out


_CHUNK = {"minimum": 1, "maximum": _MIB_ORDER_MAX, "power_of_two": True}
_DEFAULT_ALIAS = "DEFAULT"

_GLANCE_STORE = _opts(
    "glance", "glance_store",
    ("stores", "list", ("file", "http"),
     "Store schemes Glance enables (shoal serves rbd; others are accepted and unused)."),
    ("default_store", "enum", "file",
     "Scheme of the store new images go to; must be one of `stores`.",
     {"choices": ("file", "filesystem", "http", "https", "swift", "swift+http", "swift+https",
                  "swift+config", "rbd", "cinder", "vsphere", "s3"),
      "aliases": ((_DEFAULT_ALIAS, "default_store"),)}),
    ("rbd_store_pool", "str", "images", "RADOS pool holding Glance images.",
     {"aliases": ((_DEFAULT_ALIAS, "rbd_store_pool"),)}),
    ("rbd_store_user", "str", None,
     "Ceph user Glance connects as (without `client.`); unset: librados' default (admin).",
     {"aliases": ((_DEFAULT_ALIAS, "rbd_store_user"),)}),
    ("rbd_store_ceph_conf", "path", "",
     "ceph.conf Glance reads; empty: librados' default search.",
     {"aliases": ((_DEFAULT_ALIAS, "rbd_store_ceph_conf"),)}),
    ("rbd_store_chunk_size", "int", 8,
     "RBD object size of new images and the upload chunk, in MiB (power of two, 1..32).",
     _CHUNK),
    ("rados_connect_timeout", "int", -1,
     "Seconds to wait for the cluster; negative: librados' defaults."),
    ("rbd_thin_provisioning", "bool", False,
     "Skip writing all-zero chunks of uploads (they still count in checksums)."),
    ("show_image_direct_url", "bool", False,
     "Show the image's rbd:// location as `direct_url` (needed for copy-on-write "
     "clones; exposes the backend location). Glance reads it from [DEFAULT]; the guide "
     "puts it in [glance_store]: both are accepted.",
     {"aliases": ((_DEFAULT_ALIAS, "show_image_direct_url"),)}),
)

_GLANCE_DEFAULT = _opts(
    "glance", "DEFAULT",
    ("show_multiple_locations", "bool", False,
     "Show all image locations (deprecated upstream)."),
    ("hashing_algorithm", "str", "sha512",
     "hashlib algorithm of `os_hash_value` (the multihash), e.g. sha512, sha256."),
    ("image_size_cap", "int", 1099511627776,
     "Largest image upload in bytes (1 TiB); larger is 413.", {"minimum": 1}),
    ("image_property_quota", "int", 128,
     "Most extra properties per image; negative: unlimited."),
    ("image_tag_quota", "int", 128, "Most tags per image; negative: unlimited."),
    ("image_location_quota", "int", 10, "Most locations per image; negative: unlimited."),
    ("image_member_quota", "int", 128, "Most members per image; negative: unlimited."),
    ("limit_param_default", "int", 25, "Images per page when a listing gives no limit.",
     {"minimum": 1}),
    ("api_limit_max", "int", 1000, "Largest page of an image listing.", {"minimum": 1}),
)

_GLANCE_FORMATS = _opts(
    "glance", "image_format",
    ("disk_formats", "list",
     ("ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop"),
     "Disk formats an image may declare."),
    ("container_formats", "list",
     ("ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed"),
     "Container formats an image may declare."),
)

_GLANCE_CONVERSION = _opts(
    "glance", "image_conversion",
    ("output_format", "enum", None,
     "Convert uploaded images (qcow2 ...) to this format with qemu-img, so that volumes "
     "and guest disks can be copy-on-write clones; unset: store uploads as given. "
     "(Upstream converts only in its import flow; shoal converts uploads too.)",
     {"choices": ("raw",)}),
)

_CINDER_DEFAULT = _opts(
    "cinder", "DEFAULT",
    ("enabled_backends", "list", None,
     "Names of the volume backend sections to serve (e.g. `ceph` for a [ceph] section)."),
    ("glance_api_version", "int", 2,
     "Glance API version Cinder speaks; only 2 exists now (current cinder no longer "
     "reads it; the guide still sets it).", {"minimum": 2, "maximum": 2}),
    ("auth_strategy", "enum", "keystone",
     "How API requests authenticate: `keystone` tokens, from shoal's identity service or "
     "from the Keystone of [keystone_authtoken]; upstream's `noauth` is not served.",
     {"choices": ("keystone", "noauth")}),
    ("default_volume_type", "str", "__DEFAULT__", "Volume type of volumes created without one."),
    ("storage_availability_zone", "str", "nova", "Availability zone of the volume service."),
    ("quota_volumes", "int", 10, "Default volumes per project; -1: unlimited.",
     {"minimum": -1}),
    ("quota_snapshots", "int", 10, "Default snapshots per project; -1: unlimited.",
     {"minimum": -1}),
    ("quota_gigabytes", "int", 1000,
     "Default GiB of volumes and snapshots per project; -1: unlimited.", {"minimum": -1}),
    ("quota_backups", "int", 10, "Default backups per project; -1: unlimited.",
     {"minimum": -1}),
    ("quota_backup_gigabytes", "int", 1000,
     "Default GiB of backups per project; -1: unlimited.", {"minimum": -1}),
    ("per_volume_size_limit", "int", -1,
     "Default largest volume a project may create, in GiB; -1: unlimited.",
     {"minimum": -1}),
    ("backup_driver", "str", "cinder.backup.drivers.swift.SwiftBackupDriver",
     "Backup driver; shoal serves `cinder.backup.drivers.ceph` "
     "(or `...ceph.CephBackupDriver`)."),
    ("backup_ceph_conf", "path", "/etc/ceph/ceph.conf", "ceph.conf the backup service reads."),
    ("backup_ceph_user", "str", "cinder", "Ceph user of the backup service (without `client.`)."),
    ("backup_ceph_chunk_size", "int", 128 * 1024 * 1024,
     "Bytes per piece of a full (non-RBD) backup copy.", {"minimum": 1}),
    ("backup_ceph_pool", "str", "backups", "RADOS pool holding backups."),
    ("backup_ceph_stripe_unit", "int", 0,
     "RBD stripe unit of backup images in bytes; 0: the object size.", {"minimum": 0}),
    ("backup_ceph_stripe_count", "int", 0,
     "RBD stripe count of backup images; 0: 1.", {"minimum": 0}),
    ("backup_ceph_image_journals", "bool", False,
     "Enable journaling on backup images (for rbd-mirror)."),
    ("backup_ceph_max_snapshots", "int", 0,
     "Backup snapshots kept on a source volume; 0: all. Pruning forces the next "
     "incremental backup of a pruned chain to be full.", {"minimum": 0}),
    ("restore_discard_excess_bytes", "bool", True,
     "On restore to a larger volume, discard (RBD) or zero the bytes past the backup."),
    ("image_conversion_dir", "path", "",
     "Directory for temporary files of image conversions (upload to image, volumes from "
     "non-raw images); empty: `conversion` in the data directory ($state_path/conversion)."),
    ("enable_force_upload", "bool", False,
     "Let `os-volume_upload_image` with `force` upload an in-use volume (else force is "
     "ignored and an in-use volume is refused)."),
)

_CINDER_BACKEND = _opts(
    "cinder", BACKEND,
    ("volume_driver", "str", "cinder.volume.drivers.lvm.LVMVolumeDriver",
     "Driver of this backend; shoal serves `cinder.volume.drivers.rbd.RBDDriver`."),
    ("volume_backend_name", "str", None,
     "Backend name volume types select (`volume_backend_name` extra spec); RBD reports "
     "`RBD` when unset."),
    ("rbd_cluster_name", "str", "ceph", "Ceph cluster name (names $cluster.conf files)."),
    ("rbd_pool", "str", "rbd", "RADOS pool holding this backend's volumes."),
    ("rbd_user", "str", None, "Ceph user of the volume service (without `client.`)."),
    ("rbd_ceph_conf", "path", "", "ceph.conf of this backend; empty: librados' default."),
    ("rbd_keyring_conf", "path", "", "Keyring path for cinderlib (deprecated upstream)."),
    ("rbd_flatten_volume_from_snapshot", "bool", False,
     "Flatten volumes created from snapshots (no dependency on the snapshot)."),
    ("rbd_secret_uuid", "uuid", None,
     "libvirt secret UUID holding rbd_user's key; unset: the cluster fsid."),
    ("rbd_max_clone_depth", "int", 5,
     "Clone chain length before a clone is flattened; 0 or less: full copies, no clones."),
    ("rbd_store_chunk_size", "int", 4,
     "RBD object size of new volumes in MiB (power of two, 1..32).", _CHUNK),
    ("rados_connect_timeout", "int", -1,
     "Seconds to wait for the cluster; negative: librados' defaults."),
    ("rados_connection_retries", "int", 3, "Connection attempts.", {"minimum": 0}),
    ("rados_connection_interval", "int", 5, "Seconds between connection attempts.",
     {"minimum": 0}),
    ("replication_connect_timeout", "int", 5, "Seconds to wait for a replication target."),
    ("report_dynamic_total_capacity", "bool", True,
     "Report total capacity as used + free (else the pool's total)."),
    ("rbd_exclusive_cinder_pool", "bool", True,
     "The pool is Cinder's alone (skips per-image provisioned-size scans)."),
    ("enable_deferred_deletion", "bool", False,
     "Move deleted volumes to the RBD trash and purge them later."),
    ("deferred_deletion_delay", "int", 0, "Seconds a deleted volume stays in the trash.",
     {"minimum": 0}),
    ("deferred_deletion_purge_interval", "int", 60, "Seconds between trash purges.",
     {"minimum": 1}),
    ("rbd_concurrent_flatten_operations", "int", 3,
     "Flattens run at once; 0: unbounded.", {"minimum": 0}),
    ("image_volume_cache_enabled", "bool", False, "Cache image volumes for faster creation."),
    ("backend_host", "str", None, "Host name reported for this backend (`host@backend`)."),
    ("report_discard_supported", "bool", False, "Tell Nova the backend supports discard."),
    ("image_upload_use_cinder_backend", "bool", False,
     "Upload volumes to images by cloning inside the backend (cinder glance store)."),
)

_LIBVIRT_DEFAULT_ALIAS = "DEFAULT"


def _lv(name: str) -> dict[str, object]:
    return {"aliases": ((_LIBVIRT_DEFAULT_ALIAS, f"libvirt_{name}"),)}


_NOVA_LIBVIRT = _opts(
    "nova", "libvirt",
    ("virt_type", "enum", "kvm", "Hypervisor type.",
     {"choices": ("kvm", "lxc", "qemu", "parallels")}),
    ("images_type", "enum", "default",
     "Backend of instance disks; `rbd` keeps them in `images_rbd_pool`; `default`: "
     "`use_cow_images` decides (qcow2).",
     {"choices": ("raw", "flat", "qcow2", "lvm", "rbd", "ploop", "default"),
      **_lv("images_type")}),
    ("images_rbd_pool", "str", "rbd", "RADOS pool of instance disks.", _lv("images_rbd_pool")),
    ("images_rbd_ceph_conf", "path", "", "ceph.conf of the instance-disk cluster.",
     _lv("images_rbd_ceph_conf")),
    ("images_rbd_glance_store_name", "str", "",
     "Glance store to copy an image into when it is not in this cluster; empty: download."),
    ("images_rbd_glance_copy_poll_interval", "int", 15,
     "Seconds between checks of that copy."),
    ("images_rbd_glance_copy_timeout", "int", 600, "Seconds to wait for that copy."),
    ("rbd_user", "str", None, "Ceph user of RBD disks and volumes (without `client.`).",
     {"aliases": ((_LIBVIRT_DEFAULT_ALIAS, "rbd_user"),)}),
    ("rbd_secret_uuid", "uuid", None, "libvirt secret UUID holding rbd_user's key.",
     {"aliases": ((_LIBVIRT_DEFAULT_ALIAS, "rbd_secret_uuid"),)}),
    ("rbd_connect_timeout", "int", 5, "Seconds to wait for the cluster."),
    ("rbd_destroy_volume_retry_interval", "int", 5,
     "Seconds between retries of a busy disk's removal.", {"minimum": 0}),
    ("rbd_destroy_volume_retries", "int", 12, "Retries of a busy disk's removal.",
     {"minimum": 0}),
    ("disk_cachemodes", "list", (),
     "Cache mode per disk type, `type=mode` items (types file, block, network, mount; "
     "modes default, none, writethrough, writeback, directsync, unsafe)."),
    ("inject_password", "bool", False, "Inject the admin password at boot.",
     _lv("inject_password")),
    ("inject_key", "bool", False, "Inject the SSH key at boot.", _lv("inject_key")),
    ("inject_partition", "int", -2,
     "Partition to inject into: -2 none, -1 find the root, 0 unpartitioned, N partition N.",
     {"minimum": -2, **_lv("inject_partition")}),
    ("hw_disk_discard", "enum", None,
     "Discard (TRIM) passed to guests: `unmap` passes it, `ignore` drops it; unset: "
     "libvirt's default.", {"choices": ("ignore", "unmap")}),
    ("live_migration_tunnelled", "bool", False, "Tunnel live-migration data through libvirtd."),
    ("live_migration_flag", "str",
     "VIR_MIGRATE_UNDEFINE_SOURCE, VIR_MIGRATE_PEER2PEER, VIR_MIGRATE_LIVE, "
     "VIR_MIGRATE_TUNNELLED", "libvirt live-migration flags (old guides).",
     {"removed": "nova derives the flags from live_migration_tunnelled and friends"}),
    ("block_migration_flag", "str",
     "VIR_MIGRATE_UNDEFINE_SOURCE, VIR_MIGRATE_PEER2PEER, VIR_MIGRATE_LIVE, "
     "VIR_MIGRATE_TUNNELLED, VIR_MIGRATE_NON_SHARED_INC", "libvirt block-migration flags.",
     {"removed": "nova derives the flags from live_migration_tunnelled and friends"}),
)

_NOVA_OTHER = [
    *_opts("nova", "DEFAULT",
           ("force_raw_images", "bool", True,
            "Convert downloaded images to raw (the RBD image backend requires it).")),
    *_opts("nova", "workarounds",
           ("never_download_image_if_on_rbd", "bool", False,
            "Refuse to download an image that lives in another Ceph cluster.")),
]

_CEPH_CLIENT = _opts(
    "ceph", "client",
    ("rbd_cache", "bool", True, "librbd write-back cache."),
    ("rbd_cache_writethrough_until_flush", "bool", True,
     "Write through until the guest sends its first flush (safe for old guests)."),
    ("rbd_cache_size", "int", 32 * 1024 * 1024,
     "librbd cache size in bytes (K/M/G suffixes as Ceph: 64M).", {"minimum": 0, "iec": True}),
    ("rbd_concurrent_management_ops", "int", 10,
     "Operations in flight during copy, flatten, remove and similar.", {"minimum": 1}),
    ("rbd_default_features", "str", "61",
     "Features of new images: an integer or comma-separated names (61: layering, "
     "exclusive-lock, object-map, fast-diff, deep-flatten)."),
    ("rbd_default_order", "int", limits.rbd_order_default,
     "Object size of new images as log2 bytes.",
     {"minimum": limits.rbd_order_min, "maximum": limits.rbd_order_max}),
    ("rbd_default_format", "int", 2, "Image format of new images.",
     {"minimum": 1, "maximum": 2}),
    ("rbd_default_clone_format", "enum", "auto", "Clone format: 1, 2 or auto.",
     {"choices": ("1", "2", "auto")}),
    ("admin_socket", "path", "",
     "Admin socket path ($cluster, $type, $id, $pid, $cctid expand); empty: none."),
    ("log_file", "path", "", "Log file ($pid etc. expand); empty: no file."),
    ("fsid", "uuid", None, "Cluster fsid."),
    ("mon_host", "str", "", "Monitor addresses."),
    ("keyring", "path",
     "/etc/ceph/$cluster.$name.keyring,/etc/ceph/$cluster.keyring,/etc/ceph/keyring,"
     "/etc/ceph/keyring.bin", "Keyring files searched, comma-separated."),
)

#: oslo.log's options, which every service reads from its file's ``[DEFAULT]`` (one
#: process serves them all: in a directory nova.conf's win over cinder.conf's, over
#: glance-api.conf's).
_OSLO_LOG = _opts(
    "oslo", "DEFAULT",
    ("debug", "bool", False,
     "Log at DEBUG instead of INFO (`shoal up --debug` sets it too)."),
    ("log_file", "path", None,
     "Log file; relative: under log_dir when that is set. Unset: log_dir/shoal-up.log "
     "when log_dir is set, else standard error only.",
     {"aliases": (("DEFAULT", "logfile"),)}),
    ("log_dir", "path", None,
     "Directory of log_file (and of shoal-up.log when log_file is unset); must exist.",
     {"aliases": (("DEFAULT", "logdir"),)}),
    ("use_stderr", "bool", False,
     "Log to standard error as well as to the log file (without a log file shoal logs "
     "to standard error; upstream: to standard output)."),
)

_SHOAL = _opts(
    "shoal", "shoal",
    ("backend", "enum", "embedded",
     "`embedded` (shoal's own store in data_dir) or `ceph` (a real cluster through "
     "librados); env SHOAL_BACKEND overrides.", {"choices": ("embedded", "ceph")}),
    ("data_dir", "path", None,
     "Data directory; unset: $SHOAL_DATA_DIR, else $XDG_DATA_HOME/shoal, else "
     "~/.local/share/shoal; env SHOAL_DATA_DIR overrides."),
    ("ceph_conf", "path", "/etc/ceph/ceph.conf", "ceph.conf of the cluster (backend ceph)."),
    ("host", "str", "127.0.0.1", "Address the API endpoints listen on."),
    ("identity_port", "int", 5000, "Keystone v3 port; 0: a free port.",
     {"minimum": 0, "maximum": 65535}),
    ("image_port", "int", 9292, "Glance v2 port; 0: a free port.",
     {"minimum": 0, "maximum": 65535}),
    ("volume_port", "int", 8776, "Cinder v3 port; 0: a free port.",
     {"minimum": 0, "maximum": 65535}),
    ("compute_port", "int", 8774, "Nova v2.1 port; 0: a free port.",
     {"minimum": 0, "maximum": 65535}),
    ("database_url", "str", None,
     "SQLAlchemy URL; unset: SQLite in the data directory (postgresql://... for "
     "several processes or hosts).", {"secret": True}),
    ("region_name", "str", "RegionOne", "Region of the catalog's endpoints."),
    ("admin_user", "str", "admin", "Admin user created on first start."),
    ("admin_password", "str", None, "Its password; unset: generated on first start.",
     {"secret": True}),
    ("admin_project", "str", "admin", "Admin project."),
    ("demo_user", "str", "demo", "Member user created on first start."),
    ("demo_password", "str", None, "Its password; unset: generated on first start.",
     {"secret": True}),
    ("demo_project", "str", "demo", "Its project."),
    ("token_expiration_s", "int", 3600, "Token lifetime in seconds.", {"minimum": 1}),
    ("max_request_body_size_bytes", "int", 114688,
     "Largest API request body accepted (image data uploads excepted).", {"minimum": 1}),
    ("access_log", "bool", False,
     "Log one line per API request (client, method, path, status, bytes, milliseconds, "
     "request id) at INFO; `shoal up --access-log` sets it too."),
    ("compute_hosts", "list", (),
     "Compute hosts this `shoal up` runs (each a nova-compute service; servers live on "
     "one and migrate between them); empty: one, named as the machine."),
)

_AUTHTOKEN = "keystone_authtoken"
_UNUSED = "accepted for upstream's files; shoal does not use it"

#: keystonemiddleware's ``[keystone_authtoken]`` (auth_token options, then keystoneauth's
#: password plugin). One section in shoal.conf serves every API: in a directory of real
#: files, their ``[keystone_authtoken]`` sections are not read.
_KEYSTONE_AUTHTOKEN = _opts(
    "shoal", _AUTHTOKEN,
    ("www_authenticate_uri", "str", None,
     "Public Identity endpoint named in the WWW-Authenticate header of 401 answers (where "
     "clients get a token); unset: auth_url.",
     {"aliases": ((_AUTHTOKEN, "auth_uri"),)}),
    ("auth_url", "str", None,
     "Keystone to validate tokens against (e.g. http://controller:5000, or .../v3); "
     "unset: shoal's own identity service issues and checks the tokens. Needs the "
     "service user below.",
     {"aliases": (("shoal", "auth_url"),)}),
    ("auth_type", "enum", None,
     "keystoneauth plugin of the service user; only password login is served; "
     "unset: password.", {"choices": ("password", "v3password")}),
    ("username", "str", None, "Service user that validates the tokens (e.g. cinder)."),
    ("password", "str", None, "Its password.", {"secret": True}),
    ("user_domain_name", "str", None,
     "Domain of the service user, by name (e.g. Default); or user_domain_id."),
    ("user_domain_id", "str", None, "Domain of the service user, by id (e.g. default)."),
    ("project_name", "str", None, "Project the service user's token is scoped to (e.g. service)."),
    ("project_domain_name", "str", None,
     "Domain of that project, by name (e.g. Default); or project_domain_id."),
    ("project_domain_id", "str", None, "Domain of that project, by id (e.g. default)."),
    ("token_cache_time", "int", 300,
     "Seconds a validated token is trusted without asking Keystone again (never past its "
     "expiry; a revoked token keeps working this long); -1 or 0: ask every time.",
     {"minimum": -1}),
    ("http_connect_timeout", "int", None,
     "Seconds to wait for each answer from Keystone; unset: 10 (upstream: no limit). "
     "Past it the request fails with 503.", {"minimum": 1}),
    ("http_request_max_retries", "int", 3,
     "Extra attempts to connect when Keystone cannot be reached.", {"minimum": 0}),
    ("insecure", "bool", False, "Do not verify Keystone's HTTPS certificate (tests only)."),
    ("cafile", "path", None,
     "PEM bundle of the CAs that sign Keystone's HTTPS certificate; unset: the system's."),
    ("memcached_servers", "list", None,
     f"Shared token cache of upstream; shoal caches in each process: {_UNUSED}."),
    ("service_token_roles", "list", ("service",),
     f"Roles a service token (X-Service-Token) must hold; shoal never accepts expired "
     f"tokens on a service's behalf: {_UNUSED}."),
    ("service_token_roles_required", "bool", False,
     f"Enforce service_token_roles: {_UNUSED}."),
)

#: Every option, in display order.
OPTIONS: tuple[Option, ...] = (
    *_GLANCE_STORE, *_GLANCE_DEFAULT, *_GLANCE_FORMATS, *_GLANCE_CONVERSION,
    *_CINDER_DEFAULT, *_NOVA_OTHER[:1], *_OSLO_LOG, *_CINDER_BACKEND,
    *_NOVA_LIBVIRT, *_NOVA_OTHER[1:], *_CEPH_CLIENT, *_SHOAL, *_KEYSTONE_AUTHTOKEN,
)


def by_section(options: Iterable[Option] = OPTIONS) -> dict[str, dict[str, Option]]:
    """``{section: {name: option}}`` of canonical places."""
    out: dict[str, dict[str, Option]] = {}
    for opt in options:
        out.setdefault(opt.section, {})[opt.name] = opt
    return out


def _check_unique() -> None:
    seen: set[tuple[str, str]] = set()
    for opt in OPTIONS:
        for key in ((opt.section, opt.name), *opt.aliases):
            if key in seen:
                raise AssertionError(f"option spelled twice: {key}")
            seen.add(key)


_check_unique()
