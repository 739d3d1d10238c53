"""The backup routes in process (httpx against the volume app, the backup service on the
embedded engine): statuses, bodies per microversion and role, policy and errors."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from shoal.services.volume.policy import CallerLike
from tests.api.cinder._volume_app import in_process_volume_app
from tests.api.conftest import PROJECT_A, TOKENS, call
from tests.unit.services.backup.test_service import World, world  # noqa: F401 (fixture)

WAIT_S = 30


class _Stats:
    def get_volume_stats(self) -> dict[str, Any]:
        return {"backend_state": "up"}


class Api:
    def __init__(self, w: World) -> None:
        self.app = in_process_volume_app(w.db, w.runner, w.volumes, _Stats(),
                                         backup_host="shoal", backups=w.backups)
        self.world = w

    def __call__(self, method: str, path: str, token: str = "member-token",
                 version: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = {"X-Auth-Token": token}
        if version is not None:
            headers["OpenStack-API-Version"] = f"volume {version}"
        return call(self.app, method, f"/volume/v3{path}", headers=headers, **kwargs)

    def wait(self, backup_id: str, status: str) -> dict[str, Any]:
        deadline = time.monotonic() + WAIT_S
        while True:
            body = self("GET", f"/backups/{backup_id}").json()["backup"]
            if body["status"] == status:
                return dict(body)
            assert time.monotonic() < deadline, body
            time.sleep(0.05)


def _caller() -> CallerLike:
    return TOKENS["member-token"]


@pytest.fixture
def api(world: World) -> Api:  # noqa: F811 (the imported fixture)
    return Api(world)


def _volume(api: Api, size: int = 1) -> str:
    made = api.world.volumes.create_volume(_caller(), size=size)
    api.world.settle("volume", made.id)
    return made.id


def test_create_show_list_update_restore_delete(api: Api) -> None:
    vid = _volume(api)
    created = api("POST", "/backups", json={"backup": {
        "volume_id": vid, "name": "B1", "description": "d", "incremental": False,
        "force": False, "container": None}})
    assert created.status_code == 202, created.text
    body = created.json()["backup"]
    assert set(body) == {"id", "name", "links"} and body["name"] == "B1"
    shown = api.wait(body["id"], "available")
    assert shown["volume_id"] == vid and shown["container"] == "backups"
    assert shown["is_incremental"] is False and shown["has_dependent_backups"] is False
    assert "metadata" not in shown and "os-backup-project-attr:project_id" not in shown
    admin = api("GET", f"/backups/{body['id']}", token="admin-token", version="3.56")
    assert admin.json()["backup"]["os-backup-project-attr:project_id"] == PROJECT_A
    assert admin.json()["backup"]["metadata"] == {}
    listed = api("GET", "/backups").json()["backups"]
    assert [b["id"] for b in listed] == [body["id"]] and set(listed[0]) == {"id", "name",
                                                                            "links"}
    assert api("GET", "/backups/detail?name=B1").json()["backups"][0]["status"] == "available"
    assert api("GET", "/backups/detail?name=none").json()["backups"] == []
    assert api("PUT", f"/backups/{body['id']}", json={"backup": {"name": "x"}}
               ).status_code == 404  # 3.9+
    updated = api("PUT", f"/backups/{body['id']}", version="3.9",
                  json={"backup": {"name": "B1b", "description": "e"}})
    assert updated.status_code == 200 and updated.json()["backup"]["name"] == "B1b"
    restore = api("POST", f"/backups/{body['id']}/restore",
                  json={"restore": {"volume_id": None, "name": None}})
    assert restore.status_code == 202, restore.text
    assert restore.json()["restore"]["backup_id"] == body["id"]
    assert restore.json()["restore"]["volume_name"] == f"restore_backup_{body['id']}"
    api.wait(body["id"], "available")
    api.world.settle("backup", body["id"])
    new = api.world.volumes.get_volume(_caller(), restore.json()["restore"]["volume_id"])
    assert new.status == "available"
    assert api("DELETE", f"/backups/{body['id']}").status_code == 202
    api.world.settle("backup", body["id"])
    assert api("GET", f"/backups/{body['id']}").status_code == 404


def test_admin_actions_export_import_and_refusals(api: Api) -> None:
    vid = _volume(api)
    made = api("POST", "/backups", json={"backup": {"volume_id": vid}}).json()["backup"]
    api.wait(made["id"], "available")
    reset = {"os-reset_status": {"status": "error"}}
    assert api("POST", f"/backups/{made['id']}/action", json=reset).status_code == 403
    assert api("POST", f"/backups/{made['id']}/action", json=reset,
               token="admin-token").status_code == 202
    api.wait(made["id"], "error")
    api("POST", f"/backups/{made['id']}/action", token="admin-token",
        json={"os-reset_status": {"status": "available"}})
    assert api("GET", f"/backups/{made['id']}/export_record").status_code == 403
    record = api("GET", f"/backups/{made['id']}/export_record", token="admin-token")
    assert record.status_code == 200
    exported = record.json()["backup-record"]
    assert exported["backup_service"].startswith("cinder.backup.drivers")
    again = api("POST", "/backups/import_record", token="admin-token",
                json={"backup-record": exported})
    assert again.status_code == 400 and "already exists" in again.text
    assert api("POST", "/backups/import_record", token="admin-token",
               json={"backup-record": {}}).status_code == 400
    assert api("GET", f"/backups/{made['id']}", token="other-token").status_code == 404
    assert api("POST", "/backups", token="reader-token",
               json={"backup": {"volume_id": vid}}).status_code == 403
    assert api("POST", "/backups", json={"backup": {"volume_id": vid, "metadata": {}}}
               ).status_code == 400  # metadata only from 3.43
    assert api("POST", "/backups", version="3.43",
               json={"backup": {"volume_id": vid, "incremental": True,
                                "metadata": {"a": "b"}}}).status_code == 202
    assert api("GET", "/backups/not-a-uuid").status_code == 404


def test_os_services_lists_cinder_backup(api: Api) -> None:
    services = api("GET", "/os-services", token="admin-token").json()["services"]
    assert [s["state"] for s in services if s["binary"] == "cinder-backup"] == ["up"]
