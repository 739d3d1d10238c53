"""Image records for the Glance API unit tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from shoal.services.image.records import ImageRecord

BASE_TIME = datetime(2026, 11, 23, 18, 0, 0, tzinfo=UTC)
V21 = "application/openstack-images-v2.1-json-patch"
V20 = "application/openstack-images-v2.0-json-patch"


def image_id(n: int) -> str:
    """A fixed UUID per ``n``."""
    return f"{n:08x}-0000-4000-8000-000000000000"


def make_image(n: int = 1, **fields: Any) -> ImageRecord:
    """Image number ``n``: created ``n`` minutes after :data:`BASE_TIME`, owned by p1."""
    values: dict[str, Any] = {
        "id": image_id(n),
        "status": "queued",
        "created_at": BASE_TIME + timedelta(minutes=n),
        "updated_at": BASE_TIME + timedelta(minutes=n),
        "owner": "p1",
    }
    values.update(fields)
    return ImageRecord(**values)


def active_image(n: int = 1, **fields: Any) -> ImageRecord:
    """An active raw/bare image with data at one RBD location."""
    from shoal.services.image.records import Location

    values: dict[str, Any] = {
        "status": "active",
        "disk_format": "raw",
        "container_format": "bare",
        "size": 1024,
        "checksum": "0" * 32,
        "os_hash_algo": "sha512",
        "os_hash_value": "0" * 128,
        "locations": (Location(f"rbd://fsid/images/{image_id(n)}/snap", {}),),
    }
    values.update(fields)
    return make_image(n, **values)
