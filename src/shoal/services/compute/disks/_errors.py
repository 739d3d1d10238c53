"""The guest disks' own errors, as branches of :mod:`shoal.errors`::

    InvalidArgument (400)
    ├── FlavorTooSmall          (:mod:`._sizes`) the flavor's root disk < the image
    └── DiskImageUnacceptable   Nova's ``ImageUnacceptable``: the image cannot make a disk
        └── DownloadRefused     not cloneable, and ``never_download_image_if_on_rbd``
    Busy (409)
    └── DiskBusy                a disk stayed in use through every removal retry

The plumbing errors come from the volume driver's backend, shared with it:
``BackendAccessDenied`` (503: the cephx user may not use a pool),
``BackendFull`` (413), ``BackendUnavailable`` (503: the disks' pool does not
exist); see :mod:`shoal.services.volume.driver`.
"""

from __future__ import annotations

from shoal import errors

__all__ = ["DiskBusy", "DiskImageUnacceptable", "DownloadRefused"]


class DiskImageUnacceptable(errors.InvalidArgument):
    """Nova's ``ImageUnacceptable``: the image's data cannot make the disk (HTTP 400)."""


class DownloadRefused(DiskImageUnacceptable):
    """The image is not cloneable in this cluster and ``[workarounds]
    never_download_image_if_on_rbd = true`` forbids downloading it (HTTP 400)."""


class DiskBusy(errors.Busy):
    """A guest disk could not be removed: another client kept it open, or clones of
    its snapshots remain, through ``rbd_destroy_volume_retries`` tries (HTTP 409).

    Attributes:
        busy: the names of the disks left in the pool.
        removed: the names of the disks this removal did remove.
    """

    def __init__(self, message: str = "", busy: list[str] | None = None,
                 removed: list[str] | None = None) -> None:
        super().__init__(message)
        self.busy: list[str] = busy or []
        self.removed: list[str] = removed or []
