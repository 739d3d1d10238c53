"""Servers moving between two compute hosts of one ``shoal up`` (``[shoal] compute_hosts
= compute1,compute2``), through the real ``openstack`` client (issue 14): live migration
(the RBD disk is the same image before and after: same id, same objects, nothing copied),
cold migration and resize with confirm/revert, evacuation only once the source's
nova-compute is forced down."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shoal.config._write import default_text
from tests.e2e._cli import ok, out_json
from tests.shoal_cli import run_shoal_cli
from tests.shoal_up import ShoalUp, openstack, token

VERSION = ("--os-compute-api-version", "2.79")
GiB = 1 << 30


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShoalUp]:
    data = tmp_path_factory.mktemp("moves") / "data"
    data.mkdir()
    text = default_text(ceph_conf=str(data / "ceph.conf"))
    (data / "shoal.conf").write_text(text.replace("[shoal]\n", "[shoal]\ncompute_hosts = "
                                                  "compute1,compute2\n", 1))
    with ShoalUp.start(data) as running:
        yield running


def _os(up: ShoalUp, *args: str) -> Any:
    return out_json(openstack(up, *VERSION, *args, "-f", "json"))


def _rbd_json(up: ShoalUp, *args: str) -> Any:
    result = run_shoal_cli(up.data_dir, "rbd", *args, "--format", "json")
    assert result.returncode == 0, (args, result.stderr)
    return json.loads(result.stdout)


def _server(up: ShoalUp, server_id: str) -> dict[str, Any]:
    reply = httpx.get(f"{up.urls['compute']}/servers/{server_id}", timeout=30, headers={
        "X-Auth-Token": _token(up), "OpenStack-API-Version": "compute 2.79"})
    return dict(reply.json()["server"])


_TOKENS: dict[str, str] = {}


def _token(up: ShoalUp) -> str:
    if "admin" not in _TOKENS:
        _TOKENS["admin"] = token(up)
    return _TOKENS["admin"]


def _settled(up: ShoalUp, server_id: str, status: str, timeout_s: float = 60
             ) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        shown = _server(up, server_id)
        if shown["status"] == status and not shown["OS-EXT-STS:task_state"]:
            return shown
        assert time.monotonic() < deadline, shown
        time.sleep(0.2)


@pytest.fixture(scope="module")
def server(up: ShoalUp, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("img") / "img.raw"
    path.write_bytes(os.urandom(8 << 20))
    image = _os(up, "image", "create", "--file", str(path), "--disk-format", "raw",
                "--container-format", "bare", "mover")
    made = _os(up, "server", "create", "--image", image["id"], "--flavor", "m1.tiny",
               "--nic", "none", "--wait", "vm1")
    return str(made["id"])


def _disk(up: ShoalUp, server_id: str) -> tuple[str, int]:
    """(RBD image id, bytes used) of the server's root disk."""
    info = _rbd_json(up, "info", f"vms/{server_id}_disk")
    usage = _rbd_json(up, "du", f"vms/{server_id}_disk")
    return str(info["id"]), int(usage["images"][0]["used_size"])


def test_two_compute_services_and_hypervisors(up: ShoalUp) -> None:
    services = _os(up, "compute", "service", "list", "--service", "nova-compute")
    assert sorted(s["Host"] for s in services) == ["compute1", "compute2"]
    assert {s["State"] for s in services} == {"up"}


def test_live_migration_moves_no_disk(up: ShoalUp, server: str) -> None:
    source = _server(up, server)["OS-EXT-SRV-ATTR:host"]
    target = "compute2" if source == "compute1" else "compute1"
    before = _disk(up, server)
    ok(openstack(up, *VERSION, "server", "migrate", "--live-migration", "--host", target,
                 "--wait", server))
    moved = _settled(up, server, "ACTIVE")
    assert moved["OS-EXT-SRV-ATTR:host"] == target
    assert _disk(up, server) == before  # the same RBD image, the same objects
    listed = _os(up, "server", "migration", "list", "--server", server)
    assert listed[0]["Type"] == "live-migration"
    assert listed[0]["Status"] == "completed"
    assert (listed[0]["Source Compute"], listed[0]["Dest Compute"]) == (source, target)


def test_cold_migration_waits_for_confirm(up: ShoalUp, server: str) -> None:
    source = _server(up, server)["OS-EXT-SRV-ATTR:host"]
    ok(openstack(up, *VERSION, "server", "migrate", server))
    waiting = _settled(up, server, "VERIFY_RESIZE")
    assert waiting["OS-EXT-SRV-ATTR:host"] != source
    ok(openstack(up, *VERSION, "server", "migration", "confirm", server))
    done = _settled(up, server, "ACTIVE")
    assert done["OS-EXT-SRV-ATTR:host"] != source


def test_resize_revert_then_confirm(up: ShoalUp, server: str) -> None:
    disk_id, _used = _disk(up, server)
    ok(openstack(up, *VERSION, "server", "resize", "--flavor", "m1.small", server))
    waiting = _settled(up, server, "VERIFY_RESIZE")
    assert waiting["flavor"]["original_name"] == "m1.small"
    assert _rbd_json(up, "info", f"vms/{server}_disk")["size"] == 20 * GiB
    ok(openstack(up, *VERSION, "server", "resize", "revert", server))
    reverted = _settled(up, server, "ACTIVE")
    assert reverted["flavor"]["original_name"] == "m1.tiny"
    info = _rbd_json(up, "info", f"vms/{server}_disk")
    assert info["size"] == 1 * GiB and info["id"] == disk_id
    ok(openstack(up, *VERSION, "server", "resize", "--flavor", "m1.small", "--wait", server))
    ok(openstack(up, *VERSION, "server", "resize", "confirm", server))
    confirmed = _settled(up, server, "ACTIVE")
    assert confirmed["flavor"]["original_name"] == "m1.small"
    assert not _rbd_json(up, "snap", "ls", f"vms/{server}_disk")  # nova-resize gone


def test_evacuate_only_from_a_host_that_is_down(up: ShoalUp, server: str) -> None:
    source = _server(up, server)["OS-EXT-SRV-ATTR:host"]
    refused = openstack(up, *VERSION, "server", "evacuate", server)
    assert refused.returncode != 0 and "is still in use" in refused.stderr, refused.stderr
    before = _disk(up, server)
    ok(openstack(up, "--os-compute-api-version", "2.11", "compute", "service", "set",
                 "--down", source, "nova-compute"))
    try:
        ok(openstack(up, *VERSION, "server", "evacuate", server))
        moved = _settled(up, server, "ACTIVE")
        assert moved["OS-EXT-SRV-ATTR:host"] != source
        assert _disk(up, server) == before
        kinds = [m["Type"] for m in _os(up, "server", "migration", "list",
                                                  "--server", server)]
        assert "evacuation" in kinds
    finally:
        ok(openstack(up, "--os-compute-api-version", "2.11", "compute", "service", "set",
                     "--up", source, "nova-compute"))


def test_non_admins_may_not_migrate(up: ShoalUp, tmp_path: Path) -> None:
    demo = openstack(up, *VERSION, "server", "list", cloud="shoal-demo")
    assert demo.returncode == 0
    refused = httpx.post(f"{up.urls['compute']}/servers/{'0' * 8}-0000-0000-0000-"
                         f"{'0' * 12}/action", json={"os-migrateLive": {"host": None}},
                         headers={"X-Auth-Token": token(up, "shoal-demo"),
                                  "OpenStack-API-Version": "compute 2.79"}, timeout=30)
    assert refused.status_code in (403, 404)


def test_resize_over_quota_is_refused(up: ShoalUp, server: str) -> None:
    project = _server(up, server)["tenant_id"]
    ok(openstack(up, "quota", "set", "--cores", "1", project))
    try:
        refused = openstack(up, *VERSION, "server", "resize", "--flavor", "m1.medium", server)
        assert refused.returncode != 0
        assert "Quota exceeded for cores: Requested 1, but already used 1 of 1 cores" \
            in refused.stderr, refused.stderr
        assert _server(up, server)["status"] == "ACTIVE"
    finally:
        ok(openstack(up, "quota", "set", "--cores", "20", project))
