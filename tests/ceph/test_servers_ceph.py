"""Servers (issue 14) served by one ``shoal up`` on the real Ceph cluster, through the real
``openstack`` client, looked at with Ceph's own ``rbd`` tool (as ``client.cinder`` with the
keyring ``shoal up`` wrote, or as ``client.admin``): the user flows of
``tests/e2e/test_servers.py`` and ``tests/e2e/test_server_moves.py`` on the Ceph backend.

The deployment is :func:`tests.e2e._volume_suite.suite_config`'s (the guide's
configuration) with two compute hosts (``[shoal] compute_hosts = compute1,compute2``) and
Glance's ``rbd_thin_provisioning`` on: the guide's caps let ``client.cinder`` only read
``images``, so a server's snapshot is streamed through the image service at its full size
(m1.tiny: 1 GiB), and memstore OSDs (1 GiB of RAM each) would be filled by its zeros.

The scenarios run in their order on one deployment; the last one deletes every server,
volume and image and checks that ``vms``, ``volumes`` and ``images`` keep nothing of them
(``tests/ceph/test_volumes_ceph.py`` expects ``volumes`` empty in the same session).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.ceph.conftest import CephCluster
from tests.ceph.test_backups_up_ceph import _digest
from tests.e2e._cli import ok
from tests.e2e._guide import CINDER_OSD, keyring_file
from tests.e2e._volume_suite import _parent, log_problems, suite_config
from tests.e2e.test_servers import VERSION, _os, _server, _status, _volume_status
from tests.shoal_up import ShoalUp, openstack

MiB = 1 << 20
WAIT_S = 60
#: The Glance upload chunk and RBD object size of images (the guide's
#: ``rbd_store_chunk_size``), MiB: what a thin streamed snapshot of the image's 4 MiB uses.
IMAGE_OBJECT_MIB = 8


@pytest.fixture(scope="module")
def up(ceph_cluster: CephCluster, tmp_path_factory: pytest.TempPathFactory
       ) -> Iterator[ShoalUp]:
    data = tmp_path_factory.mktemp("servers-ceph") / "data"
    data.mkdir()
    text = suite_config(str(ceph_cluster.conf), backend="ceph")
    for old, new in (("[shoal]\n", "[shoal]\ncompute_hosts = compute1,compute2\n"),
                     ("[glance_store]\n", "[glance_store]\nrbd_thin_provisioning = true\n")):
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    (data / "shoal.conf").write_text(text)
    with ShoalUp.start(data) as running:
        assert "(ceph backend" in running.output
        yield running
    assert not log_problems(running), running.output


def _rbd(up: ShoalUp, ceph: CephCluster, *args: str) -> str:
    """The stdout of Ceph's ``rbd ARGS`` as ``client.cinder``; the test fails on an error."""
    keyring = keyring_file(up.data_dir, "client.cinder")
    try:
        run = ceph.run("rbd", "--id", "cinder", "--keyring", str(keyring), *args)
    except subprocess.CalledProcessError as exc:
        pytest.fail(f"rbd {' '.join(args)}: exit {exc.returncode}: {exc.stderr}")
    return run.stdout


def _rbd_json(up: ShoalUp, ceph: CephCluster, *args: str) -> Any:
    return json.loads(_rbd(up, ceph, *args, "--format", "json"))


@pytest.fixture(scope="module")
def image(up: ShoalUp, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A 4 MiB raw image (random bytes), public, uploaded as the guide does; its id."""
    path = tmp_path_factory.mktemp("img") / "tiny.raw"
    path.write_bytes(os.urandom(4 * MiB))
    made = _os(up, "image", "create", "--file", str(path), "--disk-format", "raw",
               "--container-format", "bare", "--public", "tiny")
    return str(made["id"])


@pytest.fixture(scope="module")
def vm1(up: ShoalUp, image: str) -> str:
    """``vm1``, booted from :func:`image` with ``m1.tiny``; its id."""
    return str(_server(up, "vm1", image)["id"])


def test_boot_from_an_image_clones_it_into_vms(up: ShoalUp, ceph_cluster: CephCluster,
                                              image: str, vm1: str) -> None:
    assert "protected: True" in _rbd(up, ceph_cluster, "info", f"images/{image}@snap")
    info = _rbd(up, ceph_cluster, "info", f"vms/{vm1}_disk")
    assert _parent(info) == f"images/{image}@snap"
    assert "size 1 GiB" in info  # m1.tiny's root disk
    assert f"vms/{vm1}_disk" in _rbd(up, ceph_cluster, "children", f"images/{image}@snap")


def test_boot_from_a_bootable_volume(up: ShoalUp, ceph_cluster: CephCluster,
                                     image: str) -> None:
    ok(openstack(up, "volume", "create", "--image", image, "--size", "1", "--bootable",
                 "bootvol"))
    volume = _volume_status(up, "bootvol", "available")
    assert _parent(_rbd(up, ceph_cluster, "info", f"volumes/volume-{volume['id']}")) == \
        f"images/{image}@snap"
    made = _os(up, "server", "create", "--volume", "bootvol", "--flavor", "m1.tiny", "--nic",
               "none", "--wait", "vm2")
    assert made["status"] == "ACTIVE", made
    attached = _volume_status(up, "bootvol", "in-use")["attachments"]
    assert [(a["server_id"], a["device"]) for a in attached] == [(made["id"], "/dev/vda")]
    assert f"{made['id']}_disk" not in _rbd(up, ceph_cluster, "ls", "vms")


def test_attach_and_detach_a_volume(up: ShoalUp, ceph_cluster: CephCluster,
                                    vm1: str) -> None:
    ok(openstack(up, "volume", "create", "--size", "1", "vol2"))
    volume = _volume_status(up, "vol2", "available")
    ok(openstack(up, *VERSION, "server", "add", "volume", "vm1", "vol2"))
    attached = _volume_status(up, "vol2", "in-use")["attachments"]
    assert [(a["server_id"], a["device"]) for a in attached] == [(vm1, "/dev/vdb")]
    assert [v["id"] for v in _os(up, "server", "show", "vm1")["volumes_attached"]] == [
        volume["id"]]
    assert f"volume-{volume['id']}" in _rbd(up, ceph_cluster, "ls", "volumes").split()
    ok(openstack(up, *VERSION, "server", "remove", "volume", "vm1", "vol2"))
    assert not _volume_status(up, "vol2", "available")["attachments"]
    assert not _os(up, "server", "show", "vm1")["volumes_attached"]


def test_snapshot_is_streamed_and_clones(up: ShoalUp, ceph_cluster: CephCluster, vm1: str,
                                         image: str, tmp_path: Path) -> None:
    """The guide's caps let client.cinder (the disks' user) only read ``images``: no
    direct snapshot; the disk goes through Glance, which writes ``images/<id>`` (a plain
    image, no parent) with its protected ``snap``, as it stores any upload. A volume of
    that image is then a copy-on-write clone of ``images/<id>@snap``, as of any image."""
    caps = json.loads(ceph_cluster.run("ceph", "auth", "get", "client.cinder", "--format",
                                       "json").stdout)[0]["caps"]
    assert caps["osd"] == CINDER_OSD  # ... allow rx pool=images
    snap = json.loads(ok(openstack(up, *VERSION, "server", "image", "create", "--name",
                                   "snap1", "--wait", "vm1", "-f", "json")))
    assert snap["status"] == "active", snap
    assert any(f"direct snapshot of server {vm1} refused" in line for line in up.lines)
    props = _os(up, "image", "show", snap["id"])["properties"]
    assert props["instance_uuid"] == vm1 and props["base_image_ref"] == image
    _status(up, "vm1", "ACTIVE")
    info = _rbd(up, ceph_cluster, "info", f"images/{snap['id']}")
    assert _parent(info) is None and "size 1 GiB" in info  # streamed, not cloned
    assert "protected: True" in _rbd(up, ceph_cluster, "info", f"images/{snap['id']}@snap")
    # rbd_thin_provisioning: only the chunk holding the image's bytes was written
    used = _rbd_json(up, ceph_cluster, "du", f"images/{snap['id']}@snap")["images"][0]
    assert 0 < used["used_size"] <= IMAGE_OBJECT_MIB * MiB, used
    assert _digest(ceph_cluster, f"images/{snap['id']}@snap", tmp_path) == _digest(
        ceph_cluster, f"vms/{vm1}_disk", tmp_path)
    assert _rbd_json(up, ceph_cluster, "snap", "ls", f"vms/{vm1}_disk") == []  # temp snap gone
    ok(openstack(up, "volume", "create", "--image", "snap1", "--size", "1", "v3"))
    v3 = _volume_status(up, "v3", "available")
    assert v3["volume_image_metadata"]["image_id"] == snap["id"]
    assert _parent(_rbd(up, ceph_cluster, "info", f"volumes/volume-{v3['id']}")) == \
        f"images/{snap['id']}@snap"


def _disk(up: ShoalUp, ceph: CephCluster, server_id: str) -> tuple[str, int]:
    """(RBD image id, bytes used) of the server's root disk, by Ceph's ``rbd``."""
    spec = f"vms/{server_id}_disk"
    info = _rbd_json(up, ceph, "info", spec)
    return str(info["id"]), int(_rbd_json(up, ceph, "du", spec)["images"][0]["used_size"])


def test_live_migration_moves_no_disk(up: ShoalUp, ceph_cluster: CephCluster,
                                      vm1: str) -> None:
    source = _status(up, "vm1", "ACTIVE")["OS-EXT-SRV-ATTR:host"]
    before = _disk(up, ceph_cluster, vm1)
    ok(openstack(up, *VERSION, "server", "migrate", "--live-migration", "--wait", "vm1"))
    moved = _status(up, "vm1", "ACTIVE")
    assert moved["OS-EXT-SRV-ATTR:host"] in ("compute1", "compute2")
    assert moved["OS-EXT-SRV-ATTR:host"] != source
    assert _disk(up, ceph_cluster, vm1) == before  # the same RBD image, the same objects
    (migration,) = _os(up, "server", "migration", "list", "--server", vm1)
    assert (migration["Type"], migration["Status"]) == ("live-migration", "completed")


def _gone(up: ShoalUp, kind: str, *names: str) -> None:
    deadline = time.monotonic() + WAIT_S
    for name in names:
        while openstack(up, kind, "show", name).returncode == 0:
            assert time.monotonic() < deadline, f"{kind} {name} is not deleted"
            time.sleep(0.5)


def test_deleting_everything_leaves_nothing(up: ShoalUp, ceph_cluster: CephCluster,
                                            image: str, vm1: str) -> None:
    """Last: the servers go with their disks (the boot volume is kept, as
    ``delete_on_termination`` is false), then the volumes, then the images."""
    vm2 = _os(up, "server", "show", "vm2")["id"]
    ok(openstack(up, *VERSION, "server", "delete", "--wait", "vm1", "vm2"))
    left = _rbd(up, ceph_cluster, "ls", "vms").split()
    assert not [name for name in left if name.startswith((vm1, vm2))], left
    volumes = {name: _volume_status(up, name, "available")["id"]
               for name in ("bootvol", "vol2", "v3")}
    ok(openstack(up, "volume", "delete", *volumes))
    _gone(up, "volume", *volumes.values())
    left = _rbd(up, ceph_cluster, "ls", "volumes").split()
    assert not [v for v in volumes.values() if f"volume-{v}" in left], left
    snap1 = _os(up, "image", "show", "snap1")["id"]
    ok(openstack(up, "image", "delete", "snap1", "tiny"))
    _gone(up, "image", snap1, image)
    left = _rbd(up, ceph_cluster, "ls", "images").split()
    assert snap1 not in left and image not in left, left
