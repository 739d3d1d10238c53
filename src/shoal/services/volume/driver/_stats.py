"""The backend's stats for Cinder's scheduler (``_update_volume_stats``)."""

from __future__ import annotations

import logging
from typing import Any

from shoal import errors
from shoal.services.volume.driver._backend import Backend
from shoal.services.volume.driver._cluster import pool_capacity
from shoal.services.volume.driver._options import RbdDriverOptions

__all__ = ["DRIVER_VERSION", "capabilities", "volume_stats"]

log = logging.getLogger("shoal.services.volume")

GiB = 1 << 30
#: Reported as ``driver_version``.
DRIVER_VERSION = "1.3.0"


def volume_stats(backend: Backend) -> dict[str, Any]:
    """The stats dict: ``vendor_name``, ``driver_version``, ``storage_protocol``
    (``ceph``), ``volume_backend_name``, ``total_capacity_gb``/``free_capacity_gb``
    (GiB, 2 decimals, from ``df`` and ``osd pool get-quota``: see
    :class:`~._cluster.PoolCapacity`), ``reserved_percentage``, ``multiattach``
    and ``thin_provisioning_support`` (True), ``max_over_subscription_ratio``,
    ``location_info`` (``cluster:conf:fsid:user:pool``, the user empty when
    unset), ``replication_enabled`` (False), ``backend_state`` (``up``/``down``),
    and ``provisioned_capacity_gb`` (the sum of the pool's image sizes, GiB) only
    when the pool is not ``rbd_exclusive_cinder_pool``.

    When the cluster cannot be asked, capacities are ``'unknown'`` and the state
    ``'down'``; nothing is raised.
    """
    options = backend.options
    stats: dict[str, Any] = {
        **capabilities(options),
        "total_capacity_gb": "unknown",
        "free_capacity_gb": "unknown",
        "location_info": "",
        "backend_state": "down",
    }
    try:
        stats["location_info"] = ":".join((
            options.rbd_cluster_name, options.rbd_ceph_conf, backend.fsid,
            options.rbd_user or "", options.rbd_pool))
        capacity = pool_capacity(backend.session, options.rbd_pool,
                                 dynamic_total=options.report_dynamic_total_capacity)
        stats["total_capacity_gb"] = capacity.total_gib
        stats["free_capacity_gb"] = capacity.free_gib
        if not options.rbd_exclusive_cinder_pool:
            stats["provisioned_capacity_gb"] = provisioned_gib(backend)
        stats["backend_state"] = "up"
    except errors.ShoalError as exc:
        log.warning("cannot read the volume backend's stats: %s", exc)
    return stats


def capabilities(options: RbdDriverOptions) -> dict[str, Any]:
    """The stats that only depend on the options: ``vendor_name``, ``driver_version``,
    ``storage_protocol``, ``volume_backend_name``, ``reserved_percentage``,
    ``multiattach``, ``thin_provisioning_support``, ``max_over_subscription_ratio``,
    ``replication_enabled``."""
    return {
        "vendor_name": "Open Source",
        "driver_version": DRIVER_VERSION,
        "storage_protocol": "ceph",
        "volume_backend_name": options.volume_backend_name,
        "reserved_percentage": options.reserved_percentage,
        "multiattach": True,
        "thin_provisioning_support": True,
        "max_over_subscription_ratio": options.max_over_subscription_ratio,
        "replication_enabled": False,
    }


def provisioned_gib(backend: Backend) -> float:
    """The sum of the sizes of the images in the backend's pool, GiB (2 decimals)."""
    total = 0
    with backend.pool() as pool:
        for name in pool.lib.RBD().list(pool.ioctx):
            try:
                with pool.open(name, read_only=True) as img:
                    total += int(img.size())
            except pool.lib.ImageNotFound:
                continue  # removed meanwhile
    return round(total / GiB, 2)
