"""GET /v2/images in SQL (ImageService.list_images) against the Python reference
(shoal.api.glance.query.apply_query): same pages, same order, same markers, same 400s."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import cast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from shoal import errors
from shoal.api import BadRequest
from shoal.api.glance.options import DEFAULT_OPTIONS
from shoal.api.glance.query import apply_query, parse_query
from shoal.db import Database
from shoal.services import Caller
from shoal.services.image import ImageRecord, ImageService, ImageServiceOptions
from shoal.services.image._rows import write_record
from shoal.services.image.models import Image, ImageLocation, ImageMember, ImageProperty, ImageTag
from shoal.services.image.store import RbdStore
from tests.unit.api.glance._glance_images import BASE_TIME, image_id, make_image
from tests.unit.api.glance.test_query import FILTERED, IMAGES, P1_MEMBERSHIPS, SORTED

#: (image id, project) -> membership status.
Members = Mapping[tuple[str, str], str]

CALLERS = {
    "p1": Caller("u1", "p1", frozenset({"member", "reader"})),
    "p2": Caller("u2", "p2", frozenset({"reader"})),
    "admin-p1": Caller("u3", "p1", frozenset({"admin"})),
    "admin": Caller("u4", "adm", frozenset({"admin"})),
    "unscoped": Caller("u5", None),
}


def seed(db: Database, images: list[ImageRecord], members: Members) -> None:
    """Make the database hold exactly ``images`` and ``members``."""
    with db.session() as session:
        for table in (ImageMember, ImageTag, ImageProperty, ImageLocation, Image):
            session.execute(delete(table))
        for record in images:
            row = Image(id=record.id, upload_owner=None)
            write_record(row, record)
            session.add(row)
        session.flush()
        for (image, project), status in members.items():
            session.add(ImageMember(image_id=image, member=project, status=status,
                                    created_at=BASE_TIME, updated_at=BASE_TIME))


def compare(service: ImageService, images: list[ImageRecord], members: Members,
            caller: Caller, params: list[tuple[str, str]]) -> tuple[list[str], str | None] | None:
    """The SQL listing's (ids, next marker), None for a 400, asserted equal to the
    reference's."""
    query = parse_query(params, DEFAULT_OPTIONS)
    mine = {image: status for (image, project), status in members.items()
            if project == caller.project_id}
    expected: tuple[list[str], str | None] | None
    try:
        page, marker = apply_query(images, query, project_id=caller.project_id,
                                   is_admin=caller.is_admin, memberships=mine)
        expected = [r.id for r in page], marker
    except BadRequest:
        expected = None
    got: tuple[list[str], str | None] | None
    try:
        found, next_marker = service.list_images(caller, query)
        got = [r.id for r in found], next_marker
    except errors.InvalidArgument:
        got = None
    assert got == expected, (params, caller)
    return got


NAMES = st.sampled_from([None, "a", "b", "B", "é", "a b", "ubuntu:22.04"])


@st.composite
def image_sets(draw: st.DrawFn) -> tuple[list[ImageRecord], dict[tuple[str, str], str]]:
    count = draw(st.integers(min_value=0, max_value=12))
    images = []
    members: dict[tuple[str, str], str] = {}
    for n in range(1, count + 1):
        images.append(make_image(
            n, name=draw(NAMES), owner=draw(st.sampled_from(["p1", "p2", None])),
            visibility=draw(st.sampled_from(["public", "public", "private", "shared",
                                             "community"])),
            status=draw(st.sampled_from(["queued", "active", "active", "active", "killed",
                                         "deleted", "pending_delete", "deactivated"])),
            size=draw(st.sampled_from([None, 0, 1, 2, 1 << 40])),
            disk_format=draw(st.sampled_from([None, "raw", "qcow2"])),
            container_format=draw(st.sampled_from([None, "bare"])),
            created_at=BASE_TIME + timedelta(minutes=draw(st.integers(0, 3))),
            updated_at=BASE_TIME + timedelta(seconds=draw(st.integers(0, 3)),
                                             microseconds=draw(st.integers(0, 2))),
            os_hidden=draw(st.sampled_from([False, False, False, True])),
            protected=draw(st.booleans()),
            min_disk=draw(st.sampled_from([0, 8])),
            tags=tuple(draw(st.sets(st.sampled_from(["x", "y"])))),
            properties=draw(st.dictionaries(st.sampled_from(["k", "hw_disk_bus"]),
                                            st.sampled_from(["v", "w"]), max_size=2)),
        ))
        for project in ("p1", "p2"):
            status = draw(st.sampled_from([None, "pending", "accepted", "rejected"]))
            if status is not None:
                members[(image_id(n), project)] = status
    return images, members


_TIME = (BASE_TIME + timedelta(minutes=1)).isoformat()
PARAMS = st.sampled_from([
    ("visibility", "public"), ("visibility", "private"), ("visibility", "shared"),
    ("visibility", "community"), ("visibility", "all"),
    ("member_status", "pending"), ("member_status", "all"), ("member_status", "rejected"),
    ("os_hidden", "true"), ("protected", "true"), ("protected", "false"),
    ("name", "a"), ("name", 'in:a,"a b",é'), ("status", "in:queued,active"),
    ("status", "deactivated"), ("size_min", "1"), ("size_max", "1"),
    ("disk_format", "raw"), ("container_format", "bare"), ("tag", "x"), ("tag", "y"),
    ("owner", "p2"), ("min_disk", "8"), ("size", "0"), ("k", "v"), ("hw_disk_bus", "w"),
    ("created_at", "gt:" + _TIME), ("created_at", "lte:" + _TIME),
    ("created_at", "neq:" + _TIME), ("created_at", _TIME),
    ("updated_at", "gte:" + (BASE_TIME + timedelta(seconds=1)).isoformat()),
])
SORTS = st.lists(st.tuples(
    st.sampled_from(["name", "status", "container_format", "disk_format", "size", "id",
                     "created_at", "updated_at"]),
    st.sampled_from(["asc", "desc"])), min_size=1, max_size=3, unique_by=lambda t: t[0])


class ListingContract:
    """The comparisons, on the database ``db_url`` names (SQLite here)."""

    @pytest.fixture
    def db_url(self, tmp_path: Path) -> str:
        return f"sqlite:///{tmp_path / 'shoal.db'}"

    @pytest.fixture
    def service(self, db_url: str, tmp_path: Path) -> Iterator[ImageService]:
        with Database(db_url) as db:
            db.upgrade()
            # Listing never touches the store.
            yield ImageService(db, cast(RbdStore, None), ImageServiceOptions(spool_dir=tmp_path),
                               owner="me", owner_gone=lambda owner: False)

    @pytest.mark.parametrize("caller", sorted(CALLERS))
    def test_the_pinned_cases_agree(self, service: ImageService, caller: str) -> None:
        members = {(image, "p1"): status for image, status in P1_MEMBERSHIPS.items()}
        who = CALLERS[caller]
        seed(service.db, IMAGES, members)
        for params in ([], [("member_status", "all")], [("visibility", "all")],
                       [("visibility", "community")], [("os_hidden", "true")],
                       [("limit", "3")], [("limit", "3"), ("marker", image_id(6))],
                       [("marker", image_id(14))], [("limit", "0")]):
            compare(service, IMAGES, members, who, params)
        seed(service.db, FILTERED, {})
        for expression in ([("name", 'in:"a,b",centos')], [("tag", "a"), ("tag", "b")],
                           [("size_min", "15"), ("size_max", "25")],
                           [("hw_disk_bus", "scsi")], [("virtual_size_min", "1")]):
            compare(service, FILTERED, {}, who, expression)
        seed(service.db, SORTED, {})
        for sort in ("name:asc", "name:desc", "size:desc,name:asc", "size:asc"):
            compare(service, SORTED, {}, who, [("sort", sort)])
            compare(service, SORTED, {}, who, [("sort", sort), ("limit", "2"),
                                               ("marker", image_id(2))])

    def test_the_default_listing_of_a_project(self, service: ImageService) -> None:
        members = {(image, "p1"): status for image, status in P1_MEMBERSHIPS.items()}
        seed(service.db, IMAGES, members)
        page, marker = service.list_images(CALLERS["p1"], parse_query([], DEFAULT_OPTIONS))
        assert marker is None
        assert {int(r.id[:8], 16) for r in page} == {1, 2, 3, 4, 7, 11}

    # One contract, subclassed per database: the executors differ only by their backend.
    @settings(max_examples=200, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture,
                                     HealthCheck.differing_executors])
    @given(image_sets(), st.sampled_from(sorted(CALLERS)), st.lists(PARAMS, max_size=2),
           SORTS, st.integers(min_value=1, max_value=8),
           st.one_of(st.none(), st.none(), st.integers(min_value=1, max_value=13)))
    def test_sql_equals_the_reference(
        self, service: ImageService,
        data: tuple[list[ImageRecord], dict[tuple[str, str], str]], caller: str,
        params: list[tuple[str, str]], sort: list[tuple[str, str]], limit: int,
        marker: int | None,
    ) -> None:
        images, members = data
        seed(service.db, images, members)
        query = [*params, ("limit", str(limit))]
        if sort:
            query.append(("sort", ",".join(f"{k}:{d}" for k, d in sort)))
        if marker is not None:
            query.append(("marker", image_id(marker)))
        result = compare(service, images, members, CALLERS[caller], query)
        # Walk on from the page's marker to the end: every page agrees too.
        pages = 0
        while result is not None and result[1] is not None and pages <= len(images):
            walk = [p for p in query if p[0] != "marker"] + [("marker", result[1])]
            result = compare(service, images, members, CALLERS[caller], walk)
            pages += 1


class TestListingSqlite(ListingContract):
    pass
