"""POST .../action bodies of volumes, snapshots and backups."""

from __future__ import annotations

from typing import Any

import pytest

from shoal.api import BadRequest
from shoal.api._microversion import APIVersion
from shoal.api.cinder.actions import (
    AttachVolume,
    CompleteAttachment,
    DetachVolume,
    ExtendVolume,
    ForceDelete,
    ForceDetach,
    InitializeConnection,
    ReimageVolume,
    ResetStatus,
    RetypeVolume,
    RevertVolume,
    SetBootable,
    SetImageMetadata,
    ShowImageMetadata,
    SimpleVolumeAction,
    TerminateConnection,
    UnsetImageMetadata,
    UpdateReadonly,
    UpdateSnapshotStatus,
    UploadToImage,
    parse_attachment_action,
    parse_backup_action,
    parse_snapshot_action,
    parse_volume_action,
)
from shoal.errors import NotFound

from .test_cinder_records import rid

V30 = APIVersion(3, 0)
LATEST = APIVersion(3, 71)
CONNECTOR = {"host": "compute-1", "initiator": "iqn", "multipath": False}


@pytest.mark.parametrize(("body", "expected"), [
    ({"os-extend": {"new_size": 2}}, ExtendVolume(2)),
    ({"os-extend": {"new_size": "20"}}, ExtendVolume(20)),
    ({"os-reset_status": {"status": "Available"}}, ResetStatus(status="available")),
    ({"os-reset_status": {"attach_status": "detached", "migration_status": "none",
                          "status": None}},
     ResetStatus(attach_status="detached", migration_status="none")),
    ({"os-set_bootable": {"bootable": True}}, SetBootable(True)),
    ({"os-set_bootable": {"bootable": "False"}}, SetBootable(False)),
    ({"os-update_readonly_flag": {"readonly": "yes"}}, UpdateReadonly(True)),
    ({"revert": {"snapshot_id": rid("s", 1)}}, RevertVolume(rid("s", 1))),
    ({"os-force_delete": {}}, ForceDelete()),
    ({"os-force_delete": None}, ForceDelete()),
    ({"os-reserve": {}}, SimpleVolumeAction("os-reserve")),
    ({"os-roll_detaching": None}, SimpleVolumeAction("os-roll_detaching")),
    ({"os-attach": {"instance_uuid": rid("i", 1), "mountpoint": "/dev/vdb"}},
     AttachVolume("/dev/vdb", rid("i", 1))),
    ({"os-attach": {"host_name": "h", "mountpoint": "/dev/vdb", "mode": "ro"}},
     AttachVolume("/dev/vdb", None, "h", "ro")),
    ({"os-detach": {}}, DetachVolume()),
    ({"os-detach": None}, DetachVolume()),
    ({"os-detach": {"attachment_id": rid("a", 1)}}, DetachVolume(rid("a", 1))),
    ({"os-initialize_connection": {"connector": CONNECTOR}}, InitializeConnection(CONNECTOR)),
    ({"os-terminate_connection": {"connector": None}}, TerminateConnection(None)),
    ({"os-force_detach": {}}, ForceDetach()),
    ({"os-force_detach": {"attachment_id": "x", "connector": CONNECTOR}},
     ForceDetach(CONNECTOR, "x")),
    ({"os-retype": {"new_type": "ceph"}}, RetypeVolume("ceph")),
    ({"os-retype": {"new_type": "ceph", "migration_policy": "on-demand"}},
     RetypeVolume("ceph", "on-demand")),
    ({"os-volume_upload_image": {"image_name": "img", "force": False,
                                 "disk_format": "qcow2", "container_format": "bare",
                                 "visibility": "public", "protected": True}},
     UploadToImage("img", disk_format="qcow2", visibility="public", protected=True)),
    ({"os-set_image_metadata": {"metadata": {"k": "v"}}}, SetImageMetadata({"k": "v"})),
    ({"os-unset_image_metadata": {"key": "k"}}, UnsetImageMetadata("k")),
    ({"os-show_image_metadata": None}, ShowImageMetadata()),
    ({"os-reimage": {"image_id": rid("i", 1), "reimage_reserved": True}},
     ReimageVolume(rid("i", 1), True)),
])
def test_volume_actions(body: dict[str, Any], expected: object) -> None:
    assert parse_volume_action(body, LATEST) == expected


@pytest.mark.parametrize(("body", "problem"), [
    ({}, "exactly one key"),
    ({"os-extend": {"new_size": 2}, "os-reserve": {}}, "exactly one key"),
    (["os-extend"], "exactly one key"),
    ({"os-explode": {}}, "There is no such action: os-explode"),
    ({"os-extend": {}}, "'new_size' is a required"),
    ({"os-extend": {"new_size": 0}}, "from 1 to"),
    ({"os-extend": {"new_size": 2, "x": 1}}, "'x' unexpected"),
    ({"os-extend": 2}, "must be a JSON object"),
    ({"os-reset_status": {}}, "Must specify 'status'"),
    ({"os-reset_status": {"status": "frozen"}}, "must be one of"),
    ({"os-reset_status": {"attach_status": "attaching"}}, "must be one of"),
    ({"os-set_bootable": {}}, "'bootable' is a required"),
    ({"os-set_bootable": {"bootable": None}}, "true or false"),
    ({"os-update_readonly_flag": {"readonly": 1}}, "true or false"),
    ({"revert": {}}, "latest snapshot"),
    ({"os-attach": {"instance_uuid": rid("i", 1)}}, "'mountpoint' is a required"),
    ({"os-attach": {"mountpoint": "/dev/vdb"}}, "instance_uuid' or 'host_name'"),
    ({"os-attach": {"mountpoint": "/dev/vdb", "host_name": "h", "mode": "rx"}},
     "must be one of"),
    ({"os-detach": {"attachment_id": "x"}}, "must be a UUID"),
    ({"os-initialize_connection": {}}, "'connector' is a required"),
    ({"os-initialize_connection": {"connector": None}}, "must be an object"),
    ({"os-retype": {}}, "'new_type' is required"),
    ({"os-retype": {"new_type": "t", "migration_policy": "always"}}, "must be one of"),
    ({"os-volume_upload_image": {}}, "'image_name' is a required"),
    ({"os-volume_upload_image": {"image_name": "i", "disk_format": "iso"}},
     "must be one of"),
    ({"os-set_image_metadata": {}}, "give 'metadata'"),
    ({"os-unset_image_metadata": {"key": ""}}, "key cannot be None"),
    ({"os-reimage": {}}, "'image_id' is a required"),
])
def test_bad_volume_actions_are_400(body: Any, problem: str) -> None:
    with pytest.raises(BadRequest, match=problem):
        parse_volume_action(body, LATEST)


def test_actions_newer_than_the_version_are_404() -> None:
    with pytest.raises(NotFound):
        parse_volume_action({"revert": {"snapshot_id": rid("s", 1)}}, APIVersion(3, 39))
    assert parse_volume_action({"revert": {"snapshot_id": rid("s", 1)}},
                               APIVersion(3, 40)) == RevertVolume(rid("s", 1))
    with pytest.raises(NotFound):
        parse_volume_action({"os-reimage": {"image_id": rid("i", 1)}}, APIVersion(3, 67))


def test_upload_visibility_needs_3_1() -> None:
    body = {"os-volume_upload_image": {"image_name": "i", "visibility": "public"}}
    with pytest.raises(BadRequest, match="'visibility' unexpected"):
        parse_volume_action(body, V30)
    assert parse_volume_action(body, APIVersion(3, 1)) == UploadToImage(
        "i", visibility="public")


def test_snapshot_and_backup_actions() -> None:
    assert parse_snapshot_action({"os-reset_status": {"status": "error"}}) == ResetStatus(
        status="error")
    assert parse_snapshot_action({"os-force_delete": {}}) == ForceDelete()
    assert parse_snapshot_action({"os-update_snapshot_status": {
        "status": "available", "progress": "100%"}}) == UpdateSnapshotStatus(
        "available", "100%")
    assert parse_backup_action({"os-reset_status": {"status": "available"}}) == ResetStatus(
        status="available")
    assert parse_backup_action({"os-force_delete": {}}) == ForceDelete()
    for body in ({"os-reset_status": {"status": "creating"}}, {"os-reset_status": {}},
                 {"os-extend": {"new_size": 2}}):
        with pytest.raises(BadRequest):
            parse_backup_action(body)
    for body in ({"os-reset_status": {"status": "in-use"}},
                 {"os-update_snapshot_status": {}}, {"revert": {}}):
        with pytest.raises(BadRequest):
            parse_snapshot_action(body)


def test_attachment_complete() -> None:
    assert parse_attachment_action({"os-complete": None}, APIVersion(3, 44)) == (
        CompleteAttachment())
    with pytest.raises(NotFound):
        parse_attachment_action({"os-complete": None}, APIVersion(3, 43))
    with pytest.raises(BadRequest, match="no such action"):
        parse_attachment_action({"os-finish": None}, LATEST)
