"""GET /v2/images: query parsing, visibility rules, filters, sorting and paging."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shoal.api import BadRequest
from shoal.api.glance.options import DEFAULT_OPTIONS, ImageApiOptions
from shoal.api.glance.query import (
    ImageQuery,
    TimeFilter,
    apply_query,
    is_visible,
    parse_query,
    split_in_values,
)
from shoal.services.image.records import ImageRecord
from tests.unit.api.glance._glance_images import BASE_TIME, active_image, image_id, make_image


def parse(*params: tuple[str, str], options: ImageApiOptions = DEFAULT_OPTIONS) -> ImageQuery:
    return parse_query(params, options)


# --- parsing ---------------------------------------------------------------------------


def test_defaults() -> None:
    query = parse()
    assert query == ImageQuery(limit=25)
    assert query.sort == (("created_at", "desc"),)
    assert (query.member_status, query.visibility, query.os_hidden) == ("accepted", None, False)


@pytest.mark.parametrize(("text", "limit"), [("5", 5), ("0", 0), ("1000", 1000),
                                             ("5000", 1000)])
def test_limit(text: str, limit: int) -> None:
    assert parse(("limit", text)).limit == limit


@pytest.mark.parametrize(("text", "problem"), [("x", "must be an integer"),
                                               ("1.5", "must be an integer"),
                                               ("-1", "must be 0 or more")])
def test_bad_limits_are_400(text: str, problem: str) -> None:
    with pytest.raises(BadRequest, match=problem):
        parse(("limit", text))


def test_default_limit_never_exceeds_the_maximum() -> None:
    options = ImageApiOptions(limit_param_default=50, api_limit_max=10)
    assert parse(options=options).limit == 10
    assert parse(("limit", "20"), options=options).limit == 10


@pytest.mark.parametrize(
    ("params", "sort"),
    [
        ([("sort_key", "name")], (("name", "desc"),)),
        ([("sort_dir", "asc")], (("created_at", "asc"),)),
        ([("sort_key", "name"), ("sort_key", "size"), ("sort_dir", "asc")],
         (("name", "asc"), ("size", "asc"))),
        ([("sort_key", "name"), ("sort_dir", "asc"), ("sort_key", "size"),
          ("sort_dir", "desc")], (("name", "asc"), ("size", "desc"))),
        ([("sort", "name:asc,size")], (("name", "asc"), ("size", "desc"))),
        ([("sort", " status:desc , id:asc")], (("status", "desc"), ("id", "asc"))),
    ],
)
def test_sorting_syntaxes(params: list[tuple[str, str]], sort: tuple[tuple[str, str], ...]) -> None:
    assert parse(*params).sort == sort


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ([("sort_key", "owner")], "Invalid sort key: 'owner'. It must be one of: name,"),
        ([("sort_dir", "up")], "Invalid sort direction: 'up'"),
        ([("sort", "name:sideways")], "Invalid sort direction"),
        ([("sort", "name,")], "Invalid sort key: ''"),
        ([("sort", "name"), ("sort_key", "size")], "not both"),
        ([("sort_key", "name"), ("sort_dir", "asc"), ("sort_dir", "desc"), ("sort_key", "size"),
          ("sort_key", "id")], "3 sort_key values"),
        ([("sort_dir", "asc"), ("sort_dir", "desc")], "2 sort_dir values for 0 sort_key"),
    ],
)
def test_bad_sorting_is_400(params: list[tuple[str, str]], problem: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse(*params)
    assert problem in caught.value.message


def test_choices() -> None:
    for value in ("public", "private", "shared", "community", "all"):
        assert parse(("visibility", value)).visibility == value
    for value in ("pending", "accepted", "rejected", "all"):
        assert parse(("member_status", value)).member_status == value
    with pytest.raises(BadRequest, match="Invalid visibility value 'everyone'"):
        parse(("visibility", "everyone"))
    with pytest.raises(BadRequest, match="Invalid member_status value 'yes'"):
        parse(("member_status", "yes"))


def test_boolean_filters() -> None:
    assert parse(("os_hidden", "TRUE")).os_hidden is True
    assert parse(("protected", "false")).protected is False
    assert parse(("protected", "true")).protected is True
    with pytest.raises(BadRequest, match="'os_hidden' filter: give true or false"):
        parse(("os_hidden", "1"))
    with pytest.raises(BadRequest, match="'protected' filter"):
        parse(("protected", "True"))


@pytest.mark.parametrize(
    ("expression", "values"),
    [("cirros", ("cirros",)), ("eq:cirros", ("cirros",)), ("ubuntu:22.04", ("ubuntu:22.04",)),
     ("eq:a:b", ("a:b",)), ("in:a,b", ("a", "b")), ('in:"a,b",c', ("a,b", "c")),
     ('in:"say \\"hi\\"",x', ('say "hi"', "x")), ("in:a,,b", ("a", "", "b")),
     ("in:a,", ("a",)), ("in:", ()), ("eq:", ("",))],
)
def test_set_filters(expression: str, values: tuple[str, ...]) -> None:
    query = parse(("name", expression), ("id", expression))
    assert query.name == values
    assert query.id == values


@pytest.mark.parametrize(
    ("expression", "problem"),
    [("gt:x", "operator 'gt'"), ("neq:x", "operator 'neq'"),
     ('in:"a', "the quote is not closed"), ('in:a"b"', "no comma before the opening"),
     ('in:"a"b', "no comma after the closing")],
)
def test_bad_set_filters_are_400(expression: str, problem: str) -> None:
    with pytest.raises(BadRequest, match=problem):
        parse(("status", expression))


QUOTABLE = st.lists(st.text(alphabet='ab,"\\ ', max_size=5), max_size=5)


@given(QUOTABLE)
def test_quoted_lists_round_trip(values: list[str]) -> None:
    encoded = ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
    assert split_in_values(encoded) == values


@given(st.lists(st.text(alphabet="ab: ", min_size=1, max_size=4), min_size=1, max_size=5))
def test_plain_lists_round_trip(values: list[str]) -> None:
    assert split_in_values(",".join(values)) == values


def test_time_filters() -> None:
    query = parse(("created_at", "gte:2026-01-01T00:00:00Z"),
                  ("created_at", "lt:2026-02-01T00:00:00+01:00"),
                  ("updated_at", "2026-03-01T10:00:00Z"))
    assert query.created_at == (
        TimeFilter("gte", datetime(2026, 1, 1, tzinfo=UTC)),
        TimeFilter("lt", datetime(2026, 1, 31, 23, tzinfo=UTC)),
    )
    assert query.updated_at == (TimeFilter("eq", datetime(2026, 3, 1, 10, tzinfo=UTC)),)
    assert parse(("created_at", "neq:2026-01-01")).created_at[0].at == datetime(
        2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(("expression", "problem"),
                         [("gt:yesterday", "Use ISO 8601"), ("in:2026-01-01", "operator 'in'"),
                          ("soon", "Use ISO 8601"),
                          ("gt:9999-12-31T23:59:59-05:00", "Use ISO 8601")])
def test_bad_time_filters_are_400(expression: str, problem: str) -> None:
    with pytest.raises(BadRequest, match=problem):
        parse(("updated_at", expression))


def test_other_filters() -> None:
    query = parse(("size_min", "10"), ("size_max", "20"), ("virtual_size_max", "5"),
                  ("tag", " a "), ("tag", "b"), ("owner", "p2"), ("min_disk", "8"),
                  ("checksum", "c"), ("hw_disk_bus", "scsi"), ("deleted", "true"),
                  ("name", "first"), ("name", "second"), ("marker", image_id(3)))
    assert (query.size_min, query.size_max, query.virtual_size_max) == (10, 20, 5)
    assert query.tags == ("a", "b")
    assert query.equals == {"owner": "p2", "checksum": "c", "min_disk": 8}
    assert query.properties == {"hw_disk_bus": "scsi"}
    assert query.name == ("second",)
    assert query.marker == image_id(3)


@pytest.mark.parametrize(("params", "problem"),
                         [(("size_min", "big"), "a range filter needs an integer"),
                          (("min_ram", "x"), "an equality filter needs an integer"),
                          (("changes-since", "2026-01-01"), "no longer available")])
def test_bad_other_filters_are_400(params: tuple[str, str], problem: str) -> None:
    with pytest.raises(BadRequest, match=problem):
        parse(params)


# --- who sees what -----------------------------------------------------------------------

P1_PRIVATE, P1_SHARED, P1_PUBLIC, P1_COMMUNITY, P1_HIDDEN = 1, 2, 3, 4, 5
P2_PRIVATE, P2_ACCEPTED, P2_PENDING, P2_REJECTED, P2_SHARED = 6, 7, 8, 9, 10
P2_PUBLIC, P2_COMMUNITY, KILLED, DELETED, PENDING_DELETE, NO_OWNER = 11, 12, 13, 14, 15, 16

IMAGES = [
    make_image(P1_PRIVATE, visibility="private"),
    make_image(P1_SHARED, visibility="shared"),
    make_image(P1_PUBLIC, visibility="public"),
    make_image(P1_COMMUNITY, visibility="community"),
    make_image(P1_HIDDEN, visibility="public", os_hidden=True),
    make_image(P2_PRIVATE, visibility="private", owner="p2"),
    make_image(P2_ACCEPTED, visibility="shared", owner="p2"),
    make_image(P2_PENDING, visibility="shared", owner="p2"),
    make_image(P2_REJECTED, visibility="shared", owner="p2"),
    make_image(P2_SHARED, visibility="shared", owner="p2"),
    make_image(P2_PUBLIC, visibility="public", owner="p2"),
    make_image(P2_COMMUNITY, visibility="community", owner="p2"),
    make_image(KILLED, visibility="public", status="killed"),
    make_image(DELETED, visibility="public", status="deleted"),
    make_image(PENDING_DELETE, visibility="public", status="pending_delete"),
    make_image(NO_OWNER, visibility="private", owner=None),
]
P1_MEMBERSHIPS = {image_id(P2_ACCEPTED): "accepted", image_id(P2_PENDING): "pending",
                  image_id(P2_REJECTED): "rejected"}


def listed(*params: tuple[str, str], project_id: str | None = "p1", is_admin: bool = False,
           images: list[ImageRecord] = IMAGES) -> set[int]:
    query = parse(*params, ("limit", "1000"))
    memberships = P1_MEMBERSHIPS if project_id == "p1" else {}
    page, marker = apply_query(images, query, project_id=project_id, is_admin=is_admin,
                               memberships=memberships)
    assert marker is None
    return {int(image.id[:8], 16) for image in page}


def test_default_listing_of_a_project() -> None:
    assert listed() == {P1_PRIVATE, P1_SHARED, P1_PUBLIC, P1_COMMUNITY, P2_ACCEPTED, P2_PUBLIC}


def test_member_status_selects_shared_images() -> None:
    mine = {P1_PRIVATE, P1_SHARED, P1_PUBLIC, P1_COMMUNITY, P2_PUBLIC}
    assert listed(("member_status", "pending")) == mine | {P2_PENDING}
    assert listed(("member_status", "rejected")) == mine | {P2_REJECTED}
    assert listed(("member_status", "all")) == mine | {P2_ACCEPTED, P2_PENDING, P2_REJECTED}


def test_visibility_filters() -> None:
    assert listed(("visibility", "community")) == {P1_COMMUNITY, P2_COMMUNITY}
    assert listed(("visibility", "public")) == {P1_PUBLIC, P2_PUBLIC}
    assert listed(("visibility", "private")) == {P1_PRIVATE}
    assert listed(("visibility", "shared")) == {P1_SHARED, P2_ACCEPTED}
    assert listed(("visibility", "all")) == listed() | {P2_COMMUNITY}


def test_hidden_images_show_only_when_asked() -> None:
    assert listed(("os_hidden", "true")) == {P1_HIDDEN}


def test_admins_see_every_project_but_not_foreign_community_images() -> None:
    everything = {P1_PRIVATE, P1_SHARED, P1_PUBLIC, P1_COMMUNITY, P2_PRIVATE, P2_ACCEPTED,
                  P2_PENDING, P2_REJECTED, P2_SHARED, P2_PUBLIC, NO_OWNER}
    assert listed(project_id="p1", is_admin=True) == everything
    assert listed(project_id="adm", is_admin=True) == everything - {P1_COMMUNITY}
    assert listed(("visibility", "private"), project_id="adm", is_admin=True) == {
        P1_PRIVATE, P2_PRIVATE, NO_OWNER}


def test_unscoped_callers_see_public_images_only() -> None:
    assert listed(project_id=None) == {P1_PUBLIC, P2_PUBLIC}


def test_is_visible() -> None:
    by_number = {int(image.id[:8], 16): image for image in IMAGES}

    def visible(n: int, **kwargs: Any) -> bool:
        membership = P1_MEMBERSHIPS.get(image_id(n))
        return is_visible(by_number[n], **{"project_id": "p1", "is_admin": False,
                                           "membership": membership, **kwargs})

    assert visible(P1_PRIVATE) and visible(P2_PUBLIC) and visible(P2_COMMUNITY)
    assert visible(P2_PENDING) and visible(P2_REJECTED) and visible(NO_OWNER)
    assert not visible(P2_PRIVATE) and not visible(P2_SHARED)
    assert not visible(DELETED, is_admin=True)
    assert visible(P2_PRIVATE, is_admin=True)
    assert visible(KILLED)


# --- filters -----------------------------------------------------------------------------

FILTERED = [
    active_image(1, name="cirros", size=10, tags=("a", "b"), min_disk=8,
                 properties={"hw_disk_bus": "scsi"}, protected=True),
    active_image(2, name="ubuntu:22.04", size=20, disk_format="qcow2", tags=("a",)),
    make_image(3, name="a,b", container_format="ovf"),
    active_image(4, name="centos", size=30, owner="p2", visibility="public",
                 virtual_size=100),
]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ([("name", "cirros")], {1}),
        ([("name", "ubuntu:22.04")], {2}),
        ([("name", 'in:"a,b",centos')], {3, 4}),
        ([("id", f"in:{image_id(1)},{image_id(4)}")], {1, 4}),
        ([("status", "queued")], {3}),
        ([("disk_format", "in:qcow2,raw")], {1, 2, 4}),
        ([("container_format", "ovf")], {3}),
        ([("size_min", "20")], {2, 4}),
        ([("size_max", "20")], {1, 2}),
        ([("size_min", "15"), ("size_max", "25")], {2}),
        ([("virtual_size_min", "1")], {4}),
        ([("tag", "a")], {1, 2}),
        ([("tag", "a"), ("tag", "b")], {1}),
        ([("tag", "c")], set()),
        ([("owner", "p2")], {4}),
        ([("min_disk", "8")], {1}),
        ([("size", "30")], {4}),
        ([("hw_disk_bus", "scsi")], {1}),
        ([("hw_disk_bus", "virtio")], set()),
        ([("protected", "true")], {1}),
        ([("protected", "false")], {2, 3, 4}),
        ([("created_at", "gt:" + (BASE_TIME + timedelta(minutes=2)).isoformat())], {3, 4}),
        ([("created_at", "lte:" + (BASE_TIME + timedelta(minutes=2)).isoformat()),
          ("created_at", "neq:" + (BASE_TIME + timedelta(minutes=1)).isoformat())], {2}),
        ([("updated_at", (BASE_TIME + timedelta(minutes=3)).isoformat())], {3}),
    ],
)
def test_filters(params: list[tuple[str, str]], expected: set[int]) -> None:
    assert listed(*params, images=FILTERED) == expected


# --- sorting and paging ------------------------------------------------------------------


def ids(images: list[ImageRecord]) -> list[int]:
    return [int(image.id[:8], 16) for image in images]


def run(images: list[ImageRecord], *params: tuple[str, str]) -> tuple[list[int], str | None]:
    page, marker = apply_query(images, parse(*params), project_id="p1", is_admin=False)
    return ids(page), marker


SORTED = [
    make_image(1, name="b", size=5),
    make_image(2, name=None, size=None),
    make_image(3, name="a", size=5),
    make_image(4, name="c", size=1),
]


def test_default_order_is_newest_first() -> None:
    assert run(SORTED) == ([4, 3, 2, 1], None)


def test_sorting_with_missing_values_first_and_tie_breakers() -> None:
    assert run(SORTED, ("sort", "name:asc"))[0] == [2, 3, 1, 4]
    assert run(SORTED, ("sort", "name:desc"))[0] == [4, 1, 3, 2]
    assert run(SORTED, ("sort_key", "size"), ("sort_dir", "asc"))[0] == [2, 4, 1, 3]
    assert run(SORTED, ("sort", "size:desc,name:asc"))[0] == [3, 1, 4, 2]


def test_pages_and_markers() -> None:
    first, marker = run(SORTED, ("limit", "3"))
    assert (first, marker) == ([4, 3, 2], image_id(2))
    second, marker = run(SORTED, ("limit", "3"), ("marker", image_id(2)))
    assert (second, marker) == ([1], None)
    assert run(SORTED, ("limit", "4")) == ([4, 3, 2, 1], None)
    assert run(SORTED, ("limit", "0")) == ([], None)


def test_a_marker_outside_the_filter_still_positions_the_page() -> None:
    assert run(SORTED, ("name", "in:a,b,c"), ("marker", image_id(2)))[0] == [1]


def test_unknown_or_invisible_markers_are_400() -> None:
    with pytest.raises(BadRequest, match=f"Marker {image_id(99)} names no image"):
        run(SORTED, ("marker", image_id(99)))
    foreign = [*SORTED, make_image(5, owner="p2", visibility="private")]
    with pytest.raises(BadRequest, match="names no image you can see"):
        run(foreign, ("marker", image_id(5)))
    deleted = [*SORTED, make_image(6, status="deleted")]
    with pytest.raises(BadRequest):
        run(deleted, ("marker", image_id(6)))


NAMES = st.sampled_from([None, "a", "b"])
SIZES = st.sampled_from([None, 1, 2])


@st.composite
def image_sets(draw: st.DrawFn) -> list[ImageRecord]:
    count = draw(st.integers(min_value=0, max_value=12))
    minutes = draw(st.lists(st.integers(0, 3), min_size=count, max_size=count))
    return [
        make_image(n + 1, name=draw(NAMES), size=draw(SIZES),
                   created_at=BASE_TIME + timedelta(minutes=minutes[n]),
                   status=draw(st.sampled_from(["queued", "active", "killed"])))
        for n in range(count)
    ]


@settings(max_examples=150)
@given(image_sets(), st.lists(st.tuples(st.sampled_from(["name", "size", "created_at", "id"]),
                                        st.sampled_from(["asc", "desc"])), max_size=3),
       st.integers(min_value=1, max_value=5))
def test_walking_pages_lists_every_image_once_in_order(
    images: list[ImageRecord], sort: list[tuple[str, str]], limit: int
) -> None:
    sort_param = [("sort", ",".join(f"{k}:{d}" for k, d in sort))] if sort else []
    everything, _ = apply_query(images, parse(*sort_param, ("limit", "1000")),
                                project_id="p1", is_admin=False)
    walked: list[ImageRecord] = []
    marker: str | None = None
    for _ in range(len(images) + 2):
        params = [*sort_param, ("limit", str(limit))]
        if marker is not None:
            params.append(("marker", marker))
        page, marker = apply_query(images, parse(*params), project_id="p1", is_admin=False)
        assert len(page) <= limit
        walked += page
        if marker is None:
            break
    assert [i.id for i in walked] == [i.id for i in everything]
    assert len({i.id for i in walked}) == len(walked)
    assert {i.id for i in everything} == {i.id for i in images if i.status != "killed"}
    for key, direction in sort[:1]:
        values = [(getattr(i, key) is not None, getattr(i, key)) for i in everything]
        assert values == sorted(values, reverse=direction == "desc")


def test_nul_characters_in_the_query_are_400() -> None:
    for params in ((("name", "a\x00"),), (("x\x00", "v"),)):
        with pytest.raises(BadRequest, match="NUL"):
            parse(*params)
