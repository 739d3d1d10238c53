"""Arbitrary client input never crashes the volume API's pure parts: a 4xx or a result."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from shoal.api._microversion import APIVersion
from shoal.api.cinder import actions, create, update
from shoal.api.cinder.query import apply_query, parse_query
from shoal.errors import ShoalError
from tests.unit.services.volume.test_records import P1, make_backup, make_snapshot, make_volume, rid

VERSIONS = st.builds(APIVersion, st.just(3), st.integers(0, 71))
KEYS = st.sampled_from([
    "size", "name", "description", "display_name", "imageRef", "image_id", "snapshot_id",
    "source_volid", "backup_id", "volume_type", "metadata", "availability_zone",
    "multiattach", "group_id", "consistencygroup_id", "volume_id", "force", "incremental",
    "container", "new_size", "status", "attach_status", "bootable", "readonly",
    "connector", "mountpoint", "instance_uuid", "new_type", "image_name", "disk_format",
    "key", "is_public", "extra_specs", "volume_uuid", "mode", "",
]) | st.text(max_size=6)
SCALARS = (st.none() | st.booleans() | st.integers(-(2**40), 2**40)
           | st.floats(allow_nan=False) | st.text(max_size=8)
           | st.sampled_from(["1", "0", "true", "yes", rid("v", 1), "cirros", "available",
                              "a" * 256]))
JSON = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(KEYS, children, max_size=4),
    max_leaves=10,
)
WRAPPERS = st.sampled_from([
    "volume", "snapshot", "backup", "restore", "metadata", "meta", "volume_type",
    "os-extend", "os-reset_status", "os-set_bootable", "os-update_readonly_flag", "revert",
    "os-attach", "os-detach", "os-initialize_connection", "os-terminate_connection",
    "os-force_detach", "os-retype", "os-volume_upload_image", "os-set_image_metadata",
    "os-unset_image_metadata", "os-reimage", "os-reserve", "os-update_snapshot_status",
    "OS-SCH-HNT:scheduler_hints", "attachment", "os-complete",
])
BODIES = JSON | st.dictionaries(WRAPPERS, JSON | st.dictionaries(KEYS, JSON, max_size=5),
                                max_size=2)


def assert_client_error(exc: ShoalError) -> None:
    assert 400 <= exc.http_status < 500, exc
    assert exc.safe and exc.message


@settings(max_examples=400)
@given(BODIES, VERSIONS)
def test_create_bodies_never_crash(body: Any, version: APIVersion) -> None:
    for parse in (create.parse_volume_create, create.parse_snapshot_create,
                  create.parse_backup_create, create.parse_attachment_create):
        try:
            parse(body, version)
        except ShoalError as exc:
            assert_client_error(exc)
    try:
        create.parse_backup_restore(body)
    except ShoalError as exc:
        assert_client_error(exc)


@settings(max_examples=300)
@given(BODIES, VERSIONS, st.sampled_from(["k", "", "a b"]))
def test_update_bodies_never_crash(body: Any, version: APIVersion, key: str) -> None:
    calls = [
        lambda: update.parse_volume_update(body, version),
        lambda: update.parse_snapshot_update(body),
        lambda: update.parse_backup_update(body, version),
        lambda: update.parse_metadata(body),
        lambda: update.parse_metadata_item(body, key),
        lambda: update.parse_volume_type_create(body),
        lambda: update.parse_volume_type_update(body),
        lambda: update.parse_attachment_update(body, version),
    ]
    for call in calls:
        try:
            call()
        except ShoalError as exc:
            assert_client_error(exc)


@settings(max_examples=400)
@given(BODIES, VERSIONS)
def test_action_bodies_never_crash(body: Any, version: APIVersion) -> None:
    for call in (lambda: actions.parse_volume_action(body, version),
                 lambda: actions.parse_snapshot_action(body),
                 lambda: actions.parse_backup_action(body),
                 lambda: actions.parse_attachment_action(body, version)):
        try:
            call()
        except ShoalError as exc:
            assert_client_error(exc)


PARAM_NAMES = st.sampled_from([
    "limit", "marker", "offset", "sort", "sort_key", "sort_dir", "all_tenants",
    "with_count", "name", "name~", "status", "metadata", "bootable", "size",
    "availability_zone", "created_at", "updated_at", "consumes_quota", "glance_metadata",
    "project_id", "host", "volume_id", "group_id", "migration_status", "id", "bogus~",
]) | st.text(max_size=5)
PARAM_VALUES = st.sampled_from([
    "", "1", "-1", "0", "true", "maybe", "name:asc,size", "created_at:sideways", "asc",
    "{'k': 'v'}", "{'k': 1}", "['available', 'error']", "[1, [2]]", "gt:2026-11-23T18:00:00",
    "lt:9999-12-31T23:59:59,gte:0001-01-01", "gt:nope", "%", "vol_", rid("v", 1),
    "shoal@ceph", "(" * 50, "9" * 30,
]) | st.text(max_size=8)
RECORDS = {
    "volume": [make_volume(1), make_volume(2, project_id="other"),
               make_volume(3, name=None, migration_status="target:x", metadata={"k": "v"})],
    "snapshot": [make_snapshot(1), make_snapshot(2, name=None)],
    "backup": [make_backup(1), make_backup(2, description="d")],
}


@settings(max_examples=400)
@given(st.sampled_from(["volume", "snapshot", "backup"]),
       st.lists(st.tuples(PARAM_NAMES, PARAM_VALUES), max_size=5), VERSIONS, st.booleans())
def test_listing_never_crashes(resource: str, params: list[tuple[str, str]],
                               version: APIVersion, is_admin: bool) -> None:
    try:
        query = parse_query(resource, params, version, is_admin=is_admin)
        result = apply_query(RECORDS[resource], query, project_id=P1, is_admin=is_admin)
    except ShoalError as exc:
        assert_client_error(exc)
    else:
        assert len(result.items) <= query.limit
        assert result.count is None or result.count >= len(result.items)
