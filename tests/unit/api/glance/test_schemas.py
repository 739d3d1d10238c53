"""The /v2/schemas bodies and attribute validation."""

from __future__ import annotations

import json

import pytest

from shoal.api import BadRequest
from shoal.api.glance import schemas
from shoal.api.glance.options import DEFAULT_OPTIONS, ImageApiOptions
from shoal.errors import PermissionDenied
from shoal.services.image.records import IMAGE_STATUSES


def test_image_schema_has_glance_base_properties_with_types() -> None:
    schema = schemas.image_schema(DEFAULT_OPTIONS)
    props = schema["properties"]
    assert schema["name"] == "image"
    assert props["status"]["enum"] == list(IMAGE_STATUSES)
    assert props["status"]["readOnly"] is True
    assert props["visibility"]["enum"] == ["community", "public", "private", "shared"]
    assert props["protected"]["type"] == "boolean"
    assert props["os_hidden"]["type"] == "boolean"
    assert props["min_disk"]["type"] == "integer"
    assert props["size"]["type"] == ["null", "integer"]
    assert props["name"] == {"type": ["null", "string"], "maxLength": 255,
                             "description": props["name"]["description"]}
    assert props["tags"]["items"] == {"type": "string", "maxLength": 255}
    for read_only in ("checksum", "os_hash_algo", "os_hash_value", "size", "virtual_size",
                      "created_at", "updated_at", "direct_url", "self", "file", "schema"):
        assert props[read_only]["readOnly"] is True, read_only
    assert props["locations"]["items"]["required"] == ["url", "metadata"]


def test_free_properties_are_strings_for_glanceclient() -> None:
    schema = schemas.image_schema(DEFAULT_OPTIONS)
    assert schema["additionalProperties"] == {"type": "string"}
    assert [link["rel"] for link in schema["links"]] == ["self", "enclosure", "describedby"]


def test_format_enums_follow_the_options() -> None:
    options = ImageApiOptions(disk_formats=("raw", "qcow2"), container_formats=("bare",))
    props = schemas.image_schema(options)["properties"]
    assert props["disk_format"]["enum"] == [None, "raw", "qcow2"]
    assert props["container_format"]["enum"] == [None, "bare"]
    default = schemas.image_schema(DEFAULT_OPTIONS)["properties"]
    assert "ploop" in default["disk_format"]["enum"]
    assert "docker" in default["container_format"]["enum"]


def test_guide_properties_are_non_base_strings() -> None:
    props = schemas.image_schema(DEFAULT_OPTIONS)["properties"]
    for name in ("hw_scsi_model", "hw_disk_bus", "hw_qemu_guest_agent",
                 "os_require_quiesce", "os_distro", "architecture", "kernel_id"):
        assert props[name]["is_base"] is False, name
        assert "string" in props[name]["type"], name
    assert "is_base" not in props["name"]
    assert "is_base" not in props["status"]


def test_schemas_are_fresh_and_json() -> None:
    first = schemas.image_schema(DEFAULT_OPTIONS)
    first["properties"]["name"]["maxLength"] = 1
    first["properties"]["hw_disk_bus"]["type"] = "integer"
    again = schemas.image_schema(DEFAULT_OPTIONS)
    assert again["properties"]["name"]["maxLength"] == 255
    assert again["properties"]["hw_disk_bus"]["type"] == "string"
    for body in (again, schemas.images_schema(DEFAULT_OPTIONS), schemas.member_schema(),
                 schemas.members_schema()):
        assert json.loads(json.dumps(body)) == body


def test_collection_schemas_wrap_the_item_schema() -> None:
    images = schemas.images_schema(DEFAULT_OPTIONS)
    assert images["name"] == "images"
    assert images["properties"]["images"]["items"] == schemas.image_schema(DEFAULT_OPTIONS)
    assert set(images["properties"]) == {"images", "first", "next", "schema"}
    assert [link["rel"] for link in images["links"]] == ["first", "next", "describedby"]
    members = schemas.members_schema()
    assert members["properties"]["members"]["items"] == schemas.member_schema()


def test_member_schema() -> None:
    schema = schemas.member_schema()
    assert schema["name"] == "member"
    assert schema["additionalProperties"] is False
    assert schema["properties"]["status"]["enum"] == ["pending", "accepted", "rejected"]
    assert set(schema["properties"]) == {"member_id", "image_id", "created_at",
                                         "updated_at", "status", "schema"}


@pytest.mark.parametrize("name", ["id", "status", "size", "checksum", "os_hash_value",
                                  "created_at", "self", "file", "schema", "direct_url"])
def test_read_only_attributes_are_refused(name: str) -> None:
    with pytest.raises(PermissionDenied, match=f"Attribute '{name}' is read-only."):
        schemas.check_writable(name)


@pytest.mark.parametrize("name", ["deleted", "deleted_at", "location", "os_glance_import_task",
                                  "os_glance_stage_host"])
def test_reserved_attributes_are_refused(name: str) -> None:
    with pytest.raises(PermissionDenied, match=f"Attribute '{name}' is reserved."):
        schemas.check_writable(name)


def test_writable_names_pass() -> None:
    for name in ("name", "tags", "hw_disk_bus", "os_distro", "owner_specified.openstack.md5"):
        schemas.check_writable(name)
    schemas.check_writable("id", read_only=schemas.CREATE_READ_ONLY_ATTRIBUTES)


GLANCE_400 = "Provided object does not match schema 'image': "


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("min_disk", "8", f"{GLANCE_400}'8' is not of type 'integer'"),
        ("min_disk", True, f"{GLANCE_400}True is not of type 'integer'"),
        ("min_disk", -1, "Invalid value for 'min_disk': -1 is negative"),
        ("min_ram", 2**31, "Invalid value for 'min_ram': 2147483648 is larger than 2147483647"),
        ("visibility", "everyone",
         f"{GLANCE_400}'everyone' is not one of ['community', 'public'"),
        ("protected", "true", f"{GLANCE_400}'true' is not of type 'boolean'"),
        ("name", "n" * 256, f"{GLANCE_400}'{'n' * 256}' is too long"),
        ("name", 5, f"{GLANCE_400}5 is not of type 'null', 'string'"),
        ("tags", ["ok", "t" * 256], f"{GLANCE_400}'{'t' * 256}' is too long"),
        ("tags", "a,b", f"{GLANCE_400}'a,b' is not of type 'array'"),
        ("disk_format", "qed", f"{GLANCE_400}'qed' is not one of [None, 'ami'"),
        ("kernel_id", "not-a-uuid", f"{GLANCE_400}'not-a-uuid' does not match"),
        ("hw_disk_bus", 5, f"{GLANCE_400}5 is not of type 'string'"),
        ("hw_disk_bus", None, f"{GLANCE_400}None is not of type 'string'"),
        ("anything", "v" * 65536, "Invalid value for 'anything': longer than 65535 characters"),
        ("locations", [{"url": "rbd://x"}], f"{GLANCE_400}'metadata' is a required property"),
    ],
)
def test_validate_attribute_refuses_as_glance_words_it(
    name: str, value: object, problem: str
) -> None:
    with pytest.raises(BadRequest) as caught:
        schemas.validate_attribute(name, value, DEFAULT_OPTIONS)
    assert caught.value.http_status == 400
    assert caught.value.message.startswith(problem)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("min_disk", 0), ("min_disk", 2**31 - 1), ("name", None), ("name", ""),
        ("visibility", "community"), ("tags", []), ("disk_format", None),
        ("disk_format", "raw"), ("kernel_id", None),
        ("kernel_id", "11111111-2222-3333-4444-555555555555"), ("hw_disk_bus", "scsi"),
        ("x" * 255, "v" * 65535), ("owner", None),
        ("locations", [{"url": "rbd://a/b/c/d", "metadata": {"k": 1}}]),
    ],
)
def test_validate_attribute_accepts(name: str, value: object) -> None:
    schemas.validate_attribute(name, value, DEFAULT_OPTIONS)


def test_property_names_are_bounded() -> None:
    with pytest.raises(BadRequest, match="must not be empty"):
        schemas.validate_attribute("", "v", DEFAULT_OPTIONS)
    with pytest.raises(BadRequest, match="longer than 255"):
        schemas.validate_attribute("k" * 256, "v", DEFAULT_OPTIONS)


def test_validate_location() -> None:
    schemas.validate_location({"url": "rbd://a", "metadata": {}}, DEFAULT_OPTIONS)
    good_data = {"os_hash_algo": "sha512", "os_hash_value": "ab"}
    schemas.validate_location({"url": "rbd://a", "metadata": {},
                               "validation_data": good_data}, DEFAULT_OPTIONS)
    for bad, problem in [
        ("rbd://a", "'rbd://a' is not of type 'object'"),
        ({"url": "u" * 256, "metadata": {}}, "'u+' is too long"),
        ({"url": "rbd://a", "metadata": []}, r"\[\] is not of type 'object'"),
        ({"url": "rbd://a", "metadata": {}, "validation_data": {"os_hash_algo": "x"}},
         "'os_hash_value' is a required property"),
        ({"url": "rbd://a", "metadata": {},
          "validation_data": {**good_data, "md5": "x"}},
         r"Additional properties are not allowed \('md5' was unexpected\)"),
    ]:
        with pytest.raises(BadRequest, match=problem):
            schemas.validate_location(bad, DEFAULT_OPTIONS)


def test_schema_problem_keeps_booleans_apart_from_integers() -> None:
    assert schemas.schema_problem({"enum": [0, 1]}, False) is not None
    assert schemas.schema_problem({"enum": [True]}, 1) is not None
    assert schemas.schema_problem({"enum": [1]}, 1) is None
    assert schemas.schema_problem({"type": "number"}, 1.5) is None
    assert schemas.schema_problem({"type": "number"}, True) is not None


def test_nullable_properties() -> None:
    assert schemas.nullable_properties() == {"kernel_id", "ramdisk_id"}


def test_nul_characters_are_refused_everywhere() -> None:
    for name, value in (("name", "a\x00b"), ("hw_disk_bus", "\x00"), ("tags", ["\x00"]),
                        ("locations", [{"url": "rbd://a", "metadata": {"k": "\x00"}}])):
        with pytest.raises(BadRequest, match="NUL character"):
            schemas.validate_attribute(name, value, DEFAULT_OPTIONS)
    with pytest.raises(BadRequest, match="NUL character"):
        schemas.validate_attribute("k\x00", "v", DEFAULT_OPTIONS)
    with pytest.raises(BadRequest, match="NUL character"):
        schemas.validate_location({"url": "rbd://a", "metadata": {"\x00": 1}}, DEFAULT_OPTIONS)
