"""``shoal up`` on the real Ceph cluster: the guide's pools and users are made there, and
the real ``rbd`` tool works with the keyrings it writes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.ceph.conftest import CephCluster
from tests.e2e._guide import CAPS, POOLS
from tests.shoal_up import ShoalUp, openstack


def test_shoal_up_on_ceph_provisions_the_guide_and_serves(
        ceph_cluster: CephCluster, tmp_path: Path) -> None:
    conf = tmp_path / "shoal.conf"
    conf.write_text(f"[shoal]\nbackend = ceph\nceph_conf = {ceph_cluster.conf}\n"
                    "[glance_store]\nshow_image_direct_url = True\nrbd_store_user = glance\n")
    data = tmp_path / "data"
    with ShoalUp.start(data, "--config", str(conf)) as up:
        assert "(ceph backend" in up.output
        token = openstack(up, "token", "issue", "-f", "json")
        assert token.returncode == 0, token.stderr
        pools = json.loads(ceph_cluster.run("ceph", "osd", "pool", "ls", "detail",
                                            "--format", "json").stdout)
        by_name = {p["pool_name"]: p for p in pools}
        for pool in POOLS:
            assert "rbd" in by_name[pool]["application_metadata"], pool
        for entity, osd_caps in CAPS.items():
            got = json.loads(ceph_cluster.run("ceph", "auth", "get", entity,
                                              "--format", "json").stdout)
            assert got[0]["caps"] == {"mon": "allow r", "osd": osd_caps}
        keyring = data / "ceph.client.glance.keyring"
        rbd = ["rbd", "-c", str(ceph_cluster.conf), "--id", "glance", "--keyring",
               str(keyring)]
        subprocess.run([*rbd, "create", "--size", "1", "images/up-probe"], check=True,
                       capture_output=True, timeout=60)
        denied = subprocess.run([*rbd, "create", "--size", "1", "volumes/up-probe"],
                                capture_output=True, text=True, timeout=60, check=False)
        assert denied.returncode != 0
        subprocess.run([*rbd, "rm", "images/up-probe"], check=True, capture_output=True,
                       timeout=60)
        # an image goes to the real cluster's images pool, with its protected snapshot
        disk = tmp_path / "disk.raw"
        disk.write_bytes(b"\x01" * 3_000_000)
        made = openstack(up, "image", "create", "--file", str(disk), "--disk-format", "raw",
                         "--container-format", "bare", "-f", "json", "on-ceph")
        assert made.returncode == 0, made.stderr
        image_id = json.loads(made.stdout)["id"]
        snaps = json.loads(ceph_cluster.run("rbd", "snap", "ls", f"images/{image_id}",
                                            "--format", "json").stdout)
        assert [(s["name"], s["protected"]) for s in snaps] == [("snap", "true")]
        fsid = ceph_cluster.run("ceph", "fsid").stdout.strip()
        shown = json.loads(openstack(up, "image", "show", "-f", "json", "on-ceph").stdout)
        assert f"rbd://{fsid}/images/{image_id}/snap" in json.dumps(shown)
        assert openstack(up, "image", "delete", "on-ceph").returncode == 0
    # a second start on the same cluster reuses the pools and users
    with ShoalUp.start(data, "--config", str(conf)) as again:
        assert openstack(again, "token", "issue").returncode == 0
