"""librbd's exceptions, as branches of :mod:`shoal.errors`.

Names follow Ceph's Python bindings (``rbd.ImageNotFound`` …) so that code and
tests read the same against the embedded engine and the librbd adapter; each is
a subclass of the matching generic error, so the HTTP edge maps them as usual.
"""

from __future__ import annotations

import errno as _errno

from shoal import errors

__all__ = [
    "ArgumentOutOfRange",
    "FunctionNotSupported",
    "ImageBusy",
    "ImageExists",
    "ImageHasSnapshots",
    "ImageNotFound",
    "InvalidArgument",
    "NoSpace",
    "OperationNotSupported",
    "PermissionError",
    "ReadOnlyImage",
    "SnapshotNotFound",
]

InvalidArgument = errors.InvalidArgument
PermissionError = errors.PermissionDenied
NoSpace = errors.NoSpace
OperationNotSupported = errors.NotSupported


class ImageNotFound(errors.NotFound):
    """ENOENT: no such image (or snapshot, or parent)."""


class SnapshotNotFound(ImageNotFound):
    """ENOENT for a snapshot name or id (librbd raises ImageNotFound)."""


class ImageExists(errors.AlreadyExists):
    """EEXIST: an image (or snapshot) of that name exists."""


class ImageBusy(errors.Busy):
    """EBUSY: the image is locked by a live owner, or a snapshot has children."""


class ImageHasSnapshots(errors.NotEmpty):
    """ENOTEMPTY: remove the image's snapshots first."""


class ReadOnlyImage(errors.ReadOnly):
    """EROFS: the image is open read-only or at a snapshot."""


class FunctionNotSupported(errors.NotSupported):
    """ENOSYS: the image lacks the feature the call needs (e.g. layering)."""

    errno = _errno.ENOSYS


class ArgumentOutOfRange(errors.ShoalError):
    """EDOM: an offset/length past the end of the image."""

    errno = _errno.EDOM
    http_status = 400
    safe = True
