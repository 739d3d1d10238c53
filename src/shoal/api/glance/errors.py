"""The refusals of the image API that :mod:`shoal.errors` has no class for.

Every error here is an :class:`~shoal.api.ApiError` (a :class:`~shoal.errors.ShoalError`
with an explicit status), so the image app's edge renders it in Glance's body format.
The rest of this package raises :class:`~shoal.api.BadRequest` (400) and
:class:`~shoal.errors.PermissionDenied` (403) directly::

    BadRequest          400  malformed request, value of the wrong type or range
    PermissionDenied    403  read-only/reserved attribute, a policy-like refusal
    ImageConflict       409  the image's status or content forbids the change now
    LimitExceeded       413  a per-image quota (properties, tags, locations, members)
    UnsupportedPatch    415  a PATCH media type Glance does not speak
"""

from __future__ import annotations

from typing import Final

from shoal.api._errors import ApiError
from shoal.services.image.errors import ImageConflict

__all__ = ["PATCH_MEDIA_TYPES", "ImageConflict", "LimitExceeded", "UnsupportedPatch"]

#: The JSON-patch media types of ``PATCH /v2/images/{id}``, oldest first.
PATCH_MEDIA_TYPES: Final = (
    "application/openstack-images-v2.0-json-patch",
    "application/openstack-images-v2.1-json-patch",
)


class LimitExceeded(ApiError):
    """413: a per-image quota would be exceeded (Glance answers these with 413)."""

    def __init__(self, what: str, attempted: int, maximum: int) -> None:
        super().__init__(
            413,
            f"Too many image {what}: the request would leave {attempted}, and at most"
            f" {maximum} are allowed per image.",
        )
        self.attempted = attempted
        self.maximum = maximum


class UnsupportedPatch(ApiError):
    """415: the PATCH body's media type is not one of :data:`PATCH_MEDIA_TYPES`.

    The response carries ``Accept-Patch`` listing the accepted types, as upstream's.
    """

    def __init__(self, content_type: str) -> None:
        super().__init__(
            415,
            f"Unsupported media type {content_type!r} for an image update: send one of"
            f" {', '.join(PATCH_MEDIA_TYPES)}.",
            headers={"Accept-Patch": ", ".join(PATCH_MEDIA_TYPES)},
        )
