"""Between image rows (:mod:`shoal.services.image.models`) and :class:`ImageRecord`."""

from __future__ import annotations

import json
from typing import Any

from shoal.services.image.models import Image, ImageLocation, ImageMember, ImageProperty, ImageTag
from shoal.services.image.records import ImageRecord, Location, MemberRecord

__all__ = ["member_record", "record_of", "write_record"]


def _meta(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def record_of(row: Image) -> ImageRecord:
    """The record of ``row`` (properties, tags and active locations included)."""
    return ImageRecord(
        id=row.id, status=row.status, created_at=row.created_at, updated_at=row.updated_at,
        name=row.name, visibility=row.visibility, protected=row.protected,
        os_hidden=row.os_hidden, owner=row.owner, disk_format=row.disk_format,
        container_format=row.container_format, min_disk=row.min_disk, min_ram=row.min_ram,
        size=row.size, virtual_size=row.virtual_size, checksum=row.checksum,
        os_hash_algo=row.os_hash_algo, os_hash_value=row.os_hash_value,
        tags=tuple(t.value for t in row.tags),
        properties={p.name: p.value for p in row.properties},
        locations=tuple(Location(loc.url, _meta(loc.meta)) for loc in row.locations
                        if loc.status == "active"),
    )


def member_record(row: ImageMember) -> MemberRecord:
    return MemberRecord(image_id=row.image_id, member_id=row.member, status=row.status,
                        created_at=row.created_at, updated_at=row.updated_at)


_SCALARS = ("name", "status", "visibility", "protected", "os_hidden", "owner", "disk_format",
            "container_format", "min_disk", "min_ram", "size", "virtual_size", "checksum",
            "os_hash_algo", "os_hash_value", "created_at", "updated_at")


def write_record(row: Image, record: ImageRecord) -> None:
    """Make ``row`` say what ``record`` says (changing only what differs)."""
    for name in _SCALARS:
        value = getattr(record, name)
        if getattr(row, name) != value:
            setattr(row, name, value)
    props = {p.name: p for p in row.properties}
    for name in set(props) - set(record.properties):
        row.properties.remove(props[name])
    for name, value in record.properties.items():
        if name in props:
            if props[name].value != value:
                props[name].value = value
        else:
            row.properties.append(ImageProperty(name=name, value=value))
    tags = {t.value: t for t in row.tags}
    for value in set(tags) - set(record.tags):
        row.tags.remove(tags[value])
    for value in record.tags:
        if value not in tags:
            row.tags.append(ImageTag(value=value))
    wanted = [(loc.url, json.dumps(dict(loc.metadata), sort_keys=True))
              for loc in record.locations]
    current = [(loc.url, loc.meta) for loc in row.locations if loc.status == "active"]
    if wanted != current:
        row.locations.clear()
        row.locations.extend(ImageLocation(url=url, meta=meta) for url, meta in wanted)
