"""Image sharing: member bodies and permissions."""

from __future__ import annotations

from typing import Any

import pytest

from shoal.api import BadRequest
from shoal.api.glance import members
from shoal.api.glance.errors import LimitExceeded
from shoal.api.glance.options import DEFAULT_OPTIONS, ImageApiOptions
from shoal.errors import PermissionDenied
from shoal.services.image.records import MemberRecord
from tests.unit.api.glance._glance_images import BASE_TIME, image_id, make_image

SHARED = make_image(visibility="shared", owner="p1")


def test_create_body() -> None:
    assert members.parse_member_create({"member": "p2"}) == "p2"
    for body, problem in [([], "JSON object"), ({}, "not specified"),
                          ({"member": ""}, "can't be empty"), ({"member": " "}, "can't be empty"),
                          ({"member": 5}, "can't be empty"),
                          ({"member": "m" * 256}, "longer than 255")]:
        with pytest.raises(BadRequest, match=problem):
            members.parse_member_create(body)


@pytest.mark.parametrize("value", ["pending", "accepted", "rejected"])
def test_update_body(value: str) -> None:
    assert members.parse_member_update({"status": value}) == value


@pytest.mark.parametrize(("body", "problem"), [({}, "Status not specified"),
                                               ("accepted", "Status not specified"),
                                               ({"status": "yes"}, "must be \"pending\""),
                                               ({"status": None}, "must be \"pending\"")])
def test_bad_update_bodies(body: Any, problem: str) -> None:
    with pytest.raises(BadRequest, match=problem):
        members.parse_member_update(body)


@pytest.mark.parametrize("visibility", ["private", "public", "community"])
def test_only_shared_images_have_members(visibility: str) -> None:
    image = make_image(visibility=visibility)
    checks = [
        lambda: members.check_add_member(image, project_id="p1", is_admin=True,
                                         member_count=0, options=DEFAULT_OPTIONS),
        lambda: members.check_update_member(image, "p2", project_id="p2", is_admin=False),
        lambda: members.check_delete_member(image, project_id="p1", is_admin=False),
        lambda: members.visible_members(image, [], project_id="p1", is_admin=False),
    ]
    for check in checks:
        with pytest.raises(PermissionDenied, match="Only shared images have members"):
            check()


def test_owner_or_admin_adds_and_deletes() -> None:
    members.check_add_member(SHARED, project_id="p1", is_admin=False, member_count=0,
                             options=DEFAULT_OPTIONS)
    members.check_add_member(SHARED, project_id="adm", is_admin=True, member_count=0,
                             options=DEFAULT_OPTIONS)
    members.check_delete_member(SHARED, project_id="p1", is_admin=False)
    with pytest.raises(PermissionDenied, match="not permitted to create image members"):
        members.check_add_member(SHARED, project_id="p2", is_admin=False, member_count=0,
                                 options=DEFAULT_OPTIONS)
    with pytest.raises(PermissionDenied, match="cannot delete image member"):
        members.check_delete_member(SHARED, project_id="p2", is_admin=False)


def test_member_quota() -> None:
    options = ImageApiOptions(image_member_quota=2)
    members.check_add_member(SHARED, project_id="p1", is_admin=False, member_count=1,
                             options=options)
    with pytest.raises(LimitExceeded, match="members") as caught:
        members.check_add_member(SHARED, project_id="p1", is_admin=False, member_count=2,
                                 options=options)
    assert caught.value.http_status == 413


def test_only_the_member_accepts() -> None:
    members.check_update_member(SHARED, "p2", project_id="p2", is_admin=False)
    members.check_update_member(SHARED, "p2", project_id="adm", is_admin=True)
    with pytest.raises(PermissionDenied, match="modify 'status'"):
        members.check_update_member(SHARED, "p2", project_id="p1", is_admin=False)
    with pytest.raises(PermissionDenied, match="Only the member project"):
        members.check_update_member(SHARED, "p2", project_id="p3", is_admin=False)


def test_who_sees_which_memberships() -> None:
    records = [MemberRecord(image_id(1), project, "pending", BASE_TIME, BASE_TIME)
               for project in ("p2", "p3")]
    assert members.visible_members(SHARED, records, project_id="p1", is_admin=False) == records
    assert members.visible_members(SHARED, records, project_id="x", is_admin=True) == records
    assert members.visible_members(SHARED, records, project_id="p3", is_admin=False) == [
        records[1]]
    assert members.visible_members(SHARED, records, project_id="p9", is_admin=False) == []


def test_nul_in_member_id_is_400() -> None:
    with pytest.raises(BadRequest, match="NUL"):
        members.parse_member_create({"member": "p\x002"})
