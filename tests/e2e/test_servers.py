"""Servers through the real ``openstack`` client against ``shoal up`` (issue 14), embedded:
a raw image uploaded as the guide does, a server booted from it whose root disk is a
copy-on-write clone ``vms/<uuid>_disk`` of ``images/<id>@snap`` (seen with ``shoal rbd``
as ``client.cinder``), grown to the flavor's disk; stop/start/reboot/lock; the instance
actions; the host views; errors that say what to fix; delete removes the disks."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e._cli import ok, out_json
from tests.shoal_cli import run_shoal_cli
from tests.shoal_up import ShoalUp, openstack, token

GiB = 1 << 30
#: The compute microversion the client asks for (``--nic none`` needs 2.37).
VERSION = ("--os-compute-api-version", "2.79")


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShoalUp]:
    with ShoalUp.start(tmp_path_factory.mktemp("servers") / "data") as running:
        yield running


def _os(up: ShoalUp, *args: str, cloud: str = "shoal") -> Any:
    return out_json(openstack(up, *VERSION, *args, "-f", "json", cloud=cloud))


def _rbd(up: ShoalUp, *args: str) -> str:
    result = run_shoal_cli(up.data_dir, "rbd", *args, "--id", "cinder")
    assert result.returncode == 0, (args, result.stderr)
    return result.stdout


@pytest.fixture(scope="module")
def image(up: ShoalUp, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A 4 MiB raw image (random bytes) in Glance, as the guide uploads one."""
    path = tmp_path_factory.mktemp("img") / "tiny.raw"
    path.write_bytes(os.urandom(4 << 20))
    made = _os(up, "image", "create", "--file", str(path), "--disk-format", "raw",
               "--container-format", "bare", "--public", "tiny")
    return str(made["id"])


class _Api:
    """Direct reads of the compute and volume APIs for the waits (a CLI run per poll
    would cost a second and a half each); the actions themselves go through the CLI."""

    def __init__(self, up: ShoalUp) -> None:
        self.up = up
        self.headers = {"X-Auth-Token": token(up), "OpenStack-API-Version": "compute 2.79"}

    def server(self, name_or_id: str) -> dict[str, Any]:
        found = httpx.get(f"{self.up.urls['compute']}/servers/detail",
                          headers=self.headers, timeout=30).json()["servers"]
        (server,) = [s for s in found if name_or_id in (s["id"], s["name"])]
        return dict(server)

    def volume(self, name_or_id: str) -> dict[str, Any]:
        found = httpx.get(f"{self.up.urls['volume']}/volumes/detail",
                          headers={"X-Auth-Token": self.headers["X-Auth-Token"]},
                          timeout=30).json()["volumes"]
        (volume,) = [v for v in found if name_or_id in (v["id"], v["name"])]
        return dict(volume)


_APIS: dict[str, _Api] = {}


def _api(up: ShoalUp) -> _Api:
    key = str(up.data_dir)
    if key not in _APIS:
        _APIS[key] = _Api(up)
    return _APIS[key]


def _wait(read: Any, want: str, timeout_s: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        shown = read()
        if shown["status"] == want and not shown.get("OS-EXT-STS:task_state"):
            return dict(shown)
        assert time.monotonic() < deadline, shown
        time.sleep(0.2)


def _status(up: ShoalUp, name: str, want: str, timeout_s: float = 60) -> dict[str, Any]:
    """The server (API body) once its status is ``want`` and no task runs."""
    return _wait(lambda: _api(up).server(name), want, timeout_s)


def _server(up: ShoalUp, name: str, image: str, *extra: str) -> dict[str, Any]:
    made = _os(up, "server", "create", "--image", image, "--flavor", "m1.tiny", "--nic",
               "none", "--wait", *extra, name)
    assert made["status"] == "ACTIVE", made
    return dict(made)


def test_boot_from_an_image_clones_it_into_vms(up: ShoalUp, image: str) -> None:
    server = _server(up, "s1", image, "--property", "role=web")
    info = json.loads(_rbd(up, "info", f"vms/{server['id']}_disk", "--format", "json"))
    assert info["size"] == 1 * GiB  # m1.tiny's disk
    assert info["parent"]["pool"] == "images" and info["parent"]["image"] == image
    assert info["parent"]["snapshot"] == "snap"
    children = _rbd(up, "children", f"images/{image}@snap")
    assert f"vms/{server['id']}_disk" in children
    shown = _os(up, "server", "show", "s1")
    assert shown["OS-EXT-STS:vm_state"] == "active" and shown["OS-EXT-STS:power_state"] in (
        "Running", 1)
    assert shown["image"]["id"] == image if isinstance(shown["image"], dict) else \
        image in shown["image"]
    assert shown["properties"] == {"role": "web"}
    listed = _os(up, "server", "list", "--name", "^s1$")
    assert [s["ID"] for s in listed] == [server["id"]]


def test_stop_start_reboot_lock_and_actions(up: ShoalUp, image: str) -> None:
    server = _server(up, "s2", image)
    ok(openstack(up, *VERSION, "server", "stop", "s2"))
    assert _status(up, "s2", "SHUTOFF")["OS-EXT-STS:power_state"] == 4
    refused = openstack(up, *VERSION, "server", "pause", "s2")
    assert refused.returncode != 0 and "while it is in vm_state stopped" in refused.stderr
    ok(openstack(up, *VERSION, "server", "start", "s2"))
    _status(up, "s2", "ACTIVE")
    ok(openstack(up, *VERSION, "server", "reboot", "--hard", "--wait", "s2"))
    _status(up, "s2", "ACTIVE")
    ok(openstack(up, *VERSION, "server", "lock", "s2"))
    demo_refused = openstack(up, *VERSION, "server", "stop", server["id"], cloud="shoal-demo")
    assert demo_refused.returncode != 0
    ok(openstack(up, *VERSION, "server", "unlock", "s2"))
    events = _os(up, "server", "event", "list", "s2")
    assert {e["Action"] for e in events} >= {"create", "stop", "start", "reboot", "lock",
                                             "unlock"}
    create = next(e for e in events if e["Action"] == "create")
    detail = _os(up, "server", "event", "show", "s2", create["Request ID"])
    assert detail["events"][0]["event"] == "compute__do_build_and_run_instance"
    assert detail["events"][0]["result"] == "Success"


def test_delete_removes_the_disks(up: ShoalUp, image: str) -> None:
    server = _server(up, "s3", image)
    assert f"{server['id']}_disk" in _rbd(up, "ls", "vms")
    ok(openstack(up, *VERSION, "server", "delete", "--wait", "s3"))
    assert f"{server['id']}_disk" not in _rbd(up, "ls", "vms")
    gone = openstack(up, *VERSION, "server", "show", server["id"])
    assert gone.returncode != 0 and "No Server found" in gone.stderr


def test_bad_requests_say_what_to_fix(up: ShoalUp, image: str) -> None:
    for args, words in (
        (("--flavor", "no-such-flavor"), "No Flavor found"),
        (("--flavor", "m1.tiny", "--key-name", "nope"), "Invalid key_name provided"),
    ):
        refused = openstack(up, *VERSION, "server", "create", "--image", image, "--nic",
                            "none", *args, "bad")
        assert refused.returncode != 0 and words in refused.stderr, refused.stderr
    body = {"server": {"name": "x", "flavorRef": "999", "imageRef": image,
                       "networks": "none"}}
    api = _compute_post(up, "/servers", body)
    assert api[0] == 400 and api[1]["badRequest"]["message"] == "Invalid flavorRef provided."
    assert not any(s["Name"] == "bad" for s in _os(up, "server", "list"))


def _compute_post(up: ShoalUp, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    reply = httpx.post(up.urls["compute"] + path, json=body, headers=_api(up).headers,
                       timeout=30)
    return reply.status_code, reply.json()


def test_host_views_and_limits(up: ShoalUp) -> None:
    hypervisors = _os(up, "hypervisor", "list")
    assert len(hypervisors) == 1 and hypervisors[0]["State"] == "up"
    services = {s["Binary"]: s for s in _os(up, "compute", "service", "list")}
    assert set(services) == {"nova-compute", "nova-conductor", "nova-scheduler"}
    assert services["nova-compute"]["State"] == "up"
    zones = _os(up, "availability", "zone", "list", "--compute")
    # an admin sees the detail: the services' "internal" zone too, as in Nova
    assert sorted(z["Zone Name"] for z in zones) == ["internal", "nova"]
    # openstacksdk's names of maxTotalInstances and totalInstancesUsed
    limits = {row["Name"]: row["Value"] for row in _os(up, "limits", "show", "--absolute")}
    assert limits["instances"] == 10 and limits["instances_used"] >= 1
    assert limits["total_ram"] == 51200 and limits["total_cores"] == 20


def test_keypairs(up: ShoalUp, tmp_path: Path) -> None:
    made = _os(up, "keypair", "create", "k1", "--private-key", str(tmp_path / "k1"))
    assert made["name"] == "k1" and (tmp_path / "k1").read_text().startswith("-----BEGIN")
    assert [k["Name"] for k in _os(up, "keypair", "list")] == ["k1"]
    ok(openstack(up, *VERSION, "keypair", "delete", "k1"))


def _volume_status(up: ShoalUp, name: str, want: str, timeout_s: float = 60
                   ) -> dict[str, Any]:
    """The volume (API body) once its status is ``want``."""
    return _wait(lambda: _api(up).volume(name), want, timeout_s)


def test_attach_and_detach_a_volume(up: ShoalUp, image: str) -> None:
    server = _server(up, "s4", image)
    _os(up, "volume", "create", "--size", "1", "v4")
    _volume_status(up, "v4", "available")
    ok(openstack(up, *VERSION, "server", "add", "volume", "s4", "v4"))
    volume = _volume_status(up, "v4", "in-use")
    assert [a["server_id"] for a in volume["attachments"]] == [server["id"]]
    assert volume["attachments"][0]["device"] == "/dev/vdb"
    listed = _os(up, "server", "volume", "list", "s4")
    assert [v["Volume ID"] for v in listed] == [volume["id"]]
    shown = _os(up, "server", "show", "s4")
    assert [v["id"] for v in shown["volumes_attached"]] == [volume["id"]]
    busy = openstack(up, *VERSION, "volume", "delete", "v4")
    assert busy.returncode != 0  # attached: Cinder refuses
    ok(openstack(up, *VERSION, "server", "remove", "volume", "s4", "v4"))
    _volume_status(up, "v4", "available")
    ok(openstack(up, *VERSION, "server", "delete", "--wait", "s4"))
    ok(openstack(up, *VERSION, "volume", "delete", "v4"))


def test_boot_from_a_volume_made_from_the_image(up: ShoalUp, image: str) -> None:
    made = _os(up, "server", "create", "--image", image, "--boot-from-volume", "2",
               "--flavor", "m1.tiny", "--nic", "none", "--wait", "bfv")
    assert made["status"] == "ACTIVE", made
    shown = _os(up, "server", "show", "bfv")
    assert not shown["image"] or "booted from volume" in str(shown["image"]).lower()
    (attached,) = shown["volumes_attached"]
    volume = _volume_status(up, attached["id"], "in-use")
    assert volume["size"] == 2 and volume["bootable"] in (True, "true")
    assert volume["attachments"][0]["device"] == "/dev/vda"
    info = json.loads(_rbd(up, "info", f"volumes/volume-{volume['id']}", "--format", "json"))
    assert info["parent"]["pool"] == "images" and info["parent"]["image"] == image
    assert f"{made['id']}_disk" not in _rbd(up, "ls", "vms")  # no local root disk
    root = openstack(up, *VERSION, "server", "remove", "volume", "bfv", volume["id"])
    assert root.returncode != 0 and "root device" in root.stderr
    ok(openstack(up, *VERSION, "server", "delete", "--wait", "bfv"))
    _volume_status(up, volume["id"], "available")  # delete_on_termination false: kept
    ok(openstack(up, *VERSION, "volume", "delete", volume["id"]))


def test_boot_from_an_existing_volume(up: ShoalUp, image: str) -> None:
    _os(up, "volume", "create", "--image", image, "--size", "1", "--bootable", "bootvol")
    volume = _volume_status(up, "bootvol", "available")
    made = _os(up, "server", "create", "--volume", "bootvol", "--flavor", "m1.tiny", "--nic",
               "none", "--wait", "fromvol")
    assert made["status"] == "ACTIVE", made
    assert _volume_status(up, "bootvol", "in-use")["attachments"][0]["server_id"] == made["id"]
    in_use = openstack(up, *VERSION, "server", "create", "--volume", "bootvol", "--flavor",
                       "m1.tiny", "--nic", "none", "again")
    assert in_use.returncode != 0 and "status must be 'available'" in in_use.stderr
    ok(openstack(up, *VERSION, "server", "delete", "--wait", "fromvol"))
    _volume_status(up, "bootvol", "available")
    ok(openstack(up, *VERSION, "volume", "delete", volume["id"]))


def _export_sha(up: ShoalUp, spec: str, tmp_path: Path) -> str:
    out = tmp_path / spec.replace("/", "_").replace("@", "_")
    result = run_shoal_cli(up.data_dir, "rbd", "export", spec, str(out))
    assert result.returncode == 0, result.stderr
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    out.unlink()
    return digest


def test_create_image_saves_the_disk_as_a_cloneable_image(up: ShoalUp, image: str,
                                                          tmp_path: Path) -> None:
    server = _server(up, "s5", image)
    disk = f"vms/{server['id']}_disk"
    made = openstack(up, *VERSION, "server", "image", "create", "--name", "s5-snap", "--wait",
                     "s5", "-f", "json")
    snap = json.loads(ok(made))
    assert snap["status"] == "active", snap
    shown = _os(up, "image", "show", snap["id"])
    props = shown["properties"]
    assert props["instance_uuid"] == server["id"] and props["image_type"] == "snapshot"
    assert props["base_image_ref"] == image
    _status(up, "s5", "ACTIVE")  # task_state back to None
    # guide's caps: client.cinder only reads images, so the disk went through the image
    # service (Nova's fallback); the image is stored as Glance stores any, with its snap
    assert _export_sha(up, f"images/{snap['id']}@snap", tmp_path) == _export_sha(
        up, disk, tmp_path)
    assert not json.loads(_rbd(up, "snap", "ls", disk, "--format", "json"))  # temp snap gone
    second = _server(up, "s6", snap["id"])
    info = json.loads(_rbd(up, "info", f"vms/{second['id']}_disk", "--format", "json"))
    assert info["parent"]["image"] == snap["id"] and info["parent"]["snapshot"] == "snap"
    events = {e["Action"] for e in _os(up, "server", "event", "list", "s5")}
    assert "createImage" in events
    for name in ("s5", "s6"):
        ok(openstack(up, *VERSION, "server", "delete", "--wait", name))


def test_create_image_of_a_volume_backed_server(up: ShoalUp, image: str) -> None:
    made = _os(up, "server", "create", "--image", image, "--boot-from-volume", "1",
               "--flavor", "m1.tiny", "--nic", "none", "--wait", "bfv2")
    snap = json.loads(ok(openstack(up, *VERSION, "server", "image", "create", "--name",
                                   "bfv2-snap", "--wait", "bfv2", "-f", "json")))
    assert snap["status"] == "active"
    props = _os(up, "image", "show", snap["id"])["properties"]
    mapping = props["block_device_mapping"]
    mapping = json.loads(mapping) if isinstance(mapping, str) else mapping
    assert mapping[0]["source_type"] == "snapshot" and props["bdm_v2"] in (True, "True")
    snapshot = _os(up, "volume", "snapshot", "show", mapping[0]["snapshot_id"])
    assert snapshot["volume_id"] == made["volumes_attached"][0]["id"] if isinstance(
        made.get("volumes_attached"), list) and made["volumes_attached"] else True
    ok(openstack(up, *VERSION, "server", "delete", "--wait", "bfv2"))


def test_images_that_do_not_fit_or_clone(up: ShoalUp, image: str, tmp_path: Path) -> None:
    big = _os(up, "image", "create", "--file", str(_raw(tmp_path, 1 << 20)), "--disk-format",
              "raw", "--container-format", "bare", "--min-disk", "5", "needs-5g")
    refused = openstack(up, *VERSION, "server", "create", "--image", big["id"], "--flavor",
                        "m1.tiny", "--nic", "none", "small")
    assert refused.returncode != 0
    assert "smaller than the minimum size specified in image metadata" in refused.stderr
    # a qcow2 image cannot be cloned: downloaded, converted to raw and imported
    qcow2 = tmp_path / "disk.qcow2"
    raw = _raw(tmp_path, 3 << 20)
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(raw), str(qcow2)],
                   check=True)
    made = _os(up, "image", "create", "--file", str(qcow2), "--disk-format", "qcow2",
               "--container-format", "bare", "as-qcow2")
    server = _server(up, "from-qcow2", made["id"])
    info = json.loads(_rbd(up, "info", f"vms/{server['id']}_disk", "--format", "json"))
    assert "parent" not in info and info["size"] == GiB
    assert _export_head(up, f"vms/{server['id']}_disk", tmp_path, 3 << 20) == raw.read_bytes()
    ok(openstack(up, *VERSION, "server", "delete", "--wait", "from-qcow2"))


def test_an_image_with_clones_is_not_deleted(up: ShoalUp, image: str) -> None:
    _server(up, "keeper", image)
    refused = openstack(up, *VERSION, "image", "delete", image)
    assert refused.returncode != 0, refused.stdout
    assert _os(up, "image", "show", image)["status"] == "active"
    ok(openstack(up, *VERSION, "server", "delete", "--wait", "keeper"))


def _raw(tmp_path: Path, size: int) -> Path:
    path = tmp_path / f"data-{size}.raw"
    path.write_bytes(os.urandom(size))
    return path


def _export_head(up: ShoalUp, spec: str, tmp_path: Path, length: int) -> bytes:
    out = tmp_path / "head.raw"
    result = run_shoal_cli(up.data_dir, "rbd", "export", spec, str(out))
    assert result.returncode == 0, result.stderr
    with out.open("rb") as f:
        head = f.read(length)
    out.unlink()
    return head


def test_quota_sets_limit_servers(up: ShoalUp, image: str) -> None:
    ok(openstack(up, *VERSION, "quota", "set", "--instances", "1", "--cores", "7", "demo"))
    shown = _os(up, "quota", "show", "--compute", "demo")
    values = {row["Resource"]: row["Limit"] for row in shown} if isinstance(shown, list) \
        else shown
    assert values["instances"] == 1 and values["cores"] == 7
    try:
        first = _os(up, "server", "create", "--image", image, "--flavor", "m1.tiny",
                    "--nic", "none", "--wait", "q1", cloud="shoal-demo")
        assert first["status"] == "ACTIVE"
        over = openstack(up, *VERSION, "server", "create", "--image", image, "--flavor",
                         "m1.tiny", "--nic", "none", "q2", cloud="shoal-demo")
        assert over.returncode != 0
        assert "Quota exceeded for instances: Requested 1, but already used 1 of 1" \
            in over.stderr, over.stderr
        below = openstack(up, *VERSION, "quota", "set", "--instances", "0", "demo")
        assert below.returncode != 0 and "must be greater than or equal to" in below.stderr
        ok(openstack(up, *VERSION, "server", "delete", "--wait", "q1", cloud="shoal-demo"))
    finally:
        ok(openstack(up, *VERSION, "quota", "set", "--instances", "10", "--cores", "20",
                     "demo"))


def test_external_events_are_accepted_for_known_servers(up: ShoalUp, image: str) -> None:
    server = _server(up, "ev", image)
    code, body = _compute_post(up, "/os-server-external-events", {"events": [
        {"name": "volume-extended", "server_uuid": server["id"], "tag": "v"},
        {"name": "network-vif-plugged", "server_uuid": "8c5ab5e6-1b8e-4b27-8d7a-2f9d0c3e4a11"},
    ]})
    assert code == 200
    assert [(e["code"], e["status"]) for e in body["events"]] == [(200, "completed"),
                                                                 (404, "failed")]
    code, _ = _compute_post(up, "/os-server-external-events", {"events": [
        {"name": "network-changed", "server_uuid": "8c5ab5e6-1b8e-4b27-8d7a-2f9d0c3e4a11"}]})
    assert code == 404
    ok(openstack(up, *VERSION, "server", "delete", "--wait", "ev"))


def test_a_wrong_libvirt_secret_fails_the_build_with_a_fault(up: ShoalUp, image: str) -> None:
    """shoal up defined the guide's secret on its compute host (devstack's way); a secret
    that holds another key is the classic mistake: caught before the guest runs."""
    conf = (up.data_dir / "shoal.conf").read_text()
    secret = re.search(r"^rbd_secret_uuid = (\S+)$", conf, re.M)
    assert secret is not None
    listed = run_shoal_cli(up.data_dir, "virsh", "secret-list")
    assert secret.group(1) in listed.stdout and "client.cinder secret" in listed.stdout
    right = run_shoal_cli(up.data_dir, "virsh", "secret-get-value", secret.group(1))
    assert right.returncode == 0, right.stderr
    wrong = base64.b64encode(os.urandom(16)).decode()
    assert run_shoal_cli(up.data_dir, "virsh", "secret-set-value", "--secret",
                         secret.group(1), "--base64", wrong).returncode == 0
    try:
        made = _os(up, "server", "create", "--image", image, "--flavor", "m1.tiny", "--nic",
                   "none", "badsecret")
        failed = _status(up, made["id"], "ERROR")
        assert secret.group(1) in failed["fault"]["message"], failed["fault"]
        assert f"{made['id']}_disk" not in _rbd(up, "ls", "vms")  # cleaned up
        ok(openstack(up, *VERSION, "server", "delete", "--wait", made["id"]))
    finally:
        assert run_shoal_cli(up.data_dir, "virsh", "secret-set-value", "--secret",
                             secret.group(1), "--base64",
                             right.stdout.strip()).returncode == 0


def test_swap_volume_copies_the_data(up: ShoalUp, image: str, tmp_path: Path) -> None:
    server = _server(up, "swapper", image)
    old = _os(up, "volume", "create", "--image", image, "--size", "1", "old-vol")
    new = _os(up, "volume", "create", "--size", "1", "new-vol")
    _volume_status(up, "old-vol", "available")
    _volume_status(up, "new-vol", "available")
    ok(openstack(up, *VERSION, "server", "add", "volume", "swapper", "old-vol"))
    _volume_status(up, "old-vol", "in-use")
    reply = httpx.put(f"{up.urls['compute']}/servers/{server['id']}/os-volume_attachments/"
                      f"{old['id']}", json={"volumeAttachment": {"volumeId": new["id"]}},
                      headers=_api(up).headers, timeout=60)
    assert reply.status_code == 202, reply.text
    moved = _volume_status(up, "new-vol", "in-use")
    assert moved["attachments"][0]["device"] == "/dev/vdb"
    _volume_status(up, "old-vol", "available")
    assert _export_head(up, f"volumes/volume-{new['id']}", tmp_path, 4 << 20) == \
        _export_head(up, f"volumes/volume-{old['id']}", tmp_path, 4 << 20)
    listed = _os(up, "server", "volume", "list", "swapper")
    assert [v["Volume ID"] for v in listed] == [new["id"]]
    ok(openstack(up, *VERSION, "server", "delete", "--wait", "swapper"))
    ok(openstack(up, *VERSION, "volume", "delete", "old-vol", "new-vol"))
