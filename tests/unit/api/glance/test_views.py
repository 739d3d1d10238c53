"""Image and member records rendered as Glance's bodies."""

from __future__ import annotations

import json
import urllib.parse
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shoal.api.glance import schemas
from shoal.api.glance.options import DEFAULT_OPTIONS, ImageApiOptions
from shoal.api.glance.views import (
    image_view,
    images_view,
    isotime,
    member_view,
    members_view,
)
from shoal.services.image.records import ImageRecord, Location, MemberRecord
from tests.unit.api.glance._glance_images import BASE_TIME, active_image, image_id, make_image

BOTH = ImageApiOptions(show_image_direct_url=True, show_multiple_locations=True)


def test_image_body_has_every_core_attribute_and_links() -> None:
    image = active_image(1, name="Centos7", min_disk=8, tags=("x", "y"),
                         properties={"hw_disk_bus": "scsi", "os_glance_stage_host": "h"})
    view = image_view(image, DEFAULT_OPTIONS)
    assert view == {
        "hw_disk_bus": "scsi",
        "name": "Centos7", "disk_format": "raw", "container_format": "bare",
        "visibility": "shared", "size": 1024, "virtual_size": None, "status": "active",
        "checksum": "0" * 32, "protected": False, "min_ram": 0, "min_disk": 8,
        "owner": "p1", "os_hidden": False, "os_hash_algo": "sha512",
        "os_hash_value": "0" * 128, "id": image_id(1),
        "created_at": "2026-11-23T18:01:00Z", "updated_at": "2026-11-23T18:01:00Z",
        "tags": ["x", "y"], "self": f"/v2/images/{image_id(1)}",
        "file": f"/v2/images/{image_id(1)}/file", "schema": "/v2/schemas/image",
    }
    assert json.loads(json.dumps(view)) == view


def test_a_new_image_shows_nulls() -> None:
    view = image_view(make_image(), DEFAULT_OPTIONS)
    for name in ("name", "disk_format", "container_format", "size", "virtual_size",
                 "checksum", "os_hash_algo", "os_hash_value"):
        assert view[name] is None, name
    assert view["tags"] == []
    assert "direct_url" not in view and "locations" not in view


def test_direct_url_and_locations_follow_the_options() -> None:
    image = active_image(locations=(Location("rbd://f/images/a/snap", {"store": "ceph"}),
                                    Location("rbd://f/images/b/snap")))
    assert "direct_url" not in image_view(image, DEFAULT_OPTIONS)
    only_direct = image_view(image, ImageApiOptions(show_image_direct_url=True))
    assert only_direct["direct_url"] == "rbd://f/images/a/snap"
    assert "locations" not in only_direct
    view = image_view(image, BOTH)
    assert view["locations"] == [{"url": "rbd://f/images/a/snap", "metadata": {"store": "ceph"}},
                                 {"url": "rbd://f/images/b/snap", "metadata": {}}]
    without = image_view(make_image(), BOTH)
    assert without["locations"] == []
    assert "direct_url" not in without


def test_deactivated_images_show_locations_to_admins_only() -> None:
    image = active_image(status="deactivated")
    user = image_view(image, BOTH)
    assert user["locations"] == [] and "direct_url" not in user
    admin = image_view(image, BOTH, is_admin=True)
    assert admin["direct_url"] == image.locations[0].url
    assert len(admin["locations"]) == 1


def test_core_attributes_win_over_clashing_properties() -> None:
    image = make_image(name="real", properties={"name": "fake", "status": "fake"})
    view = image_view(image, DEFAULT_OPTIONS)
    assert (view["name"], view["status"]) == ("real", "queued")


def test_image_view_conforms_to_the_schema() -> None:
    image = active_image(properties={"hw_disk_bus": "scsi"}, tags=("t",))
    view = image_view(image, BOTH)
    schema = schemas.image_schema(BOTH)
    assert schemas.schema_problem(schema, view) is None
    page = images_view([image], BOTH, next_marker=image.id)
    assert schemas.schema_problem(schemas.images_schema(BOTH), page) is None


def test_collection_links() -> None:
    images = [make_image(1), make_image(2)]
    body = images_view(images, DEFAULT_OPTIONS)
    assert [image["id"] for image in body["images"]] == [image_id(1), image_id(2)]
    assert body["first"] == "/v2/images"
    assert body["schema"] == "/v2/schemas/images"
    assert "next" not in body
    params = [("limit", "2"), ("tag", "a b"), ("tag", "c"), ("marker", image_id(9)),
              ("name", "in:x,y")]
    body = images_view(images, DEFAULT_OPTIONS, params=params, next_marker=image_id(2))
    assert body["first"] == "/v2/images?limit=2&tag=a+b&tag=c&name=in%3Ax%2Cy"
    path, _, query = body["next"].partition("?")
    assert path == "/v2/images"
    assert urllib.parse.parse_qsl(query) == [("limit", "2"), ("tag", "a b"), ("tag", "c"),
                                             ("name", "in:x,y"), ("marker", image_id(2))]


def test_empty_collection() -> None:
    assert images_view([], DEFAULT_OPTIONS) == {
        "images": [], "first": "/v2/images", "schema": "/v2/schemas/images"}


def test_isotime() -> None:
    assert isotime(datetime(2026, 11, 23, 18, 0, 0, 999_999)) == "2026-11-23T18:00:00Z"
    plus_two = timezone(timedelta(hours=2))
    assert isotime(datetime(2026, 11, 23, 20, 0, 0, tzinfo=plus_two)) == "2026-11-23T18:00:00Z"


@given(st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(9999, 1, 1),
                    timezones=st.just(UTC)))
def test_isotime_round_trips_to_the_second(moment: datetime) -> None:
    assert datetime.fromisoformat(isotime(moment)) == moment.replace(microsecond=0)


def test_member_views() -> None:
    member = MemberRecord(image_id=image_id(1), member_id="p2", status="pending",
                          created_at=BASE_TIME, updated_at=BASE_TIME + timedelta(seconds=5))
    view = member_view(member)
    assert view == {"member_id": "p2", "image_id": image_id(1), "status": "pending",
                    "created_at": "2026-11-23T18:00:00Z", "updated_at": "2026-11-23T18:00:05Z",
                    "schema": "/v2/schemas/member"}
    assert schemas.schema_problem(schemas.member_schema(), view) is None
    body = members_view([member])
    assert body == {"members": [view], "schema": "/v2/schemas/members"}
    assert schemas.schema_problem(schemas.members_schema(), body) is None


def test_records_refuse_impossible_values() -> None:
    for fields in ({"status": "gone"}, {"visibility": "everyone"}, {"min_disk": -1},
                   {"min_ram": True}, {"size": -5}, {"tags": (1,)},
                   {"properties": {"k": 1}}):
        with pytest.raises(ValueError):
            make_image(**fields)
    with pytest.raises(ValueError):
        MemberRecord(image_id(1), "p2", "maybe", BASE_TIME, BASE_TIME)
    with pytest.raises(ValueError):
        Location("")


def test_records_normalise_time_and_tags() -> None:
    image = make_image(created_at=datetime(2026, 1, 1), tags=["b", "a", "b"])
    assert image.created_at.tzinfo is UTC
    assert image.tags == ("b", "a")
    assert isinstance(image, ImageRecord)
