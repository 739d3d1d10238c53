"""The plain records the Cinder v3 API's pure parts read: volumes, attachments,
snapshots, backups, volume types and services.

The volume service turns its database rows into these; every function of
:mod:`shoal.api.cinder` works on them, never on a database or a request. They are
frozen: a change makes a new record (:func:`dataclasses.replace`).

Units: ``size`` of a volume and ``volume_size`` of a snapshot are GiB, as in Cinder;
``size`` of a backup is the GiB of its volume. Timestamps are timezone-aware UTC (naive
values are taken as UTC and converted); ``None`` where Cinder's column is NULL.

Each record checks its fields on construction and raises :class:`ValueError` for a
value no such resource can have: that is the caller's programming error, not a
client's (the API validates client input before it builds records).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from shoal.limits import INT32_MAX
from shoal.services._records import FrozenMap, as_utc

__all__ = [
    "ATTACH_STATUSES",
    "BACKUP_STATUSES",
    "INT32_MAX",
    "MIGRATION_STATUSES",
    "SNAPSHOT_STATUSES",
    "VOLUME_STATUSES",
    "AttachmentRecord",
    "BackupRecord",
    "FrozenMap",
    "ServiceRecord",
    "SnapshotRecord",
    "VolumeRecord",
    "VolumeTypeRecord",
    "as_utc",
]

#: Every status a live volume can have (Cinder's ``VolumeStatus``; ``managing``,
#: ``error_managing`` and ``error_managing_deleting`` show as creating/error/deleting).
VOLUME_STATUSES: Final = (
    "creating", "available", "reserved", "attaching", "detaching", "in-use",
    "maintenance", "deleting", "awaiting-transfer", "error", "error_deleting",
    "backing-up", "restoring-backup", "error_backing-up", "error_restoring",
    "error_extending", "downloading", "uploading", "retyping", "extending",
    "managing", "error_managing", "error_managing_deleting",
)
#: Statuses of a volume attachment (Cinder's ``VolumeAttachStatus``).
ATTACH_STATUSES: Final = (
    "attached", "attaching", "detached", "detaching", "reserved", "error_attaching",
    "error_detaching", "deleted",
)
#: Migration statuses ``os-reset_status`` accepts (Cinder's ``VolumeMigrationStatus``);
#: a volume may also hold ``target:<id>`` while it is a migration's destination.
MIGRATION_STATUSES: Final = ("migrating", "error", "success", "completing", "none", "starting")
#: Statuses of a snapshot (Cinder's ``SnapshotStatus``).
SNAPSHOT_STATUSES: Final = (
    "error", "available", "creating", "deleting", "deleted", "updating", "error_deleting",
    "unmanaging", "backing-up", "restoring",
)
#: Statuses of a backup (Cinder's ``BackupStatus``).
BACKUP_STATUSES: Final = (
    "error", "error_deleting", "creating", "available", "deleting", "deleted", "restoring",
)


def _utc_or_none(moment: datetime | None) -> datetime | None:
    return None if moment is None else as_utc(moment)


def _string_map(name: str, value: Mapping[str, str]) -> FrozenMap:
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ValueError(f"{name} must map strings to strings")
    return value if isinstance(value, FrozenMap) else FrozenMap(value)


def _check_size(name: str, value: int, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an int, got {value!r}")
    if not minimum <= value <= INT32_MAX:
        raise ValueError(f"{name} must be in {minimum}..{INT32_MAX}, got {value}")


def _check_choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {name} {value!r}")


@dataclass(frozen=True)
class AttachmentRecord:
    """One attachment of a volume to a server (or a host).

    ``status`` is the attachment's ``attach_status`` (:data:`ATTACH_STATUSES`);
    ``instance_uuid`` the server, ``attached_host`` the compute host, ``mountpoint``
    the device (``/dev/vdb``), ``attach_mode`` ``rw`` or ``ro``. ``connection_info`` is
    what the volume driver answered for the connector (None until there is one).
    """

    id: str
    volume_id: str
    status: str
    instance_uuid: str | None = None
    attached_host: str | None = None
    mountpoint: str | None = None
    attach_mode: str | None = None
    attach_time: datetime | None = None
    detach_time: datetime | None = None
    connection_info: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        _check_choice("attach status", self.status, ATTACH_STATUSES)
        if self.attach_mode not in (None, "rw", "ro", "null"):
            raise ValueError(f"attach_mode must be rw or ro, got {self.attach_mode!r}")
        object.__setattr__(self, "attach_time", _utc_or_none(self.attach_time))
        object.__setattr__(self, "detach_time", _utc_or_none(self.detach_time))
        if self.connection_info is not None:
            object.__setattr__(self, "connection_info", FrozenMap(self.connection_info))


@dataclass(frozen=True)
class VolumeRecord:
    """One volume as the API sees it.

    ``size`` is GiB (1..2**31-1). ``metadata`` is the user's metadata;
    ``admin_metadata`` the admin metadata (``readonly``, ``attached_mode`` show up in the
    volume's metadata); ``image_metadata`` the Glance properties copied from the image
    the volume was made from (``volume_image_metadata``). ``host`` is
    ``host@backend#pool`` once scheduled. ``name_id`` is the id the backend names the
    volume by when it differs from ``id`` (after a migration). ``use_quota`` is False
    for temporary volumes (``consumes_quota``). ``attachments`` lists every attachment
    record; views show the attached ones.
    """

    id: str
    project_id: str
    user_id: str
    status: str
    size: int
    created_at: datetime
    updated_at: datetime | None = None
    name: str | None = None
    description: str | None = None
    availability_zone: str | None = "nova"
    volume_type_id: str | None = None
    volume_type_name: str | None = None
    snapshot_id: str | None = None
    source_volid: str | None = None
    bootable: bool = False
    multiattach: bool = False
    encryption_key_id: str | None = None
    replication_status: str | None = None
    consistencygroup_id: str | None = None
    group_id: str | None = None
    host: str | None = None
    cluster_name: str | None = None
    migration_status: str | None = None
    name_id: str | None = None
    provider_id: str | None = None
    service_uuid: str | None = None
    shared_targets: bool | None = False
    use_quota: bool = True
    metadata: Mapping[str, str] = field(default_factory=dict)
    admin_metadata: Mapping[str, str] = field(default_factory=dict)
    image_metadata: Mapping[str, str] = field(default_factory=dict)
    attachments: tuple[AttachmentRecord, ...] = ()

    def __post_init__(self) -> None:
        _check_choice("volume status", self.status, VOLUME_STATUSES)
        _check_size("size", self.size, 1)
        for name in ("metadata", "admin_metadata", "image_metadata"):
            object.__setattr__(self, name, _string_map(name, getattr(self, name)))
        attachments = tuple(self.attachments)
        if any(a.volume_id != self.id for a in attachments):
            raise ValueError("an attachment of the volume names another volume")
        object.__setattr__(self, "attachments", attachments)
        object.__setattr__(self, "created_at", as_utc(self.created_at))
        object.__setattr__(self, "updated_at", _utc_or_none(self.updated_at))


@dataclass(frozen=True)
class SnapshotRecord:
    """One snapshot of a volume.

    ``volume_size`` is the GiB of the volume when it was taken. ``progress`` is a
    percentage string (``"0%"`` while creating, ``"100%"`` when done).
    ``availability_zone`` is the volume's (the ``availability_zone`` filter uses it).
    """

    id: str
    volume_id: str
    project_id: str
    user_id: str
    status: str
    volume_size: int
    created_at: datetime
    updated_at: datetime | None = None
    name: str | None = None
    description: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    progress: str = "0%"
    group_snapshot_id: str | None = None
    use_quota: bool = True
    availability_zone: str | None = None

    def __post_init__(self) -> None:
        _check_choice("snapshot status", self.status, SNAPSHOT_STATUSES)
        _check_size("volume_size", self.volume_size, 0)
        object.__setattr__(self, "metadata", _string_map("metadata", self.metadata))
        object.__setattr__(self, "created_at", as_utc(self.created_at))
        object.__setattr__(self, "updated_at", _utc_or_none(self.updated_at))


@dataclass(frozen=True)
class BackupRecord:
    """One backup of a volume (or of one of its snapshots).

    ``size`` is the GiB of the volume backed up; ``parent_id`` the backup this one is
    incremental to (None: a full backup); ``num_dependent_backups`` how many backups are
    incremental to this one. ``data_timestamp`` is when the data was captured (the
    snapshot's time for a snapshot backup). ``container`` is the pool (Ceph driver).
    ``sha256`` is the digest of the backed-up bytes (None: unknown), ``restore_point`` the
    base image's snapshot it restores from, ``data_bytes`` the bytes of data it stored,
    ``verified_at`` when a check last found the stored data matching ``sha256``.
    """

    id: str
    volume_id: str
    project_id: str
    user_id: str
    status: str
    size: int
    created_at: datetime
    updated_at: datetime | None = None
    name: str | None = None
    description: str | None = None
    availability_zone: str | None = None
    container: str | None = None
    object_count: int = 0
    fail_reason: str | None = None
    snapshot_id: str | None = None
    data_timestamp: datetime | None = None
    parent_id: str | None = None
    num_dependent_backups: int = 0
    metadata: Mapping[str, str] = field(default_factory=dict)
    encryption_key_id: str | None = None
    host: str | None = None
    sha256: str | None = None
    restore_point: str | None = None
    data_bytes: int = 0
    verified_at: datetime | None = None

    def __post_init__(self) -> None:
        _check_choice("backup status", self.status, BACKUP_STATUSES)
        _check_size("size", self.size, 0)
        _check_size("object_count", self.object_count, 0)
        _check_size("num_dependent_backups", self.num_dependent_backups, 0)
        object.__setattr__(self, "metadata", _string_map("metadata", self.metadata))
        object.__setattr__(self, "created_at", as_utc(self.created_at))
        object.__setattr__(self, "updated_at", _utc_or_none(self.updated_at))
        object.__setattr__(self, "data_timestamp", _utc_or_none(self.data_timestamp))
        object.__setattr__(self, "verified_at", _utc_or_none(self.verified_at))

    @property
    def is_incremental(self) -> bool:
        """Whether the backup holds only the changes since ``parent_id``."""
        return self.parent_id is not None

    @property
    def has_dependent_backups(self) -> bool:
        """Whether incremental backups depend on this one (it cannot be deleted)."""
        return self.num_dependent_backups > 0


@dataclass(frozen=True)
class VolumeTypeRecord:
    """A volume type: ``extra_specs`` select the backend (``volume_backend_name``...)."""

    id: str
    name: str
    description: str | None = None
    is_public: bool = True
    extra_specs: Mapping[str, str] = field(default_factory=dict)
    qos_specs_id: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "extra_specs", _string_map("extra_specs", self.extra_specs))


@dataclass(frozen=True)
class ServiceRecord:
    """One Cinder service (``cinder-volume``, ``cinder-backup``, ``cinder-scheduler``).

    ``host`` is ``host@backend`` for a volume service. ``updated_at`` is its last
    heartbeat; ``modified_at`` when an admin last enabled or disabled it.
    ``backend_state`` is what a volume service last reported (``up``/``down``, None:
    nothing reported).
    """

    binary: str
    host: str
    availability_zone: str
    created_at: datetime
    updated_at: datetime | None = None
    modified_at: datetime | None = None
    disabled: bool = False
    disabled_reason: str | None = None
    cluster_name: str | None = None
    replication_status: str = "not-capable"
    active_backend_id: str | None = None
    frozen: bool = False
    backend_state: str | None = None

    def __post_init__(self) -> None:
        if self.backend_state not in (None, "up", "down"):
            raise ValueError(f"backend_state must be up or down, got {self.backend_state!r}")
        object.__setattr__(self, "created_at", as_utc(self.created_at))
        object.__setattr__(self, "updated_at", _utc_or_none(self.updated_at))
        object.__setattr__(self, "modified_at", _utc_or_none(self.modified_at))
