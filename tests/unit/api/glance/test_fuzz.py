"""Arbitrary client input never crashes the image API's pure parts: a 4xx or a result."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from shoal.api.glance.create import parse_create
from shoal.api.glance.members import parse_member_create, parse_member_update
from shoal.api.glance.options import ImageApiOptions
from shoal.api.glance.patch import patch_image
from shoal.api.glance.query import apply_query, parse_query
from shoal.errors import ShoalError
from tests.unit.api.glance._glance_images import V20, V21, active_image, make_image

OPTIONS = ImageApiOptions(show_multiple_locations=True, image_property_quota=4)
NAMES = st.sampled_from(["name", "tags", "min_disk", "visibility", "protected", "owner",
                         "disk_format", "status", "locations", "hw_disk_bus", "kernel_id",
                         "os_glance_x", "id", ""]) | st.text(max_size=6)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=4) | NAMES, children, max_size=3),
    max_leaves=8,
)
POINTERS = (st.builds(lambda n: "/" + n, NAMES)
            | st.sampled_from(["/locations/-", "/locations/0", "/locations/9", "/a/b", "x",
                               "/~2", "/tags/-"]))
OPERATION = st.fixed_dictionaries(
    {"op": st.sampled_from(["add", "remove", "replace", "test"]), "path": POINTERS},
    optional={"value": JSON},
)
LEGACY = st.builds(lambda op, path, value: {op: path, "value": value},
                   st.sampled_from(["add", "remove", "replace"]), POINTERS, JSON)


def assert_client_error(exc: ShoalError) -> None:
    assert 400 <= exc.http_status < 500, exc
    assert exc.safe and exc.message


@settings(max_examples=300)
@given(st.lists(OPERATION | LEGACY, max_size=4) | JSON, st.sampled_from([V21, V20]),
       st.booleans(), st.sampled_from(["queued", "active", "saving"]))
def test_patch_never_crashes(body: Any, content_type: str, is_admin: bool, status: str) -> None:
    image = (active_image(status=status) if status != "queued"
             else make_image(disk_format="raw", container_format="bare"))
    try:
        result = patch_image(image, body, content_type, OPTIONS, is_admin=is_admin)
    except ShoalError as exc:
        assert_client_error(exc)
    else:
        assert len(result.image.properties) <= max(4, len(image.properties))


@settings(max_examples=200)
@given(JSON | st.dictionaries(NAMES, JSON, max_size=4), st.booleans())
def test_create_never_crashes(body: Any, is_admin: bool) -> None:
    try:
        new = parse_create(body, OPTIONS, project_id="p1", is_admin=is_admin)
    except ShoalError as exc:
        assert_client_error(exc)
    else:
        new.to_record("11111111-2222-3333-4444-555555555555", make_image().created_at)


PARAM_NAMES = st.sampled_from([
    "limit", "marker", "sort", "sort_key", "sort_dir", "visibility", "member_status",
    "os_hidden", "protected", "name", "id", "status", "created_at", "updated_at", "size_min",
    "tag", "owner", "min_disk", "changes-since", "hw_disk_bus"]) | st.text(max_size=5)
PARAM_VALUES = st.sampled_from([
    "", "1", "-1", "in:a,b", 'in:"a', "gt:2026-01-01", "name:asc", "true", "all", "eq:x",
    "2026-11-23T18:01:00Z", "lt:9999-12-31T23:59:59-05:00", "0001-01-01T00:00+01:00",
]) | st.text(max_size=8)


@settings(max_examples=300)
@given(st.lists(st.tuples(PARAM_NAMES, PARAM_VALUES), max_size=5))
def test_listing_never_crashes(params: list[tuple[str, str]]) -> None:
    images = [make_image(n, name=name) for n, name in enumerate(["a", None, "b"], start=1)]
    try:
        query = parse_query(params, OPTIONS)
        page, _ = apply_query(images, query, project_id="p1", is_admin=False)
    except ShoalError as exc:
        assert_client_error(exc)
    else:
        assert len(page) <= query.limit


@given(JSON)
def test_member_bodies_never_crash(body: Any) -> None:
    for parse in (parse_member_create, parse_member_update):
        try:
            parse(body)
        except ShoalError as exc:
            assert_client_error(exc)
