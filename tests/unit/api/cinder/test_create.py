"""POST /volumes, /snapshots, /backups and backup restore bodies."""

from __future__ import annotations

from typing import Any

import pytest

from shoal.api import BadRequest
from shoal.api._microversion import APIVersion
from shoal.api.cinder.create import (
    BackupRestore,
    ImageReference,
    NewAttachment,
    NewBackup,
    NewSnapshot,
    NewVolume,
    parse_attachment_create,
    parse_backup_create,
    parse_backup_restore,
    parse_snapshot_create,
    parse_volume_create,
)
from shoal.errors import NotFound
from tests.unit.services.volume.test_records import rid

V30 = APIVersion(3, 0)
LATEST = APIVersion(3, 71)
IMAGE = "5e2a0b1c-8d3f-4a6b-9c7d-0e1f2a3b4c5d"


def volume(version: APIVersion = V30, **fields: Any) -> NewVolume:
    return parse_volume_create({"volume": fields}, version)


def test_a_plain_volume() -> None:
    assert volume(size=1) == NewVolume(size=1)
    assert volume(size="10", name="  v1  ", description=" d ").size == 10
    new = volume(size=1, name="  v1  ", description=" d ", metadata={"k": "v"},
                 availability_zone="nova", volume_type="ceph", multiattach=True)
    assert (new.name, new.description) == ("v1", "d")
    assert new.metadata == {"k": "v"}
    assert (new.availability_zone, new.volume_type, new.multiattach) == ("nova", "ceph", True)
    assert new.source is None


def test_openstack_cli_body_with_its_nulls() -> None:
    body = {"volume": {"size": 10, "consistencygroup_id": None, "snapshot_id": None,
                       "name": "V", "description": None, "volume_type": None,
                       "availability_zone": None, "metadata": None, "imageRef": IMAGE,
                       "source_volid": None, "backup_id": None, "multiattach": None,
                       "group_id": None},
            "OS-SCH-HNT:scheduler_hints": {"same_host": ["x"]}}
    new = parse_volume_create(body, LATEST)
    assert new.image == ImageReference(IMAGE, "id")
    assert (new.size, new.name, new.metadata, new.multiattach) == (10, "V", {}, False)
    assert new.source == "image"


@pytest.mark.parametrize(("ref", "expected"), [
    (IMAGE, ImageReference(IMAGE, "id")),
    (IMAGE.upper(), ImageReference(IMAGE, "id")),
    (IMAGE.replace("-", ""), ImageReference(IMAGE, "id")),
    (f"http://glance:9292/v2/images/{IMAGE}", ImageReference(IMAGE, "id")),
    ("cirros-0.6.2", ImageReference("cirros-0.6.2", "name")),
    (" cirros ", ImageReference("cirros", "name")),
])
def test_image_references(ref: str, expected: ImageReference) -> None:
    assert volume(size=1, imageRef=ref).image == expected
    assert volume(size=1, image_id=ref).image == expected


def test_image_id_wins_and_an_empty_type_is_the_default() -> None:
    assert volume(size=1, imageRef="a", image_id=IMAGE).image == ImageReference(IMAGE, "id")
    assert volume(size=1, imageRef="a", image_id=None).image is None
    assert volume(size=1, volume_type="").volume_type is None


def test_sources_give_the_size() -> None:
    assert volume(snapshot_id=rid("s", 1)).size is None
    assert volume(source_volid=rid("v", 1)).source == "volume"
    assert volume(LATEST, backup_id=rid("b", 1)).source == "backup"


def test_display_names_are_the_old_spelling() -> None:
    assert volume(size=1, display_name="old").name == "old"
    assert volume(size=1, display_name="old", name="new").name == "new"
    assert volume(size=1, display_description="x").description == "x"


def test_version_gated_keys() -> None:
    assert volume(APIVersion(3, 12), size=1, group_id="g").group_id is None  # ignored
    assert volume(APIVersion(3, 13), size=1, group_id="g").group_id == "g"
    assert volume(APIVersion(3, 46), size=1, backup_id=rid("b", 1)).backup_id is None
    assert volume(APIVersion(3, 52), size=1, bogus=1) == NewVolume(size=1)
    with pytest.raises(BadRequest, match="'bogus'"):
        volume(APIVersion(3, 53), size=1, bogus=1)


#: Cinder's opening of a refusal inside the body.
FIELD = "Invalid input for field/attribute"
KEY_PATTERN = "'^[a-zA-Z0-9-_:. /]{1,255}$'"


@pytest.mark.parametrize(("body", "message"), [
    (None, "None is not of type 'object'"),
    ([], "[] is not of type 'object'"),
    ({}, "'volume' is a required property"),
    ({"volume": {"size": 1}, "extra": 1},
     "Additional properties are not allowed ('extra' was unexpected)"),
    ({"volume": "x"}, f"{FIELD} volume. Value: x. 'x' is not of type 'object'"),
    ({"volume": {}}, "Invalid volume size provided for create request: 'size' is required"),
    ({"volume": {"size": None}}, "Invalid volume size provided for create request"),
    ({"volume": {"imageRef": IMAGE}}, "Invalid volume size provided for create request"),
    ({"volume": {"size": 0}}, f"{FIELD} size. Value: 0. 0 is less than the minimum of 1"),
    ({"volume": {"size": "0"}}, f"{FIELD} size. Value: 0. 0 is less than the minimum of 1"),
    ({"volume": {"size": -1}}, f"{FIELD} size. Value: -1. -1 is less than the minimum of 1"),
    ({"volume": {"size": 2**31}}, f"{FIELD} size. Value: 2147483648. 2147483648 is greater"
                                  " than the maximum of 2147483647"),
    ({"volume": {"size": "9" * 5000}}, f"{FIELD} size. Value: 999"),
    ({"volume": {"size": 1.0}},
     f"{FIELD} size. Value: 1.0. 1.0 is not of type 'integer', 'string', 'null'"),
    ({"volume": {"size": True}},
     f"{FIELD} size. Value: True. True is not of type 'integer', 'string', 'null'"),
    ({"volume": {"size": "1.5"}}, f"{FIELD} size. Value: 1.5. '1.5' does not match '^[0-9]+$'"),
    ({"volume": {"size": "\u0661"}}, f"{FIELD} size. Value: \u0661. '\u0661' does not match"),
    ({"volume": {"size": 1, "name": 7}},
     f"{FIELD} name. Value: 7. 7 is not of type 'string', 'null'"),
    ({"volume": {"size": 1, "name": "x" * 256}},
     "Invalid input received: name has 256 characters, more than 255."),
    ({"volume": {"size": 1, "description": " " + "x" * 300}},
     "Invalid input received: description has 300 characters, more than 255."),
    ({"volume": {"size": 1, "snapshot_id": "nope"}},
     f"{FIELD} snapshot_id. Value: nope. 'nope' is not valid under any of the given schemas"),
    ({"volume": {"size": 1, "imageRef": ""}},
     f"{FIELD} imageRef. Value: . Give the id or the name of an image."),
    ({"volume": {"size": 1, "imageRef": IMAGE, "snapshot_id": rid("s", 1)}},
     "Give only one source for a new volume, not imageRef and snapshot_id."),
    ({"volume": {"size": 1, "availability_zone": ""}},
     f"{FIELD} availability_zone. Value: . '' should be non-empty"),
    ({"volume": {"size": 1, "multiattach": "maybe"}},
     f"{FIELD} multiattach. Value: maybe. 'maybe' is not valid under any of the given schemas"),
    ({"volume": {"size": 1, "metadata": []}},
     f"{FIELD} metadata. Value: []. [] is not of type 'object', 'null'"),
    ({"volume": {"size": 1, "metadata": {"k": 1}}},
     f"{FIELD} k. Value: 1. 1 is not of type 'string'"),
    ({"volume": {"size": 1, "metadata": {"k": "v" * 256}}},
     f"{FIELD} k. Value: {'v' * 256}. '{'v' * 256}' is too long"),
    ({"volume": {"size": 1, "metadata": {"": "v"}}},
     f"{FIELD} metadata. Value: {{'': 'v'}}. '' does not match any of the regexes:"
     f" {KEY_PATTERN}"),
    ({"volume": {"size": 1, "metadata": {"k=v": "v"}}},
     f"{FIELD} metadata. Value: {{'k=v': 'v'}}. 'k=v' does not match any of the regexes:"),
    ({"volume": {"size": 1}, "OS-SCH-HNT:scheduler_hints": "x"},
     f"{FIELD} OS-SCH-HNT:scheduler_hints. Value: x. 'x' is not of type 'object', 'null'"),
])
def test_bad_volume_bodies_are_400_in_cinder_words(body: Any, message: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_volume_create(body, V30)
    assert caught.value.message.startswith(message), caught.value.message


def test_metadata_keys_cinder_allows() -> None:
    keys = {"a-b_c:d.e f/g": "v", "k" * 255: ""}
    assert volume(size=1, metadata=keys).metadata == keys


# --- snapshots -------------------------------------------------------------------------


def test_snapshot_create() -> None:
    body = {"snapshot": {"volume_id": rid("v", 1), "name": " s ", "description": "d",
                         "metadata": {"k": "v"}, "force": "True"}}
    assert parse_snapshot_create(body, V30) == NewSnapshot(
        volume_id=rid("v", 1), name="s", description="d", force=True, metadata={"k": "v"})
    cli = {"snapshot": {"volume_id": rid("v", 1), "name": "S", "description": None,
                        "metadata": {}}}
    assert parse_snapshot_create(cli, V30).force is False


def test_force_from_3_66() -> None:
    body = {"snapshot": {"volume_id": rid("v", 1)}}
    assert parse_snapshot_create(body, APIVersion(3, 66)).force is True
    body["snapshot"]["force"] = True
    assert parse_snapshot_create(body, APIVersion(3, 66)).force is True
    body["snapshot"]["force"] = False
    assert parse_snapshot_create(body, APIVersion(3, 65)).force is False
    with pytest.raises(BadRequest, match="'force' flag is invalid"):
        parse_snapshot_create(body, APIVersion(3, 66))


def test_snapshot_of_volume_none_is_404() -> None:
    """Cinder looks the null volume up (Tempest expects 404, not 400)."""
    with pytest.raises(NotFound, match="Volume None could not be found"):
        parse_snapshot_create({"snapshot": {"volume_id": None}}, V30)


@pytest.mark.parametrize(("snapshot", "message"), [
    ({}, f"{FIELD} snapshot. Value: {{}}. 'volume_id' is a required property"),
    ({"volume_id": "v1"},
     f"{FIELD} volume_id. Value: v1. 'v1' is not valid under any of the given schemas"),
    ({"volume_id": rid("v", 1), "force": None},
     f"{FIELD} force. Value: None. None is not of type 'boolean', 'string'"),
    ({"volume_id": rid("v", 1), "force": 1},
     f"{FIELD} force. Value: 1. 1 is not of type 'boolean', 'string'"),
    ({"volume_id": rid("v", 1), "description": "a\nb"},
     f"{FIELD} description. Value: a\nb. 'a\\nb' is not a 'printable'"),
    ({"volume_id": rid("v", 1), "size": 1},
     f"{FIELD} snapshot. Value: {{'volume_id': '{rid('v', 1)}', 'size': 1}}. Additional"
     " properties are not allowed ('size' was unexpected)"),
])
def test_bad_snapshot_bodies_are_400(snapshot: dict[str, Any], message: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_snapshot_create({"snapshot": snapshot}, V30)
    assert caught.value.message.startswith(message), caught.value.message


# --- backups ---------------------------------------------------------------------------


def test_backup_create_as_the_cli_sends_it() -> None:
    body = {"backup": {"volume_id": rid("v", 1), "container": None, "name": "B",
                       "description": None, "incremental": False, "force": False}}
    assert parse_backup_create(body, V30) == NewBackup(volume_id=rid("v", 1), name="B")


def test_backup_create_versions() -> None:
    body: dict[str, Any] = {"backup": {"volume_id": rid("v", 1), "metadata": {"k": "v"}}}
    with pytest.raises(BadRequest, match="'metadata' was unexpected"):
        parse_backup_create(body, APIVersion(3, 42))
    assert parse_backup_create(body, APIVersion(3, 43)).metadata == {"k": "v"}
    body["backup"]["availability_zone"] = "nova"
    with pytest.raises(BadRequest, match="'availability_zone' was unexpected"):
        parse_backup_create(body, APIVersion(3, 50))
    new = parse_backup_create(body, APIVersion(3, 51))
    assert new.availability_zone == "nova"
    full = {"backup": {"volume_id": rid("v", 1), "incremental": "yes", "force": "t",
                       "snapshot_id": rid("s", 1), "container": "backups"}}
    parsed = parse_backup_create(full, V30)
    assert (parsed.incremental, parsed.force, parsed.snapshot_id, parsed.container) == (
        True, True, rid("s", 1), "backups")


@pytest.mark.parametrize(("backup", "message"), [
    ({}, f"{FIELD} backup. Value: {{}}. 'volume_id' is a required property"),
    ({"volume_id": rid("v", 1), "incremental": None},
     f"{FIELD} incremental. Value: None. None is not of type 'boolean', 'string'"),
    ({"volume_id": rid("v", 1), "force": "sure"},
     f"{FIELD} force. Value: sure. 'sure' is not one of [True, 'True', "),
    ({"volume_id": rid("v", 1), "container": "c" * 256},
     f"{FIELD} container. Value: {'c' * 256}. '{'c' * 256}' is too long"),
    ({"volume_id": rid("v", 1), "snapshot_id": "s"},
     f"{FIELD} snapshot_id. Value: s. 's' is not valid under any of the given schemas"),
    ({"volume_id": None}, f"{FIELD} volume_id. Value: None. None is not of type 'string'"),
])
def test_bad_backup_bodies_are_400(backup: dict[str, Any], message: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_backup_create({"backup": backup}, LATEST)
    assert caught.value.message.startswith(message), caught.value.message


@pytest.mark.parametrize(("body", "expected"), [
    ({"restore": None}, BackupRestore()),
    ({"restore": {}}, BackupRestore()),
    ({"restore": {"volume_id": None, "name": None}}, BackupRestore()),  # Rally
    ({"restore": {"name": "NEW"}}, BackupRestore(name="NEW")),
    ({"restore": {"volume_id": rid("v", 2)}}, BackupRestore(volume_id=rid("v", 2))),
])
def test_backup_restore(body: Any, expected: BackupRestore) -> None:
    assert parse_backup_restore(body) == expected


@pytest.mark.parametrize("body", [
    {}, [], {"restore": []}, {"restore": {"volume_id": "x"}},
    {"restore": {"size": 1}}, {"restore": {"name": 1}},
])
def test_bad_restore_bodies_are_400(body: Any) -> None:
    with pytest.raises(BadRequest):
        parse_backup_restore(body)


# --- attachments ---------------------------------------------------------------------------

CONNECTOR = {"host": "compute-1", "initiator": "iqn.1994-05.com.redhat:1"}


def test_attachment_create_as_nova_sends_it() -> None:
    body = {"attachment": {"volume_uuid": rid("v", 1), "instance_uuid": rid("i", 1),
                           "connector": CONNECTOR, "mode": "rw"}}
    assert parse_attachment_create(body, APIVersion(3, 54)) == NewAttachment(
        rid("v", 1), rid("i", 1), CONNECTOR, "rw")
    reserve_only = {"attachment": {"volume_uuid": rid("v", 1), "instance_uuid": rid("i", 1),
                                   "connector": None}}
    assert parse_attachment_create(reserve_only, APIVersion(3, 27)).connector is None


def test_attachment_create_refusals() -> None:
    with pytest.raises(NotFound):
        parse_attachment_create({"attachment": {}}, APIVersion(3, 26))
    base = {"volume_uuid": rid("v", 1), "instance_uuid": rid("i", 1)}
    with pytest.raises(BadRequest, match="'mode' was unexpected"):
        parse_attachment_create({"attachment": {**base, "mode": "ro"}}, APIVersion(3, 53))
    for extra, message in (
            ({"mode": "rx"}, f"{FIELD} mode. Value: rx. 'rx' is not one of ['rw', 'ro']"),
            ({"connector": "h"}, f"{FIELD} connector. Value: h. 'h' is not of type 'object',"
                                 " 'null'"),
            ({"instance_uuid": None},
             f"{FIELD} instance_uuid. Value: None. None is not of type 'string'")):
        with pytest.raises(BadRequest) as caught:
            parse_attachment_create({"attachment": {**base, **extra}}, LATEST)
        assert caught.value.message == message
    with pytest.raises(BadRequest, match="'instance_uuid' is a required property"):
        parse_attachment_create({"attachment": {"volume_uuid": rid("v", 1)}}, LATEST)
