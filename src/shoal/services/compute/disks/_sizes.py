"""Flavor sizes of guest disks: GiB and MiB to bytes, and the never-shrink rule."""

from __future__ import annotations

from shoal import errors

__all__ = ["FlavorTooSmall", "ephemeral_bytes", "root_bytes", "swap_bytes"]

_GIB = 1 << 30
_MIB = 1 << 20


class FlavorTooSmall(errors.InvalidArgument):
    """The flavor's root disk is smaller than the image's virtual size (400, EINVAL)."""


def root_bytes(root_gb: int, image_virtual_bytes: int) -> int:
    """Size in bytes of a root disk for flavor ``root_gb`` GiB over an image.

    ``root_gb = 0`` keeps the image's virtual size (Nova's "size of the image").
    A disk is never shrunk: a flavor smaller than the image raises
    :class:`FlavorTooSmall` naming both sizes in bytes. Negative values are
    :class:`errors.InvalidArgument`.
    """
    if root_gb < 0 or image_virtual_bytes < 0:
        raise errors.InvalidArgument(
            f"negative size: root_gb={root_gb}, image={image_virtual_bytes} bytes"
        )
    if root_gb == 0:
        return image_virtual_bytes
    wanted = root_gb * _GIB
    if wanted < image_virtual_bytes:
        raise FlavorTooSmall(
            f"flavor root disk of {wanted} bytes is smaller than the image's "
            f"virtual size of {image_virtual_bytes} bytes"
        )
    return wanted


def ephemeral_bytes(ephemeral_gb: int) -> int:
    """Bytes of the ephemeral disk for ``ephemeral_gb`` GiB (0: no disk)."""
    if ephemeral_gb < 0:
        raise errors.InvalidArgument(f"negative ephemeral_gb: {ephemeral_gb}")
    return ephemeral_gb * _GIB


def swap_bytes(swap_mb: int) -> int:
    """Bytes of the swap disk for flavor ``swap`` MiB (0: no disk)."""
    if swap_mb < 0:
        raise errors.InvalidArgument(f"negative swap MiB: {swap_mb}")
    return swap_mb * _MIB
