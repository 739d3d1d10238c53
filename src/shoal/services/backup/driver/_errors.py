"""The backup driver's errors, as branches of :mod:`shoal.errors`.

Each names the Cinder exception it stands for (``cinder/exception.py``) where
there is one, and carries the HTTP status the Block Storage API answers with::

    InvalidArgument (400)
    ├── BackupRBDOperationFailed  an incremental backup cannot be taken: the parent's
    │                             restore point is missing, or it is of another volume/pool
    ├── InvalidBackupRecord       a backup's service_metadata is not {"base": NAME}
    ├── RestoreTargetTooSmall     the volume to restore to is smaller than the backup
    └── VolumeSizeMismatch        the volume's RBD image is not the size its record says
    NotFound (404)
    ├── BackupNotFound            the backup's base image or restore point is gone
    └── VolumeNotFound            the volume (or its snapshot) has no RBD image
    AlreadyExists (409)
    └── BackupExists              the backup id's base image or metadata object exists
    Busy (409)
    └── BackupInUse               the base image stays busy (or has other snapshots)
    NoSpace (413)
    └── BackupStorageFull         the cluster or a pool (quota) is full
    PermissionDenied
    └── BackupAccessDenied        503: a cephx user's caps refuse a pool
    Unavailable (503)
    └── BackupUnavailable         a pool is missing, or a feature the options ask for
    ShoalError (500)
    └── BackupOperationError      the stored backup is inconsistent (two restore points)

``BackupAccessDenied`` and ``BackupUnavailable`` are the deployment's fault, not
the API client's: 503, as the image store answers for the same conditions.
"""

from __future__ import annotations

from shoal import errors

__all__ = [
    "BackupAccessDenied",
    "BackupExists",
    "BackupInUse",
    "BackupNotFound",
    "BackupOperationError",
    "BackupRBDOperationFailed",
    "BackupStorageFull",
    "BackupUnavailable",
    "InvalidBackupRecord",
    "RestoreTargetTooSmall",
    "VolumeNotFound",
    "VolumeSizeMismatch",
]


class BackupRBDOperationFailed(errors.InvalidArgument):
    """Cinder ``BackupRBDOperationFailed``: no incremental backup from this parent."""


class InvalidBackupRecord(errors.InvalidArgument):
    """A backup record whose ``service_metadata`` names no base image."""


class RestoreTargetTooSmall(errors.InvalidArgument):
    """The restore target is smaller than the backup (Cinder's API refuses it too)."""


class VolumeSizeMismatch(errors.InvalidArgument):
    """The volume's RBD image is not ``volume_size_gib`` GiB."""


class BackupNotFound(errors.NotFound):
    """The backup's data (base image, or its restore-point snapshot) is gone."""


class VolumeNotFound(errors.NotFound):
    """Cinder ``VolumeNotFound`` (or ``SnapshotNotFound``): no such RBD image."""


class BackupExists(errors.AlreadyExists):
    """Cinder ``VolumeMetadataBackupExists``: this backup id already has stored data."""


class BackupInUse(errors.Busy):
    """The base image stayed busy through the retries, or holds non-backup snapshots."""


class BackupStorageFull(errors.NoSpace):
    """No space left in the backup (or volume) pool."""


class BackupAccessDenied(errors.PermissionDenied):
    """A cephx user of the driver may not use a pool (a deployment error: 503)."""

    http_status = 503


class BackupUnavailable(errors.Unavailable):
    """The driver cannot work: a pool is missing, or an option asks for what the
    cluster cannot do (image journaling on the embedded engine)."""


class BackupOperationError(errors.ShoalError):
    """Cinder ``BackupOperationError``: the stored backup is inconsistent."""

    safe = True
