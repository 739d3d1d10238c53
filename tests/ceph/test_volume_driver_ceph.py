"""The RBD volume driver on a real Ceph cluster, through librbd, as a cinder-like cephx user.

Temporary pools stand for ``volumes``, ``images`` and a pool the driver may not touch; a
temporary user gets the guide's cinder caps on them (``allow class-read object_prefix
rbd_children, allow rwx pool=<volumes>, allow rx pool=<images>``, ``mon 'allow r'``), and
another the guide's glance caps on the images pool, through which the image store makes
images as Glance does. The real ``rbd`` tool checks parents, overlaps, orders and snapshots.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from shoal.cluster import BackendConfig, Session, open_session
from shoal.services.image.store import RbdStore
from shoal.services.volume.driver import (
    CloneRefusal,
    DeleteOutcome,
    NotCloned,
    RbdDriverOptions,
    RbdVolumeDriver,
    SnapshotIsBusy,
    VolumeIsBusy,
    parse_mon_addr,
)
from tests.ceph.conftest import CephCluster, import_ceph_bindings, mon_command, temporary_pool

MiB = 1 << 20
GiB = 1 << 30
CHILDREN = "allow class-read object_prefix rbd_children"


@dataclass
class Env:
    cluster: CephCluster
    rados: Any
    volumes: str
    images: str
    other: str
    cinder: Session
    glance: Session

    def rbd(self, *args: str) -> Any:
        """``rbd ARGS --format json`` as client.admin, parsed."""
        out = self.cluster.run("rbd", *args, "--format", "json").stdout
        return json.loads(out) if out.strip() else None

    def info(self, image: str, pool: str | None = None) -> dict[str, Any]:
        return dict(self.rbd("info", f"{pool or self.volumes}/{image}"))

    def ls(self, pool: str | None = None) -> list[str]:
        return sorted(self.rbd("ls", pool or self.volumes))

    def snaps(self, image: str) -> dict[str, bool]:
        return {s["name"]: str(s["protected"]).lower() == "true"
                for s in self.rbd("snap", "ls", f"{self.volumes}/{image}")}

    def driver(self, **options: Any) -> RbdVolumeDriver:
        values: dict[str, Any] = {"rbd_pool": self.volumes, "rbd_user": "cinder",
                                  "rados_connection_interval": 0}
        values.update(options)
        return RbdVolumeDriver(self.cinder, RbdDriverOptions(**values))

    def image_handle(self, image: str, pool: str | None = None, **kwargs: Any) -> Any:
        """A librbd image opened as client.admin (the caller closes its ioctx with it)."""
        _, rbd = import_ceph_bindings()
        ioctx = self.rados.open_ioctx(pool or self.volumes)
        return ioctx, rbd.Image(ioctx, image, **kwargs)

    def write(self, image: str, data: bytes, offset: int = 0) -> None:
        ioctx, img = self.image_handle(image)
        try:
            img.write(data, offset)
        finally:
            img.close()
            ioctx.close()

    def read(self, image: str, offset: int, length: int) -> bytes:
        ioctx, img = self.image_handle(image, read_only=True)
        try:
            return bytes(img.read(offset, length))
        finally:
            img.close()
            ioctx.close()


def _user(rados: Any, tmp: Path, role: str, osd_caps: str) -> tuple[str, Path]:
    entity = f"client.shoal-{role}-{uuid.uuid4().hex[:8]}"
    reply = json.loads(mon_command(rados, "auth get-or-create", entity=entity,
                                   caps=["mon", "allow r", "osd", osd_caps]))
    keyring = tmp / f"{role}.keyring"
    keyring.write_text(f"[{entity}]\n\tkey = {reply[0]['key']}\n")
    return entity, keyring


@pytest.fixture(scope="module")
def env(ceph_cluster: CephCluster, rados_cluster: Any,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp = tmp_path_factory.mktemp("volume-driver")
    with temporary_pool(rados_cluster, "volumes") as volumes, \
            temporary_pool(rados_cluster, "images") as images, \
            temporary_pool(rados_cluster, "untouchable") as other:
        cinder_entity, cinder_keyring = _user(
            rados_cluster, tmp, "cinder",
            f"{CHILDREN}, allow rwx pool={volumes}, allow rx pool={images}")
        glance_entity, glance_keyring = _user(rados_cluster, tmp, "glance",
                                              f"{CHILDREN}, allow rwx pool={images}")
        config = BackendConfig(backend="ceph", ceph_conf=ceph_cluster.conf)
        cinder = open_session(config, name=cinder_entity, keyring=cinder_keyring)
        glance = open_session(config, name=glance_entity, keyring=glance_keyring)
        try:
            yield Env(ceph_cluster, rados_cluster, volumes, images, other, cinder, glance)
        finally:
            cinder.shutdown()
            glance.shutdown()
            for entity in (cinder_entity, glance_entity):
                mon_command(rados_cluster, "auth rm", entity=entity)


def vid() -> str:
    return uuid.uuid4().hex[:12]


def payload(size: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(size)


def test_clone_chain_is_flattened_at_max_depth(env: Env) -> None:
    drv = env.driver(rbd_max_clone_depth=2)
    a, b, c, d = vid(), vid(), vid(), vid()
    data = payload(MiB, seed=2)
    drv.create_volume(a, 1)
    env.write(f"volume-{a}", data)
    drv.create_cloned_volume(b, 2, a)
    drv.create_cloned_volume(c, 2, b)
    drv.create_cloned_volume(d, 2, c)
    info_b = env.info(f"volume-{b}")
    assert (info_b["size"], info_b["order"]) == (2 * GiB, 22)
    assert info_b["parent"]["pool"] == env.volumes
    assert info_b["parent"]["image"] == f"volume-{a}"
    assert info_b["parent"]["snapshot"] == f"volume-{b}.clone_snap"
    assert info_b["parent"]["overlap"] == GiB  # the source's size; the clone grew past it
    assert env.info(f"volume-{c}")["parent"]["image"] == f"volume-{b}"
    assert "parent" not in env.info(f"volume-{d}")  # flattened
    assert env.snaps(f"volume-{c}") == {}  # its temporary snapshot went
    assert env.snaps(f"volume-{a}") == {f"volume-{b}.clone_snap": True}
    assert env.read(f"volume-{d}", 0, MiB) == data
    for volume in (d, c, b, a):
        drv.delete_volume(volume)
    assert not {f"volume-{v}" for v in (a, b, c, d)} & set(env.ls())


def test_deleted_volume_is_kept_for_its_clone_and_released_after(env: Env) -> None:
    drv = env.driver()
    a, b = vid(), vid()
    drv.create_volume(a, 1)
    env.write(f"volume-{a}", b"parent data")
    drv.create_cloned_volume(b, 1, a)
    assert drv.delete_volume(a) is DeleteOutcome.HIDDEN
    assert f"volume-{a}.deleted" in env.ls()
    assert env.info(f"volume-{b}")["parent"]["image"] == f"volume-{a}.deleted"
    assert env.read(f"volume-{b}", 0, 11) == b"parent data"
    assert drv.delete_volume(b) is DeleteOutcome.REMOVED
    assert not {f"volume-{a}.deleted", f"volume-{b}"} & set(env.ls())
    assert env.rbd("trash", "ls", env.volumes) == []


def test_deleting_a_clone_releases_its_parents_clone_snap(env: Env) -> None:
    drv = env.driver()
    a, b = vid(), vid()
    drv.create_volume(a, 1)
    drv.create_cloned_volume(b, 1, a)
    assert drv.delete_volume(b) is DeleteOutcome.REMOVED
    assert env.snaps(f"volume-{a}") == {}
    assert drv.delete_volume(a) is DeleteOutcome.REMOVED


def test_delete_snapshot_flattens_its_clones(env: Env) -> None:
    drv = env.driver()
    a, b, snap = vid(), vid(), vid()
    data = payload(MiB, seed=3)
    drv.create_volume(a, 1)
    env.write(f"volume-{a}", data)
    drv.create_snapshot(a, snap)
    assert env.snaps(f"volume-{a}") == {f"snapshot-{snap}": True}
    drv.create_volume_from_snapshot(b, 2, a, snap)
    parent = env.info(f"volume-{b}")["parent"]
    assert (parent["image"], parent["snapshot"]) == (f"volume-{a}", f"snapshot-{snap}")
    drv.delete_snapshot(a, snap)
    assert env.snaps(f"volume-{a}") == {}
    assert "parent" not in env.info(f"volume-{b}")
    assert env.read(f"volume-{b}", 0, MiB) == data
    drv.delete_volume(a)
    drv.delete_volume(b)


def test_snapshot_with_a_clone_out_of_reach_is_busy(env: Env) -> None:
    drv = env.driver(rados_connection_retries=1)
    a, snap = vid(), vid()
    drv.create_volume(a, 1)
    drv.create_snapshot(a, snap)
    child = f"{env.other}/foreign-{a}"
    env.cluster.run("rbd", "clone", f"{env.volumes}/volume-{a}@snapshot-{snap}", child)
    with pytest.raises(SnapshotIsBusy) as info:
        drv.delete_snapshot(a, snap)
    assert info.value.http_status == 409
    assert env.snaps(f"volume-{a}") == {f"snapshot-{snap}": True}
    env.cluster.run("rbd", "rm", child)
    drv.delete_snapshot(a, snap)
    drv.delete_volume(a)


def test_clone_image_from_the_image_store(env: Env) -> None:
    store = RbdStore(env.glance, pool=env.images)  # Glance's 8 MiB chunks: order 23
    image_id, volume = str(uuid.uuid4()), vid()
    data = payload(9 * MiB + 5, seed=4)
    location = store.add(image_id, [data], len(data)).location
    drv = env.driver()  # 4 MiB chunks: order 22
    assert drv.clone_image(volume, 1, [f"rbd://{image_id}", location], "raw") is True
    info = env.info(f"volume-{volume}")
    assert info["parent"]["pool"] == env.images
    assert (info["parent"]["image"], info["parent"]["snapshot"]) == (image_id, "snap")
    assert info["parent"]["overlap"] == len(data)
    assert (info["size"], info["order"]) == (GiB, 23)  # bug 1931004: max(8 MiB, 4 MiB)
    assert env.read(f"volume-{volume}", 0, len(data)) == data
    refused = drv.clone_image(vid(), 1, [location], "qcow2")
    assert isinstance(refused, NotCloned) and refused.reason is CloneRefusal.NOT_RAW
    drv.delete_volume(volume)
    store.delete(location)


def test_copy_image_to_volume_skips_zero_chunks(env: Env) -> None:
    drv, volume = env.driver(), vid()
    data = payload(MiB, seed=5) + bytes(4 * MiB) + payload(MiB, seed=6)
    assert drv.copy_image_to_volume(volume, 1, [data[i:i + 999_999]
                                                for i in range(0, len(data), 999_999)]) \
        == len(data)
    assert env.read(f"volume-{volume}", 0, len(data)) == data
    prefix = env.info(f"volume-{volume}")["block_name_prefix"]
    ioctx = env.rados.open_ioctx(env.volumes)
    try:
        objects = sorted(o.key for o in ioctx.list_objects() if o.key.startswith(prefix + "."))
    finally:
        ioctx.close()
    assert objects == [f"{prefix}.{n:016x}" for n in (0, 1)]  # object 1 holds the tail
    drv.delete_volume(volume)


def test_volume_open_elsewhere_is_busy(env: Env) -> None:
    drv, volume = env.driver(rados_connection_retries=1), vid()
    drv.create_volume(volume, 1)
    ioctx, img = env.image_handle(f"volume-{volume}")  # a writer: it watches the header
    try:
        with pytest.raises(VolumeIsBusy):
            drv.delete_volume(volume)
        assert f"volume-{volume}" in env.ls()
    finally:
        img.close()
        ioctx.close()
    assert drv.delete_volume(volume) is DeleteOutcome.REMOVED


def test_deferred_deletion_and_purge(env: Env) -> None:
    drv, volume = env.driver(enable_deferred_deletion=True), vid()
    drv.create_volume(volume, 1)
    assert drv.delete_volume(volume) is DeleteOutcome.TRASHED
    assert f"volume-{volume}" in [e["name"] for e in env.rbd("trash", "ls", env.volumes)]
    assert drv.purge_trash() >= 1
    assert env.rbd("trash", "ls", env.volumes) == []


def test_initialize_connection_lists_the_monitors(env: Env) -> None:
    drv, volume = env.driver(), vid()
    drv.create_volume(volume, 1)
    dump = json.loads(env.cluster.run("ceph", "mon", "dump", "--format", "json").stdout)
    expected = [parse_mon_addr(m["addr"]) for m in dump["mons"]]
    data = drv.initialize_connection(volume, {})["data"]
    assert list(zip(data["hosts"], data["ports"], strict=True)) == expected
    assert data["name"] == f"{env.volumes}/volume-{volume}"
    assert data["secret_uuid"] == env.rados.get_fsid()
    drv.delete_volume(volume)


def test_stats_follow_the_pool_quota(env: Env) -> None:
    dynamic = env.driver().get_volume_stats()
    assert dynamic["backend_state"] == "up"
    assert dynamic["total_capacity_gb"] >= dynamic["free_capacity_gb"] > 0
    mon_command(env.rados, "osd pool set-quota", pool=env.volumes, field="max_bytes",
                val=str(10 * GiB))
    try:
        stats = env.driver(report_dynamic_total_capacity=False).get_volume_stats()
        assert stats["total_capacity_gb"] == 10.0
        assert 0 < stats["free_capacity_gb"] <= 10.0
    finally:
        mon_command(env.rados, "osd pool set-quota", pool=env.volumes, field="max_bytes",
                    val="0")
