"""The image status machine and the operations each status allows."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shoal.api.glance.errors import ImageConflict
from shoal.errors import InvalidArgument, PermissionDenied
from shoal.services.image import status
from shoal.services.image.records import IMAGE_STATUSES
from tests.unit.api.glance._glance_images import active_image, make_image

EXPECTED = {
    ("queued", "saving"), ("queued", "uploading"), ("queued", "importing"),
    ("queued", "active"), ("queued", "deleted"),
    ("saving", "active"), ("saving", "killed"), ("saving", "deleted"), ("saving", "queued"),
    ("uploading", "importing"), ("uploading", "queued"), ("uploading", "deleted"),
    ("importing", "active"), ("importing", "deleted"), ("importing", "queued"),
    ("active", "pending_delete"), ("active", "deleted"), ("active", "deactivated"),
    ("deactivated", "active"), ("deactivated", "deleted"),
    ("pending_delete", "deleted"), ("pending_delete", "active"),
    ("killed", "deleted"),
}


def test_transitions_are_glances() -> None:
    allowed = {(a, b) for a in IMAGE_STATUSES for b in IMAGE_STATUSES
               if status.can_transition(a, b)}
    assert allowed == EXPECTED


@given(st.sampled_from(IMAGE_STATUSES), st.sampled_from(IMAGE_STATUSES))
def test_check_transition_agrees_with_can_transition(current: str, target: str) -> None:
    image = make_image(status=current, disk_format="raw", container_format="bare")
    if status.can_transition(current, target):
        status.check_transition(image, target)
    else:
        with pytest.raises(ImageConflict) as caught:
            status.check_transition(image, target)
        assert caught.value.message == (
            f"Image status transition from {current} to {target} is not allowed.")


def test_upload_only_to_a_queued_image() -> None:
    status.check_upload(make_image(disk_format="raw", container_format="bare"))
    for current in ("saving", "active", "deactivated", "uploading", "importing", "killed"):
        with pytest.raises(ImageConflict, match=f"from {current} to saving") as caught:
            status.check_upload(make_image(status=current, disk_format="raw",
                                           container_format="bare"))
        assert caught.value.http_status == 409


def test_upload_needs_the_formats() -> None:
    with pytest.raises(InvalidArgument, match="Properties disk_format, container_format must be"):
        status.check_upload(make_image())
    with pytest.raises(InvalidArgument, match="Property disk_format must be set"):
        status.check_upload(make_image(container_format="bare"))


def test_stage() -> None:
    status.check_stage(make_image())
    with pytest.raises(ImageConflict, match="from active to uploading"):
        status.check_stage(active_image())


def test_download() -> None:
    assert status.check_download(active_image(), is_admin=False) is True
    assert status.check_download(make_image(), is_admin=False) is False
    assert status.check_download(active_image(locations=()), is_admin=False) is False
    assert status.check_download(make_image(status="saving"), is_admin=False) is False
    deactivated = active_image(status="deactivated")
    with pytest.raises(PermissionDenied, match="has been deactivated") as caught:
        status.check_download(deactivated, is_admin=False)
    assert caught.value.http_status == 403
    assert status.check_download(deactivated, is_admin=True) is True


def test_deactivate_and_reactivate() -> None:
    image = active_image(owner="p1")
    assert status.deactivate(image, project_id="p1", is_admin=False) == "deactivated"
    assert status.deactivate(image, project_id="adm", is_admin=True) == "deactivated"
    deactivated = active_image(status="deactivated")
    assert status.deactivate(deactivated, project_id="p1", is_admin=False) is None
    assert status.reactivate(deactivated, project_id="p1", is_admin=False) == "active"
    assert status.reactivate(image, project_id="p1", is_admin=False) is None


@pytest.mark.parametrize("current", ["queued", "saving", "killed", "importing"])
def test_deactivation_needs_an_active_image(current: str) -> None:
    image = make_image(status=current)
    with pytest.raises(PermissionDenied, match=f"deactivate image in status '{current}'"):
        status.deactivate(image, project_id="p1", is_admin=True)
    with pytest.raises(PermissionDenied, match=f"reactivate image in status '{current}'"):
        status.reactivate(image, project_id="p1", is_admin=True)


def test_only_owners_and_admins_deactivate() -> None:
    with pytest.raises(PermissionDenied, match="You do not own this image"):
        status.deactivate(active_image(owner="p2", visibility="public"), project_id="p1",
                          is_admin=False)
    with pytest.raises(PermissionDenied, match="You do not own this image"):
        status.reactivate(active_image(owner=None, status="deactivated"), project_id="p1",
                          is_admin=False)


def test_delete() -> None:
    assert status.check_delete(active_image()) == "deleted"
    assert status.check_delete(make_image(status="saving")) == "deleted"
    assert status.check_delete(active_image(), delayed_delete=True) == "pending_delete"
    assert status.check_delete(make_image(), delayed_delete=True) == "deleted"
    assert status.check_delete(active_image(status="deactivated"),
                               delayed_delete=True) == "deleted"
    assert status.check_delete(make_image(status="pending_delete")) == "deleted"
    with pytest.raises(PermissionDenied, match="is protected and cannot be deleted"):
        status.check_delete(active_image(protected=True))
    with pytest.raises(ImageConflict):
        status.check_delete(make_image(status="deleted"))
