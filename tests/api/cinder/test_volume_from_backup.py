"""``POST /volumes`` with ``backup_id`` (3.47) in process: the reply, the volume's way to
``available`` with the backup's bytes, Cinder's 4xx for every bad request (nothing
recorded), and ``GET /extensions`` listing ``backups`` only where backups are served."""

from __future__ import annotations

import random
import time
from typing import Any

import pytest

from tests.api.cinder._cloud import assert_cinder_error
from tests.api.cinder._volume_app import in_process_volume_app
from tests.api.cinder.test_backups import Api, _caller, _Stats, _volume
from tests.api.conftest import call
from tests.unit.services.backup.test_service import MiB, World, world  # noqa: F401 (fixture)
from tests.unit.services.volume.test_service import ADMIN

V347 = "3.47"
NO_SUCH = "00000000-0000-4000-8000-000000000000"
WAIT_S = 30


@pytest.fixture
def api(world: World) -> Api:  # noqa: F811 (the imported fixture)
    return Api(world)


def _backup(api: Api, size: int = 1) -> tuple[str, bytes]:
    """An available backup of a ``size`` GiB volume holding random bytes: (id, bytes)."""
    vid = _volume(api, size)
    data = random.Random(347).randbytes(2 * MiB)
    api.world.env.write(f"volume-{vid}", data)
    made = api("POST", "/backups", json={"backup": {"volume_id": vid, "name": "B"}})
    assert made.status_code == 202, made.text
    bid = str(made.json()["backup"]["id"])
    api.wait(bid, "available")
    return bid, data


def _wait_volume(api: Api, volume_id: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_S
    while True:
        body = api("GET", f"/volumes/{volume_id}", version=V347).json()["volume"]
        if body["status"] == status:
            return dict(body)
        assert time.monotonic() < deadline, body
        time.sleep(0.05)


def _volume_count(api: Api) -> int:
    return len(api.world.volumes.list_volumes(ADMIN, all_projects=True))


def test_create_from_backup_restores_its_bytes(api: Api) -> None:
    bid, data = _backup(api)
    made = api("POST", "/volumes", version=V347,
               json={"volume": {"backup_id": bid, "name": "from-b"}})
    assert made.status_code == 202, made.text
    body = made.json()["volume"]
    assert body["status"] == "creating" and body["size"] == 1 and body["name"] == "from-b"
    assert api("GET", f"/backups/{bid}").json()["backup"]["status"] in ("restoring",
                                                                        "available")
    api.wait(bid, "available")
    shown = _wait_volume(api, body["id"], "available")
    assert "backup_id" not in shown  # Cinder's volume view has no backup_id
    assert shown["snapshot_id"] is None and shown["source_volid"] is None
    assert api.world.read(body["id"], 2 * MiB) == data

    bigger = api("POST", "/volumes", version="3.71",
                 json={"volume": {"backup_id": bid, "size": "2", "volume_type": None}})
    assert bigger.status_code == 202, bigger.text
    api.wait(bid, "available")
    assert _wait_volume(api, bigger.json()["volume"]["id"], "available")["size"] == 2


@pytest.mark.parametrize(("version", "volume", "status", "text"), [
    (V347, {"backup_id": NO_SUCH}, 404, f"Backup {NO_SUCH} could not be found."),
    (V347, {"backup_id": "not-a-uuid"}, 400, "backup_id"),
    (V347, {"backup_id": "@backup", "size": 1}, 400,
     "Volume size 1GB cannot be smaller than the backup size 2GB"),
    (V347, {"backup_id": "@backup", "size": 0}, 400, "size"),
    (V347, {"backup_id": "@backup", "snapshot_id": NO_SUCH}, 400, "only one source"),
    (V347, {"backup_id": "@backup", "volume_type": "nope"}, 404, "nope"),
    (V347, {"backup_id": "@backup", "availability_zone": "elsewhere"}, 400,
     "Availability zone"),
    ("3.46", {"backup_id": "@backup"}, 400, "backup_id is read from microversion 3.47"),
    ("3.53", {"backup_id": "@backup", "bogus": 1}, 400, "bogus"),
])
def test_bad_requests_are_cinders_4xx_and_record_nothing(
        api: Api, version: str, volume: dict[str, Any], status: int, text: str) -> None:
    bid, _ = _backup(api, size=2)
    before = _volume_count(api)
    volume = {k: bid if v == "@backup" else v for k, v in volume.items()}
    got = api("POST", "/volumes", version=version, json={"volume": volume})
    assert got.status_code == status, got.text
    assert_cinder_error(got)
    assert text in got.text
    assert _volume_count(api) == before
    assert api.wait(bid, "available")["status"] == "available"


def test_backup_state_owner_and_role(api: Api) -> None:
    bid, _ = _backup(api)
    create = {"volume": {"backup_id": bid}}
    other = api("POST", "/volumes", version=V347, token="other-token", json=create)
    assert other.status_code == 404 and f"Backup {bid} could not be found." in other.text
    assert api("POST", "/volumes", version=V347, token="reader-token", json=create
               ).status_code == 403
    api("POST", f"/backups/{bid}/action", token="admin-token",
        json={"os-reset_status": {"status": "error"}})
    refused = api("POST", "/volumes", version=V347, json=create)
    assert refused.status_code == 400, refused.text
    assert "Invalid backup: Originating backup status must be one of 'available'" \
        in refused.json()["badRequest"]["message"]
    assert _volume_count(api) == 1  # the backed-up volume only
    assert api.world.volumes.list_volumes(_caller())[0].status == "available"


def test_no_backup_service_finds_no_backup(world: World) -> None:  # noqa: F811
    app = in_process_volume_app(world.db, world.runner, world.volumes, _Stats())
    got = call(app, "POST", "/volume/v3/volumes", json={"volume": {"backup_id": NO_SUCH}},
               headers={"X-Auth-Token": "member-token",
                        "OpenStack-API-Version": f"volume {V347}"})
    assert got.status_code == 404 and f"Backup {NO_SUCH} could not be found." in got.text
    listed = call(app, "GET", "/volume/v3/extensions",
                  headers={"X-Auth-Token": "member-token"}).json()["extensions"]
    assert "backups" not in {e["alias"] for e in listed}


def test_extensions_list_backups_where_served(api: Api) -> None:
    listed = api("GET", "/extensions").json()["extensions"]
    backups = [e for e in listed if e["alias"] == "backups"]
    assert len(backups) == 1 and backups[0]["name"] == "Backups"
    assert set(backups[0]) == {"alias", "name", "description", "namespace", "updated",
                               "links"}
