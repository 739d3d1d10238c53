"""Guest disks of Nova's libvirt RBD image backend (``images_type = rbd``), groundwork.

So far: the RBD names of a server's disks and the flavor size rules
(:mod:`._names`, :mod:`._sizes`). The driver itself (clone/download, removal,
direct snapshot) is not written yet.
"""

from __future__ import annotations

from shoal.services.compute.disks._names import (
    DISK_SUFFIX,
    EPHEMERAL_SUFFIX,
    SWAP_SUFFIX,
    disk_names,
    ephemeral_name,
    is_server_disk,
    root_name,
    swap_name,
)
from shoal.services.compute.disks._sizes import (
    FlavorTooSmall,
    ephemeral_bytes,
    root_bytes,
    swap_bytes,
)

__all__ = [
    "DISK_SUFFIX",
    "EPHEMERAL_SUFFIX",
    "SWAP_SUFFIX",
    "FlavorTooSmall",
    "disk_names",
    "ephemeral_bytes",
    "ephemeral_name",
    "is_server_disk",
    "root_bytes",
    "root_name",
    "swap_bytes",
    "swap_name",
]
