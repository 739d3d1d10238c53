"""PATCH /v2/images/{id}: JSON-patch parsing and application."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shoal.api import ApiError, BadRequest
from shoal.api.glance.errors import ImageConflict, LimitExceeded, UnsupportedPatch
from shoal.api.glance.options import DEFAULT_OPTIONS, ImageApiOptions
from shoal.api.glance.patch import (
    PatchOperation,
    apply_patch,
    decode_pointer,
    parse_patch,
    patch_image,
)
from shoal.errors import PermissionDenied, ShoalError
from shoal.services.image.records import ImageRecord, Location
from tests.unit.api.glance._glance_images import V20, V21, active_image, make_image

#: How Glance opens a 400 for a value its image schema refuses.
GLANCE_400 = "Provided object does not match schema 'image': "
LOCATIONS_ON = ImageApiOptions(show_multiple_locations=True)


def patch(image: ImageRecord, body: Any, *, content_type: str = V21,
          options: ImageApiOptions = DEFAULT_OPTIONS, is_admin: bool = False) -> Any:
    return patch_image(image, body, content_type, options, is_admin=is_admin)


def op(kind: str, path: str, *value: Any) -> dict[str, Any]:
    operation: dict[str, Any] = {"op": kind, "path": path}
    if value:
        operation["value"] = value[0]
    return operation


# --- media types and structure ---------------------------------------------------------


def test_v21_media_type_with_parameters_is_accepted() -> None:
    result = patch(make_image(), [op("replace", "/name", "a")],
                   content_type=f"{V21.upper()}; charset=UTF-8")
    assert result.image.name == "a"


@pytest.mark.parametrize("content_type", [None, "", "application/json",
                                          "application/json-patch+json"])
def test_other_media_types_are_415_with_accept_patch(content_type: str | None) -> None:
    with pytest.raises(UnsupportedPatch) as caught:
        patch(make_image(), [], content_type=content_type)  # type: ignore[arg-type]
    assert caught.value.http_status == 415
    assert caught.value.headers["Accept-Patch"] == f"{V20}, {V21}"


@pytest.mark.parametrize("body", [{}, "x", None, {"op": "add"}])
def test_body_must_be_a_list(body: Any) -> None:
    with pytest.raises(BadRequest, match="JSON array of operation objects"):
        patch(make_image(), body)


def test_each_operation_must_be_an_object() -> None:
    with pytest.raises(BadRequest, match="Operation 1 is not a JSON object"):
        patch(make_image(), [op("replace", "/name", "a"), ["replace", "/name"]])


@pytest.mark.parametrize("kind", ["test", "move", "copy", "delete", "ADD", None, 3])
def test_unknown_operations_are_400(kind: Any) -> None:
    with pytest.raises(BadRequest, match="must be one of add, remove, replace"):
        patch(make_image(), [{"op": kind, "path": "/name", "value": "x"}])


def test_missing_op_or_path_is_400() -> None:
    with pytest.raises(BadRequest, match="no 'op' member"):
        patch(make_image(), [{"path": "/name", "value": "x"}])
    with pytest.raises(BadRequest, match="'path' member"):
        patch(make_image(), [{"op": "add", "value": "x"}])
    with pytest.raises(BadRequest, match="'path' member"):
        patch(make_image(), [{"op": "add", "path": 5, "value": "x"}])


@pytest.mark.parametrize("kind", ["add", "replace"])
def test_value_is_required_except_for_remove(kind: str) -> None:
    with pytest.raises(BadRequest, match=f'"{kind}"\\) requires a member named "value"'):
        patch(make_image(), [{"op": kind, "path": "/name"}])
    image = make_image(properties={"k": "v"})
    assert patch(image, [{"op": "remove", "path": "/k"}]).image.properties == {}


def test_v20_format() -> None:
    image = make_image(properties={"old": "1"})
    result = patch(image, [{"replace": "/name", "value": "n"}, {"add": "/new", "value": "2"},
                           {"remove": "/old"}], content_type=V20)
    assert result.image.name == "n"
    assert dict(result.image.properties) == {"new": "2"}


@pytest.mark.parametrize("raw", [{"add": "/a", "replace": "/a", "value": "x"}, {"value": "x"},
                                 {"op": "add", "path": "/a", "value": "x"}])
def test_v20_needs_exactly_one_operation_member(raw: dict[str, Any]) -> None:
    with pytest.raises(BadRequest, match="exactly one member"):
        patch(make_image(), [raw], content_type=V20)


def test_v20_pointer_must_be_a_string() -> None:
    with pytest.raises(BadRequest, match="must be a JSON pointer"):
        patch(make_image(), [{"add": 3, "value": "x"}], content_type=V20)


# --- pointers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pointer", "problem"),
    [("name", 'does not start with "/"'), ("/a//b", "empty part"), ("/a/", "empty part"),
     ("/a/ /b", "empty part"), ("/a~2", '"~" that is not'), ("/a~", '"~" that is not')],
)
def test_malformed_pointers_are_400(pointer: str, problem: str) -> None:
    with pytest.raises(BadRequest, match=problem):
        patch(make_image(), [op("add", pointer, "v")])


def test_pointer_escapes_decode() -> None:
    assert decode_pointer("/a~1b") == ("a/b",)
    assert decode_pointer("/a~0b") == ("a~b",)
    assert decode_pointer("/a~01") == ("a~1",)
    assert decode_pointer("/ name ") == ("name",)
    assert decode_pointer("/locations/-") == ("locations", "-")
    result = patch(make_image(), [op("add", "/x~1y~0z", "v")])
    assert dict(result.image.properties) == {"x/y~z": "v"}


@given(st.text(min_size=1).filter(lambda s: s.strip() == s))
def test_pointer_encoding_round_trips(key: str) -> None:
    assert decode_pointer("/" + key.replace("~", "~0").replace("/", "~1")) == (key,)


@pytest.mark.parametrize(
    ("kind", "pointer"),
    [("add", "/name/first"), ("replace", "/tags/-"), ("add", "/tags/0"),
     ("add", "/locations"), ("remove", "/locations"), ("replace", "/locations/0"),
     ("add", "/locations/0/url"), ("add", "/hw_disk_bus/x")],
)
def test_nested_or_short_paths_are_400(kind: str, pointer: str) -> None:
    value = [] if kind == "replace" else "x"
    with pytest.raises(BadRequest, match="Invalid JSON pointer for this resource"):
        patch(active_image(), [op(kind, pointer, value)], options=LOCATIONS_ON, is_admin=True)


def test_empty_property_name_is_400() -> None:
    with pytest.raises(BadRequest, match="must not be empty"):
        patch(make_image(), [op("add", "/", "v")])


# --- read-only, reserved, values ---------------------------------------------------------


@pytest.mark.parametrize("name", ["id", "status", "size", "virtual_size", "checksum",
                                  "os_hash_algo", "os_hash_value", "created_at",
                                  "updated_at", "self", "file", "schema", "direct_url"])
@pytest.mark.parametrize("kind", ["add", "replace", "remove"])
def test_read_only_attributes_are_403(name: str, kind: str) -> None:
    operation = op(kind, f"/{name}") if kind == "remove" else op(kind, f"/{name}", "x")
    with pytest.raises(PermissionDenied, match=f"Attribute '{name}' is read-only."):
        patch(make_image(), [operation])


@pytest.mark.parametrize("name", ["deleted", "deleted_at", "location",
                                  "os_glance_import_task", "os_glance_anything"])
def test_reserved_attributes_are_403(name: str) -> None:
    with pytest.raises(PermissionDenied, match=f"Attribute '{name}' is reserved."):
        patch(make_image(), [op("add", f"/{name}", "x")])


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [("/min_disk", -1, "Invalid value for 'min_disk': -1 is negative"),
     ("/min_disk", "8", f"{GLANCE_400}'8' is not of type 'integer'"),
     ("/min_ram", 1.5, f"{GLANCE_400}1.5 is not of type 'integer'"),
     ("/min_ram", 2.0, "Invalid value for 'min_ram': 2.0 is not a whole number"),
     ("/visibility", "x", f"{GLANCE_400}'x' is not one of ['community'"),
     ("/protected", "true", f"{GLANCE_400}'true' is not of type 'boolean'"),
     ("/os_hidden", 1, f"{GLANCE_400}1 is not of type 'boolean'"),
     ("/name", "n" * 256, f"{GLANCE_400}'{'n' * 256}' is too long"),
     ("/tags", ["t" * 256], f"{GLANCE_400}'{'t' * 256}' is too long"),
     ("/tags", [1], f"{GLANCE_400}1 is not of type 'string'"),
     ("/hw_disk_bus", 3, f"{GLANCE_400}3 is not of type 'string'"),
     ("/hw_disk_bus", None, f"{GLANCE_400}None is not of type 'string'"),
     ("/big", "v" * 65536, "Invalid value for 'big': longer than 65535"),
     ("/container_format", "zip", f"{GLANCE_400}'zip' is not one of [None, 'ami'")],
)
def test_bad_values_are_400_as_glance_words_them(path: str, value: Any, problem: str) -> None:
    with pytest.raises(BadRequest) as caught:
        patch(make_image(), [op("replace" if path[1:] in ("name",) else "add", path, value)])
    assert caught.value.message.startswith(problem)


def test_the_whole_patch_is_validated_before_anything_applies() -> None:
    image = make_image(properties={"a": "1"})
    with pytest.raises(PermissionDenied):
        patch(image, [op("remove", "/a"), op("replace", "/status", "active")])
    assert dict(image.properties) == {"a": "1"}


# --- core attributes and properties ------------------------------------------------------


def test_add_replaces_existing_values_in_v21() -> None:
    image = make_image(name="old", properties={"hw_disk_bus": "virtio"})
    result = patch(image, [op("add", "/hw_disk_bus", "scsi"), op("add", "/name", "new"),
                           op("add", "/min_disk", 8)])
    assert result.image.properties["hw_disk_bus"] == "scsi"
    assert result.image.name == "new"
    assert result.image.min_disk == 8
    assert result.changed == {"name", "min_disk"}
    assert result.properties_set == {"hw_disk_bus": "scsi"}


def test_openstack_image_set_properties_of_the_guide() -> None:
    body = [op("add", "/hw_scsi_model", "virtio-scsi"), op("add", "/hw_disk_bus", "scsi"),
            op("add", "/hw_qemu_guest_agent", "yes"), op("add", "/os_require_quiesce", "yes")]
    result = patch(active_image(), body)
    assert dict(result.image.properties) == {
        "hw_scsi_model": "virtio-scsi", "hw_disk_bus": "scsi",
        "hw_qemu_guest_agent": "yes", "os_require_quiesce": "yes",
    }
    assert result.changed == frozenset()


def test_v20_add_of_an_existing_key_is_409() -> None:
    image = make_image(properties={"k": "v"})
    with pytest.raises(ImageConflict, match="Property k already present"):
        patch(image, [{"add": "/k", "value": "w"}], content_type=V20)
    with pytest.raises(ImageConflict, match="Property name already present"):
        patch(image, [{"add": "/name", "value": "w"}], content_type=V20)


def test_replace_or_remove_of_a_missing_property_is_409() -> None:
    with pytest.raises(ImageConflict, match="Property nope does not exist") as caught:
        patch(make_image(), [op("replace", "/nope", "x")])
    assert caught.value.http_status == 409
    with pytest.raises(ImageConflict, match="Property nope does not exist"):
        patch(make_image(), [op("remove", "/nope")])


@pytest.mark.parametrize("name", ["name", "tags", "visibility", "min_disk", "owner",
                                  "disk_format", "protected", "os_hidden"])
def test_core_attributes_cannot_be_removed(name: str) -> None:
    with pytest.raises(PermissionDenied, match=f"Property {name} may not be removed."):
        patch(make_image(), [op("remove", f"/{name}")])


def test_remove_property() -> None:
    image = make_image(properties={"a": "1", "b": "2"})
    result = patch(image, [op("remove", "/a")])
    assert dict(result.image.properties) == {"b": "2"}
    assert result.properties_removed == {"a"}
    assert result.properties_set == {}


def test_operations_apply_in_order() -> None:
    result = patch(make_image(), [op("add", "/k", "1"), op("replace", "/k", "2"),
                                  op("remove", "/k"), op("add", "/k", "3")])
    assert dict(result.image.properties) == {"k": "3"}
    with pytest.raises(ImageConflict):
        patch(make_image(), [op("add", "/k", "1"), op("remove", "/k"), op("remove", "/k")])


def test_input_is_never_mutated() -> None:
    image = make_image(properties={"a": "1"}, tags=("x",))
    snapshot = copy.deepcopy(dataclasses.asdict(image))
    result = patch(image, [op("remove", "/a"), op("add", "/b", "2"), op("add", "/tags", ["y"]),
                           op("replace", "/name", "n")])
    assert dataclasses.asdict(image) == snapshot
    assert result.image is not image
    with pytest.raises(TypeError):
        result.image.properties["c"] = "3"  # type: ignore[index]


def test_setting_equal_values_is_a_noop() -> None:
    image = make_image(name="n", properties={"a": "1"}, tags=("x",))
    result = patch(image, [op("replace", "/name", "n"), op("add", "/a", "1"),
                           op("replace", "/tags", ["x", "x"])])
    assert result.is_noop
    assert result.image == image


def test_tags_are_replaced_whole_and_deduplicated() -> None:
    image = make_image(tags=("a", "b"))
    result = patch(image, [op("add", "/tags", ["c", "a", "c"])])
    assert result.image.tags == ("c", "a")
    assert result.changed == {"tags"}


def test_owner_changes_are_for_admins() -> None:
    image = make_image(owner="p1")
    for kind in ("add", "replace"):
        with pytest.raises(PermissionDenied, match="owner"):
            patch(image, [op(kind, "/owner", "p2")])
    assert patch(image, [op("replace", "/owner", "p1")]).is_noop
    assert patch(image, [op("replace", "/owner", "p2")], is_admin=True).image.owner == "p2"


def test_making_an_image_public_is_for_admins() -> None:
    with pytest.raises(PermissionDenied, match="public"):
        patch(make_image(), [op("replace", "/visibility", "public")])
    assert patch(make_image(), [op("replace", "/visibility", "public")],
                 is_admin=True).image.visibility == "public"
    for visibility in ("community", "private", "shared"):
        assert patch(make_image(), [op("replace", "/visibility", visibility)]
                     ).image.visibility == visibility
    already = make_image(visibility="public")
    assert patch(already, [op("replace", "/visibility", "public")]).is_noop


def test_formats_change_only_while_queued() -> None:
    queued = make_image(disk_format="qcow2")
    assert patch(queued, [op("replace", "/disk_format", "raw")]).image.disk_format == "raw"
    importing = make_image(status="importing")
    assert patch(importing, [op("replace", "/container_format", "bare")]).changed == {
        "container_format"}
    active = active_image()
    for name, value in (("disk_format", "qcow2"), ("container_format", "ovf")):
        with pytest.raises(PermissionDenied, match=f"{name} can only be changed while"):
            patch(active, [op("replace", f"/{name}", value)])
    assert patch(active, [op("replace", "/disk_format", "raw")]).is_noop


def test_nullable_schema_properties_set_to_null_are_not_stored() -> None:
    kernel = "11111111-2222-3333-4444-555555555555"
    image = make_image(properties={"ramdisk_id": kernel})
    result = patch(image, [op("add", "/kernel_id", None), op("replace", "/ramdisk_id", None)])
    assert dict(result.image.properties) == {}
    assert result.properties_removed == {"ramdisk_id"}
    with pytest.raises(BadRequest, match="does not match"):
        patch(image, [op("add", "/kernel_id", "nope")])


# --- quotas ------------------------------------------------------------------------------


def test_property_quota_is_413() -> None:
    options = ImageApiOptions(image_property_quota=2)
    image = make_image(properties={"a": "1", "b": "2"})
    with pytest.raises(LimitExceeded) as caught:
        patch(image, [op("add", "/c", "3")], options=options)
    assert caught.value.http_status == 413
    assert "at most 2" in caught.value.message
    assert dict(patch(image, [op("add", "/a", "9")], options=options).image.properties) == {
        "a": "9", "b": "2"}
    swapped = patch(image, [op("remove", "/a"), op("add", "/c", "3")], options=options)
    assert dict(swapped.image.properties) == {"b": "2", "c": "3"}


def test_an_image_over_quota_may_still_shrink() -> None:
    options = ImageApiOptions(image_property_quota=1, image_tag_quota=1)
    image = make_image(properties={"a": "1", "b": "2", "c": "3"}, tags=("x", "y", "z"))
    result = patch(image, [op("remove", "/a"), op("replace", "/tags", ["x", "y"])],
                   options=options)
    assert len(result.image.properties) == 2
    assert result.image.tags == ("x", "y")


def test_tag_quota_and_unlimited_quotas() -> None:
    with pytest.raises(LimitExceeded, match="tags"):
        patch(make_image(), [op("add", "/tags", ["a", "b", "c"])],
              options=ImageApiOptions(image_tag_quota=2))
    unlimited = ImageApiOptions(image_tag_quota=-1, image_property_quota=-1)
    body = [op("add", "/tags", [str(i) for i in range(300)])]
    body += [op("add", f"/p{i}", "v") for i in range(300)]
    result = patch(make_image(), body, options=unlimited)
    assert len(result.image.tags) == 300
    assert len(result.image.properties) == 300


# --- locations ---------------------------------------------------------------------------


def test_location_operations_are_403_while_locations_are_hidden() -> None:
    for body in ([op("add", "/locations/-", {"url": "rbd://a/b/c/d", "metadata": {}})],
                 [op("replace", "/locations", [{"url": "rbd://a/b/c/d", "metadata": {}}])],
                 [op("remove", "/locations/0")]):
        with pytest.raises(PermissionDenied, match="show_multiple_locations"):
            patch(active_image(), body, is_admin=True)


def test_replacing_locations_with_nothing_is_403() -> None:
    with pytest.raises(PermissionDenied, match="empty list"):
        patch(active_image(), [op("replace", "/locations", [])], options=LOCATIONS_ON)


def location(url: str, **extra: Any) -> dict[str, Any]:
    return {"url": url, "metadata": {}, **extra}


def test_adding_a_location_to_a_queued_image_activates_it() -> None:
    image = make_image(disk_format="raw", container_format="bare")
    result = patch(image, [op("add", "/locations/-", location("rbd://f/images/x/snap"))],
                   options=LOCATIONS_ON)
    assert result.image.status == "active"
    assert result.image.locations == (Location("rbd://f/images/x/snap"),)
    assert result.changed == {"locations", "status"}


def test_activation_needs_both_formats() -> None:
    with pytest.raises(BadRequest, match="Properties disk_format, container_format must be"):
        patch(make_image(), [op("add", "/locations/-", location("rbd://a"))],
              options=LOCATIONS_ON)
    with pytest.raises(BadRequest, match=r"^Property container_format must be"):
        patch(make_image(disk_format="raw"), [op("add", "/locations/-", location("rbd://a"))],
              options=LOCATIONS_ON)


def test_location_positions() -> None:
    image = active_image()
    first = image.locations[0].url
    result = patch(image, [op("add", "/locations/0", location("rbd://new")),
                           op("add", "/locations/-", location("rbd://last")),
                           op("add", "/locations/2", location("rbd://third"))],
                   options=LOCATIONS_ON)
    assert [loc.url for loc in result.image.locations] == [
        "rbd://new", first, "rbd://third", "rbd://last"]
    for position in ("2", "x", "-1", "٣"):
        with pytest.raises(BadRequest, match="Invalid position"):
            patch(image, [op("add", f"/locations/{position}", location("rbd://n"))],
                  options=LOCATIONS_ON)


def test_duplicate_locations_are_400() -> None:
    image = active_image()
    with pytest.raises(BadRequest, match="already exists"):
        patch(image, [op("add", "/locations/-", location(image.locations[0].url))],
              options=LOCATIONS_ON)
    with pytest.raises(BadRequest, match="twice"):
        patch(make_image(disk_format="raw", container_format="bare"),
              [op("replace", "/locations", [location("rbd://a"), location("rbd://a")])],
              options=LOCATIONS_ON)


def test_locations_change_only_while_active_or_queued() -> None:
    for status in ("saving", "deactivated", "killed", "uploading"):
        image = make_image(status=status, disk_format="raw", container_format="bare")
        with pytest.raises(ImageConflict, match=f"status {status}"):
            patch(image, [op("add", "/locations/-", location("rbd://a"))],
                  options=LOCATIONS_ON)


def test_removing_locations() -> None:
    image = active_image(locations=(Location("rbd://a"), Location("rbd://b"),
                                    Location("rbd://c")))
    with pytest.raises(PermissionDenied, match="Only an admin"):
        patch(image, [op("remove", "/locations/0")], options=LOCATIONS_ON)
    result = patch(image, [op("remove", "/locations/1"), op("remove", "/locations/-")],
                   options=LOCATIONS_ON, is_admin=True)
    assert [loc.url for loc in result.image.locations] == ["rbd://a"]
    assert [loc.url for loc in result.locations_removed] == ["rbd://b", "rbd://c"]
    with pytest.raises(PermissionDenied, match="last location"):
        patch(result.image, [op("remove", "/locations/0")], options=LOCATIONS_ON,
              is_admin=True)
    with pytest.raises(BadRequest, match="Invalid position"):
        patch(image, [op("remove", "/locations/3")], options=LOCATIONS_ON, is_admin=True)
    queued = make_image(locations=(Location("rbd://a"), Location("rbd://b")))
    with pytest.raises(ImageConflict):
        patch(queued, [op("remove", "/locations/0")], options=LOCATIONS_ON, is_admin=True)


def test_replacing_locations_keeps_urls_of_a_located_image() -> None:
    image = active_image(locations=(Location("rbd://a"), Location("rbd://b")))
    result = patch(image, [op("replace", "/locations",
                              [location("rbd://b"), {"url": "rbd://a", "metadata": {"k": 1}}])],
                   options=LOCATIONS_ON)
    assert [(loc.url, dict(loc.metadata)) for loc in result.image.locations] == [
        ("rbd://b", {}), ("rbd://a", {"k": 1})]
    assert result.locations_removed == ()
    with pytest.raises(BadRequest, match="only change their metadata"):
        patch(image, [op("replace", "/locations", [location("rbd://z")])],
              options=LOCATIONS_ON)


def test_location_quota() -> None:
    options = ImageApiOptions(show_multiple_locations=True, image_location_quota=1)
    with pytest.raises(LimitExceeded, match="locations"):
        patch(active_image(), [op("add", "/locations/-", location("rbd://more"))],
              options=options)


SHA512_HEX = "ab" * 64


def test_validation_data_fills_a_queued_images_checksums() -> None:
    image = make_image(disk_format="raw", container_format="bare")
    data = {"checksum": "0f" * 16, "os_hash_algo": "sha512", "os_hash_value": SHA512_HEX}
    result = patch(image, [op("add", "/locations/-", location("rbd://a", validation_data=data))],
                   options=LOCATIONS_ON)
    assert (result.image.checksum, result.image.os_hash_algo, result.image.os_hash_value) == (
        "0f" * 16, "sha512", SHA512_HEX)
    assert {"checksum", "os_hash_algo", "os_hash_value", "status"} <= result.changed


@pytest.mark.parametrize(
    ("data", "problem"),
    [({"os_hash_algo": "sha256", "os_hash_value": "ab" * 32}, "must be sha512"),
     ({"os_hash_algo": "sha512", "os_hash_value": "zz"}, "not a hexadecimal"),
     ({"os_hash_algo": "sha512", "os_hash_value": "ab"}, "64 bytes"),
     ({"checksum": "g" * 32, "os_hash_algo": "sha512", "os_hash_value": SHA512_HEX},
      "not a hexadecimal")],
)
def test_bad_validation_data_is_409(data: dict[str, str], problem: str) -> None:
    image = make_image(disk_format="raw", container_format="bare")
    with pytest.raises(ImageConflict, match=problem):
        patch(image, [op("add", "/locations/-", location("rbd://a", validation_data=data))],
              options=LOCATIONS_ON)


def test_validation_data_must_agree_with_an_active_image() -> None:
    image = active_image()
    same = {"checksum": image.checksum, "os_hash_algo": "sha512",
            "os_hash_value": image.os_hash_value}
    result = patch(image, [op("add", "/locations/-", location("rbd://b", validation_data=same))],
                   options=LOCATIONS_ON)
    assert len(result.image.locations) == 2
    other = {**same, "os_hash_value": SHA512_HEX}
    with pytest.raises(ImageConflict, match="already set with a different value"):
        patch(image, [op("add", "/locations/-", location("rbd://b", validation_data=other))],
              options=LOCATIONS_ON)
    no_checksum = active_image(checksum=None)
    with pytest.raises(ImageConflict, match="only be given while the image is queued"):
        patch(no_checksum, [op("add", "/locations/-", location(
            "rbd://b", validation_data={**same, "checksum": "0f" * 16}))], options=LOCATIONS_ON)


def test_conflicting_validation_data_between_locations_is_409() -> None:
    image = make_image(disk_format="raw", container_format="bare")
    one = {"os_hash_algo": "sha512", "os_hash_value": SHA512_HEX}
    two = {"os_hash_algo": "sha512", "os_hash_value": "cd" * 64}
    with pytest.raises(ImageConflict, match="Conflicting values for os_hash_value"):
        patch(image, [op("replace", "/locations", [location("rbd://a", validation_data=one),
                                                   location("rbd://b", validation_data=two)])],
              options=LOCATIONS_ON)


# --- properties, checked against a model -------------------------------------------------

KEYS = st.sampled_from(["a", "b", "c", "hw_disk_bus"])
OPERATIONS = st.lists(
    st.tuples(st.sampled_from(["add", "replace", "remove"]), KEYS, st.sampled_from(["1", "2"])),
    max_size=8,
)


@given(st.dictionaries(KEYS, st.sampled_from(["1", "2"])), OPERATIONS)
def test_property_operations_match_a_dict_model(
    start: dict[str, str], operations: list[tuple[str, str, str]]
) -> None:
    image = make_image(properties=start)
    model = dict(start)
    conflict = False
    for kind, key, value in operations:
        if kind in ("replace", "remove") and key not in model:
            conflict = True
            break
        if kind == "remove":
            del model[key]
        else:
            model[key] = value
    parsed = tuple(PatchOperation(kind, (key,), None if kind == "remove" else value)  # type: ignore[arg-type]
                   for kind, key, value in operations)
    if conflict:
        with pytest.raises(ImageConflict):
            apply_patch(image, parsed, DEFAULT_OPTIONS, is_admin=False)
        return
    result = apply_patch(image, parsed, DEFAULT_OPTIONS, is_admin=False)
    assert dict(result.image.properties) == model
    assert dict(image.properties) == start
    assert result.properties_removed == start.keys() - model.keys()
    assert result.properties_set == {k: v for k, v in model.items() if start.get(k) != v}


def test_parse_patch_returns_typed_operations() -> None:
    parsed = parse_patch([op("add", "/locations/-", location("rbd://a")), op("remove", "/k")],
                         V21, DEFAULT_OPTIONS)
    assert parsed == (PatchOperation("add", ("locations", "-"), location("rbd://a")),
                      PatchOperation("remove", ("k",)))
    assert parsed[0].attribute == "locations"
    legacy = parse_patch([{"remove": "/k"}], V20, DEFAULT_OPTIONS)
    assert legacy == (PatchOperation("remove", ("k",), legacy=True),)


def test_errors_are_api_errors_with_statuses() -> None:
    errors = [(ImageConflict("x"), 409), (LimitExceeded("tags", 3, 2), 413),
              (UnsupportedPatch("text/plain"), 415)]
    for error, status in errors:
        assert isinstance(error, ShoalError)
        assert isinstance(error, (ApiError, ImageConflict))
        assert error.http_status == status
        assert error.safe
