"""The plain records this package reads and returns: an image, a location, a membership.

The service layer turns its database rows into these (and back); every function of the
image API's pure parts works on them, never on a database or a request. They are frozen:
a change (:mod:`~shoal.api.glance.patch`) returns a new record.

Units: ``size`` and ``virtual_size`` are bytes, ``min_disk`` GiB, ``min_ram`` MiB.
Timestamps are timezone-aware UTC (naive values are taken as UTC and converted).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from shoal.limits import INT32_MAX
from shoal.services._records import FrozenMap, as_utc

__all__ = [
    "IMAGE_STATUSES",
    "INT32_MAX",
    "MEMBER_STATUSES",
    "VISIBILITIES",
    "FrozenMap",
    "ImageRecord",
    "Location",
    "MemberRecord",
    "as_utc",
]

#: Every status of an image (Glance's ``glance.domain.Image``), in lifecycle order.
IMAGE_STATUSES: Final = (
    "queued", "saving", "uploading", "importing", "active", "deactivated",
    "killed", "pending_delete", "deleted",
)
#: Image visibilities, in the order Glance's schema lists them.
VISIBILITIES: Final = ("community", "public", "private", "shared")
#: Statuses of an image membership.
MEMBER_STATUSES: Final = ("pending", "accepted", "rejected")


def _frozen_mapping(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return value if isinstance(value, FrozenMap) else FrozenMap(value)


@dataclass(frozen=True)
class Location:
    """Where an image's data lives: a store URL and its metadata (a JSON object).

    For shoal's RBD store the URL is ``rbd://<fsid>/<pool>/<image>/<snap>``.
    """

    url: str
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.url, str) or not self.url:
            raise ValueError("Location.url must be a non-empty string")
        object.__setattr__(self, "metadata", _frozen_mapping(self.metadata))


@dataclass(frozen=True)
class ImageRecord:
    """One image as the API sees it.

    ``properties`` holds the free ("extra") properties, all strings; ``tags`` keeps its
    order and holds no duplicates; ``locations`` lists the live locations in the order
    they were added (the first one becomes ``direct_url``).

    Raises:
        ValueError: a field holds something no image can have (a programming error of
            the caller, not a client's: the API validates client input before).
    """

    id: str
    status: str
    created_at: datetime
    updated_at: datetime
    name: str | None = None
    visibility: str = "shared"
    protected: bool = False
    os_hidden: bool = False
    owner: str | None = None
    disk_format: str | None = None
    container_format: str | None = None
    min_disk: int = 0
    min_ram: int = 0
    size: int | None = None
    virtual_size: int | None = None
    checksum: str | None = None
    os_hash_algo: str | None = None
    os_hash_value: str | None = None
    tags: tuple[str, ...] = ()
    properties: Mapping[str, str] = field(default_factory=dict)
    locations: tuple[Location, ...] = ()

    def __post_init__(self) -> None:
        if self.status not in IMAGE_STATUSES:
            raise ValueError(f"unknown image status {self.status!r}")
        if self.visibility not in VISIBILITIES:
            raise ValueError(f"unknown image visibility {self.visibility!r}")
        for name in ("min_disk", "min_ram"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{name} must be an int, got {value!r}")
            if not 0 <= value <= INT32_MAX:
                raise ValueError(f"{name} must be in 0..{INT32_MAX}, got {value}")
        for name in ("size", "virtual_size"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or value < 0):
                raise ValueError(f"{name} must be None or a non-negative int, got {value!r}")
        tags = tuple(dict.fromkeys(self.tags))
        if not all(isinstance(tag, str) for tag in tags):
            raise ValueError("tags must be strings")
        if not all(isinstance(k, str) and isinstance(v, str)
                   for k, v in self.properties.items()):
            raise ValueError("properties must map strings to strings")
        object.__setattr__(self, "tags", tags)
        object.__setattr__(self, "properties", _frozen_mapping(self.properties))
        object.__setattr__(self, "locations", tuple(self.locations))
        object.__setattr__(self, "created_at", as_utc(self.created_at))
        object.__setattr__(self, "updated_at", as_utc(self.updated_at))


@dataclass(frozen=True)
class MemberRecord:
    """One project an image is shared with, and whether it took the image.

    ``member_id`` is the project id; ``status`` one of :data:`MEMBER_STATUSES`.
    """

    image_id: str
    member_id: str
    status: str
    created_at: datetime
    updated_at: datetime

    def __post_init__(self) -> None:
        if self.status not in MEMBER_STATUSES:
            raise ValueError(f"unknown member status {self.status!r}")
        object.__setattr__(self, "created_at", as_utc(self.created_at))
        object.__setattr__(self, "updated_at", as_utc(self.updated_at))
