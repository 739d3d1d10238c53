"""``PUT`` and ``DELETE /v2/images/{id}/tags/{tag}``: one tag at a time.

``openstack image set --tag`` uses these rather than a PATCH. Adding a tag the image
has changes nothing; a tag longer than 255 characters is 400; one tag more than
``image_tag_quota`` is 413; removing a tag the image lacks is 404. Both answer 204.
Who may change the image (owner or admin) is the caller's check.
"""

from __future__ import annotations

import dataclasses

from shoal.api.glance import schemas
from shoal.api.glance.errors import LimitExceeded
from shoal.api.glance.options import ImageApiOptions, quota_exceeded
from shoal.errors import NotFound
from shoal.services.image.records import ImageRecord

__all__ = ["add_tag", "remove_tag"]


def add_tag(image: ImageRecord, tag: str, options: ImageApiOptions) -> ImageRecord:
    """``image`` with ``tag`` appended (``image`` itself when it already has it).

    Raises:
        BadRequest: the tag is longer than 255 characters (400).
        LimitExceeded: the image already has ``image_tag_quota`` tags (413).
    """
    problem = schemas.schema_problem({"type": "string", "maxLength": 255}, tag)
    if problem is not None:
        raise schemas.schema_refusal("image", problem)
    if tag in image.tags:
        return image
    count = len(image.tags) + 1
    if quota_exceeded(options.image_tag_quota, count):
        raise LimitExceeded("tags", count, options.image_tag_quota)
    return dataclasses.replace(image, tags=(*image.tags, tag))


def remove_tag(image: ImageRecord, tag: str) -> ImageRecord:
    """``image`` without ``tag``.

    Raises:
        NotFound: the image has no such tag (404).
    """
    if tag not in image.tags:
        raise NotFound(f"Tag {tag} not found on image {image.id}.")
    return dataclasses.replace(image, tags=tuple(t for t in image.tags if t != tag))
