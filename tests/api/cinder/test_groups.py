"""The group routes in process (httpx against the volume app, no task worker running):
microversions, statuses, bodies for each microversion, filters, policy; the bodies checked
against Tempest's schemas when its venv exists (as test_admin_routes.py does)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shoal.db import Database
from shoal.services.volume.models import Volume
from tests.api.cinder.test_admin_routes import Api, FakeDriver, _app
from tests.api.conftest import PROJECT_A
from tests.unit.api.cinder.test_tempest_schemas import _VALIDATOR, _tempest_python

SCHEMAS = "tempest.lib.api_schema.response.volume"
TYPES = f"{SCHEMAS}.group_types"
GROUPS = f"{SCHEMAS}.groups"
SNAPSHOTS = f"{SCHEMAS}.group_snapshots"


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


def _group_type(api: Api, name: str = "gt", **extra: Any) -> dict[str, Any]:
    made = api("POST", "/group_types", version="3.11",
               json={"group_type": {"name": name, **extra}})
    assert made.status_code == 202, made.text
    return api.check(made, "create_group_type", module=TYPES)["group_type"]


def _volume_type_id(api: Api) -> str:
    made = api("POST", "/types", json={"volume_type": {"name": "vt"}})
    assert made.status_code == 200, made.text
    return made.json()["volume_type"]["id"]


def _group(api: Api, gtype: str, vtype: str, token: str = "member-token") -> str:
    made = api("POST", "/groups", token=token, version="3.13",
               json={"group": {"name": " g1 ", "group_type": gtype, "volume_types": [vtype]}})
    assert made.status_code == 202, made.text
    body = api.check(made, "create_group", module=GROUPS)
    assert body["group"]["name"] == "g1"
    return body["group"]["id"]


def _member(api: Api, group_id: str, project: str) -> str:
    volume_id = api.add_volume(project, 1, "vt")
    with api.db.session() as session:
        row = session.get(Volume, volume_id)
        assert row is not None
        row.group_id = group_id
    return volume_id


def test_group_types_need_3_11_and_admins_write(api: Api) -> None:
    assert api("GET", "/group_types", version="3.10").status_code == 404
    refused = api("POST", "/group_types", token="member-token", version="3.11",
                  json={"group_type": {"name": "x"}})
    assert refused.status_code == 403
    made = _group_type(api, "gold", description="d", is_public="false",
                       group_specs={"consistent_group_snapshot_enabled": "<is> False"})
    assert made["is_public"] is False and made["group_specs"] == {
        "consistent_group_snapshot_enabled": "<is> False"}
    assert api("POST", "/group_types", version="3.11",
               json={"group_type": {"name": "gold"}}).status_code == 409
    assert api("POST", "/group_types", version="3.11",
               json={"group_type": {"name": "y", "bad": 1}}).status_code == 400
    shown = api("GET", f"/group_types/{made['id']}", version="3.11")
    api.check(shown, "show_group_type", module=TYPES)
    member = api("GET", f"/group_types/{made['id']}", token="member-token", version="3.11")
    assert member.status_code == 404  # private
    updated = api("PUT", f"/group_types/{made['id']}", version="3.11",
                  json={"group_type": {"name": "platinum", "is_public": True}})
    assert api.check(updated, "update_group_type", module=TYPES)["group_type"]["name"] == (
        "platinum")
    member = api("GET", f"/group_types/{made['id']}", token="member-token", version="3.11")
    assert "group_specs" not in member.json()["group_type"]
    assert api("GET", "/group_types/default", version="3.11").status_code == 404
    deleted = api("DELETE", f"/group_types/{made['id']}", version="3.11")
    assert deleted.status_code == 202
    assert api("GET", f"/group_types/{made['id']}", version="3.11").status_code == 404


def test_group_type_list_filters_and_sorts(api: Api) -> None:
    _group_type(api, "a_pub", is_public=True)
    _group_type(api, "b_priv", is_public=False)
    listed = api("GET", "/group_types?is_public=None&sort=name:desc", version="3.11")
    names = [t["name"] for t in api.check(listed, "list_group_types", module=TYPES)[
        "group_types"]]
    assert names == ["b_priv", "a_pub"]
    assert [t["name"] for t in api("GET", "/group_types?is_public=false", version="3.11")
            .json()["group_types"]] == ["b_priv"]
    assert [t["name"] for t in api("GET", "/group_types", version="3.11")
            .json()["group_types"]] == ["a_pub"]
    assert [t["name"] for t in api("GET", "/group_types?is_public=false",
                                   token="member-token", version="3.11")
            .json()["group_types"]] == ["a_pub"]
    assert api("GET", "/group_types?is_public=maybe", version="3.11").status_code == 400
    assert [t["name"] for t in api("GET", "/group_types?is_public=None&sort=name:asc&limit=1",
                                   version="3.11").json()["group_types"]] == ["a_pub"]


def test_group_specs_routes(api: Api) -> None:
    gtype = _group_type(api)["id"]
    base = f"/group_types/{gtype}/group_specs"
    made = api("POST", base, version="3.11", json={"group_specs": {"k1": "v1", "k2": "v2"}})
    assert api.check(made, "create_or_update_group_type_specs", module=TYPES) == {
        "group_specs": {"k1": "v1", "k2": "v2"}}
    item = api("PUT", f"{base}/k2", version="3.11", json={"k2": "new"})
    assert api.check(item, "update_group_type_specs_item", module=TYPES) == {"k2": "new"}
    assert api("PUT", f"{base}/k2", version="3.11", json={"k3": "x"}).status_code == 400
    shown = api("GET", f"{base}/k2", version="3.11")
    assert api.check(shown, "show_group_type_specs_item", module=TYPES) == {"k2": "new"}
    listed = api("GET", base, version="3.11")
    assert api.check(listed, "list_group_type_specs", module=TYPES)["group_specs"] == {
        "k1": "v1", "k2": "new"}
    assert api("GET", base, token="member-token", version="3.11").status_code == 403
    assert api("DELETE", f"{base}/k1", version="3.11").status_code == 202
    assert api("GET", f"{base}/k1", version="3.11").status_code == 404
    assert api("DELETE", f"{base}/k1", version="3.11").status_code == 404


def test_group_views_follow_the_microversion(api: Api) -> None:
    gtype = _group_type(api)["id"]
    vtype = _volume_type_id(api)
    assert api("GET", "/groups", token="member-token", version="3.12").status_code == 404
    group_id = _group(api, gtype, vtype)
    member = _member(api, group_id, PROJECT_A)
    at_313 = api("GET", f"/groups/{group_id}", token="member-token", version="3.13")
    view = api.check(at_313, "show_group", module=GROUPS, version="3.13")["group"]
    assert (view["status"], view["group_type"], view["volume_types"]) == (
        "available", gtype, [vtype])
    assert "group_snapshot_id" not in view and "volumes" not in view
    at_338 = api("GET", f"/groups/{group_id}?list_volume=true", token="member-token",
                 version="3.38").json()["group"]
    assert at_338["volumes"] == [member] and at_338["replication_status"] == "disabled"
    assert at_338["source_group_id"] is None and "project_id" not in at_338
    assert "project_id" in api("GET", f"/groups/{group_id}", version="3.58").json()["group"]
    listed = api("GET", "/groups/detail", token="member-token", version="3.14")
    assert [g["id"] for g in api.check(listed, "list_groups_with_detail", module=GROUPS)[
        "groups"]] == [group_id]
    summary = api("GET", "/groups?name=g1", token="member-token", version="3.13")
    assert api.check(summary, "list_groups_no_detail", module=GROUPS)["groups"] == [
        {"id": group_id, "name": "g1"}]
    assert api("GET", "/groups?name=other", token="member-token", version="3.13"
               ).json() == {"groups": []}
    assert api("GET", "/groups", token="other-token", version="3.13").json() == {"groups": []}
    assert api("GET", f"/groups/{group_id}", token="other-token", version="3.13"
               ).status_code == 404
    volume = api("GET", f"/volumes/{member}", token="member-token", version="3.13").json()
    assert volume["volume"]["group_id"] == group_id


def test_group_update_delete_and_reset(api: Api) -> None:
    gtype = _group_type(api)["id"]
    vtype = _volume_type_id(api)
    group_id = _group(api, gtype, vtype)
    loose = api.add_volume(PROJECT_A, 1, "vt")
    put = api("PUT", f"/groups/{group_id}", token="member-token", version="3.13",
              json={"group": {"name": "new", "add_volumes": loose}})
    assert (put.status_code, put.content) == (202, b"")
    shown = api("GET", f"/groups/{group_id}?list_volume=1", token="member-token",
                version="3.25").json()["group"]
    assert shown["name"] == "new" and shown["volumes"] == [loose]
    assert api("PUT", f"/groups/{group_id}", token="member-token", version="3.13",
               json={"group": {}}).status_code == 400
    assert api("PUT", f"/groups/{group_id}", token="reader-token", version="3.13",
               json={"group": {"name": "x"}}).status_code == 403
    reset = f"/groups/{group_id}/action"
    assert api("POST", reset, version="3.19",
               json={"reset_status": {"status": "error"}}).status_code == 404
    assert api("POST", reset, token="member-token", version="3.20",
               json={"reset_status": {"status": "error"}}).status_code == 403
    done = api("POST", reset, version="3.20", json={"reset_status": {"status": "Error"}})
    assert (done.status_code, done.content) == (202, b"")
    assert api("GET", f"/groups/{group_id}", version="3.20").json()["group"]["status"] == (
        "error")
    refused = api("POST", reset, token="member-token", version="3.13",
                  json={"delete": {"delete-volumes": False}})
    assert refused.status_code == 400 and "delete-volumes flag" in refused.text
    deleted = api("POST", reset, token="member-token", version="3.13",
                  json={"delete": {"delete-volumes": True}})
    assert (deleted.status_code, deleted.content) == (202, b"")
    assert api("GET", f"/groups/{group_id}", version="3.13").json()["group"]["status"] == (
        "deleting")
    assert api("GET", f"/volumes/{loose}", version="3.13").json()["volume"]["status"] == (
        "deleting")


def test_group_snapshot_routes(api: Api) -> None:
    gtype = _group_type(api)["id"]
    vtype = _volume_type_id(api)
    group_id = _group(api, gtype, vtype)
    _member(api, group_id, PROJECT_A)
    assert api("POST", "/group_snapshots", token="member-token", version="3.13",
               json={"group_snapshot": {"group_id": group_id}}).status_code == 404
    made = api("POST", "/group_snapshots", token="member-token", version="3.14",
               json={"group_snapshot": {"group_id": group_id, "name": "gs"}})
    body = api.check(made, "create_group_snapshot", module=SNAPSHOTS)["group_snapshot"]
    assert body["group_type_id"] == gtype
    gsnap = body["id"]
    shown = api("GET", f"/group_snapshots/{gsnap}", token="member-token", version="3.14")
    view = api.check(shown, "show_group_snapshot", module=SNAPSHOTS)["group_snapshot"]
    assert (view["status"], view["group_id"], view["name"]) == ("creating", group_id, "gs")
    listed = api("GET", "/group_snapshots", token="member-token", version="3.14")
    assert api.check(listed, "list_group_snapshots_no_detail", module=SNAPSHOTS)[
        "group_snapshots"] == [{"id": gsnap, "name": "gs"}]
    detail = api("GET", "/group_snapshots/detail", token="member-token", version="3.14")
    api.check(detail, "list_group_snapshots_with_detail", module=SNAPSHOTS)
    snaps = api("GET", "/snapshots/detail", token="member-token", version="3.14").json()
    assert [s["group_snapshot_id"] for s in snaps["snapshots"]] == [gsnap]
    busy = api("DELETE", f"/group_snapshots/{gsnap}", token="member-token", version="3.14")
    assert busy.status_code == 400
    action = f"/group_snapshots/{gsnap}/action"
    assert api("POST", action, version="3.18",
               json={"reset_status": {"status": "available"}}).status_code == 404
    assert api("POST", action, version="3.19",
               json={"reset_status": {"status": "nonsense"}}).status_code == 400
    reset = api("POST", action, version="3.19", json={"reset_status": {"status": "available"}})
    assert (reset.status_code, reset.content) == (202, b"")
    gone = api("DELETE", f"/group_snapshots/{gsnap}", token="member-token", version="3.14")
    assert (gone.status_code, gone.content) == (202, b"")
    assert api("GET", f"/group_snapshots/{gsnap}", version="3.14").json()[
        "group_snapshot"]["status"] == "deleting"
    source = api("POST", "/groups/action", token="member-token", version="3.14",
                 json={"create-from-src": {"group_snapshot_id": gsnap,
                                           "source_group_id": group_id}})
    assert source.status_code == 400


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
