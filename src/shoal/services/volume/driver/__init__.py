"""The RBD volume driver: Cinder's ``RBDDriver`` semantics, synchronous and HTTP-free.

Public API::

    options = RbdDriverOptions.from_config(cfg, "ceph")      # or RbdDriverOptions(...)
    driver = RbdVolumeDriver(cinder_session, options)         # session as client.cinder
    driver.create_volume(vid, 10)                             # sizes in GiB
    driver.create_cloned_volume(vid2, 10, vid)                # clone_snap, depth, flatten
    driver.create_snapshot(vid, sid); driver.delete_snapshot(vid, sid)
    driver.revert_to_snapshot(vid, sid, size_gib=10)
    driver.create_volume_from_snapshot(vid3, 20, vid, sid)
    driver.clone_image(vid4, 10, [location_url], "raw") -> True | NotCloned(reason, ...)
    driver.copy_image_to_volume(vid4, 10, chunks) -> bytes written
    driver.extend_volume(vid, 20)
    driver.delete_volume(vid) -> DeleteOutcome                # absent/removed/trashed/hidden
    driver.purge_trash() -> int                               # periodic
    driver.initialize_connection(vid, connector) -> {"driver_volume_type": "rbd", ...}
    driver.get_volume_stats() -> {...}; driver.capabilities -> the static part of it
    volume_name(vid) == "volume-" + vid; snapshot_name(sid) == "snapshot-" + sid

Errors (each with its HTTP status): see :mod:`._errors`.

Plumbing shared with the compute service's guest disks (same cephx session kind,
same Glance images): :class:`Backend`/:class:`Pool` (sessions and translated
errors), :func:`find_cloneable` (Cinder's and Nova's ``is_cloneable``) and
:func:`write_stream` (raw data into a new image, sparse).
"""

from __future__ import annotations

from shoal.services.volume.driver._backend import Backend as Backend
from shoal.services.volume.driver._backend import Pool as Pool
from shoal.services.volume.driver._cluster import PoolCapacity as PoolCapacity
from shoal.services.volume.driver._cluster import parse_mon_addr as parse_mon_addr
from shoal.services.volume.driver._cluster import pool_capacity as pool_capacity
from shoal.services.volume.driver._delete import DeleteOutcome as DeleteOutcome
from shoal.services.volume.driver._driver import VOLUME_SIZE_GIB_MAX as VOLUME_SIZE_GIB_MAX
from shoal.services.volume.driver._driver import RbdVolumeDriver as RbdVolumeDriver
from shoal.services.volume.driver._errors import BackendAccessDenied as BackendAccessDenied
from shoal.services.volume.driver._errors import BackendFull as BackendFull
from shoal.services.volume.driver._errors import BackendUnavailable as BackendUnavailable
from shoal.services.volume.driver._errors import ImageUnacceptable as ImageUnacceptable
from shoal.services.volume.driver._errors import InvalidVolumeSize as InvalidVolumeSize
from shoal.services.volume.driver._errors import SnapshotExists as SnapshotExists
from shoal.services.volume.driver._errors import SnapshotIsBusy as SnapshotIsBusy
from shoal.services.volume.driver._errors import SnapshotNotFound as SnapshotNotFound
from shoal.services.volume.driver._errors import VolumeBackendError as VolumeBackendError
from shoal.services.volume.driver._errors import VolumeExists as VolumeExists
from shoal.services.volume.driver._errors import VolumeIsBusy as VolumeIsBusy
from shoal.services.volume.driver._errors import VolumeNotFound as VolumeNotFound
from shoal.services.volume.driver._images import Cloneable as Cloneable
from shoal.services.volume.driver._images import CloneRefusal as CloneRefusal
from shoal.services.volume.driver._images import NotCloned as NotCloned
from shoal.services.volume.driver._images import find_cloneable as find_cloneable
from shoal.services.volume.driver._images import write_stream as write_stream
from shoal.services.volume.driver._names import CLONE_SNAP_SUFFIX as CLONE_SNAP_SUFFIX
from shoal.services.volume.driver._names import DELETED_SUFFIX as DELETED_SUFFIX
from shoal.services.volume.driver._names import clone_snap_name as clone_snap_name
from shoal.services.volume.driver._names import snapshot_name as snapshot_name
from shoal.services.volume.driver._names import volume_name as volume_name
from shoal.services.volume.driver._options import RbdDriverOptions as RbdDriverOptions
from shoal.services.volume.driver._stats import DRIVER_VERSION as DRIVER_VERSION

__all__ = [
    "CLONE_SNAP_SUFFIX",
    "DELETED_SUFFIX",
    "DRIVER_VERSION",
    "VOLUME_SIZE_GIB_MAX",
    "Backend",
    "BackendAccessDenied",
    "BackendFull",
    "BackendUnavailable",
    "CloneRefusal",
    "Cloneable",
    "DeleteOutcome",
    "ImageUnacceptable",
    "InvalidVolumeSize",
    "NotCloned",
    "Pool",
    "PoolCapacity",
    "RbdDriverOptions",
    "RbdVolumeDriver",
    "SnapshotExists",
    "SnapshotIsBusy",
    "SnapshotNotFound",
    "VolumeBackendError",
    "VolumeExists",
    "VolumeIsBusy",
    "VolumeNotFound",
    "clone_snap_name",
    "find_cloneable",
    "parse_mon_addr",
    "pool_capacity",
    "snapshot_name",
    "volume_name",
    "write_stream",
]
