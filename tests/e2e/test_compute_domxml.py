"""``shoal compute domxml`` against ``shoal up`` (issue 14, the libvirt side): a raw image
and a server made with the real ``openstack`` client (a flavor with ephemeral and swap
disks), a volume attached, then the domain XML of the server as Nova's libvirt driver
would define it: RBD network disks in vms with the monitors and the guide's cephx secret,
``discard='unmap'`` (the guide's ``hw_disk_discard``), the volume from its connection_info
with ``serial`` = its id; libvirt's schema accepts it (``virt-xml-validate``)."""

from __future__ import annotations

import os
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shoal import config as shoal_config
from tests._tools import needs_tool
from tests.e2e._cli import ok, out_json
from tests.shoal_cli import run_shoal_cli
from tests.shoal_up import ShoalUp, openstack, token

#: The compute microversion the client asks for (``--nic none`` needs 2.37).
VERSION = ("--os-compute-api-version", "2.79")

validator = needs_tool("virt-xml-validate", "xmllint",
                       fix="Debian's libvirt-clients and libxml2-utils: bash "
                           "scripts/system-packages")


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShoalUp]:
    with ShoalUp.start(tmp_path_factory.mktemp("domxml") / "data") as running:
        yield running


def _os(up: ShoalUp, *args: str) -> Any:
    return out_json(openstack(up, *VERSION, *args, "-f", "json"))


def _volume(up: ShoalUp, volume_id: str, want: str, timeout_s: float = 60) -> dict[str, Any]:
    """The volume (API body) once its status is ``want`` (read directly: a CLI run per
    poll costs a second and a half)."""
    url = f"{up.urls['volume']}/volumes/{volume_id}"
    headers = {"X-Auth-Token": token(up)}
    deadline = time.monotonic() + timeout_s
    while True:
        shown = httpx.get(url, headers=headers, timeout=30).json()["volume"]
        if shown["status"] == want:
            return dict(shown)
        assert time.monotonic() < deadline, shown
        time.sleep(0.2)


def _domxml(up: ShoalUp, server: str) -> subprocess.CompletedProcess[str]:
    return run_shoal_cli(up.data_dir, "compute", "domxml", server)


@pytest.fixture(scope="module")
def vm1(up: ShoalUp, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """vm1 (its API body): booted from a 4 MiB raw image with m1.eph (1 GiB ephemeral,
    128 MiB swap), a 1 GiB volume attached."""
    path = tmp_path_factory.mktemp("img") / "tiny.raw"
    path.write_bytes(os.urandom(4 << 20))
    image = _os(up, "image", "create", "--file", str(path), "--disk-format", "raw",
                "--container-format", "bare", "--public", "tiny")
    _os(up, "flavor", "create", "--ram", "256", "--disk", "1", "--ephemeral", "1",
        "--swap", "128", "--vcpus", "1", "m1.eph")
    volume = _os(up, "volume", "create", "--size", "1", "v1")
    server = _os(up, "server", "create", "--image", image["id"], "--flavor", "m1.eph",
                 "--nic", "none", "--wait", "vm1")
    assert server["status"] == "ACTIVE", server
    _volume(up, volume["id"], "available")
    ok(openstack(up, *VERSION, "server", "add", "volume", "vm1", "v1"))
    _volume(up, volume["id"], "in-use")
    return {**server, "volume_id": volume["id"], "image_id": image["id"]}


def _one(parent: ET.Element, path: str) -> ET.Element:
    found = parent.findall(path)
    assert len(found) == 1, (path, ET.tostring(parent, encoding="unicode"))
    return found[0]


def test_domxml_of_a_server_with_its_disks_and_a_volume(up: ShoalUp, vm1: dict[str, Any]
                                                        ) -> None:
    run = _domxml(up, "vm1")
    assert run.returncode == 0, run.stderr
    assert _domxml(up, vm1["id"]).stdout == run.stdout  # by id: the same domain
    cfg = shoal_config.load_config(file=up.data_dir / shoal_config.CONFIG_FILE_NAME)
    secret = cfg.libvirt.rbd_secret_uuid
    assert cfg.libvirt.hw_disk_discard == "unmap" and secret  # shoal up's guide config
    domain = ET.fromstring(run.stdout)
    assert domain.get("type") == "kvm" and domain.findtext("uuid") == vm1["id"]
    assert domain.findtext("name") == vm1["OS-EXT-SRV-ATTR:instance_name"]
    assert (domain.findtext("memory"), domain.findtext("vcpu")) == (str(256 * 1024), "1")
    disks = domain.findall("./devices/disk")
    assert all((d.get("type"), d.get("device")) == ("network", "disk") for d in disks)
    names = [_one(d, "source").get("name") for d in disks]
    assert names == [f"vms/{vm1['id']}_disk", f"vms/{vm1['id']}_disk.local",
                     f"vms/{vm1['id']}_disk.swap", f"volumes/volume-{vm1['volume_id']}"]
    assert [_one(d, "target").get("dev") for d in disks] == ["vda", "vdb", "vdc", "vdd"]
    for disk in disks:
        source = _one(disk, "source")
        assert source.get("protocol") == "rbd"
        assert [h.attrib for h in source.findall("host")] == [{"name": "127.0.0.1",
                                                               "port": "6789"}]
        assert _one(disk, "auth").get("username") == "cinder"
        assert _one(disk, "auth/secret").attrib == {"type": "ceph", "uuid": secret}
        assert _one(disk, "driver").get("discard") == "unmap"
    own, volume = disks[0], disks[3]
    assert _one(own, "driver").attrib == {"type": "raw", "cache": "none", "discard": "unmap"}
    assert own.find("serial") is None
    assert _one(volume, "driver").get("name") == "qemu"
    assert volume.findtext("serial") == vm1["volume_id"]
    # the disks the XML names are the ones in the pool
    listed = run_shoal_cli(up.data_dir, "rbd", "ls", "vms", "--id", "cinder")
    assert sorted(n.split("/", 1)[1] for n in names[:3]) == sorted(
        n for n in listed.stdout.split() if n.startswith(vm1["id"]))


@validator
def test_domxml_passes_libvirts_schema(up: ShoalUp, vm1: dict[str, Any],
                                       tmp_path: Path) -> None:
    path = tmp_path / "vm1.xml"
    run = _domxml(up, "vm1")
    assert run.returncode == 0, run.stderr
    path.write_text(run.stdout)
    checked = subprocess.run(["virt-xml-validate", str(path), "domain"], capture_output=True,
                             text=True, timeout=60, check=False)
    assert checked.returncode == 0 and "validates" in checked.stderr, checked.stderr


def test_unknown_and_ambiguous_servers_say_so(up: ShoalUp, vm1: dict[str, Any]) -> None:
    missing = _domxml(up, "no-such-vm")
    assert missing.returncode == 1 and missing.stdout == ""
    assert missing.stderr.strip() == ("shoal compute: error: No server with a name or ID of "
                                      "'no-such-vm' exists.")
    second = _os(up, "server", "create", "--image", vm1["image_id"], "--flavor", "m1.tiny",
                 "--nic", "none", "vm1")
    ambiguous = _domxml(up, "vm1")
    assert ambiguous.returncode == 1 and "Traceback" not in ambiguous.stderr
    assert "More than one server exists with the name 'vm1'" in ambiguous.stderr
    assert vm1["id"] in ambiguous.stderr and second["id"] in ambiguous.stderr
    assert len(ambiguous.stderr.strip().splitlines()) == 1
