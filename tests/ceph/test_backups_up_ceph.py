"""Backups served by ``shoal up`` on the real Ceph cluster (issue 13): the real
``openstack`` client backs a volume up (full, then incremental) into the cluster's
``backups`` pool as client.cinder-backup and restores it; the real ``rbd`` tool reads the
bytes back and finds the base image, its restore points, and nothing left after deletes."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

from tests.ceph.conftest import CephCluster, import_ceph_bindings
from tests.shoal_cli import run_shoal_cli
from tests.shoal_up import ShoalUp, openstack

WAIT_S = 120
MiB = 1 << 20


def _json(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stderr + result.stdout
    return json.loads(result.stdout)


def _wait(up: ShoalUp, kind: tuple[str, ...], name: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_S
    while True:
        shown = _json(openstack(up, *kind, "show", "-f", "json", name))
        if shown["status"] == status:
            return dict(shown)
        assert not str(shown["status"]).startswith("error"), (
            shown, [line for line in up.lines if "fail" in line or "rror" in line][-5:])
        assert time.monotonic() < deadline, f"{kind} {name} stays {shown['status']}"
        time.sleep(0.5)


def _digest(ceph: CephCluster, spec: str, tmp_path: Path) -> str:
    out = tmp_path / f"{spec.replace('/', '_')}.raw"
    out.unlink(missing_ok=True)
    ceph.run("rbd", "export", spec, str(out), timeout=120)
    return hashlib.sha256(out.read_bytes()).hexdigest()


def _write(rados_cluster: Any, name: str, offset: int, data: bytes) -> None:
    """Write into a volume's image as client.admin (memstore keeps every touched object
    whole in RAM: a few objects only)."""
    _, rbd = import_ceph_bindings()
    with rados_cluster.open_ioctx("volumes") as io, rbd.Image(io, name) as img:
        img.write(data, offset)


def test_backups_on_ceph(ceph_cluster: CephCluster, rados_cluster: Any, tmp_path: Path
                         ) -> None:
    conf = tmp_path / "shoal.conf"
    conf.write_text(
        f"[shoal]\nbackend = ceph\nceph_conf = {ceph_cluster.conf}\n"
        "[DEFAULT]\nenabled_backends = ceph\nbackup_driver = cinder.backup.drivers.ceph\n"
        f"backup_ceph_user = cinder-backup\nbackup_ceph_conf = {ceph_cluster.conf}\n"
        "[ceph]\nvolume_driver = cinder.volume.drivers.rbd.RBDDriver\n"
        f"volume_backend_name = ceph\nrbd_pool = volumes\nrbd_ceph_conf = {ceph_cluster.conf}"
        "\nrbd_user = cinder\n")
    with ShoalUp.start(tmp_path / "data", "--config", str(conf)) as up:
        vol = _json(openstack(up, "volume", "create", "--size", "1", "-f", "json", "cv"))
        _wait(up, ("volume",), "cv", "available")
        spec = f"volumes/volume-{vol['id']}"
        _write(rados_cluster, f"volume-{vol['id']}", 0, os.urandom(4 * MiB))
        at_b1 = _digest(ceph_cluster, spec, tmp_path)
        assert openstack(up, "volume", "backup", "create", "--name", "CB1", "cv"
                         ).returncode == 0
        b1 = _wait(up, ("volume", "backup"), "CB1", "available")
        _write(rados_cluster, f"volume-{vol['id']}", 2 * MiB, os.urandom(MiB))
        at_b2 = _digest(ceph_cluster, spec, tmp_path)
        assert at_b2 != at_b1
        assert openstack(up, "volume", "backup", "create", "--incremental", "--name", "CB2",
                         "cv").returncode == 0
        b2 = _wait(up, ("volume", "backup"), "CB2", "available")
        assert b2["is_incremental"]
        base = f"backups/volume-{vol['id']}.backup.{b1['id']}"
        snaps = json.loads(ceph_cluster.run("rbd", "snap", "ls", base, "--format",
                                            "json").stdout)
        assert len(snaps) == 2  # one restore point per backup, on the full backup's base
        assert openstack(up, "volume", "backup", "restore", "CB1", "cr1").returncode == 0
        r1 = _wait(up, ("volume",), "cr1", "available")
        assert _digest(ceph_cluster, f"volumes/volume-{r1['id']}", tmp_path) == at_b1
        assert openstack(up, "volume", "backup", "restore", "CB2", "cr2").returncode == 0
        r2 = _wait(up, ("volume",), "cr2", "available")
        assert _digest(ceph_cluster, f"volumes/volume-{r2['id']}", tmp_path) == at_b2
        # shoal's check reads each restore point back from the cluster's backups pool
        for backup in (b1, b2):
            done = run_shoal_cli(up.data_dir, "backup", "verify", backup["id"],
                                 env={"OS_AUTH_URL": ""})
            assert done.returncode == 0 and "OK" in done.stdout, done.stderr + done.stdout
        chained = run_shoal_cli(up.data_dir, "backup", "chain", vol["id"],
                                env={"OS_AUTH_URL": ""}).stdout.splitlines()
        assert chained[0].startswith(f"{b1['id']} (CB1): full") and \
            chained[1].startswith(f"  {b2['id']} (CB2): incremental"), chained
        # a byte of CB2's data flipped in the base's first object with Ceph's own rados
        # tool (no snapshot context: the head changes, CB1 reads the clone CB2's write made)
        prefix = json.loads(ceph_cluster.run("rbd", "info", base, "--format", "json").stdout
                            )["block_name_prefix"]
        obj = tmp_path / "object0"
        ceph_cluster.run("rados", "-p", "backups", "get", f"{prefix}.{0:016x}", str(obj))
        data = bytearray(obj.read_bytes())
        data[2 * MiB + 10] ^= 0x01
        obj.write_bytes(bytes(data))
        ceph_cluster.run("rados", "-p", "backups", "put", f"{prefix}.{0:016x}", str(obj))
        bad = run_shoal_cli(up.data_dir, "backup", "verify", b2["id"], env={"OS_AUTH_URL": ""})
        assert bad.returncode == 1 and "MISMATCH" in bad.stdout, bad.stderr + bad.stdout
        assert run_shoal_cli(up.data_dir, "backup", "verify", b1["id"],
                             env={"OS_AUTH_URL": ""}).returncode == 0
        for name in ("CB2", "CB1"):
            assert openstack(up, "volume", "backup", "delete", name).returncode == 0
            deadline = time.monotonic() + WAIT_S
            while openstack(up, "volume", "backup", "show", name).returncode == 0:
                assert time.monotonic() < deadline
                time.sleep(0.5)
        left = ceph_cluster.run("rbd", "ls", "backups").stdout.split()
        assert f"volume-{vol['id']}.backup.{b1['id']}" not in left
        # the volumes go too (with the backup snapshots on cv): the cluster is shared with
        # the later Ceph modules, whose volume suite expects an empty ``volumes`` pool
        ids = [vol["id"], r1["id"], r2["id"]]
        assert openstack(up, "volume", "delete", *ids).returncode == 0
        deadline = time.monotonic() + WAIT_S
        while any(openstack(up, "volume", "show", i).returncode == 0 for i in ids):
            assert time.monotonic() < deadline, "the volumes are not deleted"
            time.sleep(0.5)
        left = ceph_cluster.run("rbd", "ls", "volumes").stdout.split()
        assert not [i for i in ids if f"volume-{i}" in left], left
