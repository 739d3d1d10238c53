"""Image and member records rendered as Glance's JSON bodies.

An image body holds its free properties at the top level next to the core attributes
(every core attribute is present, null when unset), ``tags``, and the links ``self``
(``/v2/images/{id}``), ``file`` (``/v2/images/{id}/file``) and ``schema``
(``/v2/schemas/image``). Links are relative to the service root, as upstream; clients
join them to the image endpoint. Timestamps look like ``2026-11-23T18:00:00Z``.

``direct_url`` (the first location's URL) appears only when ``show_image_direct_url``
is on and the image has a location; ``locations`` only when ``show_multiple_locations``
is on. A deactivated image shows its locations to admins only.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Final

from shoal.api.glance.options import ImageApiOptions
from shoal.api.glance.schemas import HIDDEN_PROPERTIES
from shoal.services.image.records import ImageRecord, MemberRecord, as_utc

__all__ = [
    "IMAGES_PATH",
    "IMAGES_SCHEMA_PATH",
    "IMAGE_SCHEMA_PATH",
    "MEMBERS_SCHEMA_PATH",
    "MEMBER_SCHEMA_PATH",
    "image_path",
    "image_view",
    "images_view",
    "isotime",
    "member_view",
    "members_view",
]

IMAGES_PATH: Final = "/v2/images"
IMAGE_SCHEMA_PATH: Final = "/v2/schemas/image"
IMAGES_SCHEMA_PATH: Final = "/v2/schemas/images"
MEMBER_SCHEMA_PATH: Final = "/v2/schemas/member"
MEMBERS_SCHEMA_PATH: Final = "/v2/schemas/members"

#: Core attributes copied as they are, in Glance's order.
_CORE_ATTRIBUTES: Final = (
    "name", "disk_format", "container_format", "visibility", "size", "virtual_size",
    "status", "checksum", "protected", "min_ram", "min_disk", "owner", "os_hidden",
    "os_hash_algo", "os_hash_value",
)


def isotime(moment: datetime) -> str:
    """``moment`` in Glance's format, UTC to the second: ``2026-11-23T18:00:00Z``."""
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def image_path(image_id: str, subresource: str = "") -> str:
    """``/v2/images/{id}`` or ``/v2/images/{id}/{subresource}``."""
    path = f"{IMAGES_PATH}/{image_id}"
    return f"{path}/{subresource}" if subresource else path


def image_view(
    image: ImageRecord, options: ImageApiOptions, *, is_admin: bool = False
) -> dict[str, Any]:
    """The body of ``GET /v2/images/{id}`` (and of create and update).

    Args:
        image: the image.
        options: ``show_image_direct_url`` and ``show_multiple_locations`` apply.
        is_admin: whether the caller is an admin (sees a deactivated image's locations).
    """
    view: dict[str, Any] = {
        key: value for key, value in image.properties.items() if key not in HIDDEN_PROPERTIES
    }
    for name in _CORE_ATTRIBUTES:
        view[name] = getattr(image, name)
    view["id"] = image.id
    view["created_at"] = isotime(image.created_at)
    view["updated_at"] = isotime(image.updated_at)
    locations = image.locations if image.status != "deactivated" or is_admin else ()
    if options.show_multiple_locations:
        view["locations"] = [
            {"url": location.url, "metadata": dict(location.metadata)}
            for location in locations
        ]
    if options.show_image_direct_url and locations:
        view["direct_url"] = locations[0].url
    view["tags"] = list(image.tags)
    view["self"] = image_path(image.id)
    view["file"] = image_path(image.id, "file")
    view["schema"] = IMAGE_SCHEMA_PATH
    return view


def images_view(
    images: Iterable[ImageRecord],
    options: ImageApiOptions,
    *,
    params: Sequence[tuple[str, str]] = (),
    next_marker: str | None = None,
    is_admin: bool = False,
) -> dict[str, Any]:
    """The body of ``GET /v2/images``: the page, ``first``, ``next`` and ``schema``.

    Args:
        images: the page, in order.
        options: as for :func:`image_view`.
        params: the request's query parameters, repeats kept, in order; ``first`` and
            ``next`` repeat them without ``marker``.
        next_marker: the last image's id when another page follows (then ``next`` is
            given), else None.
        is_admin: as for :func:`image_view`.
    """
    query = [(name, value) for name, value in params if name != "marker"]
    body: dict[str, Any] = {
        "images": [image_view(image, options, is_admin=is_admin) for image in images],
        "first": _with_query(IMAGES_PATH, query),
        "schema": IMAGES_SCHEMA_PATH,
    }
    if next_marker is not None:
        body["next"] = _with_query(IMAGES_PATH, [*query, ("marker", next_marker)])
    return body


def _with_query(path: str, query: Sequence[tuple[str, str]]) -> str:
    return f"{path}?{urllib.parse.urlencode(query)}" if query else path


def member_view(member: MemberRecord) -> dict[str, Any]:
    """The body of one image membership (create, show, update)."""
    return {
        "member_id": member.member_id,
        "image_id": member.image_id,
        "status": member.status,
        "created_at": isotime(member.created_at),
        "updated_at": isotime(member.updated_at),
        "schema": MEMBER_SCHEMA_PATH,
    }


def members_view(members: Iterable[MemberRecord]) -> dict[str, Any]:
    """The body of ``GET /v2/images/{id}/members``."""
    return {
        "members": [member_view(member) for member in members],
        "schema": MEMBERS_SCHEMA_PATH,
    }
