"""List queries of volumes, snapshots and backups: parsing, filters, sorting, paging."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shoal.api import BadRequest
from shoal.api._microversion import APIVersion
from shoal.api.cinder.options import VolumeApiOptions
from shoal.api.cinder.query import (
    Filter,
    ListQuery,
    apply_query,
    parse_bool_param,
    parse_query,
)
from shoal.errors import NotFound
from shoal.services.volume.records import VolumeRecord
from tests.unit.services.volume.test_records import (
    BASE_TIME,
    P1,
    P2,
    make_backup,
    make_snapshot,
    make_volume,
    rid,
)

V30 = APIVersion(3, 0)
LATEST = APIVersion(3, 71)


def parse(*params: tuple[str, str], version: APIVersion = LATEST, admin: bool = False,
          resource: str = "volume", options: VolumeApiOptions | None = None) -> ListQuery:
    return parse_query(resource, params, version, is_admin=admin,
                       options=options or VolumeApiOptions())


def ids(records: list[Any]) -> list[str]:
    return [r.id for r in records]


def listing(records: list[Any], *params: tuple[str, str], admin: bool = False,
            version: APIVersion = LATEST, resource: str = "volume",
            project: str = P1) -> list[str]:
    query = parse(*params, version=version, admin=admin, resource=resource)
    return ids(apply_query(records, query, project_id=project, is_admin=admin).items)


# --- paging and sorting ------------------------------------------------------------------


def test_defaults() -> None:
    query = parse()
    assert query == ListQuery(resource="volume", limit=1000)
    assert query.sort == (("created_at", "desc"), ("id", "desc"))


@pytest.mark.parametrize(("text", "limit"), [("5", 5), ("0", 0), ("1000", 1000),
                                             ("5000", 1000)])
def test_limit(text: str, limit: int) -> None:
    assert parse(("limit", text)).limit == limit


@pytest.mark.parametrize(("name", "text", "problem"), [
    ("limit", "x", "limit param must be an integer"),
    ("limit", "-1", "limit param must be positive"),
    ("offset", "1.5", "offset param must be an integer"),
    ("offset", "-1", "offset must be from 0"),
    ("offset", str(2**31), "offset must be from 0"),
])
def test_bad_paging_is_400(name: str, text: str, problem: str) -> None:
    with pytest.raises(BadRequest, match=problem):
        parse((name, text))


def test_page_size_follows_the_option() -> None:
    assert parse(options=VolumeApiOptions(osapi_max_limit=10)).limit == 10
    assert parse(("limit", "50"), options=VolumeApiOptions(osapi_max_limit=10)).limit == 10


@pytest.mark.parametrize(("params", "sort"), [
    ((("sort", "name:asc,size"),), (("name", "asc"), ("size", "desc"),
                                    ("created_at", "asc"), ("id", "asc"))),
    ((("sort", "id"),), (("id", "desc"), ("created_at", "desc"))),
    ((("sort_key", "size"), ("sort_dir", "asc")), (("size", "asc"), ("created_at", "asc"),
                                                   ("id", "asc"))),
    ((("sort_key", "display_name"),), (("name", "desc"), ("created_at", "desc"),
                                       ("id", "desc"))),
])
def test_sort_syntaxes(params: tuple[tuple[str, str], ...],
                       sort: tuple[tuple[str, str], ...]) -> None:
    assert parse(*params).sort == sort


@pytest.mark.parametrize(("params", "problem"), [
    ((("sort", "name"), ("sort_key", "size")), "cannot be used with the 'sort'"),
    ((("sort", "colour"),), "Invalid sort key 'colour'"),
    ((("sort", ""),), "Invalid sort key ''"),
    ((("sort", "name:up"),), "Unknown sort direction 'up'"),
    ((("sort_dir", "DESC"),), "Unknown sort direction"),
])
def test_bad_sorts_are_400(params: tuple[tuple[str, str], ...], problem: str) -> None:
    with pytest.raises(BadRequest, match=problem):
        parse(*params)


def volumes() -> list[VolumeRecord]:
    return [
        make_volume(1, name="b", size=3),
        make_volume(2, name="a", size=1, bootable=True, metadata={"k": "v"}),
        make_volume(3, name=None, size=2, status="in-use"),
        make_volume(4, name="c", size=1, project_id=P2),
    ]


def test_default_order_is_newest_first_within_the_project() -> None:
    assert listing(volumes()) == [rid("v", 3), rid("v", 2), rid("v", 1)]


def test_sorting_with_tie_breakers_and_nulls_first_ascending() -> None:
    assert listing(volumes(), ("sort", "size:asc")) == [rid("v", 2), rid("v", 3), rid("v", 1)]
    assert listing(volumes(), ("sort", "name:asc")) == [rid("v", 3), rid("v", 2), rid("v", 1)]
    assert listing(volumes(), ("sort", "name:desc")) == [rid("v", 1), rid("v", 2), rid("v", 3)]


def test_marker_offset_and_limit() -> None:
    assert listing(volumes(), ("limit", "1")) == [rid("v", 3)]
    assert listing(volumes(), ("marker", rid("v", 3))) == [rid("v", 2), rid("v", 1)]
    assert listing(volumes(), ("marker", rid("v", 3)), ("offset", "1")) == [rid("v", 1)]
    assert listing(volumes(), ("offset", "5")) == []
    # the marker need not match the filters (Cinder positions by its sort values)
    assert listing(volumes(), ("marker", rid("v", 3)), ("status", "available")) == [
        rid("v", 2), rid("v", 1)]


def test_unknown_or_foreign_markers_are_404() -> None:
    with pytest.raises(NotFound, match=f"Volume {rid('v', 9)} could not be found"):
        listing(volumes(), ("marker", rid("v", 9)))
    with pytest.raises(NotFound):
        listing(volumes(), ("marker", rid("v", 4)))  # another project's
    assert listing(volumes(), ("marker", rid("v", 4)), admin=True) == [rid("v", 3),
                                                                       rid("v", 2),
                                                                       rid("v", 1)]
    with pytest.raises(NotFound, match="Snapshot"):
        listing([make_snapshot()], ("marker", "x"), resource="snapshot")


def test_count() -> None:
    query = parse(("with_count", "true"), ("limit", "1"))
    result = apply_query(volumes(), query, project_id=P1, is_admin=False)
    assert (len(result.items), result.count) == (1, 3)
    assert apply_query(volumes(), parse(), project_id=P1, is_admin=False).count is None
    with pytest.raises(BadRequest, match="not a boolean"):
        parse(("with_count", "lots"))
    with pytest.raises(BadRequest, match="Invalid filters with_count"):
        parse(("with_count", "true"), version=APIVersion(3, 44))


# --- projects ------------------------------------------------------------------------------


def test_all_tenants_is_for_admins_and_ignored_for_others() -> None:
    assert listing(volumes(), ("all_tenants", "1")) == [rid("v", 3), rid("v", 2), rid("v", 1)]
    assert parse(("all_tenants", "1")).all_projects is False
    assert listing(volumes(), ("all_tenants", "True"), admin=True) == [
        rid("v", 4), rid("v", 3), rid("v", 2), rid("v", 1)]
    assert listing(volumes(), ("all_tenants", "1"), ("project_id", P2), admin=True) == [
        rid("v", 4)]
    assert listing(volumes(), admin=True) == [rid("v", 3), rid("v", 2), rid("v", 1)]
    # without all_tenants the admin's own project wins over a project_id filter
    assert listing(volumes(), ("project_id", P2), admin=True) == [rid("v", 3), rid("v", 2),
                                                                  rid("v", 1)]
    with pytest.raises(BadRequest, match="not a boolean"):
        parse(("all_tenants", "everyone"))
    # before 3.31 non-admins' all_tenants is dropped with the other unknown filters
    assert parse(("all_tenants", "everyone"), version=V30).all_projects is False


def test_cinderclient_show_by_name_as_a_member() -> None:
    """``cinder show V`` lists ``detail?all_tenants=1&name=V`` at 3.71 as a member."""
    assert listing(volumes(), ("all_tenants", "1"), ("name", "a")) == [rid("v", 2)]


def test_migration_targets_are_hidden_from_users() -> None:
    records = [make_volume(1), make_volume(2, migration_status="target:" + rid("v", 1))]
    assert listing(records) == [rid("v", 1)]
    assert listing(records, admin=True) == [rid("v", 2), rid("v", 1)]


# --- which filters who may use -------------------------------------------------------------


def test_non_admins_get_400_for_unconfigured_filters_from_3_31() -> None:
    with pytest.raises(BadRequest, match="Invalid filters project_id,colour are found"):
        parse(("project_id", P2), ("colour", "red"))
    with pytest.raises(BadRequest, match="Invalid filters"):
        parse(("volume_id", rid("v", 1)), resource="volume")
    assert parse(("volume_id", rid("v", 1)), resource="snapshot").filters


def test_before_3_31_unknown_filters_are_dropped() -> None:
    assert parse(("colour", "red"), ("size", "1"), version=APIVersion(3, 30)).filters == ()
    assert parse(("name", "a"), version=V30).filters == (
        Filter("display_name", "name", "eq", "a"),)
    assert parse(("size", "1"), version=V30, admin=True).filters == (
        Filter("size", "size", "eq", 1),)


@pytest.mark.parametrize(("name", "first"), [
    ("glance_metadata", "3.4"), ("group_id", "3.10"), ("created_at", "3.60"),
    ("updated_at", "3.60"), ("consumes_quota", "3.65"),
])
def test_newer_volume_filters_are_dropped_before_their_version(name: str, first: str) -> None:
    """As Cinder, only on the legacy path (before 3.31); from 3.31 on the configured
    filters decide for users, and admins may use any."""
    value = {"glance_metadata": "{'a': 'b'}", "group_id": "g", "created_at": "gt:2026-01-01",
             "updated_at": "lt:2026-01-01", "consumes_quota": "true"}[name]
    since = APIVersion.parse(first)
    before = APIVersion(3, min(since.minor - 1, 30))
    assert parse((name, value), version=before, admin=True).filters == ()
    if since < APIVersion(3, 31):
        assert parse((name, value), version=since, admin=True).filters
    assert parse((name, value), version=APIVersion(3, 31), admin=True).filters


def test_snapshot_metadata_filter_needs_3_22_before_3_31() -> None:
    assert parse(("metadata", "{'k': 'v'}"), resource="snapshot",
                 version=APIVersion(3, 21)).filters == ()
    assert parse(("metadata", "{'k': 'v'}"), resource="snapshot",
                 version=APIVersion(3, 22)).filters


def test_like_filter_needs_3_34_and_configuration() -> None:
    with pytest.raises(BadRequest, match="Invalid filters name~"):
        parse(("name~", "vol"))
    like = VolumeApiOptions(resource_filters={"volume": ("name~", "status")})
    # before 3.34 a configured 'name~' is only itself: plain 'name' is refused
    with pytest.raises(BadRequest, match="Invalid filters name are found"):
        parse(("name", "vol"), version=APIVersion(3, 33), options=like)
    query = parse(("name~", "VOL"), ("name", "x"), options=like)
    assert query.filters[0] == Filter("display_name~", "name", "like", "VOL")
    assert parse(("name~", "vol"), admin=True).filters[0].op == "like"


def test_non_ascii_filter_keys_are_400() -> None:
    with pytest.raises(BadRequest, match="ASCII"):
        parse(("nämé", "x"), admin=True)


# --- filter values ------------------------------------------------------------------------


def test_exact_and_list_filters() -> None:
    assert listing(volumes(), ("status", "in-use")) == [rid("v", 3)]
    assert listing(volumes(), ("status", "['in-use', 'error']")) == [rid("v", 3)]
    assert listing(volumes(), ("size", "1")) == [rid("v", 2)]
    assert listing(volumes(), ("name", "'a'")) == []  # names are taken as sent
    assert listing(volumes(), ("availability_zone", "nova"), ("status", "available")) == [
        rid("v", 2), rid("v", 1)]


def test_metadata_filters() -> None:
    records = [*volumes(), make_volume(5, admin_metadata={"readonly": "True"})]
    assert listing(records, ("metadata", "{'k': 'v'}")) == [rid("v", 2)]
    assert listing(records, ("metadata", "{'readonly': True}")) == [rid("v", 5)]
    assert listing(records, ("metadata", "{}")) == [rid("v", 5), rid("v", 3), rid("v", 2),
                                                    rid("v", 1)]
    for bad in ("k=v", "{1: 'v'}", "['k']"):
        with pytest.raises(BadRequest, match="dict literal"):
            parse(("metadata", bad))


def test_image_metadata_filter() -> None:
    records = [make_volume(1, image_metadata={"image_name": "cirros"}), make_volume(2)]
    assert listing(records, ("glance_metadata", "{'image_name': 'cirros'}"), admin=True) == [
        rid("v", 1)]


@pytest.mark.parametrize(("version", "text", "expected"), [
    (LATEST, "true", [rid("v", 2)]), (LATEST, "0", [rid("v", 3), rid("v", 1)]),
    (LATEST, "YES", [rid("v", 2)]), (V30, "TRUE", [rid("v", 2)]),
    (V30, "false", [rid("v", 3), rid("v", 1)]), (V30, "whatever", [rid("v", 2)]),
])
def test_boolean_filters(version: APIVersion, text: str, expected: list[str]) -> None:
    assert listing(volumes(), ("bootable", text), version=version) == expected


def test_strict_booleans_from_3_2() -> None:
    with pytest.raises(BadRequest, match="'bootable = whatever'"):
        parse(("bootable", "whatever"), version=APIVersion(3, 2))
    with pytest.raises(BadRequest, match="consumes_quota"):
        parse(("consumes_quota", "perhaps"))


def test_consumes_quota_filter() -> None:
    records = [make_volume(1), make_volume(2, use_quota=False)]
    assert listing(records, ("consumes_quota", "false")) == [rid("v", 2)]


def test_time_comparison_filters() -> None:
    at = (BASE_TIME + timedelta(minutes=2)).replace(tzinfo=None).isoformat()
    assert listing(volumes(), ("created_at", f"gt:{at}")) == [rid("v", 3)]
    assert listing(volumes(), ("created_at", f"gte:{at},lt:2100-01-01T00:00:00")) == [
        rid("v", 3), rid("v", 2)]
    assert listing(volumes(), ("updated_at", f"neq:{at}")) == [rid("v", 3), rid("v", 2),
                                                               rid("v", 1)]
    never = [make_volume(1, updated_at=None)]
    assert listing(never, ("updated_at", "lt:2100-01-01T00:00:00Z")) == []
    for bad, problem in (("2026-01-01", "Invalid 2026-01-01 operator"),
                         ("after:2026-01-01", "Invalid after operator"),
                         ("gt:yesterday", "Invalid yesterday value")):
        with pytest.raises(BadRequest, match=problem):
            parse(("created_at", bad))


def test_like_matching_is_a_case_insensitive_substring_with_wildcards() -> None:
    records = [make_volume(1, name="Web-Data"), make_volume(2, name="db_1"),
               make_volume(3, name=None)]
    assert listing(records, ("name~", "data"), admin=True) == [rid("v", 1)]
    assert listing(records, ("name~", "b_"), admin=True) == [rid("v", 2), rid("v", 1)]
    assert listing(records, ("name~", "w%a"), admin=True) == [rid("v", 1)]
    assert listing(records, ("description~", "x"), admin=True) == []


def test_host_filter_matches_backends_and_pools() -> None:
    records = [make_volume(1, host="shoal@ceph#ceph"), make_volume(2, host="other@ceph#c"),
               make_volume(3, host=None)]
    for wanted in ("shoal", "shoal@ceph", "shoal@ceph#ceph"):
        assert listing(records, ("host", wanted), admin=True) == [rid("v", 1)]
    assert listing(records, ("host", "shoal#ceph"), admin=True) == []


def test_unknown_attributes_match_nothing_for_admins() -> None:
    assert listing(volumes(), ("colour", "red"), admin=True) == []
    assert listing(volumes(), ("description", "x"), admin=True) == []
    assert parse(("colour~", "r"), admin=True).filters[0].op == "none"


# --- snapshots and backups ----------------------------------------------------------------


def test_snapshot_listing() -> None:
    records = [make_snapshot(1, metadata={"k": "v"}), make_snapshot(2, status="error"),
               make_snapshot(3, project_id=P2)]
    assert listing(records, resource="snapshot") == [rid("s", 2), rid("s", 1)]
    assert listing(records, ("status", "error"), resource="snapshot") == [rid("s", 2)]
    assert listing(records, ("metadata", "{'k': 'v'}"), resource="snapshot") == [rid("s", 1)]
    assert listing(records, ("sort", "name:asc"), resource="snapshot") == [rid("s", 1),
                                                                           rid("s", 2)]
    assert listing(records, ("volume_size", "1"), resource="snapshot", admin=True) == [
        rid("s", 2), rid("s", 1)]
    with pytest.raises(BadRequest, match="Invalid sort key 'size'"):
        parse(("sort", "size"), resource="snapshot")


def test_backup_listing() -> None:
    records = [make_backup(1), make_backup(2, volume_id=rid("v", 2)),
               make_backup(3, project_id=P2)]
    assert listing(records, resource="backup") == [rid("b", 2), rid("b", 1)]
    assert listing(records, ("volume_id", rid("v", 2)), resource="backup") == [rid("b", 2)]
    assert listing(records, ("all_tenants", "1"), resource="backup", admin=True) == [
        rid("b", 3), rid("b", 2), rid("b", 1)]
    with pytest.raises(BadRequest, match="Invalid filters metadata"):
        parse(("metadata", "{}"), resource="backup")
    assert parse(("metadata", "{}"), resource="backup", admin=True).filters[0].op == "none"
    assert listing(records, ("name", "backup-1"), resource="backup", version=V30) == [
        rid("b", 1)]


def test_parse_bool_param() -> None:
    assert parse_bool_param("x", " On ") is True
    assert parse_bool_param("x", "N") is False
    with pytest.raises(BadRequest):
        parse_bool_param("x", "2")
    with pytest.raises(ValueError, match="resource"):
        parse_query("group", [], V30, is_admin=False)


def test_nul_characters_are_400() -> None:
    with pytest.raises(BadRequest, match="NUL"):
        parse(("name", "a\x00"))


def test_times_are_compared_in_utc() -> None:
    # 19:02:30+01:00 is 18:02:30 UTC: only volume 3 (18:03) is later
    assert listing(volumes(), ("created_at", "gt:2026-11-23T19:02:30+01:00")) == [
        rid("v", 3)]
    later = datetime(2026, 11, 23, 18, 2, 30, tzinfo=UTC).isoformat()
    assert listing(volumes(), ("created_at", f"lte:{later}")) == [rid("v", 2), rid("v", 1)]
