"""Volume types, os-services, limits and availability zones as Cinder's bodies."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shoal.api._microversion import APIVersion
from shoal.api.cinder.options import DEFAULT_OPTIONS, VolumeApiOptions
from shoal.api.cinder.service_views import (
    availability_zones_body,
    limits_body,
    service_view,
    services_body,
    volume_type_body,
    volume_type_view,
    volume_types_body,
)
from shoal.api.cinder.viewcontext import ViewContext
from shoal.services.volume.records import ServiceRecord, VolumeTypeRecord
from tests.unit.services.volume.test_records import BASE_TIME, P1, TYPE_ID

ENDPOINT = "http://127.0.0.1:8776/volume/v3"
SPECS = {"volume_backend_name": "ceph", "multiattach": "<is> True",
         "RESKEY:availability_zones": "nova"}


def ctx(version: str = "3.0", *, admin: bool = False) -> ViewContext:
    return ViewContext(version=APIVersion.parse(version), endpoint=ENDPOINT,
                       project_id=P1, is_admin=admin)


def volume_type(**fields: object) -> VolumeTypeRecord:
    values: dict[str, object] = {"id": TYPE_ID, "name": "ceph", "description": "RBD",
                                 "extra_specs": SPECS, "qos_specs_id": None}
    values.update(fields)
    return VolumeTypeRecord(**values)  # type: ignore[arg-type]


def test_users_see_only_user_visible_extra_specs() -> None:
    view = volume_type_view(volume_type(), ctx())
    assert view == {
        "id": TYPE_ID, "name": "ceph", "is_public": True, "description": "RBD",
        "extra_specs": {"multiattach": "<is> True", "RESKEY:availability_zones": "nova"},
        "os-volume-type-access:is_public": True,
    }


def test_admins_see_every_spec_and_the_qos_id() -> None:
    view = volume_type_view(volume_type(is_public=False), ctx(admin=True))
    assert view["extra_specs"] == SPECS
    assert view["qos_specs_id"] is None
    assert view["os-volume-type-access:is_public"] is False


def test_create_and_update_replies() -> None:
    created = volume_type_body(volume_type(), ctx(admin=True), purpose="create")
    assert set(created["volume_type"]) == {"id", "name", "is_public", "description",
                                           "extra_specs", "os-volume-type-access:is_public"}
    updated = volume_type_body(volume_type(), ctx(admin=True), purpose="update")
    assert set(updated["volume_type"]) == {"id", "name", "is_public", "description",
                                           "extra_specs"}
    with pytest.raises(ValueError, match="purpose"):
        volume_type_view(volume_type(), ctx(), purpose="delete")


def test_type_list_links() -> None:
    body = volume_types_body([volume_type()], ctx(), limit=1, params=[("limit", "1")])
    assert body["volume_type_links"][0]["href"] == (
        f"{ENDPOINT}/{P1}/types?limit=1&marker={TYPE_ID}")
    assert "volume_type_links" not in volume_types_body([volume_type()], ctx(), limit=2)


def service(**fields: object) -> ServiceRecord:
    values: dict[str, object] = {
        "binary": "cinder-volume", "host": "shoal@ceph", "availability_zone": "nova",
        "created_at": BASE_TIME, "updated_at": BASE_TIME + timedelta(minutes=10),
        "backend_state": "up",
    }
    values.update(fields)
    return ServiceRecord(**values)  # type: ignore[arg-type]


NOW = BASE_TIME + timedelta(minutes=10, seconds=30)


def test_a_live_volume_service() -> None:
    view = service_view(service(), ctx("3.0", admin=True), now=NOW, options=DEFAULT_OPTIONS)
    assert view == {
        "binary": "cinder-volume", "host": "shoal@ceph", "zone": "nova",
        "status": "enabled", "state": "up", "updated_at": "2026-11-23T18:10:00.000000",
        "disabled_reason": None, "replication_status": "not-capable",
        "active_backend_id": None, "frozen": False,
    }


def test_service_fields_per_version_and_binary() -> None:
    backup = service(binary="cinder-backup", host="shoal", backend_state=None)
    at_3_49 = service_view(backup, ctx("3.49", admin=True), now=NOW, options=DEFAULT_OPTIONS)
    assert set(at_3_49) == {"binary", "host", "zone", "status", "state", "updated_at",
                            "disabled_reason", "cluster"}
    volume = service_view(service(backend_state=None), ctx("3.49", admin=True), now=NOW,
                          options=DEFAULT_OPTIONS)
    assert (volume["cluster"], volume["backend_state"]) == (None, "down")
    assert "cluster" not in service_view(service(), ctx("3.6"), now=NOW,
                                         options=DEFAULT_OPTIONS)


def test_silent_and_disabled_services() -> None:
    late = NOW + timedelta(seconds=61)
    assert service_view(service(), ctx(), now=late, options=DEFAULT_OPTIONS)["state"] == "down"
    patient = VolumeApiOptions(service_down_time=120)
    assert service_view(service(), ctx(), now=late, options=patient)["state"] == "up"
    never = service(updated_at=None)
    fresh = service_view(never, ctx(), now=BASE_TIME + timedelta(seconds=5),
                         options=DEFAULT_OPTIONS)
    assert (fresh["state"], fresh["updated_at"]) == ("up", None)
    disabled = service(disabled=True, disabled_reason="maintenance",
                       modified_at=BASE_TIME + timedelta(minutes=10, seconds=20))
    view = service_view(disabled, ctx(), now=NOW, options=DEFAULT_OPTIONS)
    assert (view["status"], view["disabled_reason"]) == ("disabled", "maintenance")
    assert view["updated_at"] == "2026-11-23T18:10:20.000000"  # the later change shows
    body = services_body([service(), disabled], ctx(), now=NOW, options=DEFAULT_OPTIONS)
    assert [s["status"] for s in body["services"]] == ["enabled", "disabled"]


def test_limits() -> None:
    body = limits_body({"volumes": 10, "gigabytes": 1000, "snapshots": 10, "backups": 10,
                        "backup_gigabytes": 1000},
                       {"volumes": 2, "gigabytes": 3, "snapshots": 1})
    assert body == {"limits": {"rate": [], "absolute": {
        "maxTotalVolumeGigabytes": 1000, "maxTotalBackupGigabytes": 1000,
        "maxTotalVolumes": 10, "maxTotalSnapshots": 10, "maxTotalBackups": 10,
        "totalVolumesUsed": 2, "totalGigabytesUsed": 3, "totalSnapshotsUsed": 1,
        "totalBackupsUsed": 0, "totalBackupGigabytesUsed": 0,
    }}}
    assert limits_body({}, {})["limits"]["absolute"]["maxTotalVolumes"] == -1


def test_availability_zones() -> None:
    assert availability_zones_body([("nova", True), ("down", False)]) == {
        "availabilityZoneInfo": [
            {"zoneName": "nova", "zoneState": {"available": True}},
            {"zoneName": "down", "zoneState": {"available": False}},
        ]}
