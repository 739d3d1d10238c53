"""The admin and informational Cinder routes in process (httpx against the volume app):
statuses, bodies, policy and errors; the bodies checked against Tempest's schemas when its
venv exists (as tests/unit/api/cinder/test_tempest_schemas.py does)."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from shoal._time import utcnow
from shoal.db import Database
from shoal.services.tasks import TaskRunner
from shoal.services.volume import (
    Backend,
    GroupWork,
    VolumeOptions,
    VolumeService,
    VolumeWork,
)
from shoal.services.volume.models import Message, Volume
from shoal.services.volume.quotas import QuotaDefaults
from tests.api.cinder._volume_app import in_process_volume_app
from tests.api.conftest import PROJECT_A, PROJECT_B, call
from tests.unit.api.cinder.test_tempest_schemas import _VALIDATOR, _tempest_python
from tests.unit.services.volume.test_service import NoImages

HOST = "shoal@ceph"
POOL = "shoal@ceph#ceph"
SERVICES_CLIENT = "tempest.lib.services.volume.v3.services_client:ServicesClient"
SCHEMAS = "tempest.lib.api_schema.response.volume"


class FakeDriver:
    """A backend's stats as the RBD driver reports them."""

    def __init__(self) -> None:
        self.state = "up"

    def get_volume_stats(self) -> dict[str, Any]:
        return {"vendor_name": "Open Source", "driver_version": "1.3.0",
                "storage_protocol": "ceph", "volume_backend_name": "ceph",
                "total_capacity_gb": 27.5, "free_capacity_gb": 25.0,
                "reserved_percentage": 0, "multiattach": True,
                "thin_provisioning_support": True, "max_over_subscription_ratio": "20.0",
                "location_info": "ceph::fsid::rbd", "replication_enabled": False,
                "backend_state": self.state}


@dataclass
class Api:
    db: Database
    driver: FakeDriver
    app: Any
    bodies: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, method: str, path: str, token: str = "admin-token",
                 version: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = {"X-Auth-Token": token}
        if version is not None:
            headers["OpenStack-API-Version"] = f"volume {version}"
        return call(self.app, method, f"/volume/v3{path}", headers=headers, **kwargs)

    def check(self, response: httpx.Response, schema: str, *, module: str | None = None,
              client: str | None = None, version: str = "3.0") -> Any:
        """Keep the body for Tempest's schema ``schema``; return it."""
        body = response.json() if response.content else None
        self.bodies.append({"id": f"{schema}-{uuid.uuid4()}", "schema": schema,
                            "status": response.status_code, "version": version,
                            "client": client, "module": module, "body": body})
        return body

    def add_volume(self, project: str, size: int, type_name: str = "__DEFAULT__") -> str:
        from sqlalchemy import select

        from shoal.services.volume.models import VolumeType

        volume_id = str(uuid.uuid4())
        with self.db.session() as session:
            type_id = session.execute(select(VolumeType.id).where(
                VolumeType.name == type_name)).scalar_one()
            session.add(Volume(id=volume_id, project_id=project, user_id="u", status="available",
                               size=size, volume_type_id=type_id, host=POOL, use_quota=True,
                               created_at=utcnow()))
        return volume_id


def _app(db: Database, driver: FakeDriver) -> Any:
    options = VolumeOptions(backends=(Backend("ceph", "ceph", POOL),),
                            quota_defaults=QuotaDefaults(volumes=7))
    runner = TaskRunner(db)  # never started: the tasks the routes submit stay pending
    GroupWork(VolumeWork({}, NoImages(), utcnow)).register(runner)
    service = VolumeService(db, runner, NoImages(), options)
    service.ensure_default_type()
    return in_process_volume_app(db, runner, service, driver)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    db = Database(f"sqlite:///{tmp_path / 'shoal.db'}")
    db.upgrade()
    driver = FakeDriver()
    yield Api(db, driver, _app(db, driver))
    db.dispose()


@pytest.fixture(scope="module")
def schema_results() -> list[dict[str, Any]]:
    """Bodies collected by the tests, validated at module end (see test_zz_...)."""
    return []


@pytest.fixture(autouse=True)
def _collect(api: Api, schema_results: list[dict[str, Any]]) -> Iterator[None]:
    yield
    schema_results.extend(api.bodies)


# --- os-services, capabilities, pools, hosts, extensions ------------------------------------


def test_services_list_filters_and_policy(api: Api) -> None:
    got = api("GET", "/os-services")
    assert got.status_code == 200
    body = api.check(got, "list_services", client=SERVICES_CLIENT)
    assert [(s["binary"], s["host"], s["state"], s["status"]) for s in body["services"]] == [
        ("cinder-scheduler", "shoal", "up", "enabled"), ("cinder-volume", HOST, "up", "enabled")]
    assert all(s["binary"] != "cinder-backup" for s in body["services"])
    assert "backend_state" not in body["services"][1]
    new = api("GET", "/os-services", version="3.49")
    api.check(new, "list_services", client=SERVICES_CLIENT, version="3.49")
    assert new.json()["services"][1]["backend_state"] == "up"
    assert new.json()["services"][1]["cluster"] is None
    api.driver.state = "down"
    assert api("GET", "/os-services", version="3.71").json()["services"][1][
        "backend_state"] == "down"
    only = api("GET", "/os-services?binary=cinder-volume").json()["services"]
    assert [s["host"] for s in only] == [HOST]
    assert len(api("GET", "/os-services?host=shoal").json()["services"]) == 2
    assert [s["binary"] for s in api("GET", f"/os-services?host={HOST}").json()[
        "services"]] == ["cinder-volume"]
    assert api("GET", "/os-services?host=other").json() == {"services": []}
    assert api("GET", f"/{PROJECT_A}/os-services").status_code == 200
    refused = api("GET", "/os-services", token="member-token")
    assert refused.status_code == 403
    assert "volume_extension:services:index" in refused.text


def test_disable_enable_freeze_persist(api: Api) -> None:
    host = {"host": HOST, "binary": "cinder-volume"}
    off = api("PUT", "/os-services/disable", json=host)
    assert off.status_code == 200
    assert api.check(off, "disable_service", module=f"{SCHEMAS}.services") == {
        "host": HOST, "service": "cinder-volume", "disabled": True, "binary": "cinder-volume",
        "status": "disabled"}
    reason = api("PUT", "/os-services/disable-log-reason",
                 json={**host, "disabled_reason": "maintenance"})
    body = api.check(reason, "disable_log_reason", module=f"{SCHEMAS}.services")
    assert body["disabled_reason"] == "maintenance" and body["status"] == "disabled"
    again = _app(api.db, api.driver)  # a restart: the state is in the database
    listed = call(again, "GET", "/volume/v3/os-services",
                  headers={"X-Auth-Token": "admin-token"}).json()["services"]
    assert (listed[1]["status"], listed[1]["disabled_reason"]) == ("disabled", "maintenance")
    assert listed[0]["status"] == "enabled"
    on = api("PUT", "/os-services/enable", json=host)
    assert api.check(on, "enable_service", module=f"{SCHEMAS}.services")[
        "disabled_reason"] is None
    assert api("PUT", "/os-services/freeze", json={"host": "shoal"}).status_code == 200
    frozen = api("GET", "/os-services").json()["services"][1]
    # Cinder's volume manager disables a frozen service (reason "frozen").
    assert (frozen["frozen"], frozen["status"], frozen["disabled_reason"]) == (
        True, "disabled", "frozen")
    again_frozen = api("PUT", "/os-services/freeze", json={"host": HOST})
    assert again_frozen.status_code == 400
    assert "No service could be changed" in again_frozen.json()["badRequest"]["message"]
    assert api("PUT", "/os-services/thaw", json={"host": HOST}).status_code == 200
    thawed = api("GET", "/os-services").json()["services"][1]
    assert (thawed["frozen"], thawed["status"]) == (False, "enabled")
    assert api("PUT", "/os-services/thaw", json={"host": HOST}).status_code == 400
    assert api("PUT", "/os-services/disable", json={"host": "x", "binary": "cinder-volume"}
               ).status_code == 404
    # Cinder answers 400 (InvalidInput) for a freeze or thaw of an unknown host.
    unknown = api("PUT", "/os-services/freeze", json={"host": "x"})
    assert unknown.status_code == 400
    assert unknown.json()["badRequest"]["message"] == (
        "Invalid input received: No service found with host=x")
    assert api("PUT", "/os-services/thaw", json={"host": "x"}).status_code == 400
    assert api("PUT", "/os-services/disable", json={"binary": "b"}).status_code == 400
    assert api("PUT", "/os-services/disable-log-reason", json=host).status_code == 400
    assert api("PUT", "/os-services/disable-log-reason",
               json={**host, "disabled_reason": "x" * 256}).status_code == 400
    assert api("PUT", "/os-services/reboot", json=host).status_code == 400
    assert api("PUT", "/os-services/disable", json=host, token="member-token"
               ).status_code == 403


def test_capabilities_pools_hosts(api: Api) -> None:
    caps = api("GET", f"/capabilities/{HOST}")
    body = api.check(caps, "show_backend_capabilities", module=f"{SCHEMAS}.capabilities")
    assert body["namespace"] == f"OS::Storage::Capabilities::{HOST}"
    assert body["volume_backend_name"] == "ceph" and body["storage_protocol"] == "ceph"
    assert set(body["properties"]) == {"thin_provisioning"}
    assert api("GET", "/capabilities/nowhere@x").status_code == 404
    assert api("GET", f"/capabilities/{HOST}", token="member-token").status_code == 403

    api.add_volume(PROJECT_A, 3)
    api.add_volume(PROJECT_B, 4)
    plain = api("GET", "/scheduler-stats/get_pools")
    assert api.check(plain, "get_pools_no_detail", module=f"{SCHEMAS}.scheduler_stats") == {
        "pools": [{"name": POOL}]}
    detail = api("GET", "/scheduler-stats/get_pools?detail=True")
    pool = api.check(detail, "get_pools_with_detail",
                     module=f"{SCHEMAS}.scheduler_stats")["pools"][0]
    assert pool["name"] == POOL
    caps = pool["capabilities"]
    assert (caps["total_capacity_gb"], caps["free_capacity_gb"]) == (27.5, 25.0)
    assert (caps["allocated_capacity_gb"], caps["pool_name"]) == (7, "ceph")
    assert api("GET", "/scheduler-stats/get_pools?name=x").json() == {"pools": []}
    assert api("GET", "/scheduler-stats/get_pools?detail=maybe").status_code == 400
    assert api("GET", "/scheduler-stats/get_pools", token="member-token").status_code == 403

    hosts = api.check(api("GET", "/os-hosts"), "list_hosts", module=f"{SCHEMAS}.hosts")
    assert [(h["host_name"], h["service"], h["service-status"]) for h in hosts["hosts"]] == [
        ("shoal", "cinder-scheduler", "available"), (HOST, "cinder-volume", "available")]
    one = api.check(api("GET", f"/os-hosts/{HOST}"), "show_host", module=f"{SCHEMAS}.hosts")
    resources = [r["resource"] for r in one["host"]]
    assert resources[0]["project"] == "(total)" and resources[0]["volume_count"] == "2"
    assert resources[0]["total_volume_gb"] == "7"
    assert {r["project"] for r in resources[1:]} == {PROJECT_A, PROJECT_B}
    assert api("GET", "/os-hosts/nowhere").status_code == 404
    assert api("GET", "/os-hosts", token="member-token").status_code == 403


def test_extensions(api: Api) -> None:
    got = api("GET", "/extensions", token="member-token")
    body = api.check(got, "list_extensions", module=f"{SCHEMAS}.extensions")
    aliases = {e["alias"] for e in body["extensions"]}
    assert {"os-quota-sets", "os-services", "os-volume-type-access", "os-types-extra-specs",
            "scheduler-stats", "os-hosts", "os-vol-host-attr"} <= aliases
    assert "backups" not in aliases


# --- quotas ----------------------------------------------------------------------------------


def test_quota_sets(api: Api) -> None:
    mine = api("GET", f"/os-quota-sets/{PROJECT_A}", token="reader-token")
    body = api.check(mine, "show_quota_set", module=f"{SCHEMAS}.quotas")["quota_set"]
    assert body["id"] == PROJECT_A and body["volumes"] == 7 and body["gigabytes"] == 1000
    assert body["per_volume_gigabytes"] == -1 and body["volumes___DEFAULT__"] == -1
    assert api("GET", f"/os-quota-sets/{PROJECT_B}", token="member-token").status_code == 403
    api.add_volume(PROJECT_A, 5)
    usage = api("GET", f"/os-quota-sets/{PROJECT_A}?usage=true")
    used = api.check(usage, "show_quota_set_usage", module=f"{SCHEMAS}.quotas")["quota_set"]
    assert used["volumes"] == {"limit": 7, "in_use": 1, "reserved": 0}
    assert used["gigabytes"]["in_use"] == 5 and used["gigabytes___DEFAULT__"]["in_use"] == 5
    defaults = api("GET", f"/os-quota-sets/{PROJECT_A}/defaults")
    assert api.check(defaults, "show_quota_set", module=f"{SCHEMAS}.quotas")["quota_set"][
        "volumes"] == 7

    put = api("PUT", f"/os-quota-sets/{PROJECT_A}",
              json={"quota_set": {"volumes": 3, "gigabytes": "50", "tenant_id": PROJECT_A}})
    assert put.status_code == 200
    updated = api.check(put, "update_quota_set", module=f"{SCHEMAS}.quotas")["quota_set"]
    assert "id" not in updated and (updated["volumes"], updated["gigabytes"]) == (3, 50)
    assert api("GET", "/limits", token="member-token").json()["limits"]["absolute"][
        "maxTotalVolumes"] == 3
    for bad in ({"nope": 1}, {"volumes": -2}, {"volumes": "x"}, {"volumes": 2**31},
                {"volumes": True}):
        assert api("PUT", f"/os-quota-sets/{PROJECT_A}", json={"quota_set": bad}
                   ).status_code == 400, bad
    assert "Bad key(s) in quota set: nope" in api(
        "PUT", f"/os-quota-sets/{PROJECT_A}", json={"quota_set": {"nope": 1}}).text
    assert api("PUT", f"/os-quota-sets/{PROJECT_A}", json={}).status_code == 400
    below = api("PUT", f"/os-quota-sets/{PROJECT_A}",
                json={"quota_set": {"gigabytes": 2, "skip_validation": False}})
    assert below.status_code == 400 and "Current usage is 5" in below.text
    assert api("PUT", f"/os-quota-sets/{PROJECT_A}", json={"quota_set": {"gigabytes": 2}}
               ).status_code == 200  # skip_validation defaults to true
    assert api("PUT", f"/os-quota-sets/{PROJECT_A}", json={"quota_set": {"volumes": 1}},
               token="member-token").status_code == 403
    assert api("DELETE", f"/os-quota-sets/{PROJECT_A}", token="member-token"
               ).status_code == 403
    reset = api("DELETE", f"/os-quota-sets/{PROJECT_A}")
    assert reset.status_code == 200
    assert api("GET", f"/os-quota-sets/{PROJECT_A}").json()["quota_set"]["volumes"] == 7
    klass = api("GET", "/os-quota-class-sets/default")
    assert api.check(klass, "show_quota_classes", module=f"{SCHEMAS}.quota_classes")[
        "quota_class_set"]["id"] == "default"
    assert api("GET", "/os-quota-class-sets/default", token="member-token"
               ).status_code == 403


def test_quota_class_update_changes_the_defaults(api: Api) -> None:
    classes = f"{SCHEMAS}.quota_classes"
    put = api("PUT", "/os-quota-class-sets/default", json={"quota_class_set": {
        "volumes": 9, "snapshots": "4", "volumes___DEFAULT__": 2}})
    assert put.status_code == 200
    updated = api.check(put, "update_quota_classes", module=classes)["quota_class_set"]
    assert "id" not in updated
    assert (updated["volumes"], updated["snapshots"], updated["volumes___DEFAULT__"]) == (
        9, 4, 2)
    shown = api.check(api("GET", "/os-quota-class-sets/default"), "show_quota_classes",
                      module=classes)["quota_class_set"]
    assert (shown["id"], shown["volumes"]) == ("default", 9)
    for project in (PROJECT_A, PROJECT_B):  # every project's defaults, new ones too
        defaults = api("GET", f"/os-quota-sets/{project}/defaults").json()["quota_set"]
        assert (defaults["volumes"], defaults["volumes___DEFAULT__"]) == (9, 2)
    assert api("GET", f"/os-quota-sets/{PROJECT_B}").json()["quota_set"]["snapshots"] == 4
    assert api("GET", "/limits", token="other-token").json()["limits"]["absolute"][
        "maxTotalVolumes"] == 9
    for bad in ({"nope": 1}, {"volumes": -2}, {"volumes": "x"}, {"volumes": 2**31}):
        assert api("PUT", "/os-quota-class-sets/default", json={"quota_class_set": bad}
                   ).status_code == 400, bad
    assert "Bad key(s) in quota class set: nope" in api(
        "PUT", "/os-quota-class-sets/default", json={"quota_class_set": {"nope": 1}}).text
    assert api("PUT", "/os-quota-class-sets/default", json={}).status_code == 400
    assert api("PUT", "/os-quota-class-sets/default", json={"quota_class_set": {"volumes": 1}},
               token="member-token").status_code == 403


# --- volume types ----------------------------------------------------------------------------


def test_volume_type_admin(api: Api) -> None:
    types = f"{SCHEMAS}.volume_types"
    made = api("POST", "/types", json={"volume_type": {
        "name": "fast", "description": "d", "extra_specs": {"volume_backend_name": "ceph"}}})
    assert made.status_code == 200
    fast = api.check(made, "create_volume_type", module=types)["volume_type"]
    assert fast["extra_specs"] == {"volume_backend_name": "ceph"}
    assert api("POST", "/types", json={"volume_type": {"name": "fast"}}).status_code == 409
    assert api("POST", "/types", json={"volume_type": {"name": "x"}}, token="member-token"
               ).status_code == 403
    hidden = api("POST", "/types", json={"volume_type": {
        "name": "private", "os-volume-type-access:is_public": False}}).json()["volume_type"]

    def names(path: str, token: str = "admin-token") -> list[str]:
        return [t["name"] for t in api("GET", path, token=token).json()["volume_types"]]

    assert names("/types") == ["__DEFAULT__", "fast"]
    assert names("/types?is_public=None") == ["__DEFAULT__", "fast", "private"]
    assert names("/types?is_public=false") == ["private"]
    assert names("/types?is_public=None", "member-token") == ["__DEFAULT__", "fast"]
    assert api("GET", "/types?is_public=maybe").status_code == 400
    api.check(api("GET", "/types?is_public=None"), "list_volume_types", module=types)

    access = f"/types/{hidden['id']}/os-volume-type-access"
    assert api.check(api("GET", access), "list_type_access", module=types) == {
        "volume_type_access": []}
    add = {"addProjectAccess": {"project": PROJECT_B}}
    assert api("POST", f"/types/{hidden['id']}/action", json=add).status_code == 202
    assert api("POST", f"/types/{hidden['id']}/action", json=add).status_code == 409
    assert api("GET", access).json()["volume_type_access"] == [
        {"volume_type_id": hidden["id"], "project_id": PROJECT_B}]
    assert names("/types", "other-token") == ["__DEFAULT__", "fast", "private"]
    assert api("POST", f"/types/{fast['id']}/action", json=add).status_code == 400
    assert api("GET", f"/types/{fast['id']}/os-volume-type-access").status_code == 404
    assert api("GET", access, token="member-token").status_code == 403
    remove = {"removeProjectAccess": {"project": PROJECT_B}}
    assert api("POST", f"/types/{hidden['id']}/action", json=remove).status_code == 202
    assert api("POST", f"/types/{hidden['id']}/action", json=remove).status_code == 404
    assert api("POST", f"/types/{hidden['id']}/action", json={"x": {}}).status_code == 400

    specs = f"/types/{fast['id']}/extra_specs"
    posted = api("POST", specs, json={"extra_specs": {"multiattach": "<is> True", "k": "v"}})
    assert api.check(posted, "create_volume_types_extra_specs", module=types) == {
        "extra_specs": {"multiattach": "<is> True", "k": "v"}}
    assert api.check(api("GET", specs), "list_volume_types_extra_specs", module=types)[
        "extra_specs"] == {"k": "v", "multiattach": "<is> True", "volume_backend_name": "ceph"}
    assert api("GET", specs, token="member-token").json() == {
        "extra_specs": {"multiattach": "<is> True"}}
    assert api.check(api("GET", f"{specs}/k"), "show_volume_types_extra_specs",
                     module=types) == {"k": "v"}
    assert api("GET", f"{specs}/k", token="member-token").status_code == 404
    assert api("GET", f"{specs}/nope").status_code == 404
    put = api("PUT", f"{specs}/k", json={"k": "w"})
    assert api.check(put, "update_volume_type_extra_specs", module=types) == {"k": "w"}
    assert api("PUT", f"{specs}/k", json={"j": "w"}).status_code == 400
    assert api("PUT", f"{specs}/k", json={"k": "w", "j": "x"}).status_code == 400
    assert api("PUT", f"{specs}/k", json={"k": "w"}, token="member-token").status_code == 403
    assert api("DELETE", f"{specs}/k").status_code == 202
    assert api("DELETE", f"{specs}/k").status_code == 404

    changed = api("PUT", f"/types/{fast['id']}", json={"volume_type": {
        "name": "faster", "description": "new", "is_public": True}})
    body = api.check(changed, "update_volume_types", module=types)["volume_type"]
    assert (body["name"], body["description"]) == ("faster", "new")
    assert api("PUT", f"/types/{fast['id']}", json={"volume_type": {"name": "private"}}
               ).status_code == 409
    assert api("PUT", f"/types/{fast['id']}", json={"volume_type": {}}).status_code == 400
    default = api("GET", "/types/default").json()["volume_type"]
    assert api("PUT", f"/types/{default['id']}", json={"volume_type": {"name": "zz"}}
               ).status_code == 400
    assert api("PUT", f"/types/{default['id']}", json={"volume_type": {"description": "D"}}
               ).status_code == 200

    api.add_volume(PROJECT_A, 1, "faster")
    in_use = api("POST", specs, json={"extra_specs": {"a": "b"}})
    assert in_use.status_code == 400 and "in use" in in_use.text
    refused = api("DELETE", f"/types/{fast['id']}")
    assert refused.status_code == 400 and "volumes present" in refused.text
    assert api("DELETE", f"/types/{default['id']}").status_code == 400
    assert api("DELETE", f"/types/{hidden['id']}", token="member-token").status_code == 403
    assert api("DELETE", f"/types/{hidden['id']}").status_code == 202
    assert api("DELETE", f"/types/{hidden['id']}").status_code == 404
    assert api("GET", f"/types/{hidden['id']}").status_code == 404


# --- messages --------------------------------------------------------------------------------


def test_messages(api: Api) -> None:
    message_id = str(uuid.uuid4())
    now = utcnow()
    with api.db.session() as session:
        session.add(Message(id=message_id, project_id=PROJECT_A, request_id="req-1",
                            resource_type="VOLUME", resource_uuid=str(uuid.uuid4()),
                            event_id="VOLUME_VOLUME_001_002", message_level="ERROR",
                            action_id="001", detail_id="002",
                            user_message="schedule allocate volume: an unknown error",
                            created_at=now, expires_at=now + timedelta(days=30)))
        session.add(Message(id=str(uuid.uuid4()), project_id=PROJECT_A, event_id="E",
                            message_level="ERROR", user_message="old",
                            created_at=now - timedelta(days=40),
                            expires_at=now - timedelta(days=10)))
    module = f"{SCHEMAS}.messages"
    listed = api("GET", "/messages", token="member-token", version="3.3")
    body = api.check(listed, "list_messages", module=module, version="3.3")
    assert [m["id"] for m in body["messages"]] == [message_id]
    assert api("GET", "/messages", token="member-token").status_code == 404  # 3.0
    assert api("GET", "/messages", token="other-token", version="3.3").json() == {
        "messages": []}
    one = api("GET", f"/messages/{message_id}", token="reader-token", version="3.3")
    shown = api.check(one, "show_message", module=module, version="3.3")["message"]
    assert shown["user_message"].startswith("schedule allocate volume")
    assert shown["links"][0]["href"].endswith(f"/messages/{message_id}")
    assert api("GET", f"/messages/{message_id}", token="other-token", version="3.3"
               ).status_code == 404
    assert api("DELETE", f"/messages/{message_id}", token="reader-token", version="3.3"
               ).status_code == 403
    deleted = api("DELETE", f"/messages/{message_id}", token="member-token", version="3.3")
    assert deleted.status_code == 204
    assert api("GET", f"/messages/{message_id}", version="3.3").status_code == 404
    assert api("GET", "/messages/not-a-uuid", version="3.3").status_code == 404


def test_zz_bodies_pass_tempest_schemas(schema_results: list[dict[str, Any]]) -> None:
    """Every body kept above, against Tempest's schema (run last in this module)."""
    python = _tempest_python()
    if python is None:
        pytest.skip("Tempest's venv is missing (bash scripts/tempest-venv, or "
                    "$SHOAL_TEMPEST_BIN)")
    assert len(schema_results) > 20
    done = subprocess.run([str(python), "-c", _VALIDATOR], input=json.dumps(schema_results),
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    failures = {k: e for k, e in json.loads(done.stdout).items() if e is not None}
    assert failures == {}
