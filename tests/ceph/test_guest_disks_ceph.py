"""Guest disks (Nova's libvirt Rbd image backend) on a real Ceph cluster, through librbd.

Temporary pools stand for ``vms`` and ``images``; a temporary user gets the guide's cinder
caps on them (``allow class-read object_prefix rbd_children, allow rwx pool=<vms>, allow rx
pool=<images>``, ``mon 'allow r'``), another the guide's glance caps on the images pool,
through which the image store makes images as Glance does. The real ``rbd`` tool checks
parents, sizes, orders and the completion mark; the same checks as the embedded tests.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from shoal.cluster import BackendConfig, Session, open_session
from shoal.services.compute.disks import (
    MADE_KEY,
    DiskBusy,
    DiskImage,
    DiskOptions,
    DiskPlan,
    DownloadRefused,
    GuestDisks,
    MadeDisk,
)
from shoal.services.image.store import RbdStore
from shoal.services.volume.driver import BackendAccessDenied
from tests.ceph.conftest import CephCluster, import_ceph_bindings, mon_command, temporary_pool
from tests.ceph.test_volume_driver_ceph import _user
from tests.unit.services.compute.disks.test_driver import elsewhere, payload, pieces, server

MiB = 1 << 20
GiB = 1 << 30
CHILDREN = "allow class-read object_prefix rbd_children"


@dataclass
class Env:
    cluster: CephCluster
    rados: Any
    vms: str
    images: str
    cinder: Session
    glance: Session

    def rbd(self, *args: str) -> Any:
        """``rbd ARGS --format json`` as client.admin, parsed."""
        out = self.cluster.run("rbd", *args, "--format", "json").stdout
        return json.loads(out) if out.strip() else None

    def info(self, name: str) -> dict[str, Any]:
        return dict(self.rbd("info", f"{self.vms}/{name}"))

    def meta(self, name: str) -> dict[str, str]:
        return dict(self.rbd("image-meta", "list", f"{self.vms}/{name}") or {})

    def ls(self) -> list[str]:
        return sorted(self.rbd("ls", self.vms) or [])

    def disks(self, **options: Any) -> GuestDisks:
        values: dict[str, Any] = {"pool": self.vms, "destroy_retry_interval_s": 0}
        values.update(options)
        return GuestDisks(self.cinder, DiskOptions(**values))

    def store(self, data: bytes) -> DiskImage:
        image_id = str(uuid.uuid4())
        location = RbdStore(self.glance, pool=self.images).add(image_id, [data],
                                                                len(data)).location
        return DiskImage(image_id, "raw", len(data), len(data), (location,),
                         lambda: iter([data]))

    def handle(self, name: str, **kwargs: Any) -> tuple[Any, Any]:
        """A librbd image of the disks' pool as client.admin, and its ioctx."""
        _, rbd = import_ceph_bindings()
        ioctx = self.rados.open_ioctx(self.vms)
        return ioctx, rbd.Image(ioctx, name, **kwargs)

    def read(self, name: str, offset: int, length: int) -> bytes:
        ioctx, img = self.handle(name, read_only=True)
        try:
            return bytes(img.read(offset, length))
        finally:
            img.close()
            ioctx.close()


@pytest.fixture(scope="module")
def env(ceph_cluster: CephCluster, rados_cluster: Any,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp = tmp_path_factory.mktemp("guest-disks")
    with temporary_pool(rados_cluster, "vms") as vms, \
            temporary_pool(rados_cluster, "images") as images:
        cinder_entity, cinder_keyring = _user(
            rados_cluster, tmp, "cinder",
            f"{CHILDREN}, allow rwx pool={vms}, allow rx pool={images}")
        glance_entity, glance_keyring = _user(rados_cluster, tmp, "glance",
                                              f"{CHILDREN}, allow rwx pool={images}")
        config = BackendConfig(backend="ceph", ceph_conf=ceph_cluster.conf)
        cinder = open_session(config, name=cinder_entity, keyring=cinder_keyring)
        glance = open_session(config, name=glance_entity, keyring=glance_keyring)
        try:
            yield Env(ceph_cluster, rados_cluster, vms, images, cinder, glance)
        finally:
            cinder.shutdown()
            glance.shutdown()
            for entity in (cinder_entity, glance_entity):
                mon_command(rados_cluster, "auth rm", entity=entity)


def test_root_disk_is_a_clone_and_the_others_are_blank(env: Env) -> None:
    data = payload(9 * MiB + 3, seed=2)
    image = env.store(data)
    disks, sid = env.disks(), server()
    made = disks.create(sid, image, DiskPlan(root_gb=2, ephemeral_gb=1, swap_mb=512))
    assert made == [
        MadeDisk(f"{sid}_disk", 2 * GiB, f"{env.images}/{image.id}@snap", "clone"),
        MadeDisk(f"{sid}_disk.local", GiB, None, "blank"),
        MadeDisk(f"{sid}_disk.swap", 512 * MiB, None, "blank"),
    ]
    info = env.info(f"{sid}_disk")
    assert (info["parent"]["pool"], info["parent"]["image"], info["parent"]["snapshot"]) \
        == (env.images, image.id, "snap")
    assert info["parent"]["overlap"] == len(data)
    assert (info["size"], info["order"]) == (2 * GiB, 23)  # the parent's order
    assert "layering" in info["features"]
    assert env.meta(f"{sid}_disk") == {MADE_KEY: "clone"}
    assert env.read(f"{sid}_disk", 0, len(data)) == data
    assert env.info(f"{sid}_disk.swap")["size"] == 512 * MiB
    assert "parent" not in env.info(f"{sid}_disk.local")
    assert disks.create(sid, image, DiskPlan(root_gb=2, ephemeral_gb=1, swap_mb=512)) == made
    assert disks.remove(sid) == sorted(d.name for d in made)
    assert env.ls() == []


def test_download_and_never_download(env: Env) -> None:
    data = payload(5 * MiB, seed=3) + bytes(8 * MiB) + payload(MiB, seed=4)
    stored = env.store(data)
    sid = server()
    with pytest.raises(DownloadRefused) as info:
        env.disks(never_download=True).create(sid, elsewhere(stored), DiskPlan(root_gb=1))
    assert stored.id in str(info.value) and "never_download_image_if_on_rbd" in str(info.value)
    assert env.ls() == []
    beats: list[int] = []
    made = env.disks().create(sid, elsewhere(stored, raw_data=pieces(data)),
                              DiskPlan(root_gb=1), heartbeat=lambda: beats.append(1))
    assert made == [MadeDisk(f"{sid}_disk", GiB, None, "import")]
    assert len(beats) == 15
    assert "parent" not in env.info(f"{sid}_disk")
    assert env.meta(f"{sid}_disk") == {MADE_KEY: "import"}
    assert env.read(f"{sid}_disk", 0, len(data)) == data
    assert env.disks().remove(sid) == [f"{sid}_disk"]


def test_a_download_cut_short_by_a_crash_is_made_again(
        env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(GuestDisks, "_discard", staticmethod(lambda pool, name: None))
    data = payload(12 * MiB, seed=6)
    stored = env.store(data)

    def cut_short() -> Iterator[bytes]:
        yield data[:8 * MiB]
        raise RuntimeError("killed")

    disks, sid = env.disks(), server()
    with pytest.raises(RuntimeError):
        disks.create(sid, elsewhere(stored, raw_data=cut_short), DiskPlan(root_gb=1))
    assert env.ls() == [f"{sid}_disk"] and env.meta(f"{sid}_disk") == {}
    assert [d.complete for d in disks.disks(sid)] == [False]
    half = env.info(f"{sid}_disk")["id"]
    disks.create(sid, elsewhere(stored, raw_data=pieces(data)), DiskPlan(root_gb=1))
    assert env.info(f"{sid}_disk")["id"] != half
    assert env.meta(f"{sid}_disk") == {MADE_KEY: "import"}
    assert env.read(f"{sid}_disk", 0, len(data)) == data
    assert disks.remove(sid) == [f"{sid}_disk"]


def test_remove_retries_a_busy_disk_and_removes_snapshots(
        env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    disks, sid = env.disks(destroy_retries=2), server()
    disks.create(sid, None, DiskPlan(ephemeral_gb=1, swap_mb=8))
    ioctx, guest = env.handle(f"{sid}_disk.swap")  # a writer: it watches the header
    pauses: list[int] = []
    monkeypatch.setattr(disks, "_pause", lambda: pauses.append(1))
    try:
        guest.create_snap("nova-resize")
        guest.protect_snap("nova-resize")
        with pytest.raises(DiskBusy) as info:
            disks.remove(sid)
        assert len(pauses) == 2
        assert info.value.busy == [f"{sid}_disk.swap"]
        assert info.value.removed == [f"{sid}_disk.local"]
        assert "open by another client" in str(info.value)
    finally:
        guest.close()
        ioctx.close()
    assert disks.remove(sid) == [f"{sid}_disk.swap"]  # its protected snapshot first
    assert env.ls() == []


def test_a_user_without_caps_on_the_pool_gets_a_clear_error(env: Env) -> None:
    image = env.store(payload(MiB))
    glance = GuestDisks(env.glance, DiskOptions(pool=env.vms))
    sid = server()
    for plan in (DiskPlan(root_gb=1), DiskPlan(ephemeral_gb=1)):
        with pytest.raises(BackendAccessDenied, match=f"is not allowed to use pool '{env.vms}'"):
            glance.create(sid, image if plan.root_gb else None, plan)
    assert env.ls() == []
