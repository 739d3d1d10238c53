"""Errors of the image service that :mod:`shoal.errors` has no class for."""

from __future__ import annotations

import errno

from shoal.errors import ShoalError

__all__ = ["ImageConflict", "ImageGone"]


class ImageConflict(ShoalError):
    """409: the request is valid but conflicts with the image's current state."""

    errno = errno.EBUSY
    http_status = 409
    safe = True


class ImageGone(ShoalError):
    """410: the image was deleted while its data was being uploaded (the data is removed)."""

    errno = errno.ENOENT
    http_status = 410
    safe = True
