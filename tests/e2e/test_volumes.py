"""The volume service through the real clients against ``shoal up`` (issue 12, first part):
the guide's COW volume from an image, snapshots, volumes from snapshots and volumes, extend,
cascade delete, quotas, and refusals that leave nothing behind."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.shoal_cli import run_shoal_cli
from tests.shoal_up import ShoalUp, openrc_env, openstack, run_client

MiB = 1 << 20
WAIT_S = 60


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShoalUp]:
    with ShoalUp.start(tmp_path_factory.mktemp("vol") / "data") as running:
        yield running


@pytest.fixture(scope="module")
def centos7(up: ShoalUp, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The guide's raw image ``Centos7`` (50 MiB of data), public; returns its id."""
    path = tmp_path_factory.mktemp("raw") / "centos7.raw"
    path.write_bytes(os.urandom(50 * MiB))
    _ok(openstack(up, "image", "create", "--file", str(path), "--disk-format", "raw",
                  "--container-format", "bare", "--min-disk", "8", "--public", "Centos7"))
    return str(_json(openstack(up, "image", "show", "-f", "json", "Centos7"))["id"])


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr + result.stdout
    return result.stdout


def _json(result: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(_ok(result))


def _volume(up: ShoalUp, name: str, cloud: str = "shoal") -> dict[str, Any]:
    shown = _json(openstack(up, "volume", "show", "-f", "json", name, cloud=cloud))
    assert isinstance(shown, dict)
    return shown


def _wait(up: ShoalUp, kind: str, name: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_S
    while True:
        shown = _json(openstack(up, kind, "show", "-f", "json", name)) if kind != "volume" \
            else _volume(up, name)
        if shown["status"] == status:
            return dict(shown)
        assert not str(shown["status"]).startswith("error"), shown
        assert time.monotonic() < deadline, f"{kind} {name} stays {shown['status']}"
        time.sleep(0.2)


def _gone(up: ShoalUp, name: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while openstack(up, "volume", "show", name).returncode == 0:
        assert time.monotonic() < deadline, f"volume {name} is not deleted"
        time.sleep(0.2)


def _rbd(up: ShoalUp, *args: str) -> str:
    result = run_shoal_cli(up.data_dir, "rbd", *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_guides_cow_volume(up: ShoalUp, centos7: str) -> None:
    made = _json(openstack(up, "volume", "create", "--image", "Centos7", "--size", "10",
                           "-f", "json", "volume_cow"))
    assert made["status"] == "creating" and made["size"] == 10
    shown = _wait(up, "volume", "volume_cow", "available")
    assert shown["bootable"] is True  # Cinder says "true"; openstack shows a boolean
    meta = shown["volume_image_metadata"]
    assert meta["image_id"] == centos7 and meta["image_name"] == "Centos7"
    assert meta["disk_format"] == "raw" and meta["container_format"] == "bare"
    assert meta["min_disk"] == "8" and meta["size"] == str(50 * MiB) and meta["checksum"]
    assert shown["os-vol-host-attr:host"].endswith("@ceph#ceph")  # admin sees the host
    # cinder show as the guide runs it (all_tenants + name filter)
    cinder = _ok(run_client(up, "cinder", "show", "volume_cow", cloud=None,
                            env=openrc_env(up)))
    assert "| bootable " in cinder and "true" in cinder
    info = _rbd(up, "info", f"volumes/volume-{shown['id']}")
    assert f"parent: images/{centos7}@snap" in info
    assert "overlap: 50 MiB" in info
    children = _rbd(up, "children", f"images/{centos7}@snap")
    assert f"volumes/volume-{shown['id']}" in children


def test_cinder_create_by_image_name(up: ShoalUp, centos7: str) -> None:
    out = _ok(run_client(up, "cinder", "create", "--image", "Centos7", "--name", "by_name",
                         "9", cloud=None, env=openrc_env(up)))
    assert "by_name" in out
    shown = _wait(up, "volume", "by_name", "available")
    assert shown["volume_image_metadata"]["image_id"] == centos7
    _ok(openstack(up, "volume", "delete", "by_name"))
    _gone(up, "by_name")


def test_snapshots_clones_extend_and_cascade(up: ShoalUp) -> None:
    base = _json(openstack(up, "volume", "create", "--size", "1", "-f", "json", "base"))
    _wait(up, "volume", "base", "available")
    snap = _json(openstack(up, "volume", "snapshot", "create", "--volume", "base", "-f",
                           "json", "base_snap"))
    _wait(up, "volume snapshot", "base_snap", "available")
    assert _rbd(up, "snap", "ls", f"volumes/volume-{base['id']}").count(
        f"snapshot-{snap['id']}") == 1
    _ok(openstack(up, "volume", "create", "--snapshot", "base_snap", "-f", "json",
                  "from_snap"))
    from_snap = _wait(up, "volume", "from_snap", "available")
    assert from_snap["snapshot_id"] == snap["id"] and from_snap["size"] == 1
    _ok(openstack(up, "volume", "create", "--source", "base", "--size", "2", "clone"))
    clone = _wait(up, "volume", "clone", "available")
    assert clone["source_volid"] == base["id"] and clone["size"] == 2
    assert f"parent: volumes/volume-{base['id']}@" in _rbd(
        up, "info", f"volumes/volume-{clone['id']}")
    _ok(openstack(up, "volume", "set", "--size", "3", "clone"))
    assert _wait(up, "volume", "clone", "available")["size"] == 3
    assert "size 3 GiB" in _rbd(up, "info", f"volumes/volume-{clone['id']}")
    # a volume with snapshots: 400 without --purge (cascade), deleted with it
    refused = openstack(up, "volume", "delete", "base")
    assert refused.returncode != 0 and "have snapshots" in refused.stderr
    _ok(openstack(up, "volume", "delete", "--purge", "base"))
    _gone(up, "base")
    for name in ("from_snap", "clone"):
        _wait(up, "volume", name, "available")


def test_bad_requests_leave_nothing(up: ShoalUp) -> None:
    before = _ok(openstack(up, "volume", "list", "-f", "value", "-c", "ID"))
    images_before = _rbd(up, "ls", "volumes")
    for args, message in (
        (("--size", "0"), "size"),
        (("--size", "100000"), "quota"),
        (("--size", "1", "--type", "no-such-type"), "no-such-type"),
        (("--size", "1", "--availability-zone", "mars"), "mars"),
        (("--snapshot", "00000000-0000-0000-0000-000000000000"), "no snapshot found"),
    ):
        result = openstack(up, "volume", "create", *args, "refused")
        assert result.returncode != 0, args
        assert message in (result.stderr + result.stdout).lower(), (args, result.stderr)
    assert _ok(openstack(up, "volume", "list", "-f", "value", "-c", "ID")) == before
    assert _rbd(up, "ls", "volumes") == images_before


def test_member_sees_only_its_project(up: ShoalUp) -> None:
    _ok(openstack(up, "volume", "create", "--size", "1", "demo_vol", cloud="shoal-demo"))
    deadline = time.monotonic() + WAIT_S
    while _volume(up, "demo_vol", cloud="shoal-demo")["status"] != "available":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    demo_view = _volume(up, "demo_vol", cloud="shoal-demo")
    assert "os-vol-host-attr:host" not in demo_view or demo_view["os-vol-host-attr:host"] \
        is None
    listed = _ok(openstack(up, "volume", "list", "-f", "value", "-c", "Name",
                           cloud="shoal-demo")).split()
    assert listed == ["demo_vol"]


def test_limits_show_usage(up: ShoalUp) -> None:
    _ok(openstack(up, "volume", "create", "--size", "2", "limits_vol", cloud="shoal-demo"))
    limits = _json(openstack(up, "limits", "show", "--absolute", "-f", "json",
                             cloud="shoal-demo"))
    values = {row["Name"]: row["Value"] for row in limits}
    # the SDK renames Cinder's maxTotalVolumes... to snake case
    assert values["max_total_volumes"] == 10, limits
    assert values["max_total_volume_gigabytes"] == 1000
    assert values["total_volumes_used"] >= 1
    assert values["total_gigabytes_used"] >= 2


def _cinder(up: ShoalUp, *args: str, version: str = "3.71") -> str:
    return _ok(run_client(up, "cinder", "--os-volume-api-version", version, *args,
                          cloud=None, env=openrc_env(up)))


def test_attachments_connection_info_and_detach(up: ShoalUp) -> None:
    vol = _json(openstack(up, "volume", "create", "--size", "1", "-f", "json", "attach_me"))
    _wait(up, "volume", "attach_me", "available")
    server = "11111111-2222-3333-4444-555555555555"
    out = _cinder(up, "attachment-create", "--connect", "True", "--host", "compute1",
                  "--ip", "127.0.0.1", "--initiator", "none", "--mountpoint", "/dev/vdb",
                  vol["id"], server)
    attachment_id = next(line.split("|")[2].strip() for line in out.splitlines()
                         if line.startswith("| id "))
    shown = _volume(up, "attach_me")
    assert shown["status"] == "attaching"
    info = json.loads(_ok(run_client(up, "openstack", "--os-volume-api-version", "3.27",
                                     "volume", "attachment", "show", "-f", "json",
                                     attachment_id)))
    assert info["Status"] == "attaching" and info["Attach Mode"] == "rw"
    conn = info["Properties"]
    assert conn["driver_volume_type"] == "rbd"
    data = conn["data"]
    assert data["name"] == f"volumes/volume-{vol['id']}" and data["auth_username"] == "cinder"
    assert data["secret_type"] == "ceph" and data["discard"] is True
    assert data["access_mode"] == "rw" and data["volume_id"] == vol["id"]
    conf = (up.data_dir / "shoal.conf").read_text()
    assert f"rbd_secret_uuid = {data['secret_uuid']}" in conf
    _cinder(up, "attachment-complete", attachment_id, version="3.44")
    shown = _volume(up, "attach_me")
    assert shown["status"] == "in-use"
    assert shown["attachments"][0]["server_id"] == server
    refused = openstack(up, "volume", "delete", "attach_me")
    assert refused.returncode != 0 and "attached" in refused.stderr
    _cinder(up, "attachment-delete", attachment_id)
    assert _volume(up, "attach_me")["status"] == "available"
    _ok(openstack(up, "volume", "delete", "attach_me"))
    _gone(up, "attach_me")


def test_flags_metadata_and_admin_actions(up: ShoalUp) -> None:
    _ok(openstack(up, "volume", "create", "--size", "1", "--property", "a=1", "flags"))
    vol = _wait(up, "volume", "flags", "available")
    _ok(openstack(up, "volume", "set", "--bootable", "--read-only", "--property", "b=2",
                  "--image-property", "os_distro=centos", "flags"))
    shown = _volume(up, "flags")
    assert shown["bootable"] is True
    assert shown["properties"] == {"a": "1", "b": "2", "readonly": "True"}
    assert shown["volume_image_metadata"] == {"os_distro": "centos"}
    _ok(openstack(up, "volume", "unset", "--property", "a", "--image-property", "os_distro",
                  "flags"))
    shown = _volume(up, "flags")
    assert "a" not in shown["properties"] and not shown.get("volume_image_metadata")
    _cinder(up, "reset-state", "--state", "error", vol["id"])
    assert _volume(up, "flags")["status"] == "error"
    demo_refused = run_client(up, "openstack", "volume", "set", "--state", "available",
                              vol["id"], cloud="shoal-demo")
    assert demo_refused.returncode != 0
    _ok(openstack(up, "volume", "delete", "--force", "flags"))
    _gone(up, "flags")


def test_transfer_between_projects(up: ShoalUp) -> None:
    _ok(openstack(up, "volume", "create", "--size", "1", "moving"))
    vol = _wait(up, "volume", "moving", "available")
    offer = _json(openstack(up, "volume", "transfer", "request", "create", "-f", "json",
                            "--name", "gift", "moving"))
    assert offer["volume_id"] == vol["id"] and len(offer["auth_key"]) == 16
    assert _volume(up, "moving")["status"] == "awaiting-transfer"
    listed = _json(openstack(up, "volume", "transfer", "request", "list", "-f", "json"))
    assert [t["ID"] for t in listed] == [offer["id"]]
    wrong = openstack(up, "volume", "transfer", "request", "accept", "--auth-key",
                      "0123456789abcdef", offer["id"], cloud="shoal-demo")
    assert wrong.returncode != 0 and "invalid auth key" in wrong.stderr.lower()
    _ok(openstack(up, "volume", "transfer", "request", "accept", "--auth-key",
                  offer["auth_key"], offer["id"], cloud="shoal-demo"))
    taken = _volume(up, vol["id"], cloud="shoal-demo")
    assert taken["status"] == "available"
    demo_project = _json(openstack(up, "token", "issue", "-f", "json",
                                   cloud="shoal-demo"))["project_id"]
    assert _volume(up, vol["id"])["os-vol-tenant-attr:tenant_id"] == demo_project
    assert _json(openstack(up, "volume", "transfer", "request", "list", "-f", "json")) == []
    # withdrawing an offer gives the volume back
    _ok(openstack(up, "volume", "create", "--size", "1", "kept"))
    _wait(up, "volume", "kept", "available")
    offer = _json(openstack(up, "volume", "transfer", "request", "create", "-f", "json",
                            "kept"))
    _ok(openstack(up, "volume", "transfer", "request", "delete", offer["id"]))
    assert _volume(up, "kept")["status"] == "available"
