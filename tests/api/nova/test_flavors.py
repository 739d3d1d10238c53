"""Nova's flavor API in-process (issue 14, first part): the seeded ``m1`` flavors, admin
create/update/delete, extra specs, private flavors and their access lists, filters and
paging, and every reply checked against Tempest's own strict compute schemas for its
microversion (run in Tempest's venv, as Tempest would check them)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shoal._time import utcnow
from shoal.api.nova import flavor_routes
from shoal.db import Database
from shoal.services.compute import Flavors
from tests.api.conftest import PROJECT_B
from tests.api.nova._client import NovaApi


class Api(NovaApi):
    def __init__(self, db: Database) -> None:
        self.flavors = Flavors(db, utcnow)
        self.flavors.seed_defaults()
        super().__init__(flavor_routes(self.flavors), token="admin-token")


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    db = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    db.upgrade()
    made = Api(db)
    yield made
    made.check_tempest_schemas("flavors", _SCHEMA_MODULES, tmp_path)
    db.dispose()


#: The Tempest schema module for a microversion (the newest at or below it; Tempest has
#: none after 2.61 for flavors).
_SCHEMA_MODULES = (("2.61", "v2_61"), ("2.55", "v2_55"), ("2.1", "v2_1"))


def test_the_seeded_flavors_list_and_show(api: Api) -> None:
    listed = api("GET", "/flavors", token="member-token", schema="list_flavors").json()
    assert [f["name"] for f in listed["flavors"]] == [
        "m1.tiny", "m1.small", "m1.medium", "m1.large", "m1.xlarge"]
    small = api("GET", "/flavors/2", schema="create_update_get_flavor_details").json()["flavor"]
    assert (small["ram"], small["vcpus"], small["disk"], small["swap"]) == (2048, 1, 20, "")
    assert small["links"][0]["href"] == "http://shoal.test:8080/compute/v2.1/flavors/2"
    assert small["links"][1]["href"] == "http://shoal.test:8080/compute/flavors/2"
    detail = api("GET", "/flavors/detail?minRam=4096&minDisk=50",
                 schema="list_flavors_details").json()["flavors"]
    assert [f["id"] for f in detail] == ["4", "5"]
    assert api("GET", "/flavors/42").status_code == 404
    # 2.75: swap is a number; 2.61: extra_specs inside the flavor
    assert api("GET", "/flavors/1", version="2.75",
               schema="create_update_get_flavor_details").json()["flavor"]["swap"] == 0
    assert api("GET", "/flavors/1", version="2.61",
               schema="create_update_get_flavor_details").json()["flavor"]["extra_specs"] == {}


def test_paging_with_limit_and_marker(api: Api) -> None:
    page = api("GET", "/flavors?limit=2", schema="list_flavors").json()
    assert [f["id"] for f in page["flavors"]] == ["1", "2"]
    assert "marker=2" in page["flavors_links"][0]["href"]
    rest = api("GET", "/flavors?marker=2").json()["flavors"]
    assert [f["id"] for f in rest] == ["3", "4", "5"]
    assert api("GET", "/flavors?marker=nope").status_code == 400
    assert api("GET", "/flavors?minRam=lots").status_code == 400
    assert api("GET", "/flavors?sort_key=colour").status_code == 400
    assert api("GET", "/flavors?colour=red", version="2.75").status_code == 400
    assert api("GET", "/flavors?colour=red", version="2.74").status_code == 200


def test_admin_create_update_delete(api: Api) -> None:
    body = {"flavor": {"name": "custom", "ram": 1024, "vcpus": 2, "disk": 10, "id": "c1",
                       "OS-FLV-EXT-DATA:ephemeral": 5, "swap": 512,
                       "description": "for tests"}}
    made = api("POST", "/flavors", version="2.55", json=body,
               schema="create_update_get_flavor_details")
    assert made.status_code == 200, made.text
    flavor = made.json()["flavor"]
    assert (flavor["id"], flavor["OS-FLV-EXT-DATA:ephemeral"], flavor["swap"],
            flavor["description"]) == ("c1", 5, 512, "for tests")
    assert api("POST", "/flavors", version="2.55", json=body).status_code == 409
    assert api("POST", "/flavors", token="member-token", json={"flavor": {
        "name": "x", "ram": 1, "vcpus": 1, "disk": 0}}).status_code == 403
    # no id: a UUID is made; a description before 2.55 is refused
    auto = api("POST", "/flavors", json={"flavor": {"name": "auto", "ram": 64, "vcpus": 1,
                                                    "disk": 0}}).json()["flavor"]
    assert len(auto["id"]) == 36
    refused = api("POST", "/flavors", json={"flavor": {"name": "d", "ram": 64, "vcpus": 1,
                                                       "disk": 0, "description": "x"}})
    assert refused.status_code == 400 and "description" in refused.text
    updated = api("PUT", "/flavors/c1", version="2.55", json={"flavor": {"description": "new"}},
                  schema="create_update_get_flavor_details")
    assert updated.json()["flavor"]["description"] == "new"
    assert api("PUT", "/flavors/c1", json={"flavor": {"description": "new"}}
               ).status_code == 404
    assert api("DELETE", "/flavors/c1").status_code == 202
    assert api("GET", "/flavors/c1").status_code == 404


@pytest.mark.parametrize("flavor", [
    {"name": "", "ram": 1, "vcpus": 1, "disk": 0},
    {"name": "   ", "ram": 1, "vcpus": 1, "disk": 0},
    {"name": "n", "ram": 0, "vcpus": 1, "disk": 0},
    {"name": "n", "ram": 1, "vcpus": -1, "disk": 0},
    {"name": "n", "ram": 1, "vcpus": 1},
    {"name": "n", "ram": 1, "vcpus": 1, "disk": 0, "colour": "red"},
    {"name": "n", "ram": 1, "vcpus": 1, "disk": 0, "rxtx_factor": 0},
    {"name": "n", "ram": "lots", "vcpus": 1, "disk": 0},
])
def test_bad_flavors_are_400(api: Api, flavor: dict[str, Any]) -> None:
    reply = api("POST", "/flavors", json={"flavor": flavor})
    assert reply.status_code == 400, reply.text
    assert reply.json()["badRequest"]["message"]
    assert [f["name"] for f in api("GET", "/flavors").json()["flavors"]][-1] == "m1.xlarge"


def test_extra_specs(api: Api) -> None:
    made = api("POST", "/flavors/1/os-extra_specs",
               json={"extra_specs": {"hw:cpu_policy": "dedicated", "quota:disk_read_iops_sec":
                                     "500"}})
    assert made.status_code == 200 and made.json()["extra_specs"]["hw:cpu_policy"] == \
        "dedicated"
    assert api("GET", "/flavors/1/os-extra_specs", token="member-token").json() == {
        "extra_specs": {"hw:cpu_policy": "dedicated", "quota:disk_read_iops_sec": "500"}}
    assert api("PUT", "/flavors/1/os-extra_specs/hw:cpu_policy",
               json={"hw:cpu_policy": "shared"}).json() == {"hw:cpu_policy": "shared"}
    assert api("PUT", "/flavors/1/os-extra_specs/hw:cpu_policy",
               json={"other": "x"}).status_code == 400
    assert api("GET", "/flavors/1/os-extra_specs/hw:cpu_policy").json() == {
        "hw:cpu_policy": "shared"}
    assert api("GET", "/flavors/1", version="2.61").json()["flavor"]["extra_specs"] == {
        "hw:cpu_policy": "shared", "quota:disk_read_iops_sec": "500"}
    assert api("DELETE", "/flavors/1/os-extra_specs/hw:cpu_policy").status_code == 200
    assert api("DELETE", "/flavors/1/os-extra_specs/hw:cpu_policy").status_code == 404
    assert api("POST", "/flavors/1/os-extra_specs", token="member-token",
               json={"extra_specs": {"a": "b"}}).status_code == 403
    assert api("POST", "/flavors/1/os-extra_specs", json={"extra_specs": {}}).status_code == 400


def test_private_flavors_and_access(api: Api) -> None:
    api("POST", "/flavors", json={"flavor": {"name": "private", "ram": 64, "vcpus": 1,
                                             "disk": 0, "id": "p1",
                                             "os-flavor-access:is_public": False}})
    assert "p1" not in [f["id"] for f in api("GET", "/flavors", token="other-token"
                                             ).json()["flavors"]]
    assert api("GET", "/flavors/p1", token="other-token").status_code == 404
    assert [f["id"] for f in api("GET", "/flavors?is_public=false").json()["flavors"]] == ["p1"]
    assert len(api("GET", "/flavors?is_public=None").json()["flavors"]) == 6
    shared = api("POST", "/flavors/p1/action",
                 json={"addTenantAccess": {"tenant": PROJECT_B}})
    assert shared.json() == {"flavor_access": [{"flavor_id": "p1", "tenant_id": PROJECT_B}]}
    assert api("POST", "/flavors/p1/action", json={"addTenantAccess": {"tenant": PROJECT_B}}
               ).status_code == 409
    assert api("GET", "/flavors/p1", token="other-token").status_code == 200
    assert api("GET", "/flavors/p1/os-flavor-access").json()["flavor_access"][0][
        "tenant_id"] == PROJECT_B
    assert api("GET", "/flavors/1/os-flavor-access").status_code == 404  # public
    assert api("POST", "/flavors/1/action", json={"addTenantAccess": {"tenant": PROJECT_B}}
               ).status_code == 409
    assert api("POST", "/flavors/p1/action",
               json={"removeTenantAccess": {"tenant": PROJECT_B}}).json() == {
        "flavor_access": []}
    assert api("POST", "/flavors/p1/action", json={"removeTenantAccess": {
        "tenant": PROJECT_B}}).status_code == 404
    assert api("POST", "/flavors/p1/action", json={"shrug": {}}).status_code == 400
