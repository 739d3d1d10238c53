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
from tests.unit.services.volume.test_records import rid

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


FIELD = "Invalid input for field/attribute"


@pytest.mark.parametrize(("body", "message"), [
    ({}, "Malformed request body: an action body is an object with exactly one key"),
    ({"os-extend": {"new_size": 2}, "os-reserve": {}}, "Malformed request body"),
    (["os-extend"], "Malformed request body"),
    ({"os-explode": {}}, "There is no such action: os-explode"),
    ({"os-extend": {}}, f"{FIELD} os-extend. Value: {{}}. 'new_size' is a required property"),
    ({"os-extend": {"new_size": 0}},
     f"{FIELD} new_size. Value: 0. 0 is less than the minimum of 1"),
    ({"os-extend": {"new_size": "2147483648"}}, f"{FIELD} new_size. Value: 2147483648."
                                                " 2147483648 is greater than the maximum"),
    ({"os-extend": {"new_size": 2, "x": 1}}, f"{FIELD} os-extend. Value: {{'new_size': 2,"
                                             " 'x': 1}. Additional properties are not"
                                             " allowed ('x' was unexpected)"),
    ({"os-extend": 2}, f"{FIELD} os-extend. Value: 2. 2 is not of type 'object'"),
    ({"os-reset_status": {}},
     "Must specify 'status', 'attach_status' or 'migration_status' for update."),
    ({"os-reset_status": {"status": "frozen"}},
     "Volume status: frozen is invalid, valid statuses are: ('creating', 'available',"),
    ({"os-reset_status": {"attach_status": "attaching"}},
     "Volume attach status: attaching is invalid, valid statuses are: ('attached',"
     " 'detached')."),
    ({"os-set_bootable": {}},
     f"{FIELD} os-set_bootable. Value: {{}}. 'bootable' is a required property"),
    ({"os-set_bootable": {"bootable": None}},
     f"{FIELD} bootable. Value: None. None is not of type 'boolean', 'string'"),
    ({"os-update_readonly_flag": {"readonly": 1}},
     f"{FIELD} readonly. Value: 1. 1 is not of type 'boolean', 'string'"),
    ({"revert": {}}, f"{FIELD} snapshot_id. Value: None. Give the id of the volume's latest"
                     " snapshot as 'snapshot_id'."),
    ({"os-attach": {"instance_uuid": rid("i", 1)}},
     f"{FIELD} os-attach. Value: {{'instance_uuid': '{rid('i', 1)}'}}. 'mountpoint' is a"
     " required property"),
    ({"os-attach": {"mountpoint": "/dev/vdb"}},
     f"{FIELD} os-attach. Value: {{'mountpoint': '/dev/vdb'}}. {{'mountpoint': '/dev/vdb'}}"
     " is not valid under any of the given schemas"),
    ({"os-attach": {"mountpoint": "/dev/vdb", "host_name": "h", "mode": "rx"}},
     f"{FIELD} mode. Value: rx. 'rx' is not one of ['rw', 'ro']"),
    ({"os-detach": {"attachment_id": "x"}},
     f"{FIELD} attachment_id. Value: x. 'x' is not valid under any of the given schemas"),
    ({"os-initialize_connection": {}}, f"{FIELD} os-initialize_connection. Value: {{}}."
                                       " 'connector' is a required property"),
    ({"os-initialize_connection": {"connector": None}},
     f"{FIELD} connector. Value: None. None is not of type 'object', 'string'"),
    ({"os-retype": {}}, f"{FIELD} os-retype. Value: {{}}. 'new_type' is a required property"),
    ({"os-retype": {"new_type": "t", "migration_policy": "always"}},
     f"{FIELD} migration_policy. Value: always. 'always' is not one of ['on-demand', 'never']"),
    ({"os-volume_upload_image": {}}, f"{FIELD} os-volume_upload_image. Value: {{}}."
                                     " 'image_name' is a required property"),
    ({"os-volume_upload_image": {"image_name": "i", "disk_format": "iso"}},
     f"{FIELD} disk_format. Value: iso. 'iso' is not one of ['raw', 'vmdk', 'vdi', 'qcow2',"
     " 'vhd', 'vhdx', 'ploop']"),
    ({"os-volume_upload_image": {"image_name": "i", "container_format": "a\nb"}},
     f"{FIELD} container_format. Value: a\nb. 'a\\nb' is not a 'printable'"),
    ({"os-set_image_metadata": {}}, f"{FIELD} os-set_image_metadata. Value: {{}}. 'metadata'"
                                    " is a required property"),
    ({"os-set_image_metadata": {"metadata": {"k": "v" * 65536}}}, f"{FIELD} k. Value: vvv"),
    ({"os-unset_image_metadata": {"key": ""}},
     f"{FIELD} key. Value: . '' should be non-empty"),
    ({"os-reimage": {}}, f"{FIELD} os-reimage. Value: {{}}. 'image_id' is a required property"),
])
def test_bad_volume_actions_are_400_in_cinder_words(body: Any, message: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_volume_action(body, LATEST)
    assert caught.value.message.startswith(message), caught.value.message


def test_actions_newer_than_the_version_are_404() -> None:
    with pytest.raises(NotFound):
        parse_volume_action({"revert": {"snapshot_id": rid("s", 1)}}, APIVersion(3, 39))
    assert parse_volume_action({"revert": {"snapshot_id": rid("s", 1)}},
                               APIVersion(3, 40)) == RevertVolume(rid("s", 1))
    with pytest.raises(NotFound):
        parse_volume_action({"os-reimage": {"image_id": rid("i", 1)}}, APIVersion(3, 67))


def test_upload_visibility_needs_3_1() -> None:
    body = {"os-volume_upload_image": {"image_name": "i", "visibility": "public"}}
    with pytest.raises(BadRequest, match="'visibility' was unexpected"):
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
                 {"os-update_snapshot_status": {}}, {"revert": {}},
                 {"os-update_snapshot_status": {"status": "available", "progress": "50"}}):
        with pytest.raises(BadRequest):
            parse_snapshot_action(body)
    with pytest.raises(BadRequest) as caught:
        parse_backup_action({"os-reset_status": {"status": "creating"}})
    assert caught.value.message == (
        "Backup status: creating is invalid, valid statuses are: ('available', 'error').")
    with pytest.raises(BadRequest) as caught:
        parse_snapshot_action({"os-update_snapshot_status": {"status": "available",
                                                             "progress": "101%"}})
    assert caught.value.message == ("Invalid input received: progress must be an integer"
                                    " percentage between 0 and 100")


def test_attachment_complete() -> None:
    assert parse_attachment_action({"os-complete": None}, APIVersion(3, 44)) == (
        CompleteAttachment())
    with pytest.raises(NotFound):
        parse_attachment_action({"os-complete": None}, APIVersion(3, 43))
    with pytest.raises(BadRequest, match="no such action"):
        parse_attachment_action({"os-finish": None}, LATEST)
