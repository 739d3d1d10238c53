"""Smoke test of the throwaway Ceph cluster: rados, rbd, the rbd CLI and qemu-img all work."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

from tests.ceph.conftest import CephCluster, import_ceph_bindings, mon_command

MiB = 1024 * 1024


def _image_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_cluster_starts(ceph_cluster: CephCluster) -> None:
    assert ceph_cluster.conf.is_file()
    if ceph_cluster.startup_s is not None:
        print(f"\nceph-dev up: {ceph_cluster.startup_s:.2f} s")
    status = json.loads(ceph_cluster.run("ceph", "status", "--format", "json").stdout)
    assert status["quorum_names"] == ["a"] or len(status["quorum_names"]) >= 1
    assert status["osdmap"]["num_up_osds"] >= 1
    assert status["mgrmap"]["available"] is True


def test_rados_object_data_xattr_omap(rados_cluster: Any, ceph_pool: str) -> None:
    rados, _ = import_ceph_bindings()
    payload = b"hello shoal\n" * 1000
    with rados_cluster.open_ioctx(ceph_pool) as ioctx:
        ioctx.write_full("obj", payload)
        assert ioctx.read("obj", len(payload)) == payload
        assert ioctx.read("obj", 5, 6) == b"shoal"
        size, _mtime = ioctx.stat("obj")
        assert size == len(payload)

        ioctx.set_xattr("obj", "user.kind", b"smoke")
        assert ioctx.get_xattr("obj", "user.kind") == b"smoke"
        assert dict(ioctx.get_xattrs("obj"))["user.kind"] == b"smoke"

        with rados.WriteOpCtx() as op:
            ioctx.set_omap(op, ("k1", "k2"), (b"v1", b"v2"))
            ioctx.operate_write_op(op, "obj")
        with rados.ReadOpCtx() as op:
            vals, _ = ioctx.get_omap_vals(op, "", "", 10)
            ioctx.operate_read_op(op, "obj")
            assert dict(vals) == {"k1": b"v1", "k2": b"v2"}

        ioctx.remove_object("obj")
        assert "obj" not in {o.key for o in ioctx.list_objects()}


def test_rbd_image_snapshot_clone_diff(rados_cluster: Any, ceph_pool: str) -> None:
    _, rbd = import_ceph_bindings()
    parent, child = _image_name("parent"), _image_name("child")
    block = b"\xab" * 4096
    with rados_cluster.open_ioctx(ceph_pool) as ioctx:
        rbd.RBD().create(ioctx, parent, 64 * MiB, order=22)
        with rbd.Image(ioctx, parent) as image:
            assert image.size() == 64 * MiB
            assert image.write(block, 0) == len(block)
            image.write(block, 8 * MiB)
            assert image.read(0, 4096) == block
            assert image.read(4096, 4096) == b"\0" * 4096
            image.create_snap("base")
            image.protect_snap("base")
            assert image.is_protected_snap("base")
            image.write(block, 16 * MiB)  # after the snapshot

            changed: list[tuple[int, int, bool]] = []
            image.diff_iterate(0, image.size(), "base", lambda *e: changed.append(e))
            assert changed == [(16 * MiB, 4096, True)]

        rbd.RBD().clone(ioctx, parent, "base", ioctx, child)
        with rbd.Image(ioctx, child) as image:
            assert image.parent_info()[1:] == (parent, "base")
            assert image.read(8 * MiB, 4096) == block  # from the parent
            assert image.read(16 * MiB, 4096) == b"\0" * 4096  # written after the snap
            image.write(b"\xcd" * 4096, 32 * MiB)
            extents: list[tuple[int, int, bool]] = []
            image.diff_iterate(0, image.size(), None, lambda *e: extents.append(e))
            offsets = {offset for offset, _length, exists in extents if exists}
            assert {0, 8 * MiB, 32 * MiB} <= offsets
        with rbd.Image(ioctx, parent) as image:
            children = list(image.list_children2())
            assert [c["image"] for c in children] == [child]


def test_rbd_cli_and_qemu_img(
    ceph_cluster: CephCluster, rados_cluster: Any, ceph_pool: str, tmp_path: Path
) -> None:
    _, rbd = import_ceph_bindings()
    name = _image_name("cli")
    data = bytes(range(256)) * 4096  # 1 MiB
    with rados_cluster.open_ioctx(ceph_pool) as ioctx:
        rbd.RBD().create(ioctx, name, 4 * MiB)
        with rbd.Image(ioctx, name) as image:
            image.write(data, MiB)

    info = json.loads(
        ceph_cluster.run("rbd", "info", f"{ceph_pool}/{name}", "--format", "json").stdout
    )
    assert info["size"] == 4 * MiB
    assert "layering" in info["features"]

    spec = f"rbd:{ceph_pool}/{name}:conf={ceph_cluster.conf}"
    if ceph_cluster.keyring is not None:
        spec += f":keyring={ceph_cluster.keyring}"
    qemu = subprocess.run(
        ["qemu-img", "info", "--output=json", spec],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(qemu.stdout)["virtual-size"] == 4 * MiB

    out = tmp_path / "copy.raw"
    subprocess.run(
        ["qemu-img", "convert", "-f", "raw", "-O", "raw", spec, str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    copied = out.read_bytes()
    assert copied[MiB : 2 * MiB] == data
    assert copied[:MiB] == b"\0" * MiB


def test_pool_helper_names_are_unique(rados_cluster: Any, ceph_pool: str) -> None:
    pools = json.loads(mon_command(rados_cluster, "osd pool ls"))
    assert ceph_pool in pools
    assert ceph_pool.startswith("shoal-test-cluster-smoke-")
