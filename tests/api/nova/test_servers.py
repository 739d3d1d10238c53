"""Nova's server API in process (issue 14) over a real embedded cluster, real guest disks
in ``vms`` and a real task runner: create (202 bodies, counts, reservation ids), list and
detail (filters, all_tenants, paging, sort), show at each microversion Tempest has a schema
for, as an admin and as a member, update, delete, the state actions, lock, metadata and
the instance actions. Every reply is checked against Tempest's own strict schema for its
microversion (in Tempest's venv, as Tempest's service clients check them)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shoal.api._microversion import APIVersion
from shoal.api.nova._views import NovaViews
from shoal.api.nova.server_views import server_update_view
from tests.api.conftest import PROJECT_A, PROJECT_B, TOKENS
from tests.api.nova._compute import HOST, ComputeApi, MiB, compute_api, parse_time


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ComputeApi]:
    yield from compute_api(tmp_path)


def _ids(reply: Any) -> list[str]:
    return [s["id"] for s in reply.json()["servers"]]


def _act(api: ComputeApi, server_id: str, body: dict[str, Any], token: str = "member-token",
         version: str = "2.1") -> Any:
    return api("POST", f"/servers/{server_id}/action", token=token, version=version,
               json=body, schema="servers.server_actions_common_schema", module="v2_1")


# --- create ------------------------------------------------------------------------------
def test_create_answers_202_then_the_server_builds_its_disk(api: ComputeApi) -> None:
    body = {"server": {"name": "web", "imageRef": api.image_id, "flavorRef": "1",
                       "adminPass": "s3cret", "metadata": {"role": "web"}}}
    made = api("POST", "/servers", token="member-token", json=body,
               schema="servers.create_server_with_admin_pass", module="v2_1")
    assert made.status_code == 202, made.text
    server = made.json()["server"]
    assert server["adminPass"] == "s3cret"
    assert server["OS-DCF:diskConfig"] == "MANUAL"
    assert server["security_groups"] == [{"name": "default"}]
    assert server["links"][0]["href"].endswith(f"/compute/v2.1/servers/{server['id']}")
    api.settle(server["id"])
    shown = api.show(server["id"])
    assert (shown["status"], shown["OS-EXT-STS:vm_state"], shown["OS-EXT-STS:power_state"],
            shown["OS-EXT-STS:task_state"]) == ("ACTIVE", "active", 1, None)
    assert shown["metadata"] == {"role": "web"} and shown["progress"] == 0
    assert shown["OS-EXT-SRV-ATTR:host"] == HOST
    assert shown["OS-SRV-USG:launched_at"] is not None
    assert f"{server['id']}_disk" in api.vms()
    # no adminPass asked: Nova (enable_instance_password) answers one it generated
    plain = api("POST", "/servers", token="member-token", version="2.37",
                json={"server": {"name": "plain", "imageRef": api.image_id,
                                 "flavorRef": "1", "networks": "none"}},
                schema="servers.create_server_with_admin_pass", module="v2_1")
    assert plain.status_code == 202 and len(plain.json()["server"]["adminPass"]) == 12


def test_create_without_admin_pass_answers_a_generated_one(api: ComputeApi) -> None:
    made = api("POST", "/servers", json={"server": {"name": "p", "imageRef": api.image_id,
                                                    "flavorRef": "1"}})
    assert made.json()["server"].get("adminPass")


def test_min_and_max_count_and_reservation_ids(api: ComputeApi) -> None:
    body = {"server": {"name": "many", "imageRef": api.image_id, "flavorRef": "1",
                       "min_count": 2, "max_count": 3}}
    made = api("POST", "/servers", token="member-token", json=body,
               schema="servers.create_server_with_admin_pass", module="v2_1")
    assert made.status_code == 202, made.text
    first = made.json()["server"]["id"]
    listed = api("GET", "/servers/detail?name=^many", version="2.3",
                 schema="servers.list_servers_detail").json()["servers"]
    assert sorted(s["name"] for s in listed) == ["many-1", "many-2", "many-3"]
    assert first in [s["id"] for s in listed]
    assert len({s["OS-EXT-SRV-ATTR:reservation_id"] for s in listed}) == 1
    assert sorted(s["OS-EXT-SRV-ATTR:launch_index"] for s in listed) == [0, 1, 2]
    for s in listed:
        api.settle(s["id"])
    reserved = api("POST", "/servers", token="member-token", json={"server": {
        "name": "r", "imageRef": api.image_id, "flavorRef": "1",
        "return_reservation_id": True}})
    assert reserved.status_code == 202
    assert set(reserved.json()) == {"reservation_id"}
    assert reserved.json()["reservation_id"].startswith("r-")
    refused = api("POST", "/servers", json={"server": {
        "name": "x", "imageRef": api.image_id, "flavorRef": "1", "min_count": 3,
        "max_count": 2}})
    assert refused.status_code == 400
    assert refused.json()["badRequest"]["message"] == "min_count must be <= max_count"


def test_quota_refuses_over_the_instances(tmp_path: Path) -> None:
    for api in compute_api(tmp_path, quotas={"instances": 2, "cores": 20, "ram": 51200,
                                             "metadata_items": 128}):
        body = {"server": {"name": "q", "imageRef": api.image_id, "flavorRef": "1",
                           "min_count": 3}}
        refused = api("POST", "/servers", token="member-token", json=body)
        assert refused.status_code == 403, refused.text
        assert refused.json()["forbidden"]["message"].startswith(
            "Quota exceeded for instances: Requested 3, but already used 0 of 2 instances")
        assert api("GET", "/servers").json()["servers"] == []


def test_quota_makes_as_many_as_it_allows(tmp_path: Path) -> None:
    for api in compute_api(tmp_path, quotas={"instances": 2, "cores": 20, "ram": 51200,
                                             "metadata_items": 128}):
        body = {"server": {"name": "q", "imageRef": api.image_id, "flavorRef": "1",
                           "min_count": 1, "max_count": 3}}
        assert api("POST", "/servers", token="member-token", json=body).status_code == 202
        assert len(api("GET", "/servers").json()["servers"]) == 2


@pytest.mark.parametrize(("server", "version", "words"), [
    ({"imageRef": "x", "flavorRef": "1"}, "2.1", "'name' is a required property"),
    ({"name": "n", "imageRef": "x"}, "2.1", "'flavorRef' is a required property"),
    ({"name": "n", "flavorRef": "1"}, "2.37", "'networks' is a required property"),
    ({"name": "", "flavorRef": "1"}, "2.1", "Invalid input for field/attribute name"),
    ({"name": " pad", "flavorRef": "1"}, "2.1", "Invalid input for field/attribute name"),
    ({"name": "n" * 256, "flavorRef": "1"}, "2.1", "Invalid input for field/attribute name"),
    ({"name": "n", "flavorRef": "1", "colour": "red"}, "2.1",
     "Additional properties are not allowed ('colour' was unexpected)"),
    ({"name": "n", "flavorRef": "1", "min_count": 0}, "2.1",
     "Invalid input for field/attribute min_count"),
    ({"name": "n", "flavorRef": "1", "max_count": "lots"}, "2.1",
     "Invalid input for field/attribute max_count"),
    ({"name": "n", "flavorRef": "1", "metadata": {"k": 1}}, "2.1",
     "Invalid input for field/attribute k. Value: 1. 1 is not of type 'string'"),
    ({"name": "n", "flavorRef": "1", "metadata": "k=v"}, "2.1",
     "Invalid input for field/attribute metadata"),
    ({"name": "n", "flavorRef": "1", "networks": "some"}, "2.37",
     "Invalid input for field/attribute networks"),
    ({"name": "n", "flavorRef": "1", "accessIPv4": "nowhere"}, "2.1",
     "Invalid input for field/attribute accessIPv4. Value: nowhere. 'nowhere' is not a "
     "'ipv4'"),
    ({"name": "n", "flavorRef": "1", "description": "d" * 256}, "2.19",
     "Invalid input for field/attribute description"),
    ({"name": "n", "flavorRef": "1", "imageRef": "nope"}, "2.1",
     "Can not find requested image"),
    ({"name": "n", "flavorRef": "42", "imageRef": "IMAGE"}, "2.1",
     "Invalid flavorRef provided."),
    ({"name": "n", "flavorRef": "1", "imageRef": "IMAGE", "key_name": "nokey"}, "2.1",
     "Invalid key_name provided."),
    ({"name": "n", "flavorRef": "1", "imageRef": "IMAGE", "availability_zone": "mars"},
     "2.1", "The requested availability zone is not available"),
    ({"name": "n", "flavorRef": "1"}, "2.1", "Block Device Mapping is Invalid"),
])
def test_bad_creates_are_400_in_novas_words(api: ComputeApi, server: dict[str, Any],
                                            version: str, words: str) -> None:
    server = {k: api.image_id if v == "IMAGE" else v for k, v in server.items()}
    reply = api("POST", "/servers", version=version, json={"server": server})
    assert reply.status_code == 400, reply.text
    assert words in reply.json()["badRequest"]["message"]
    assert api("GET", "/servers").json()["servers"] == []


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'"server"', b'{"server": []}',
                                  b'{"server": null}', b"{}"])
def test_create_bodies_that_are_not_servers_are_400(api: ComputeApi, body: bytes) -> None:
    reply = api("POST", "/servers", content=body)
    assert reply.status_code == 400, reply.text
    assert reply.json()["badRequest"]["message"]


# --- list and detail ---------------------------------------------------------------------
def test_list_filters_sort_and_pages(api: ComputeApi) -> None:
    alpha = api.boot("alpha")
    beta = api.boot("beta")
    other = api.boot("gamma", token="other-token")
    both = {alpha, beta}
    assert set(_ids(api("GET", "/servers", token="member-token",
                        schema="servers.list_servers"))) == both
    assert set(_ids(api("GET", "/servers", token="other-token"))) == {other}
    detail = api("GET", "/servers/detail", token="member-token",
                 schema="servers.list_servers_detail").json()["servers"]
    assert {s["id"] for s in detail} == both
    assert all("OS-EXT-SRV-ATTR:host" not in s for s in detail)
    # filters
    assert _ids(api("GET", "/servers?name=alp")) == [alpha]
    assert set(_ids(api("GET", "/servers?status=ACTIVE"))) == both
    assert _act(api, beta, {"os-stop": None}).status_code == 202
    api.settle(beta)
    assert _ids(api("GET", "/servers?status=SHUTOFF")) == [beta]
    assert set(_ids(api("GET", f"/servers?image={api.image_id}"))) == both
    assert set(_ids(api("GET", "/servers?flavor=1"))) == both
    assert _ids(api("GET", "/servers?flavor=2")) == []
    assert _ids(api("GET", "/servers?status=bogus")) == []
    bogus = api("GET", "/servers?status=bogus", version="2.38")
    assert bogus.status_code == 400 and bogus.json()["badRequest"]["message"] == \
        "Invalid status value"
    # all_tenants: admins only; tenant_id counts with it only
    assert set(_ids(api("GET", "/servers?all_tenants=1"))) == {alpha, beta, other}
    assert set(_ids(api("GET", "/servers"))) == both
    assert set(_ids(api("GET", f"/servers?tenant_id={PROJECT_B}"))) == both
    assert _ids(api("GET", f"/servers?all_tenants&tenant_id={PROJECT_B}")) == [other]
    assert set(_ids(api("GET", "/servers/detail?all_tenants=true", version="2.96",
                        schema="servers.list_servers_detail"))) == {alpha, beta, other}
    denied = api("GET", "/servers/detail?all_tenants=1", token="member-token")
    assert denied.status_code == 403
    assert denied.json()["forbidden"]["message"] == (
        "Policy doesn't allow os_compute_api:servers:detail:get_all_tenants to be "
        "performed.")
    assert api("GET", "/servers?all_tenants=maybe").status_code == 400
    since = api("GET", "/servers?changes-since=2000-01-01T00:00:00&changes-before="
                "2999-01-01T00:00:00Z").json()["servers"]
    assert {s["id"] for s in since} == both
    # sort and pages
    asc = _ids(api("GET", "/servers?sort_key=display_name&sort_dir=asc"))
    assert asc == [alpha, beta]
    assert _ids(api("GET", "/servers?sort_key=display_name&sort_dir=desc")) == [beta, alpha]
    assert len(_ids(api("GET", "/servers?sort_key=host"))) == 2
    by_host = api("GET", "/servers?sort_key=host", token="member-token")
    assert by_host.status_code == 403
    assert by_host.json()["forbidden"]["message"] == "Only administrators can sort servers by host"
    page = api("GET", "/servers?sort_key=display_name&sort_dir=asc&limit=1",
               schema="servers.list_servers").json()
    assert _ids_of(page) == [alpha]
    link = page["servers_links"][0]
    assert link["rel"] == "next" and f"marker={alpha}" in link["href"]
    assert "/compute/v2.1/servers?" in link["href"]
    rest = api("GET", link["href"].split("/compute/v2.1", 1)[1],
               schema="servers.list_servers").json()
    assert _ids_of(rest) == [beta]
    detail_page = api("GET", "/servers/detail?limit=1", version="2.73",
                      schema="servers.list_servers_detail").json()
    assert "/compute/v2.1/servers/detail?" in detail_page["servers_links"][0]["href"]
    for query, words in (("limit=-1", "Invalid input for query parameters limit"),
                         ("limit=lots", "Invalid input for query parameters limit"),
                         ("marker=nope", "marker [nope] not found"),
                         ("sort_key=colour", "colour"),
                         ("sort_dir=up", "up"),
                         ("changes-since=yesterday", "changes-since"),
                         ("changes-since=2026-01-02T00:00:00Z&changes-before=2026-01-01",
                          "The value of changes-since must be less than or equal to "
                          "changes-before.")):
        reply = api("GET", f"/servers?{query}")
        assert reply.status_code == 400, (query, reply.text)
        assert words in reply.json()["badRequest"]["message"], query


def _ids_of(body: dict[str, Any]) -> list[str]:
    return [s["id"] for s in body["servers"]]


# --- show at each microversion -----------------------------------------------------------
_VERSIONS = ("2.1", "2.3", "2.9", "2.16", "2.19", "2.26", "2.47", "2.63", "2.71", "2.73",
             "2.90", "2.96")
_BASE = {"id", "name", "status", "tenant_id", "user_id", "metadata", "hostId", "image",
         "flavor", "created", "updated", "addresses", "accessIPv4", "accessIPv6", "links",
         "OS-DCF:diskConfig", "progress"}
_EXTENDED = {"OS-EXT-AZ:availability_zone", "config_drive", "key_name",
             "OS-SRV-USG:launched_at", "OS-SRV-USG:terminated_at", "security_groups",
             "OS-EXT-STS:task_state", "OS-EXT-STS:vm_state", "OS-EXT-STS:power_state",
             "os-extended-volumes:volumes_attached"}
_ADMIN_21 = {"OS-EXT-SRV-ATTR:host", "OS-EXT-SRV-ATTR:instance_name",
             "OS-EXT-SRV-ATTR:hypervisor_hostname"}
_ADMIN_23 = {"OS-EXT-SRV-ATTR:reservation_id", "OS-EXT-SRV-ATTR:launch_index",
             "OS-EXT-SRV-ATTR:kernel_id", "OS-EXT-SRV-ATTR:ramdisk_id",
             "OS-EXT-SRV-ATTR:hostname", "OS-EXT-SRV-ATTR:root_device_name",
             "OS-EXT-SRV-ATTR:user_data"}


def _at(version: str, minimum: str) -> bool:
    def split(text: str) -> tuple[int, int]:
        major, minor = text.split(".")
        return int(major), int(minor)
    return split(version) >= split(minimum)


def _expected_keys(version: str, admin: bool, *, show: bool) -> set[str]:
    """The keys of an ACTIVE server's body as Nova's view builds them."""
    keys = _BASE | _EXTENDED
    if admin:
        keys |= _ADMIN_21 | (_ADMIN_23 if _at(version, "2.3") else set())
        if _at(version, "2.16"):
            keys.add("host_status")
    elif _at(version, "2.90"):
        keys.add("OS-EXT-SRV-ATTR:hostname")
    for minimum, key in (("2.9", "locked"), ("2.19", "description"), ("2.26", "tags"),
                         ("2.63", "trusted_image_certificates"), ("2.73", "locked_reason"),
                         ("2.96", "pinned_availability_zone")):
        if _at(version, minimum):
            keys.add(key)
    if show and _at(version, "2.71"):
        keys.add("server_groups")
    return keys


def test_show_at_each_microversion_as_admin_and_member(api: ComputeApi) -> None:
    server_id = api.boot("shown", user_data="aGVsbG8=")
    for version in _VERSIONS:
        for token, admin in (("admin-token", True), ("member-token", False)):
            reply = api("GET", f"/servers/{server_id}", token=token, version=version,
                        schema="servers.get_server")
            assert reply.status_code == 200, reply.text
            shown = reply.json()["server"]
            assert set(shown) == _expected_keys(version, admin, show=True), (version, token)
            listed = api("GET", "/servers/detail", token=token, version=version,
                         schema="servers.list_servers_detail").json()["servers"]
            assert set(listed[0]) == _expected_keys(version, admin, show=False)
            flavor = shown["flavor"]
            if _at(version, "2.47"):
                assert flavor == {"vcpus": 1, "ram": 512, "disk": 1, "ephemeral": 0,
                                  "swap": 0, "original_name": "m1.tiny", "extra_specs": {}}
            else:
                assert flavor["id"] == "1"
                assert flavor["links"] == [{"rel": "bookmark", "href":
                                            "http://shoal.test:8080/compute/flavors/1"}]
    admin = api.show(server_id, "2.96")
    assert admin["OS-EXT-SRV-ATTR:user_data"] == "aGVsbG8="
    assert admin["OS-EXT-SRV-ATTR:hostname"] == "shown"
    assert admin["host_status"] == "UP"
    assert admin["locked"] is False and admin["locked_reason"] is None
    assert admin["tags"] == [] and admin["server_groups"] == []
    assert admin["image"]["id"] == api.image_id
    assert admin["hostId"] and len(admin["hostId"]) == 56
    assert admin["tenant_id"] == PROJECT_A and admin["user_id"] == "u-member"
    assert parse_time(admin["created"]) <= parse_time(admin["updated"])
    assert admin["created"].endswith("Z")
    assert "." in admin["OS-SRV-USG:launched_at"] and \
        not admin["OS-SRV-USG:launched_at"].endswith("Z")
    member = api.show(server_id, "2.90", token="member-token")
    assert member["OS-EXT-SRV-ATTR:hostname"] == "shown"
    assert member["hostId"] == admin["hostId"]
    assert api("GET", f"/servers/{server_id}", token="other-token").status_code == 404
    missing = api("GET", "/servers/1b6f4e3c-0000-4000-8000-000000000000")
    assert missing.status_code == 404
    assert missing.json()["itemNotFound"]["message"] == \
        "Instance 1b6f4e3c-0000-4000-8000-000000000000 could not be found."


def test_a_failed_build_shows_error_and_its_fault(api: ComputeApi) -> None:
    def unreadable() -> Iterator[bytes]:
        raise OSError("the image's data cannot be read")

    stored = api.store_image(MiB)
    broken = dataclasses.replace(stored.disk, locations=(), raw_data=unreadable)
    api.images.by_id[stored.id] = dataclasses.replace(stored, disk=broken)
    server_id = api.boot("broken", imageRef=stored.id)
    for version in ("2.1", "2.47", "2.96"):
        for token in ("admin-token", "member-token"):
            shown = api("GET", f"/servers/{server_id}", token=token, version=version,
                        schema="servers.get_server").json()["server"]
            assert (shown["status"], shown["OS-EXT-STS:vm_state"]) == ("ERROR", "error")
            assert "progress" not in shown
            fault = shown["fault"]
            assert fault["code"] == 500 and "cannot be read" in fault["message"]
            assert fault["created"].endswith("Z") and "details" not in fault
    assert [s["id"] for s in api("GET", "/servers/detail?status=ERROR",
                                 schema="servers.list_servers_detail").json()["servers"]] \
        == [server_id]
    assert f"{server_id}_disk" not in api.vms()
    action = api("GET", f"/servers/{server_id}/os-instance-actions").json()[
        "instanceActions"][0]
    shown_action = api("GET", f"/servers/{server_id}/os-instance-actions/"
                       f"{action['request_id']}", version="2.84",
                       schema="servers.show_instance_action").json()["instanceAction"]
    assert shown_action["message"] == "Error"
    (event,) = shown_action["events"]
    assert event["result"] == "Error" and "cannot be read" in event["traceback"]
    assert event["details"] == event["traceback"]
    assert api("DELETE", f"/servers/{server_id}").status_code == 204
    api.wait_gone(server_id)


def test_the_asked_zone_is_pinned(api: ComputeApi) -> None:
    server_id = api.boot("pinned", availability_zone="nova")
    assert api.show(server_id, "2.96")["pinned_availability_zone"] == "nova"


# --- update and delete -------------------------------------------------------------------
def test_update_from_2_75_answers_the_full_server(api: ComputeApi) -> None:
    server_id = api.boot("old")
    for version in ("2.75", "2.79", "2.90", "2.96"):
        reply = api("PUT", f"/servers/{server_id}", token="member-token", version=version,
                    json={"server": {"name": f"new-{version}", "description": "d"}},
                    schema="servers.update_server")
        assert reply.status_code == 200, reply.text
        assert reply.json()["server"]["name"] == f"new-{version}"
        assert reply.json()["server"]["description"] == "d"
    assert api.show(server_id)["name"] == "new-2.96"
    addressed = api("PUT", f"/servers/{server_id}", version="2.75", json={"server": {
        "accessIPv4": "10.0.0.7", "accessIPv6": "0000:0000:0000:0000:0000:babe:220.12.22.2"}},
        schema="servers.update_server").json()["server"]
    assert (addressed["accessIPv4"], addressed["accessIPv6"]) == ("10.0.0.7",
                                                                  "::babe:dc0c:1602")
    refused = api("PUT", f"/servers/{server_id}", version="2.18",
                  json={"server": {"description": "d"}})
    assert refused.status_code == 400 and "description" in refused.text
    for bad, words in (({"server": {"name": ""}}, "Invalid input for field/attribute name"),
                       ({"server": {"colour": "red"}}, "'colour' was unexpected"),
                       ({"name": "x"}, "'server' is a required property"),
                       ({"server": {"name": "x" * 256}}, "field/attribute name"),
                       ({"server": {"accessIPv4": "10.0.0.300"}},
                        "Invalid input for field/attribute accessIPv4. Value: 10.0.0.300. "
                        "'10.0.0.300' is not a 'ipv4'"),
                       ({"server": {"accessIPv6": "babe::cafe::1"}},
                        "field/attribute accessIPv6")):
        reply = api("PUT", f"/servers/{server_id}", json=bad)
        assert reply.status_code == 400, (bad, reply.text)
        assert words in reply.json()["badRequest"]["message"], bad


@pytest.mark.parametrize("version", ["2.1", "2.19", "2.71", "2.73"])
def test_update_before_2_75_answers_the_short_body(api: ComputeApi, version: str) -> None:
    server_id = api.boot("old")
    reply = api("PUT", f"/servers/{server_id}", version=version,
                json={"server": {"name": "new"}}, schema="servers.update_server")
    assert reply.status_code == 200
    assert "OS-EXT-STS:vm_state" not in reply.json()["server"]


@pytest.mark.parametrize("version", ["2.1", "2.19", "2.71", "2.73", "2.75"])
def test_the_update_view_is_novas_short_body_before_2_75(api: ComputeApi, version: str
                                                        ) -> None:
    """:func:`server_update_view` (for the update handler) validates as Tempest's
    ``update_server`` at each microversion."""
    server_id = api.boot("short")
    record = api.servers.get(TOKENS["member-token"], server_id)
    views = NovaViews(APIVersion.parse(version), "http://shoal.test:8080", None, False)
    body = {"server": server_update_view(record, views)}
    api.replies.append((version, "servers.update_server", 200, body))
    assert ("server_groups" in body["server"]) is _at(version, "2.71")
    assert ("OS-EXT-STS:vm_state" in body["server"]) is _at(version, "2.75")


def test_delete_answers_204_and_removes_the_disks(api: ComputeApi) -> None:
    server_id = api.boot("doomed")
    assert f"{server_id}_disk" in api.vms()
    gone = api("DELETE", f"/servers/{server_id}", token="member-token",
               schema="servers.delete_server", module="v2_1")
    assert gone.status_code == 204 and gone.content == b""
    api.wait_gone(server_id)
    assert f"{server_id}_disk" not in api.vms()
    assert api("DELETE", f"/servers/{server_id}").status_code == 404
    assert api("GET", "/servers", token="member-token").json()["servers"] == []
    deleted = api("GET", "/servers/detail?deleted=true", version="2.3",
                  schema="servers.list_servers_detail").json()["servers"]
    assert [s["id"] for s in deleted] == [server_id]
    assert deleted[0]["status"] == "DELETED"
    assert deleted[0]["OS-SRV-USG:terminated_at"] is not None
    # a member's deleted=true is dropped: only live servers
    assert api("GET", "/servers?deleted=true", token="member-token").json()["servers"] == []
    # force delete
    forced = api.boot("forced")
    assert _act(api, forced, {"forceDelete": None}).status_code == 202
    api.wait_gone(forced)


# --- actions and states ------------------------------------------------------------------
def _state(api: ComputeApi, server_id: str) -> tuple[str, str, int]:
    api.settle(server_id)
    shown = api.show(server_id)
    assert shown["OS-EXT-STS:task_state"] is None
    return shown["status"], shown["OS-EXT-STS:vm_state"], shown["OS-EXT-STS:power_state"]


def test_actions_move_the_server_through_novas_states(api: ComputeApi) -> None:
    server_id = api.boot("stateful")
    steps = (({"os-stop": None}, ("SHUTOFF", "stopped", 4)),
             ({"os-start": None}, ("ACTIVE", "active", 1)),
             ({"reboot": {"type": "SOFT"}}, ("ACTIVE", "active", 1)),
             ({"reboot": {"type": "HARD"}}, ("ACTIVE", "active", 1)),
             ({"pause": None}, ("PAUSED", "paused", 3)),
             ({"unpause": None}, ("ACTIVE", "active", 1)),
             ({"suspend": None}, ("SUSPENDED", "suspended", 7)),
             ({"resume": None}, ("ACTIVE", "active", 1)))
    for body, state in steps:
        reply = _act(api, server_id, body)
        assert reply.status_code == 202, (body, reply.text)
        assert reply.content == b""
        assert _state(api, server_id) == state, body
    conflict = _act(api, server_id, {"os-start": None})
    assert conflict.status_code == 409
    assert conflict.json()["conflictingRequest"]["message"] == (
        f"Cannot 'start' instance {server_id} while it is in vm_state active")
    assert _act(api, server_id, {"unpause": None}).status_code == 409
    assert _act(api, server_id, {"resume": None}).status_code == 409
    assert _act(api, server_id, {"os-stop": None}).status_code == 202
    _state(api, server_id)
    stopped = _act(api, server_id, {"os-stop": None})
    assert stopped.json()["conflictingRequest"]["message"] == (
        f"Cannot 'stop' instance {server_id} while it is in vm_state stopped")
    assert _act(api, server_id, {"pause": None}).status_code == 409
    assert _act(api, server_id, {"reboot": {"type": "SOFT"}}).status_code == 202
    assert _state(api, server_id) == ("ACTIVE", "active", 1)


@pytest.mark.parametrize(("body", "words"), [
    ({"shrug": None}, "There is no such action: shrug"),
    ({"resize": {"flavorRef": "2"}}, "resize"),
    ({"reboot": {"type": "GENTLE"}}, "Invalid input for field/attribute type"),
    ({"reboot": None}, "Invalid input for field/attribute type"),
    ({"reboot": {}}, "Invalid input for field/attribute type"),
    ({"os-stop": None, "os-start": None}, "There is no such action"),
    ({}, "There is no such action"),
])
def test_bad_actions_are_400(api: ComputeApi, body: dict[str, Any], words: str) -> None:
    server_id = api.boot("acted")
    reply = api("POST", f"/servers/{server_id}/action", json=body)
    assert reply.status_code == 400, reply.text
    assert words in reply.json()["badRequest"]["message"]
    assert _state(api, server_id) == ("ACTIVE", "active", 1)


def test_actions_on_an_unknown_server_are_404(api: ComputeApi) -> None:
    missing = "1b6f4e3c-0000-4000-8000-000000000000"
    reply = api("POST", f"/servers/{missing}/action", json={"os-stop": None})
    assert reply.status_code == 404
    assert api("POST", f"/servers/{missing}/action", json={"lock": None}).status_code == 404
    # an action shoal has not built: still 404 first, as Nova looks the server up first
    assert api("POST", f"/servers/{missing}/action",
               json={"os-resetState": {"state": "error"}}).status_code == 404


def test_lock_by_a_member_and_by_an_admin(api: ComputeApi) -> None:
    server_id = api.boot("locked")
    assert _act(api, server_id, {"lock": {"locked_reason": "maintenance"}},
                version="2.73").status_code == 202
    shown = api.show(server_id, "2.73", token="member-token")
    assert shown["locked"] is True and shown["locked_reason"] == "maintenance"
    assert _ids(api("GET", "/servers?locked=true", version="2.73")) == [server_id]
    refused = _act(api, server_id, {"os-stop": None})
    assert refused.status_code == 409
    assert refused.json()["conflictingRequest"]["message"] == \
        f"Instance {server_id} is locked"
    assert api("PUT", f"/servers/{server_id}", token="member-token",
               json={"server": {"name": "x"}}).status_code == 409
    assert api("DELETE", f"/servers/{server_id}", token="member-token").status_code == 409
    assert api("POST", f"/servers/{server_id}/metadata", token="member-token",
               json={"metadata": {"a": "b"}}).status_code == 409
    # an admin may act on a locked server
    assert _act(api, server_id, {"os-stop": None}, token="admin-token").status_code == 202
    _state(api, server_id)
    assert _act(api, server_id, {"unlock": None}).status_code == 202
    shown = api.show(server_id, "2.73")
    assert shown["locked"] is False and shown["locked_reason"] is None
    # locked by an admin: the member may not unlock
    assert _act(api, server_id, {"lock": None}, token="admin-token").status_code == 202
    denied = _act(api, server_id, {"unlock": None})
    assert denied.status_code == 403
    assert "unlock_override" in denied.json()["forbidden"]["message"]
    assert _act(api, server_id, {"unlock": None}, token="admin-token").status_code == 202
    early = api("POST", f"/servers/{server_id}/action", version="2.72",
                json={"lock": {"locked_reason": "x"}})
    assert early.status_code == 400
    assert "'locked_reason' was unexpected" in early.json()["badRequest"]["message"]


# --- metadata ----------------------------------------------------------------------------
def test_metadata_routes(api: ComputeApi) -> None:
    server_id = api.boot("meta", metadata={"a": "1"})
    base = f"/servers/{server_id}/metadata"
    got = api("GET", base, schema="servers.list_server_metadata", module="v2_1")
    assert got.json() == {"metadata": {"a": "1"}}
    replaced = api("PUT", base, json={"metadata": {"c": "3"}},
                   schema="servers.set_server_metadata", module="v2_1")
    assert replaced.json() == {"metadata": {"c": "3"}}
    assert api("GET", f"{base}/c", schema="servers.set_show_server_metadata_item",
               module="v2_1").json() == {"meta": {"c": "3"}}
    assert api("DELETE", f"{base}/c", schema="servers.delete_server_metadata_item",
               module="v2_1").status_code == 204
    item = api("PUT", f"{base}/d", json={"meta": {"d": "4"}},
               schema="servers.set_show_server_metadata_item", module="v2_1")
    assert item.json() == {"meta": {"d": "4"}}
    assert api.show(server_id)["metadata"] == {"d": "4"}
    missing = api("GET", f"{base}/c")
    assert missing.status_code == 404
    assert missing.json()["itemNotFound"]["message"] == "Metadata item was not found"
    assert api("DELETE", f"{base}/c").status_code == 404
    mismatch = api("PUT", f"{base}/e", json={"meta": {"f": "5"}})
    assert mismatch.status_code == 400
    assert mismatch.json()["badRequest"]["message"] == "Request body and URI mismatch"
    for bad in ({"meta": {"e": "1", "g": "2"}}, {"meta": {}}, {"meta": {"e": 1}},
                {"metadata": {"e": "1"}}):
        reply = api("PUT", f"{base}/e", json=bad)
        assert reply.status_code == 400, (bad, reply.text)
    for bad in ({"metadata": {"k": 1}}, {"metadata": "k"}, {"meta": {"k": "v"}},
                {"metadata": {"k" * 256: "v"}}):
        reply = api("POST", base, json=bad)
        assert reply.status_code == 400, (bad, reply.text)
        assert reply.json()["badRequest"]["message"]
    assert api("GET", base, token="other-token").status_code == 404
    assert api.show(server_id)["metadata"] == {"d": "4"}


def test_metadata_merge_keeps_the_other_keys(api: ComputeApi) -> None:
    server_id = api.boot("meta", metadata={"a": "1"})
    base = f"/servers/{server_id}/metadata"
    merged = api("POST", base, json={"metadata": {"b": "2"}},
                 schema="servers.update_server_metadata", module="v2_1")
    assert merged.json() == {"metadata": {"a": "1", "b": "2"}}
    item = api("PUT", f"{base}/c", json={"meta": {"c": "3"}})
    assert item.status_code == 200


# --- instance actions --------------------------------------------------------------------
def test_instance_actions_at_each_microversion(api: ComputeApi) -> None:
    server_id = api.boot("acts")
    assert _act(api, server_id, {"os-stop": None}).status_code == 202
    api.settle(server_id)
    assert _act(api, server_id, {"lock": None}).status_code == 202
    base = f"/servers/{server_id}/os-instance-actions"
    listed = api("GET", base, token="member-token", schema="servers.list_instance_actions"
                 ).json()["instanceActions"]
    assert [a["action"] for a in listed] == ["lock", "stop", "create"]
    assert all(a["instance_uuid"] == server_id and a["project_id"] == PROJECT_A
               for a in listed)
    assert "updated_at" not in listed[0]
    stop = listed[1]
    assert not stop["start_time"].endswith("Z") and "." in stop["start_time"]
    path = f"{base}/{stop['request_id']}"
    for version in ("2.1", "2.21", "2.51", "2.58", "2.62", "2.84"):
        api("GET", base, version=version, schema="servers.list_instance_actions")
        for token, admin in (("admin-token", True), ("member-token", False)):
            reply = api("GET", path, token=token, version=version,
                        schema="servers.show_instance_action")
            assert reply.status_code == 200, reply.text
            action = reply.json()["instanceAction"]
            assert action["action"] == "stop" and action["message"] is None
            assert ("updated_at" in action) is _at(version, "2.58")
            if not admin and not _at(version, "2.51"):
                assert "events" not in action
                continue
            (event,) = action["events"]
            assert event["event"] == "compute_stop_instance"
            assert event["result"] == "Success" and event["finish_time"] is not None
            keys = {"event", "start_time", "finish_time", "result"}
            if admin:
                keys.add("traceback")
            if _at(version, "2.62"):
                keys.add("hostId")
                if admin:
                    keys.add("host")
            if admin and _at(version, "2.84"):
                keys.add("details")
            assert set(event) == keys, (version, token)
            if _at(version, "2.62"):
                assert len(event["hostId"]) == 56
            if admin and _at(version, "2.62"):
                assert event["host"] == HOST
    create = api("GET", f"{base}/{listed[2]['request_id']}").json()["instanceAction"]
    assert [e["event"] for e in create["events"]] == ["compute__do_build_and_run_instance"]
    missing = api("GET", f"{base}/req-nope")
    assert missing.status_code == 404
    assert missing.json()["itemNotFound"]["message"] == "Action req-nope not found"
    assert api("GET", base, token="other-token").status_code == 404


def test_instance_actions_of_a_deleted_server_from_2_21(api: ComputeApi) -> None:
    server_id = api.boot("gone")
    assert api("DELETE", f"/servers/{server_id}").status_code == 204
    api.wait_gone(server_id)
    base = f"/servers/{server_id}/os-instance-actions"
    listed = api("GET", base, version="2.21", schema="servers.list_instance_actions")
    assert [a["action"] for a in listed.json()["instanceActions"]] == ["delete", "create"]


def test_instance_actions_of_a_deleted_server_before_2_21_are_404(api: ComputeApi) -> None:
    server_id = api.boot("gone")
    assert api("DELETE", f"/servers/{server_id}").status_code == 204
    api.wait_gone(server_id)
    assert api("GET", f"/servers/{server_id}/os-instance-actions").status_code == 404


def _locked_actions(api: ComputeApi) -> str:
    """A server booted then locked: the path of its instance actions."""
    server_id = api.boot("locked")
    assert _act(api, server_id, {"lock": None}).status_code == 202
    return f"/servers/{server_id}/os-instance-actions"


def test_instance_actions_page_from_2_58(api: ComputeApi) -> None:
    page = api("GET", f"{_locked_actions(api)}?limit=1", version="2.58",
               schema="servers.list_instance_actions").json()
    assert [a["action"] for a in page["instanceActions"]] == ["lock"]
    assert page["links"][0]["rel"] == "next"


def test_an_admin_sees_the_empty_events_before_2_51(api: ComputeApi) -> None:
    base = _locked_actions(api)
    lock = api("GET", base).json()["instanceActions"][0]
    shown = api("GET", f"{base}/{lock['request_id']}").json()["instanceAction"]
    assert shown["events"] == []


@pytest.mark.parametrize("action", ["confirmResize", "revertResize"])
@pytest.mark.parametrize("value", [None, {}])
def test_resize_answers_take_null_and_empty_bodies(api: ComputeApi, action: str,
                                                   value: dict[str, Any] | None) -> None:
    """novaclient sends ``null``, Tempest ``{}``: both pass the schema (then: not resized)."""
    server_id = api.boot("unresized")
    reply = api("POST", f"/servers/{server_id}/action", json={action: value})
    assert reply.status_code in (400, 409), reply.text
    assert "is not of type" not in reply.text
    assert _state(api, server_id) == ("ACTIVE", "active", 1)
