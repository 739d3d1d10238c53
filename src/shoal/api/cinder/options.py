"""The Cinder options the volume API's pure rules depend on, with upstream's defaults.

==============================  ============  =============================================
option                          default       used by
==============================  ============  =============================================
``osapi_max_limit``             1000          query: page size when ``limit`` is absent,
                                              and the cap on larger ``limit`` values
``resource_filters``            Cinder's      query (3.31+): the filters a non-admin may
                                ``resource_   use per resource; ``key~`` allows the LIKE
                                filters.json``  filter ``key~=value`` (3.34+) and ``key``
``query_volume_filters``        6 names       query (< 3.31): the volume filters a
                                              non-admin may use (others are dropped)
``service_down_time``           60            views: a service silent this many seconds
                                              is ``down``
``storage_availability_zone``   ``nova``      create: the zone of a volume made without one
``default_volume_type``         __DEFAULT__   create: the type of a volume made without one
==============================  ============  =============================================
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from shoal.config import ShoalConfig

__all__ = [
    "DEFAULT_OPTIONS",
    "DEFAULT_QUERY_VOLUME_FILTERS",
    "DEFAULT_RESOURCE_FILTERS",
    "USER_VISIBLE_EXTRA_SPECS",
    "VolumeApiOptions",
]

#: Cinder's ``etc/cinder/resource_filters.json`` (the filters non-admins may use from
#: 3.31 on), plus ``consumes_quota`` for volumes and snapshots (3.65).
DEFAULT_RESOURCE_FILTERS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType({
    "volume": ("name", "status", "metadata", "bootable", "migration_status",
               "availability_zone", "group_id", "size", "created_at", "updated_at",
               "consumes_quota"),
    "backup": ("name", "status", "volume_id"),
    "snapshot": ("name", "status", "volume_id", "metadata", "availability_zone",
                 "consumes_quota"),
    "attachment": ("volume_id", "status", "instance_id", "attach_status"),
    "volume_type": ("is_public", "extra_specs"),
})
#: Cinder's ``query_volume_filters`` default (non-admin volume filters before 3.31).
DEFAULT_QUERY_VOLUME_FILTERS: Final = (
    "name", "status", "metadata", "availability_zone", "bootable", "group_id",
)
#: Extra specs every reader of a volume type sees (the others are for admins only).
USER_VISIBLE_EXTRA_SPECS: Final = ("RESKEY:availability_zones", "multiattach",
                                   "replication_enabled")


@dataclass(frozen=True)
class VolumeApiOptions:
    """Deployment options of the volume API (see the module docstring for each one)."""

    osapi_max_limit: int = 1000
    resource_filters: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: DEFAULT_RESOURCE_FILTERS)
    query_volume_filters: tuple[str, ...] = DEFAULT_QUERY_VOLUME_FILTERS
    service_down_time: int = 60
    storage_availability_zone: str = "nova"
    default_volume_type: str = "__DEFAULT__"

    def __post_init__(self) -> None:
        if self.osapi_max_limit < 1:
            raise ValueError("osapi_max_limit must be at least 1")
        if self.service_down_time < 1:
            raise ValueError("service_down_time must be at least 1")
        if not self.storage_availability_zone:
            raise ValueError("storage_availability_zone must not be empty")
        object.__setattr__(self, "resource_filters", MappingProxyType(
            {key: tuple(names) for key, names in self.resource_filters.items()}))

    def filters_for(self, resource: str) -> tuple[str, ...]:
        """The configured filters of ``resource`` (``volume``, ``snapshot``...), or ()."""
        return self.resource_filters.get(resource, ())

    @classmethod
    def from_config(cls, config: ShoalConfig) -> VolumeApiOptions:
        """The options a loaded configuration sets (``storage_availability_zone`` and
        ``default_volume_type`` of cinder's ``[DEFAULT]``); the others keep upstream's
        defaults."""
        cinder = config.cinder
        return cls(storage_availability_zone=cinder.storage_availability_zone,
                   default_volume_type=cinder.default_volume_type)


#: Upstream's defaults.
DEFAULT_OPTIONS: Final = VolumeApiOptions()
