"""Errors of the image service that :mod:`shoal.errors` has no class for."""

from __future__ import annotations

import errno

from shoal.errors import ShoalError

__all__ = ["ImageConflict"]


class ImageConflict(ShoalError):
    """409: the request is valid but conflicts with the image's current state."""

    errno = errno.EBUSY
    http_status = 409
    safe = True
