"""The image store's errors, as branches of :mod:`shoal.errors`.

Each names the glance_store exception it stands for and carries the HTTP status
glance's API answers with (``glance/api/v2/image_data.py``, ``images.py``)::

    InvalidArgument (400)
    ├── BadStoreUri          a location that is not rbd://IMAGE or rbd://FSID/POOL/IMAGE/SNAP
    ├── SizeMismatch         the data ran past, or fell short of, the size the client declared
    └── InvalidImageData     uploaded data is not a valid image of its declared disk format
    OutOfRange
    └── RangeNotSatisfiable  416: a read offset past the end of the image
    NotFound (404)
    └── StoreNotFound        no image (or snapshot) at the location
    AlreadyExists (409)
    └── Duplicate            an image of that id is already stored
    Busy (409)
    └── InUseByStore         clones of the image exist (volumes or instance disks)
    NoSpace (413)
    └── StorageFull          the cluster or pool is full
    TooLarge (413)
    └── ImageTooLarge        the image's virtual size passes the configured cap
    PermissionDenied
    └── StoreAccessDenied    503: the store's cephx user may not touch the pool
    Unavailable (503)
    └── StoreUnavailable     the pool is missing, or a tool (qemu-img) is not installed

``StoreAccessDenied`` is a misconfiguration of the deployment, not the API
client's fault: glance answers 503 (``StorageWriteDenied``), and so do we.
"""

from __future__ import annotations

from shoal import errors
from shoal.services.rbd_location import BadStoreUri as BadStoreUri

__all__ = [
    "BadStoreUri",
    "Duplicate",
    "ImageTooLarge",
    "InUseByStore",
    "InvalidImageData",
    "RangeNotSatisfiable",
    "SizeMismatch",
    "StorageFull",
    "StoreAccessDenied",
    "StoreNotFound",
    "StoreUnavailable",
]


class SizeMismatch(errors.InvalidArgument):
    """glance_store ``Invalid`` ("Size exceeds" / "Size mismatch")."""


class InvalidImageData(errors.InvalidArgument):
    """The uploaded bytes are not a valid (or a safe) image of their disk format."""


class RangeNotSatisfiable(errors.OutOfRange):
    """A read starting past the end of the image (HTTP 416)."""

    http_status = 416


class StoreNotFound(errors.NotFound):
    """glance_store ``NotFound``: nothing stored at the location."""


class Duplicate(errors.AlreadyExists):
    """glance_store ``Duplicate``: the image id is already stored."""


class InUseByStore(errors.Busy):
    """glance_store ``InUseByStore``: the image has dependent clones (HTTP 409)."""


class StorageFull(errors.NoSpace):
    """glance_store ``StorageFull``: no space left (HTTP 413, as glance answers)."""


class ImageTooLarge(errors.TooLarge):
    """The image's (virtual) size passes the configured cap (HTTP 413)."""


class StoreAccessDenied(errors.PermissionDenied):
    """glance_store ``StorageWriteDenied``: the store's cephx caps refuse the pool (503)."""

    http_status = 503


class StoreUnavailable(errors.Unavailable):
    """The store cannot work: its pool is missing, or a tool is not installed (503)."""
