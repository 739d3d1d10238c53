"""What Nova says about its hosts, in process over the real compute service (issue 14):
``os-hypervisors`` (list, detail, show, statistics, uptime, search, servers, paging) at
2.1, 2.28, 2.33, 2.53 and 2.88,
``os-services`` at 2.1, 2.11 and 2.53, ``os-availability-zone`` (list, detail) and
``limits`` at 2.1, 2.36, 2.39 and 2.57; every reply checked against Tempest's own strict
schema for its microversion (Tempest has none for hypervisors from 2.88: those bodies are
checked against Nova's view here)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.conftest import PROJECT_A, PROJECT_B
from tests.api.nova._compute import HOST, ComputeApi, compute_api, parse_time


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ComputeApi]:
    yield from compute_api(tmp_path)


_RESOURCES = {"vcpus", "memory_mb", "local_gb", "vcpus_used", "memory_mb_used",
              "local_gb_used", "free_ram_mb", "free_disk_gb", "current_workload",
              "running_vms", "disk_available_least"}
_DETAIL = {"id", "hypervisor_hostname", "state", "status", "hypervisor_type",
           "hypervisor_version", "host_ip", "service"}


@pytest.mark.parametrize("version", ["2.1", "2.28", "2.33", "2.53"])
def test_hypervisors_with_tempest_schemas(api: ComputeApi, version: str) -> None:
    api.boot("on-host")
    listed = api("GET", "/os-hypervisors", version=version,
                 schema="hypervisors.list_search_hypervisors").json()["hypervisors"]
    assert [(h["hypervisor_hostname"], h["state"], h["status"]) for h in listed] == [
        (HOST, "up", "enabled")]
    assert set(listed[0]) == {"id", "hypervisor_hostname", "state", "status"}
    hypervisor_id = listed[0]["id"]
    if version >= "2.53":
        assert uuid.UUID(hypervisor_id)
    else:
        assert hypervisor_id == 1
    (detail,) = api("GET", "/os-hypervisors/detail", version=version,
                    schema="hypervisors.list_hypervisors_detail").json()["hypervisors"]
    assert set(detail) == _DETAIL | _RESOURCES | {"cpu_info"}
    assert detail["cpu_info"] == ({} if version >= "2.28" else "{}")
    assert (detail["running_vms"], detail["vcpus_used"], detail["memory_mb_used"],
            detail["local_gb_used"]) == (1, 1, 512, 1)
    assert (detail["local_gb"], detail["disk_available_least"]) == (100, 90)
    assert detail["service"]["host"] == HOST
    shown = api("GET", f"/os-hypervisors/{hypervisor_id}", version=version,
                schema="hypervisors.get_hypervisor").json()["hypervisor"]
    assert shown == detail
    stats = api("GET", "/os-hypervisors/statistics", version=version,
                schema="hypervisors.get_hypervisor_statistics").json()
    assert stats["hypervisor_statistics"]["count"] == 1
    assert stats["hypervisor_statistics"]["running_vms"] == 1
    assert api("GET", "/os-hypervisors", token="member-token",
               version=version).status_code == 403


def test_hypervisors_with_servers_and_patterns_from_2_53(api: ComputeApi) -> None:
    server_id = api.boot("on-host", token="other-token")
    (listed,) = api("GET", "/os-hypervisors?with_servers=true", version="2.53",
                    schema="hypervisors.list_search_hypervisors").json()["hypervisors"]
    assert listed["servers"] == [{"name": "on-host", "uuid": server_id}]
    (matched,) = api("GET", f"/os-hypervisors/detail?hypervisor_hostname_pattern={HOST[:4]}",
                     version="2.53").json()["hypervisors"]
    assert matched["hypervisor_hostname"] == HOST
    none = api("GET", "/os-hypervisors?hypervisor_hostname_pattern=elsewhere",
               version="2.53")
    assert none.status_code == 404
    assert none.json()["itemNotFound"]["message"] == \
        "No hypervisor matching 'elsewhere' could be found."
    shown = api("GET", f"/os-hypervisors/{listed['id']}?with_servers=1", version="2.53",
                schema="hypervisors.get_hypervisor").json()["hypervisor"]
    assert shown["servers"] == [{"name": "on-host", "uuid": server_id}]
    bad = api("GET", "/os-hypervisors/1", version="2.53")
    assert bad.status_code == 400
    assert bad.json()["badRequest"]["message"] == "Invalid uuid 1"
    unknown = str(uuid.uuid4())
    missing = api("GET", f"/os-hypervisors/{unknown}", version="2.53")
    assert missing.status_code == 404
    assert missing.json()["itemNotFound"]["message"] == \
        f"Hypervisor with ID '{unknown}' could not be found."
    assert api("GET", "/os-hypervisors/2").status_code == 404
    assert api("GET", "/os-hypervisors/nope").status_code == 404


@pytest.mark.parametrize("version", ["2.1", "2.28", "2.33", "2.53"])
def test_hypervisor_uptime_until_2_88(api: ComputeApi, version: str) -> None:
    hypervisor_id = api("GET", "/os-hypervisors", version=version).json()["hypervisors"][0]["id"]
    shown = api("GET", f"/os-hypervisors/{hypervisor_id}/uptime", version=version,
                schema="hypervisors.get_hypervisor_uptime").json()["hypervisor"]
    assert set(shown) == {"id", "hypervisor_hostname", "state", "status", "uptime"}
    assert " up " in shown["uptime"] and "load average" in shown["uptime"]
    assert api("GET", f"/os-hypervisors/{hypervisor_id}/uptime", token="member-token",
               version=version).status_code == 403
    wrong = "7" if version < "2.53" else str(uuid.uuid4())
    assert api("GET", f"/os-hypervisors/{wrong}/uptime", version=version).status_code == 404
    assert api("GET", f"/os-hypervisors/{hypervisor_id}/uptime",
               version="2.88").status_code == 404


def test_hypervisor_search_and_servers_before_2_53(api: ComputeApi) -> None:
    found = api("GET", f"/os-hypervisors/{HOST[2:6]}/search",
                schema="hypervisors.list_search_hypervisors").json()["hypervisors"]
    assert [h["hypervisor_hostname"] for h in found] == [HOST]
    assert "servers" not in found[0]
    empty = api("GET", f"/os-hypervisors/{HOST}/servers",
                schema="hypervisors.get_hypervisors_servers").json()["hypervisors"]
    assert "servers" not in empty[0]  # none on it: no key, as Nova before 2.75
    server_id = api.boot("hosted", token="other-token")
    hosted = api("GET", f"/os-hypervisors/{HOST}/servers", version="2.52",
                 schema="hypervisors.get_hypervisors_servers").json()["hypervisors"]
    assert hosted[0]["servers"] == [{"name": "hosted", "uuid": server_id}]
    missing = api("GET", "/os-hypervisors/elsewhere/search")
    assert missing.status_code == 404
    assert missing.json()["itemNotFound"]["message"] == \
        "No hypervisor matching 'elsewhere' could be found."
    assert api("GET", "/os-hypervisors/elsewhere/servers").status_code == 404
    assert api("GET", f"/os-hypervisors/{HOST}/search", token="member-token"
               ).status_code == 403
    assert api("GET", f"/os-hypervisors/{HOST}/search", version="2.53").status_code == 404
    assert api("GET", f"/os-hypervisors/{HOST}/servers", version="2.53").status_code == 404


@pytest.mark.parametrize("version", ["2.33", "2.53"])
def test_hypervisors_page_from_2_33(api: ComputeApi, version: str) -> None:
    for path, schema in (("/os-hypervisors", "hypervisors.list_search_hypervisors"),
                         ("/os-hypervisors/detail", "hypervisors.list_hypervisors_detail")):
        page = api("GET", f"{path}?limit=1", version=version, schema=schema).json()
        (one,) = page["hypervisors"]
        (link,) = page["hypervisors_links"]
        assert link["rel"] == "next"
        assert link["href"].startswith(f"http://shoal.test:8080/compute/v2.1{path}?")
        assert f"marker={one['id']}" in link["href"] and "limit=1" in link["href"]
        rest = api("GET", f"{path}?limit=1&marker={one['id']}", version=version,
                   schema=schema).json()
        assert rest == {"hypervisors": []}
        assert "hypervisors_links" not in api("GET", f"{path}?limit=2",
                                              version=version).json()
        unknown = api("GET", f"{path}?marker=nope", version=version)
        assert unknown.status_code == 400
        assert unknown.json()["badRequest"]["message"] == "marker [nope] not found"
        assert api("GET", f"{path}?limit=-1", version=version).status_code == 400
    # before 2.33 there is no paging: the parameters are ignored
    assert len(api("GET", "/os-hypervisors?limit=1&marker=x").json()["hypervisors"]) == 1
    if version >= "2.53":
        both = api("GET", f"/os-hypervisors?limit=1&hypervisor_hostname_pattern={HOST}",
                   version=version)
        assert both.status_code == 400
        assert "hypervisor_hostname_pattern" in both.json()["badRequest"]["message"]


def test_hypervisors_at_2_88_drop_the_resources(api: ComputeApi) -> None:
    """Nova 2.88: no resource fields, ``uptime`` in the detail, no statistics (Tempest
    has no schema for these: the keys are checked against Nova's view)."""
    (brief,) = api("GET", "/os-hypervisors", version="2.88").json()["hypervisors"]
    assert set(brief) == {"id", "hypervisor_hostname", "state", "status"}
    (detail,) = api("GET", "/os-hypervisors/detail", version="2.88").json()["hypervisors"]
    assert set(detail) == _DETAIL | {"uptime"}
    assert detail["uptime"] is None or " up " in detail["uptime"]
    shown = api("GET", f"/os-hypervisors/{brief['id']}", version="2.88").json()
    assert set(shown["hypervisor"]) == _DETAIL | {"uptime"}
    assert api("GET", "/os-hypervisors/statistics", version="2.88").status_code == 404
    assert api("GET", "/os-hypervisors/statistics", version="2.87").status_code == 200
    (with_servers,) = api("GET", "/os-hypervisors?with_servers=true", version="2.88"
                          ).json()["hypervisors"]
    assert with_servers["servers"] == []  # 2.75: an empty list when none


@pytest.mark.parametrize("version", ["2.1", "2.11", "2.53"])
def test_services(api: ComputeApi, version: str) -> None:
    services = api("GET", "/os-services", version=version,
                   schema="services.list_services").json()["services"]
    assert [(s["binary"], s["zone"], s["state"], s["status"]) for s in services] == [
        ("nova-scheduler", "internal", "up", "enabled"),
        ("nova-conductor", "internal", "up", "enabled"),
        ("nova-compute", "nova", "up", "enabled")]
    keys = {"id", "binary", "host", "zone", "status", "state", "updated_at",
            "disabled_reason"}
    assert all(set(s) == keys | ({"forced_down"} if version >= "2.11" else set())
               for s in services)
    if version >= "2.53":
        assert all(uuid.UUID(s["id"]) for s in services)
    else:
        assert [s["id"] for s in services] == [1, 2, 3]
    updated = services[0]["updated_at"]
    assert "." in updated and not updated.endswith("Z")  # Nova's naive time
    assert parse_time(updated + "+00:00")
    compute = api("GET", "/os-services?binary=nova-compute", version=version,
                  schema="services.list_services").json()["services"]
    assert [s["binary"] for s in compute] == ["nova-compute"]
    assert api("GET", "/os-services?host=elsewhere").json() == {"services": []}
    assert len(api("GET", "/os-services?host=&binary=").json()["services"]) == 3
    denied = api("GET", "/os-services", token="member-token")
    assert denied.status_code == 403
    assert denied.json()["forbidden"]["message"] == \
        "Policy doesn't allow os_compute_api:os-services:list to be performed."


def test_availability_zones(api: ComputeApi) -> None:
    listed = api("GET", "/os-availability-zone", token="member-token",
                 schema="availability_zone.list_availability_zone_list").json()
    assert listed == {"availabilityZoneInfo": [
        {"zoneName": "nova", "zoneState": {"available": True}, "hosts": None}]}
    detail = api("GET", "/os-availability-zone/detail",
                 schema="availability_zone.list_availability_zone_list_detail").json()
    zones = {z["zoneName"]: z for z in detail["availabilityZoneInfo"]}
    assert set(zones) == {"internal", "nova"}
    assert set(zones["internal"]["hosts"][HOST]) == {"nova-scheduler", "nova-conductor"}
    compute = zones["nova"]["hosts"][HOST]["nova-compute"]
    assert compute["available"] is True and compute["active"] is True
    assert not compute["updated_at"].endswith("Z")
    assert api("GET", "/os-availability-zone/detail", token="member-token"
               ).status_code == 403


@pytest.mark.parametrize("version", ["2.1", "2.36", "2.39", "2.57"])
def test_limits(api: ComputeApi, version: str) -> None:
    api.boot("counted")
    absolute = api("GET", "/limits", token="member-token", version=version,
                   schema="limits.get_limit").json()["limits"]["absolute"]
    assert (absolute["maxTotalInstances"], absolute["maxTotalCores"],
            absolute["maxTotalRAMSize"], absolute["maxServerMeta"]) == (10, 20, 51200, 128)
    assert (absolute["totalInstancesUsed"], absolute["totalCoresUsed"],
            absolute["totalRAMUsed"]) == (1, 1, 512)
    assert ("maxImageMeta" in absolute) is (version < "2.39")
    assert ("maxPersonality" in absolute) is (version < "2.57")
    network = {"maxSecurityGroups", "maxSecurityGroupRules", "maxTotalFloatingIps",
               "totalFloatingIpsUsed", "totalSecurityGroupsUsed"}
    if version < "2.36":
        assert network <= set(absolute)
        assert absolute["maxTotalFloatingIps"] == -1
    else:
        assert not network & set(absolute)
    # an admin reads another project's use; a member may not
    other = api("GET", f"/limits?tenant_id={PROJECT_B}", version=version,
                schema="limits.get_limit").json()["limits"]["absolute"]
    assert other["totalInstancesUsed"] == 0
    mine = api("GET", f"/limits?tenant_id={PROJECT_A}", version=version).json()
    assert mine["limits"]["absolute"]["totalInstancesUsed"] == 1
    denied = api("GET", f"/limits?tenant_id={PROJECT_B}", token="member-token")
    assert denied.status_code == 403
    assert denied.json()["forbidden"]["message"] == \
        "Policy doesn't allow os_compute_api:limits:other_project to be performed."


def test_extensions(api: ComputeApi) -> None:
    listed = api("GET", "/extensions", token="member-token",
                 schema="extensions.list_extensions").json()["extensions"]
    aliases = {e["alias"] for e in listed}
    assert {"os-hypervisors", "os-migrate-server", "os-flavor-access"} <= aliases
    one = api("GET", "/extensions/os-keypairs", token="member-token").json()["extension"]
    assert one["name"] == "Keypairs" and one["links"] == []
    assert api("GET", "/extensions/os-consoles").status_code == 404  # no consoles here
