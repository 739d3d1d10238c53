"""The Glance options the image API's pure rules depend on, with upstream's defaults.

Every function of this package that behaves differently per deployment takes an
:class:`ImageApiOptions`. Defaults are Glance's built-in ones (``glance/common/config.py``):

==========================  ===========  ================================================
option                      default      used by
==========================  ===========  ================================================
``disk_formats``            11 formats   schemas (enum), create/patch validation, query
``container_formats``       8 formats    likewise
``image_property_quota``    128          create/patch: more extra properties → 413
``image_tag_quota``         128          create/patch: more tags → 413
``image_location_quota``    10           patch: more locations → 413
``image_member_quota``      128          members: more members → 413
``limit_param_default``     25           query: page size when ``limit`` is absent
``api_limit_max``           1000         query: larger ``limit`` values are cut to this
``show_image_direct_url``   False        views: ``direct_url``
``show_multiple_locations`` False        views: ``locations``; patch: location ops (403)
``hashing_algorithm``       ``sha512``   patch: a location's ``validation_data``
==========================  ===========  ================================================

A negative quota means "unlimited", as upstream.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from shoal.config import ShoalConfig

__all__ = [
    "DEFAULT_CONTAINER_FORMATS",
    "DEFAULT_DISK_FORMATS",
    "DEFAULT_OPTIONS",
    "ImageApiOptions",
    "quota_exceeded",
]

#: Glance's ``[image_format] disk_formats`` default.
DEFAULT_DISK_FORMATS: Final = (
    "ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop",
)
#: Glance's ``[image_format] container_formats`` default.
DEFAULT_CONTAINER_FORMATS: Final = (
    "ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed",
)


@dataclass(frozen=True)
class ImageApiOptions:
    """Deployment options of the image API (see the module docstring for each one)."""

    disk_formats: tuple[str, ...] = DEFAULT_DISK_FORMATS
    container_formats: tuple[str, ...] = DEFAULT_CONTAINER_FORMATS
    image_property_quota: int = 128
    image_tag_quota: int = 128
    image_location_quota: int = 10
    image_member_quota: int = 128
    limit_param_default: int = 25
    api_limit_max: int = 1000
    show_image_direct_url: bool = False
    show_multiple_locations: bool = False
    hashing_algorithm: str = "sha512"

    def __post_init__(self) -> None:
        if self.limit_param_default < 1 or self.api_limit_max < 1:
            raise ValueError("limit_param_default and api_limit_max must be at least 1")
        if not self.disk_formats or not self.container_formats:
            raise ValueError("disk_formats and container_formats must not be empty")
        try:
            hashlib.new(self.hashing_algorithm)
        except ValueError:
            raise ValueError(
                f"hashing_algorithm {self.hashing_algorithm!r} is not a hashlib algorithm"
            ) from None

    @property
    def page_size_default(self) -> int:
        """Items per page when the request gives no ``limit`` (never above the maximum)."""
        return min(self.limit_param_default, self.api_limit_max)

    @classmethod
    def from_config(cls, config: ShoalConfig) -> ImageApiOptions:
        """The options a loaded configuration sets; the others keep upstream's defaults.

        Reads ``show_image_direct_url`` (``[glance_store]`` or ``[DEFAULT]``), Glance's
        ``[DEFAULT]`` quotas, page sizes and ``hashing_algorithm``, and
        ``[image_format]``.
        """
        glance = config.glance
        formats = config.image_format
        return cls(
            disk_formats=formats.disk_formats,
            container_formats=formats.container_formats,
            image_property_quota=glance.image_property_quota,
            image_tag_quota=glance.image_tag_quota,
            image_location_quota=glance.image_location_quota,
            image_member_quota=glance.image_member_quota,
            limit_param_default=glance.limit_param_default,
            api_limit_max=glance.api_limit_max,
            show_image_direct_url=config.glance_store.show_image_direct_url,
            show_multiple_locations=glance.show_multiple_locations,
            hashing_algorithm=glance.hashing_algorithm,
        )


#: Upstream's defaults.
DEFAULT_OPTIONS: Final = ImageApiOptions()


def quota_exceeded(quota: int, count: int) -> bool:
    """True when ``count`` items break ``quota`` (a negative quota is unlimited)."""
    return 0 <= quota < count
