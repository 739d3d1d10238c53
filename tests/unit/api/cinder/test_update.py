"""PUT bodies of volumes, snapshots, backups and volume types; metadata bodies."""

from __future__ import annotations

from typing import Any

import pytest

from shoal.api import BadRequest
from shoal.api._microversion import APIVersion
from shoal.api.cinder.update import (
    BackupUpdate,
    NewVolumeType,
    SnapshotUpdate,
    VolumeTypeUpdate,
    VolumeUpdate,
    parse_attachment_update,
    parse_backup_update,
    parse_metadata,
    parse_metadata_item,
    parse_snapshot_update,
    parse_volume_type_create,
    parse_volume_type_update,
    parse_volume_update,
)
from shoal.errors import NotFound

V30 = APIVersion(3, 0)
V353 = APIVersion(3, 53)


def test_volume_update() -> None:
    assert parse_volume_update({"volume": {"name": " n "}}, V30) == VolumeUpdate(
        changes={"name": "n"})
    both = parse_volume_update({"volume": {"display_name": "old", "name": "new",
                                           "description": None, "metadata": {"k": "v"}}},
                               V353)
    assert both == VolumeUpdate(changes={"name": "new", "description": None},
                                metadata={"k": "v"})
    assert parse_volume_update({"volume": {"display_description": "d"}}, V30).changes == {
        "description": "d"}
    assert parse_volume_update({"volume": {}}, APIVersion(3, 52)) == VolumeUpdate()


@pytest.mark.parametrize(("body", "problem"), [
    ({"volume": {}}, "Invalid input for field/attribute volume. Value: {}. {} is not valid"
                     " under any of the given schemas"),
    ({"volume": {"size": 2}}, "Invalid input for field/attribute volume. Value: {'size': 2}."
                              " Additional properties are not allowed ('size' was unexpected)"),
    ({"volume": {"metadata": None}}, "Invalid input for field/attribute metadata. Value: None."
                                     " None is not of type 'object'"),
    ({"volume": {"name": ["x"]}}, "Invalid input for field/attribute name. Value: ['x']."
                                  " ['x'] is not of type 'string', 'null'"),
    ({"volumes": {}}, "'volume' is a required property"),
])
def test_bad_volume_updates(body: Any, problem: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_volume_update(body, V353)
    assert caught.value.message == problem


def test_snapshot_update() -> None:
    assert parse_snapshot_update({"snapshot": {"name": "s", "description": "d"}}) == (
        SnapshotUpdate(changes={"name": "s", "description": "d"}))
    for body, problem in (({"snapshot": {}}, "is not valid under any of the given schemas"),
                          ({"snapshot": {"description": "a\tb"}}, "is not a 'printable'"),
                          ({"snapshot": {"volume_id": "x"}}, "'volume_id' was unexpected")):
        with pytest.raises(BadRequest, match=problem):
            parse_snapshot_update(body)


def test_backup_update() -> None:
    with pytest.raises(NotFound, match=r"3\.9"):
        parse_backup_update({"backup": {"name": "x"}}, APIVersion(3, 8))
    assert parse_backup_update({"backup": None}, APIVersion(3, 9)) == BackupUpdate()
    assert parse_backup_update({"backup": {"name": "x", "description": None}},
                               APIVersion(3, 9)) == BackupUpdate(
        changes={"name": "x", "description": None})
    with pytest.raises(BadRequest, match="'metadata' was unexpected"):
        parse_backup_update({"backup": {"metadata": {"k": "v"}}}, APIVersion(3, 42))
    assert parse_backup_update({"backup": {"metadata": {"k": "v"}}},
                               APIVersion(3, 43)).metadata == {"k": "v"}


def test_metadata_bodies() -> None:
    assert parse_metadata({"metadata": {"k": "v"}}) == {"k": "v"}
    assert parse_metadata({"metadata": {}}) == {}
    for body in ({}, {"metadata": None}, {"metadata": {"k": 1}}, {"meta": {"k": "v"}},
                 {"metadata": {}, "x": 1}):
        with pytest.raises(BadRequest):
            parse_metadata(body)


def test_metadata_item() -> None:
    assert parse_metadata_item({"meta": {"k": "v"}}, "k") == ("k", "v")
    with pytest.raises(BadRequest, match="Request body and URI mismatch"):
        parse_metadata_item({"meta": {"j": "v"}}, "k")
    with pytest.raises(BadRequest, match="has too many properties"):
        parse_metadata_item({"meta": {"k": "v", "j": "w"}}, "k")
    with pytest.raises(BadRequest) as caught:
        parse_metadata_item({"meta": {}}, "k")
    assert caught.value.message == (
        "Invalid input for field/attribute meta. Value: {}. {} should be non-empty")
    with pytest.raises(BadRequest) as caught:
        parse_metadata_item({"metadata": {"k": "v"}}, "k")
    assert caught.value.message == "'meta' is a required property"


def test_volume_type_create_and_update() -> None:
    body = {"volume_type": {"name": " ceph ", "extra_specs": {"volume_backend_name": "c"},
                            "os-volume-type-access:is_public": "false"}}
    assert parse_volume_type_create(body) == NewVolumeType(
        name="ceph", is_public=False, extra_specs={"volume_backend_name": "c"})
    for bad in ({"volume_type": {}}, {"volume_type": {"name": "  "}},
                {"volume_type": {"name": "t", "is_public": True}}):
        with pytest.raises(BadRequest):
            parse_volume_type_create(bad)
    assert parse_volume_type_update({"volume_type": {"is_public": True}}) == (
        VolumeTypeUpdate(is_public=True))
    with pytest.raises(BadRequest, match="Specify volume type name"):
        parse_volume_type_update({"volume_type": {"description": None}})
    with pytest.raises(BadRequest, match=r"Value: \. '' should be non-empty"):
        parse_volume_type_update({"volume_type": {"name": ""}})
    with pytest.raises(BadRequest, match=r"^Volume type name can not be empty\.$"):
        parse_volume_type_update({"volume_type": {"name": "  "}})
    with pytest.raises(BadRequest) as caught:
        parse_volume_type_create({"volume_type": {"name": "  "}})
    assert caught.value.message == (
        "An invalid 'name' value was provided. The 'name' can not be empty.")


def test_attachment_update() -> None:
    connector = {"host": "compute-1"}
    assert parse_attachment_update({"attachment": {"connector": connector}},
                                   APIVersion(3, 27)) == connector
    with pytest.raises(NotFound):
        parse_attachment_update({"attachment": {"connector": connector}}, APIVersion(3, 26))
    for body in ({"attachment": {}}, {"attachment": {"connector": {}}},
                 {"attachment": {"connector": connector, "mode": "rw"}}):
        with pytest.raises(BadRequest):
            parse_attachment_update(body, APIVersion(3, 71))
