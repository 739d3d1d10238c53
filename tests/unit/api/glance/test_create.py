"""POST /v2/images: body validation."""

from __future__ import annotations

from typing import Any

import pytest

from shoal.api import BadRequest
from shoal.api.glance.create import NewImage, parse_create
from shoal.api.glance.errors import LimitExceeded
from shoal.api.glance.options import DEFAULT_OPTIONS, ImageApiOptions
from shoal.errors import PermissionDenied
from tests.unit.api.glance._glance_images import BASE_TIME


def create(body: Any, *, options: ImageApiOptions = DEFAULT_OPTIONS,
           project_id: str | None = "p1", is_admin: bool = False) -> NewImage:
    return parse_create(body, options, project_id=project_id, is_admin=is_admin)


def test_openstack_image_create_body() -> None:
    body = {
        "name": "Centos7", "disk_format": "raw", "container_format": "bare", "min_disk": 8,
        "visibility": "private",
        "owner_specified.openstack.md5": "0f" * 16,
        "owner_specified.openstack.sha256": "ab" * 32,
        "owner_specified.openstack.object": "images/Centos7",
    }
    new = create(body)
    assert new == NewImage(
        id=None, owner="p1", name="Centos7", visibility="private", disk_format="raw",
        container_format="bare", min_disk=8,
        properties={"owner_specified.openstack.md5": "0f" * 16,
                    "owner_specified.openstack.sha256": "ab" * 32,
                    "owner_specified.openstack.object": "images/Centos7"},
    )


def test_defaults_and_record() -> None:
    new = create({})
    assert (new.id, new.owner, new.visibility, new.protected, new.min_disk) == (
        None, "p1", "shared", False, 0)
    record = create({"tags": ["a", "b", "a"], "hw_disk_bus": "scsi"}).to_record(
        "11111111-2222-3333-4444-555555555555", BASE_TIME)
    assert record.status == "queued"
    assert record.tags == ("a", "b")
    assert dict(record.properties) == {"hw_disk_bus": "scsi"}
    assert record.created_at == record.updated_at == BASE_TIME
    assert record.owner == "p1"


def test_a_client_may_choose_the_id() -> None:
    chosen = "11111111-2222-3333-4444-555555555555"
    assert create({"id": chosen}).id == chosen
    with pytest.raises(BadRequest, match="'not-a-uuid' does not match"):
        create({"id": "not-a-uuid"})


@pytest.mark.parametrize("body", [[], "x", None, 3])
def test_body_must_be_an_object(body: Any) -> None:
    with pytest.raises(BadRequest, match="JSON object"):
        create(body)


@pytest.mark.parametrize("name", ["status", "size", "checksum", "os_hash_value", "self",
                                  "file", "schema", "direct_url", "created_at", "stores"])
def test_read_only_attributes_are_403(name: str) -> None:
    with pytest.raises(PermissionDenied, match=f"Attribute '{name}' is read-only"):
        create({name: "x"})


@pytest.mark.parametrize("name", ["locations", "deleted", "location", "os_glance_x"])
def test_reserved_attributes_are_403(name: str) -> None:
    with pytest.raises(PermissionDenied, match=f"Attribute '{name}' is reserved"):
        create({name: "x"})


@pytest.mark.parametrize(
    ("body", "problem"),
    [({"min_disk": -8}, "negative"), ({"min_ram": "512"}, "'512' is not of type 'integer'"),
     ({"visibility": "all"}, "not one of"), ({"disk_format": "vpc"}, "not one of"),
     ({"name": "n" * 256}, "is too long"), ({"tags": ["x" * 256]}, "is too long"),
     ({"hw_disk_bus": 1}, "1 is not of type 'string'"), ({"k" * 256: "v"}, "longer than 255"),
     ({"protected": "yes"}, "'yes' is not of type 'boolean'"),
     ({"description": None}, "None is not of type 'string'")],
)
def test_bad_values_are_400(body: dict[str, Any], problem: str) -> None:
    with pytest.raises(BadRequest, match=problem):
        create(body)


def test_nullable_schema_properties_given_null_are_dropped() -> None:
    assert create({"kernel_id": None, "ramdisk_id": None}).properties == {}


def test_owner_rules() -> None:
    assert create({"owner": "p1"}).owner == "p1"
    with pytest.raises(PermissionDenied, match="owned by 'p2'"):
        create({"owner": "p2"})
    assert create({"owner": "p2"}, is_admin=True).owner == "p2"
    assert create({"owner": None}, is_admin=True).owner is None


def test_public_images_are_for_admins() -> None:
    with pytest.raises(PermissionDenied, match="public"):
        create({"visibility": "public"})
    assert create({"visibility": "public"}, is_admin=True).visibility == "public"
    assert create({"visibility": "community"}).visibility == "community"


def test_quotas() -> None:
    options = ImageApiOptions(image_property_quota=1, image_tag_quota=2)
    assert create({"a": "1", "tags": ["x", "y", "x"]}, options=options).tags == ("x", "y")
    with pytest.raises(LimitExceeded, match="properties"):
        create({"a": "1", "b": "2"}, options=options)
    with pytest.raises(LimitExceeded, match="tags"):
        create({"tags": ["x", "y", "z"]}, options=options)
