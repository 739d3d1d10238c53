"""PUT/DELETE /v2/images/{id}/tags/{tag}."""

from __future__ import annotations

import pytest

from shoal.api import BadRequest
from shoal.api.glance.errors import LimitExceeded
from shoal.api.glance.options import DEFAULT_OPTIONS, ImageApiOptions
from shoal.api.glance.tags import add_tag, remove_tag
from shoal.errors import NotFound
from tests.unit.api.glance._glance_images import make_image


def test_add_and_remove() -> None:
    image = make_image(tags=("a",))
    tagged = add_tag(image, "b", DEFAULT_OPTIONS)
    assert tagged.tags == ("a", "b")
    assert image.tags == ("a",)
    assert add_tag(tagged, "a", DEFAULT_OPTIONS) is tagged
    assert remove_tag(tagged, "a").tags == ("b",)


def test_refusals() -> None:
    with pytest.raises(BadRequest) as caught:
        add_tag(make_image(), "t" * 256, DEFAULT_OPTIONS)
    assert caught.value.message == (
        f"Provided object does not match schema 'image': '{'t' * 256}' is too long")
    full = make_image(tags=("a", "b"))
    with pytest.raises(LimitExceeded) as caught:
        add_tag(full, "c", ImageApiOptions(image_tag_quota=2))
    assert caught.value.http_status == 413
    assert add_tag(full, "a", ImageApiOptions(image_tag_quota=2)) is full
    with pytest.raises(NotFound, match="Tag z not found"):
        remove_tag(full, "z")
