"""``POST /v2/images``: validate the body and say what image to create.

The body is a JSON object of core attributes (``name``, ``disk_format``,
``container_format``, ``visibility``, ``min_disk``, ``tags``, ``id``...) and free
properties (anything else, strings). Answers:

====  ==============================================================================
400   not an object; a value of the wrong type or range; a property name over 255
      characters
403   a read-only attribute (``status``, ``size``, ``self``...; ``id`` may be given) or
      a reserved one (``locations``, ``deleted``, ``os_glance*``); a non-admin giving
      another project as ``owner`` or asking for ``public``
413   more properties or tags than the quotas allow
====  ==============================================================================

The new image is ``queued``, ``shared`` unless told otherwise, owned by the caller's
project. Whether the caller may create images at all, and a duplicate ``id`` (409), are
the caller's checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shoal.api._errors import BadRequest
from shoal.api.glance import schemas
from shoal.api.glance.errors import LimitExceeded
from shoal.api.glance.options import ImageApiOptions, quota_exceeded
from shoal.errors import PermissionDenied
from shoal.services.image.records import ImageRecord

__all__ = ["NewImage", "parse_create"]

#: Reserved on create only: these exist but are set through other calls.
_CREATE_RESERVED = frozenset({"locations"})


@dataclass(frozen=True)
class NewImage:
    """A validated create request.

    ``id`` is None when the client left the choice to the server.
    """

    id: str | None
    owner: str | None
    name: str | None = None
    visibility: str = "shared"
    protected: bool = False
    os_hidden: bool = False
    disk_format: str | None = None
    container_format: str | None = None
    min_disk: int = 0
    min_ram: int = 0
    tags: tuple[str, ...] = ()
    properties: Mapping[str, str] = field(default_factory=dict)

    def to_record(self, image_id: str, now: datetime) -> ImageRecord:
        """The queued image this request creates, with id ``image_id`` made at ``now``."""
        return ImageRecord(
            id=image_id, status="queued", created_at=now, updated_at=now, name=self.name,
            visibility=self.visibility, protected=self.protected, os_hidden=self.os_hidden,
            owner=self.owner, disk_format=self.disk_format,
            container_format=self.container_format, min_disk=self.min_disk,
            min_ram=self.min_ram, tags=self.tags, properties=self.properties,
        )


_CORE_CREATE = ("name", "visibility", "protected", "os_hidden", "disk_format",
                "container_format", "min_disk", "min_ram", "tags", "owner", "id")


def parse_create(
    body: Any,
    options: ImageApiOptions,
    *,
    project_id: str | None,
    is_admin: bool,
) -> NewImage:
    """Validate a create body (decoded JSON) for a caller of ``project_id``.

    Raises:
        BadRequest: see the module docstring (400).
        PermissionDenied: read-only or reserved attribute, foreign owner, public (403).
        LimitExceeded: too many properties or tags (413).
    """
    if not isinstance(body, dict):
        raise BadRequest("Request body must be a JSON object of image attributes.")
    for name in body:
        schemas.check_writable(name, read_only=schemas.CREATE_READ_ONLY_ATTRIBUTES)
        if name in _CREATE_RESERVED:
            raise PermissionDenied(f"Attribute '{name}' is reserved.")
    core: dict[str, Any] = {}
    properties: dict[str, str] = {}
    for name, value in body.items():
        if value is None and name in schemas.nullable_properties():
            continue
        schemas.validate_attribute(name, value, options)
        if name in _CORE_CREATE:
            core[name] = value
        else:
            properties[name] = value
    owner = core.pop("owner", project_id)
    if not is_admin and owner != project_id:
        raise PermissionDenied(f"You are not permitted to create images owned by '{owner}'.")
    if core.get("visibility") == "public" and not is_admin:
        raise PermissionDenied("Only an admin may create a public image.")
    tags = tuple(dict.fromkeys(core.pop("tags", ())))
    if quota_exceeded(options.image_property_quota, len(properties)):
        raise LimitExceeded("properties", len(properties), options.image_property_quota)
    if quota_exceeded(options.image_tag_quota, len(tags)):
        raise LimitExceeded("tags", len(tags), options.image_tag_quota)
    return NewImage(owner=owner, tags=tags, properties=properties,
                    **{"id": None, **core})
