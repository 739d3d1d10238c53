"""Guest disks of Nova's libvirt RBD image backend (``images_type = rbd``).

Public API::

    options = DiskOptions.from_config(cfg)        # images_rbd_pool, never_download, retries
    disks = GuestDisks(compute_session, options)  # session as rbd_user (client.cinder)
    disks.create(server_id, DiskImage(...) | None, DiskPlan(root_gb, ephemeral_gb, swap_mb),
                 heartbeat=renew) -> [MadeDisk(name, size, parent, how), ...]
    disks.remove(server_id) -> [removed names]    # retried while busy; DiskBusy
    disks.disks(server_id) -> [DiskInfo(name, size, parent, how | None), ...]

The RBD names of a server's disks (:mod:`._names`), the flavor size rules
(:mod:`._sizes`), the driver (:mod:`._driver`; removal in :mod:`._remove`) and
its errors (:mod:`._errors`). Direct snapshots are not written yet.
"""

from __future__ import annotations

from shoal.services.compute.disks._driver import MADE_KEY, GuestDisks
from shoal.services.compute.disks._errors import DiskBusy, DiskImageUnacceptable, DownloadRefused
from shoal.services.compute.disks._model import (
    DiskHow,
    DiskImage,
    DiskInfo,
    DiskOptions,
    DiskPlan,
    MadeDisk,
)
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
from shoal.services.compute.disks._snapshot import DiskSnapshots

__all__ = [
    "DISK_SUFFIX",
    "EPHEMERAL_SUFFIX",
    "MADE_KEY",
    "SWAP_SUFFIX",
    "DiskBusy",
    "DiskHow",
    "DiskImage",
    "DiskImageUnacceptable",
    "DiskInfo",
    "DiskOptions",
    "DiskPlan",
    "DiskSnapshots",
    "DownloadRefused",
    "FlavorTooSmall",
    "GuestDisks",
    "MadeDisk",
    "disk_names",
    "ephemeral_bytes",
    "ephemeral_name",
    "is_server_disk",
    "root_bytes",
    "root_name",
    "swap_bytes",
    "swap_name",
]
