"""The volume driver's errors, as branches of :mod:`shoal.errors`.

Each names the Cinder exception it stands for and carries the HTTP status the
volume API answers with::

    NotFound (404)
    ├── VolumeNotFound          no RBD image for the volume
    └── SnapshotNotFound        no RBD snapshot for the snapshot (or its volume)
    AlreadyExists (409)
    ├── VolumeExists            an RBD image of the volume's name exists already
    └── SnapshotExists          an RBD snapshot of the snapshot's name exists already
    Busy (409)
    ├── VolumeIsBusy            the volume is open elsewhere (watchers) and cannot go
    └── SnapshotIsBusy          the snapshot has clones that could not be flattened
    InvalidArgument (400)
    ├── InvalidVolumeSize       a size that is not a whole number of GiB >= 1, or
    │                           smaller than the source it is made from, or a shrink
    └── ImageUnacceptable       image data larger than the volume
    NoSpace (413)
    └── BackendFull             the cluster or the pool's quota is full
    PermissionDenied
    └── BackendAccessDenied     503: the driver's cephx user may not use a pool
    Unavailable (503)
    └── BackendUnavailable      the backend's pool does not exist
    ShoalError (500)
    └── VolumeBackendError      anything else the backend failed with

``VolumeBackendError`` is Cinder's ``VolumeBackendAPIException``: a 500 whose
message is *not* safe (``safe = False``, as upstream): it carries librbd's
words and pool names for the log, and the HTTP edge shows a generic text.
``BackendAccessDenied`` is a misconfiguration of the deployment, not the API
client's fault, hence 503 as the image store's ``StoreAccessDenied``.
"""

from __future__ import annotations

from shoal import errors

__all__ = [
    "BackendAccessDenied",
    "BackendFull",
    "BackendUnavailable",
    "ImageUnacceptable",
    "InvalidVolumeSize",
    "SnapshotExists",
    "SnapshotIsBusy",
    "SnapshotNotFound",
    "VolumeBackendError",
    "VolumeExists",
    "VolumeIsBusy",
    "VolumeNotFound",
]


class VolumeNotFound(errors.NotFound):
    """Cinder ``VolumeNotFound``: the volume's RBD image does not exist."""


class SnapshotNotFound(errors.NotFound):
    """Cinder ``SnapshotNotFound``: the snapshot (or its volume) does not exist."""


class VolumeExists(errors.AlreadyExists):
    """An RBD image named as the new volume exists already (HTTP 409)."""


class SnapshotExists(errors.AlreadyExists):
    """An RBD snapshot named as the new snapshot exists already (HTTP 409)."""


class VolumeIsBusy(errors.Busy):
    """Cinder ``VolumeIsBusy``: the image is in use (HTTP 409); retry later."""


class SnapshotIsBusy(errors.Busy):
    """Cinder ``SnapshotIsBusy``: the snapshot has dependent volumes (HTTP 409)."""


class InvalidVolumeSize(errors.InvalidArgument):
    """Cinder ``InvalidInput``/``InvalidVolume`` for sizes (HTTP 400)."""


class ImageUnacceptable(errors.InvalidArgument):
    """Cinder ``ImageUnacceptable``: the image does not fit the volume (HTTP 400)."""


class BackendFull(errors.NoSpace):
    """No space left in the cluster or under the pool's quota (HTTP 413)."""


class BackendAccessDenied(errors.PermissionDenied):
    """The driver's cephx user may not use a pool: check its osd caps (HTTP 503)."""

    http_status = 503


class BackendUnavailable(errors.Unavailable):
    """The backend cannot work: its pool does not exist (HTTP 503)."""


class VolumeBackendError(errors.ShoalError):
    """Cinder ``VolumeBackendAPIException``: the backend failed (HTTP 500, message unsafe)."""

    http_status = 500
    safe = False
