"""Volumes, snapshots, backups and attachments rendered as Cinder's bodies."""

from __future__ import annotations

import json
import urllib.parse
from datetime import timedelta

import pytest

from shoal.api._microversion import APIVersion
from shoal.api.cinder.viewcontext import ViewContext, cinder_time
from shoal.api.cinder.views import (
    FIXED_KEY_ID,
    attachment_body,
    attachments_body,
    backup_body,
    backup_restore_body,
    backups_body,
    collection_links,
    snapshot_body,
    snapshots_body,
    volume_body,
    volume_detail,
    volumes_body,
)
from tests.unit.services.volume.test_records import (
    BASE_TIME,
    P1,
    P2,
    TYPE_ID,
    U1,
    make_attachment,
    make_backup,
    make_snapshot,
    make_volume,
    rid,
)

ENDPOINT = "http://127.0.0.1:8776/volume/v3"


def ctx(version: str = "3.0", *, admin: bool = False, service: bool = False,
        project: str | None = P1) -> ViewContext:
    return ViewContext(version=APIVersion.parse(version), endpoint=ENDPOINT,
                       project_id=project, is_admin=admin, is_service=service)


BASE_FIELDS = {
    "id", "status", "size", "availability_zone", "created_at", "updated_at", "name",
    "description", "volume_type", "snapshot_id", "source_volid", "metadata", "links",
    "user_id", "bootable", "encrypted", "replication_status", "consistencygroup_id",
    "multiattach", "attachments",
}
EXTENSION_FIELDS = {"os-vol-tenant-attr:tenant_id"}
ADMIN_EXTENSION_FIELDS = {"os-vol-host-attr:host", "os-vol-mig-status-attr:migstat",
                          "os-vol-mig-status-attr:name_id"}


def test_volume_at_3_0_for_its_owner() -> None:
    volume = make_volume(description="d", metadata={"k": "v"})
    view = volume_detail(volume, ctx())
    assert set(view) == BASE_FIELDS | EXTENSION_FIELDS
    assert view == {
        "id": rid("v", 1), "status": "available", "size": 1, "availability_zone": "nova",
        "created_at": "2026-11-23T18:01:00.000000", "updated_at": "2026-11-23T18:01:05.000000",
        "name": "vol-1", "description": "d", "volume_type": "__DEFAULT__",
        "snapshot_id": None, "source_volid": None, "metadata": {"k": "v"},
        "links": [
            {"rel": "self", "href": f"{ENDPOINT}/{P1}/volumes/{rid('v', 1)}"},
            {"rel": "bookmark",
             "href": f"http://127.0.0.1:8776/volume/{P1}/volumes/{rid('v', 1)}"},
        ],
        "user_id": U1, "bootable": "false", "encrypted": False, "replication_status": None,
        "consistencygroup_id": None, "multiattach": False, "attachments": [],
        "os-vol-tenant-attr:tenant_id": P1,
    }
    assert json.loads(json.dumps(view)) == view


def test_create_and_update_replies_have_no_extension_fields() -> None:
    body = volume_body(make_volume(), ctx(admin=True), extended=False)
    assert set(body) == {"volume"}
    assert set(body["volume"]) == BASE_FIELDS | {"migration_status"}


def test_admins_see_host_migration_and_tenant() -> None:
    volume = make_volume(project_id=P2, migration_status="success", name_id=rid("v", 9))
    view = volume_detail(volume, ctx(admin=True))
    assert set(view) == BASE_FIELDS | EXTENSION_FIELDS | ADMIN_EXTENSION_FIELDS | {
        "migration_status"}
    assert view["os-vol-host-attr:host"] == "shoal@ceph#ceph"
    assert view["os-vol-tenant-attr:tenant_id"] == P2
    assert view["os-vol-mig-status-attr:migstat"] == "success"
    assert view["os-vol-mig-status-attr:name_id"] == rid("v", 9)
    # links carry the caller's project, not the owner's (as Cinder)
    assert f"/{P1}/volumes/" in view["links"][0]["href"]


@pytest.mark.parametrize(("version", "admin", "added"), [
    ("3.12", False, set()),
    ("3.13", False, {"group_id"}),
    ("3.21", False, {"group_id"}),
    ("3.21", True, {"group_id", "provider_id"}),
    ("3.48", False, {"group_id", "shared_targets", "service_uuid"}),
    ("3.61", False, {"group_id", "shared_targets", "service_uuid"}),
    ("3.61", True, {"group_id", "provider_id", "shared_targets", "service_uuid",
                    "cluster_name"}),
    ("3.63", False, {"group_id", "shared_targets", "service_uuid", "volume_type_id"}),
    ("3.64", False, {"group_id", "shared_targets", "service_uuid", "volume_type_id"}),
    ("3.65", False, {"group_id", "shared_targets", "service_uuid", "volume_type_id",
                     "consumes_quota"}),
    ("3.71", True, {"group_id", "provider_id", "shared_targets", "service_uuid",
                    "cluster_name", "volume_type_id", "consumes_quota"}),
])
def test_microversioned_volume_fields(version: str, admin: bool, added: set[str]) -> None:
    view = volume_detail(make_volume(), ctx(version, admin=admin), extended=False)
    expected = BASE_FIELDS | added | ({"migration_status"} if admin else set())
    assert set(view) == expected


def test_microversioned_volume_values() -> None:
    volume = make_volume(group_id=rid("v", 7), use_quota=False, provider_id="p")
    view = volume_detail(volume, ctx("3.71", admin=True))
    assert view["group_id"] == rid("v", 7)
    assert view["provider_id"] == "p"
    assert view["volume_type_id"] == TYPE_ID
    assert view["volume_type"] == "__DEFAULT__"
    assert view["consumes_quota"] is False
    assert view["shared_targets"] is False
    assert view["cluster_name"] is None


def test_shared_targets_null_shows_true_before_3_69() -> None:
    volume = make_volume(shared_targets=None)
    assert volume_detail(volume, ctx("3.48"))["shared_targets"] is True
    assert volume_detail(volume, ctx("3.68"))["shared_targets"] is True
    assert volume_detail(volume, ctx("3.69"))["shared_targets"] is None


def test_volume_type_falls_back_to_the_id_before_3_63() -> None:
    volume = make_volume(volume_type_name=None)
    assert volume_detail(volume, ctx("3.62"))["volume_type"] == TYPE_ID
    assert volume_detail(volume, ctx("3.63"))["volume_type"] is None


def test_encryption_key_id_from_3_64_when_real() -> None:
    key = "7c1d0e2f-3a4b-4c5d-8e6f-708192a3b4c5"
    assert volume_detail(make_volume(encryption_key_id=key), ctx("3.63"))["encrypted"]
    assert "encryption_key_id" not in volume_detail(make_volume(encryption_key_id=key),
                                                    ctx("3.63"))
    assert volume_detail(make_volume(encryption_key_id=key),
                         ctx("3.64"))["encryption_key_id"] == key
    assert "encryption_key_id" not in volume_detail(make_volume(), ctx("3.64"))
    fixed = volume_detail(make_volume(encryption_key_id=FIXED_KEY_ID), ctx("3.64"))
    assert "encryption_key_id" not in fixed
    assert fixed["encrypted"] is True


@pytest.mark.parametrize(("stored", "shown"), [
    ("managing", "creating"), ("error_managing", "error"),
    ("error_managing_deleting", "deleting"), ("in-use", "in-use"),
])
def test_internal_statuses_are_hidden(stored: str, shown: str) -> None:
    assert volume_detail(make_volume(status=stored), ctx())["status"] == shown


def test_bootable_is_a_string_and_admin_metadata_shows_in_metadata() -> None:
    volume = make_volume(bootable=True, metadata={"k": "v", "readonly": "user"},
                         admin_metadata={"readonly": "True", "attached_mode": "ro",
                                         "secret": "x"})
    view = volume_detail(volume, ctx())
    assert view["bootable"] == "true"
    assert view["metadata"] == {"k": "v", "readonly": "True", "attached_mode": "ro"}


def test_attachments_show_attached_ones_and_hide_hosts_from_users() -> None:
    volume = make_volume(status="in-use", attachments=[
        make_attachment(1), make_attachment(2, status="reserved"),
        make_attachment(3, status="detached"),
    ])
    user = volume_detail(volume, ctx())["attachments"]
    assert user == [{
        "id": volume.id, "attachment_id": rid("a", 1), "volume_id": volume.id,
        "server_id": rid("i", 1), "host_name": None, "device": "/dev/vdb",
        "attached_at": "2026-11-23T19:00:00.000000",
    }]
    assert volume_detail(volume, ctx(admin=True))["attachments"][0]["host_name"] == "compute-1"
    assert volume_detail(volume, ctx(service=True))["attachments"][0]["host_name"] == (
        "compute-1")


def test_image_metadata_in_show_only_when_present() -> None:
    plain = volume_detail(make_volume(), ctx())
    assert "volume_image_metadata" not in plain
    from_image = make_volume(image_metadata={"image_id": rid("i", 1), "disk_format": "raw"})
    assert volume_detail(from_image, ctx())["volume_image_metadata"] == {
        "image_id": rid("i", 1), "disk_format": "raw"}
    assert "volume_image_metadata" not in volume_detail(from_image, ctx(), extended=False)


def test_detail_list_gives_image_metadata_to_all_or_none() -> None:
    volumes = [make_volume(1), make_volume(2, image_metadata={"image_name": "cirros"})]
    body = volumes_body(volumes, ctx(), detail=True, limit=1000)
    assert [v["volume_image_metadata"] for v in body["volumes"]] == [
        {}, {"image_name": "cirros"}]
    without = volumes_body([make_volume(1)], ctx(), detail=True, limit=1000)
    assert "volume_image_metadata" not in without["volumes"][0]


def test_summary_list() -> None:
    body = volumes_body([make_volume(1), make_volume(2, name=None)], ctx(), detail=False,
                        limit=1000)
    assert body == {"volumes": [
        {"id": rid("v", 1), "name": "vol-1", "links": body["volumes"][0]["links"]},
        {"id": rid("v", 2), "name": None, "links": body["volumes"][1]["links"]},
    ]}


def test_next_link_when_the_page_is_full() -> None:
    volumes = [make_volume(1), make_volume(2)]
    params = [("limit", "2"), ("marker", "old"), ("sort", "name:asc")]
    body = volumes_body(volumes, ctx("3.45"), detail=True, params=params, limit=2)
    [link] = body["volumes_links"]
    assert link["rel"] == "next"
    url = urllib.parse.urlsplit(link["href"])
    assert url.path == f"/volume/v3/{P1}/volumes/detail"
    assert urllib.parse.parse_qsl(url.query) == [
        ("limit", "2"), ("sort", "name:asc"), ("marker", rid("v", 2))]
    short = volumes_body(volumes, ctx(), detail=False, limit=3)
    assert "volumes_links" not in short
    assert "volumes_links" not in volumes_body([], ctx(), detail=False, limit=0)


def test_count_from_3_45_and_its_effect_on_links() -> None:
    volumes = [make_volume(1)]
    assert "count" not in volumes_body(volumes, ctx("3.44"), detail=False, limit=5, count=9)
    body = volumes_body(volumes, ctx("3.45"), detail=False, limit=5, count=9)
    assert body["count"] == 9
    assert "volumes_links" in body  # Cinder compares the limit with the count
    assert volumes_body([], ctx("3.45"), detail=False, limit=5, count=0)["count"] == 0


def test_collection_links_without_a_project() -> None:
    links = collection_links(["x"], ctx(project=None), path="snapshots", params=[],
                             limit=1)
    assert links == [{"rel": "next", "href": f"{ENDPOINT}/snapshots?marker=x"}]


def test_cinder_time_and_context_checks() -> None:
    assert cinder_time(None) is None
    assert cinder_time(BASE_TIME + timedelta(microseconds=7)) == "2026-11-23T18:00:00.000007"
    with pytest.raises(ValueError, match="http"):
        ViewContext(version=APIVersion(3, 0), endpoint="volume/v3")
    trailing = ViewContext(version=APIVersion(3, 0), endpoint=ENDPOINT + "/", project_id=P1)
    assert trailing.href("volumes", "x") == f"{ENDPOINT}/{P1}/volumes/x"


# --- snapshots -------------------------------------------------------------------------

SNAPSHOT_FIELDS = {"id", "created_at", "updated_at", "name", "description", "volume_id",
                   "status", "size", "metadata"}
SNAPSHOT_EXTENDED = {"os-extended-snapshot-attributes:progress",
                     "os-extended-snapshot-attributes:project_id"}


@pytest.mark.parametrize(("version", "added"), [
    ("3.0", set()), ("3.14", {"group_snapshot_id"}),
    ("3.41", {"group_snapshot_id", "user_id"}),
    ("3.65", {"group_snapshot_id", "user_id", "consumes_quota"}),
])
def test_snapshot_fields_per_version(version: str, added: set[str]) -> None:
    snapshot = make_snapshot(metadata={"k": "v"})
    shown = snapshot_body(snapshot, ctx(version))["snapshot"]
    assert set(shown) == SNAPSHOT_FIELDS | added | SNAPSHOT_EXTENDED
    created = snapshot_body(snapshot, ctx(version), extended=False)["snapshot"]
    assert set(created) == SNAPSHOT_FIELDS | added
    summary = snapshots_body([snapshot], ctx(version), detail=False, limit=1000)
    assert set(summary["snapshots"][0]) == SNAPSHOT_FIELDS
    detail = snapshots_body([snapshot], ctx(version), detail=True, limit=1000)
    assert set(detail["snapshots"][0]) == SNAPSHOT_FIELDS | added | SNAPSHOT_EXTENDED


def test_snapshot_values() -> None:
    shown = snapshot_body(make_snapshot(volume_size=3, progress="42%"), ctx("3.65"))
    snapshot = shown["snapshot"]
    assert snapshot["size"] == 3
    assert snapshot["os-extended-snapshot-attributes:progress"] == "42%"
    assert snapshot["os-extended-snapshot-attributes:project_id"] == P1
    assert (snapshot["user_id"], snapshot["consumes_quota"]) == (U1, True)
    assert snapshot["created_at"] == "2026-11-23T18:01:00.000000"
    assert snapshot["updated_at"] is None


def test_snapshot_list_links_point_at_the_list_asked() -> None:
    body = snapshots_body([make_snapshot(1)], ctx(), detail=True, limit=1)
    assert "/snapshots/detail?marker=" in body["snapshots_links"][0]["href"]


# --- backups ---------------------------------------------------------------------------

BACKUP_FIELDS = {"id", "status", "size", "object_count", "availability_zone", "container",
                 "created_at", "updated_at", "name", "description", "fail_reason",
                 "volume_id", "links", "is_incremental", "has_dependent_backups",
                 "snapshot_id", "data_timestamp"}


@pytest.mark.parametrize(("version", "admin", "added"), [
    ("3.0", True, set()),
    ("3.18", False, set()),
    ("3.18", True, {"os-backup-project-attr:project_id"}),
    ("3.43", False, {"metadata"}),
    ("3.56", False, {"metadata"}),
    ("3.56", True, {"metadata", "os-backup-project-attr:project_id", "user_id"}),
])
def test_backup_fields_per_version(version: str, admin: bool, added: set[str]) -> None:
    shown = backup_body(make_backup(), ctx(version, admin=admin))["backup"]
    assert set(shown) == BACKUP_FIELDS | added
    listed = backups_body([make_backup()], ctx(version, admin=admin), detail=True,
                          limit=1000)["backups"][0]
    assert set(listed) == BACKUP_FIELDS | added


def test_backup_values_and_summaries() -> None:
    backup = make_backup(parent_id=rid("b", 9), metadata={"k": "v"},
                         encryption_key_id="7c1d0e2f-3a4b-4c5d-8e6f-708192a3b4c5")
    shown = backup_body(backup, ctx("3.64", admin=True))["backup"]
    assert shown["is_incremental"] is True
    assert shown["has_dependent_backups"] is False
    assert shown["metadata"] == {"k": "v"}
    assert shown["encryption_key_id"] == "7c1d0e2f-3a4b-4c5d-8e6f-708192a3b4c5"
    assert shown["links"][1]["href"].endswith(f"/volume/{P1}/backups/{rid('b', 1)}")
    assert backup_body(backup, ctx(), detail=False) == {"backup": {
        "id": backup.id, "name": "backup-1", "links": shown["links"]}}
    listed = backups_body([backup], ctx(), detail=False, limit=1)
    assert set(listed["backups"][0]) == {"id", "name", "links"}
    assert "/backups?marker=" in listed["backups_links"][0]["href"]
    assert backup_restore_body(backup.id, rid("v", 2), None) == {"restore": {
        "backup_id": backup.id, "volume_id": rid("v", 2), "volume_name": None}}


# --- attachments API -------------------------------------------------------------------


def test_attachment_bodies() -> None:
    attachment = make_attachment(connection_info={"driver_volume_type": "rbd"})
    assert attachment_body(attachment) == {"attachment": {
        "id": rid("a", 1), "status": "attached", "instance": rid("i", 1),
        "volume_id": rid("v", 1), "attached_at": "2026-11-23T19:00:00.000000",
        "detached_at": "", "attach_mode": "rw",
        "connection_info": {"driver_volume_type": "rbd"},
    }}
    reserved = make_attachment(2, status="reserved", attach_time=None, attach_mode=None)
    assert attachments_body([reserved], detail=False) == {"attachments": [{
        "id": rid("a", 2), "status": "reserved", "instance": rid("i", 2),
        "volume_id": rid("v", 1)}]}
    detail = attachments_body([reserved], detail=True)["attachments"][0]
    assert (detail["attached_at"], detail["connection_info"]) == ("", None)
