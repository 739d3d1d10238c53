"""Guest disks (Nova's libvirt Rbd image backend) on the embedded engine.

The cluster is provisioned as ``shoal up`` does it (the guide's pools and users). Images
are stored as Glance stores them (``RbdStore`` as client.glance: ``images/<id>`` with a
protected snapshot ``snap``, 8 MiB objects); the disks are made in ``vms`` as
client.cinder (rwx on vms, rx on images), so every operation goes through the guide's
caps; checks look as client.admin.
"""

from __future__ import annotations

import dataclasses
import random
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

import shoal.rbd as rbd
import shoal.services.compute.disks._driver as driver_module
from shoal import errors
from shoal.config import load_config
from shoal.objstore import IoCtx
from shoal.services.compute.disks import (
    MADE_KEY,
    DiskBusy,
    DiskImage,
    DiskImageUnacceptable,
    DiskInfo,
    DiskOptions,
    DiskPlan,
    DownloadRefused,
    FlavorTooSmall,
    GuestDisks,
    MadeDisk,
)
from shoal.services.image.store import RbdStore
from shoal.services.volume.driver import BackendAccessDenied, BackendUnavailable
from tests.unit._guide_cluster import GuideCluster

MiB = 1 << 20
GiB = 1 << 30
OTHER_FSID = "00000000-0000-0000-0000-000000000000"


class Env(GuideCluster):
    """A provisioned embedded cluster, the image store as client.glance, disks as cinder."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.cinder = self.session("client.cinder")
        self.glance = RbdStore(self.session("client.glance"))

    def disks(self, **options: Any) -> GuestDisks:
        values: dict[str, Any] = {"pool": "vms", "destroy_retry_interval_s": 0}
        values.update(options)
        return GuestDisks(self.cinder, DiskOptions(**values))

    def store(self, data: bytes) -> DiskImage:
        """``data`` stored as a new Glance image; the image as the disks see it."""
        image_id = str(uuid.uuid4())
        location = self.glance.add(image_id, [data], len(data)).location
        return DiskImage(image_id, "raw", len(data), len(data), (location,),
                         lambda: iter([data]))

    def vms(self) -> IoCtx:
        return self.io("vms")

    def names(self, pool: str = "vms") -> list[str]:
        return sorted(rbd.RBD().list(self.io(pool)))

    def image(self, name: str, pool: str = "vms") -> rbd.Image:
        return rbd.Image(self.io(pool), name, read_only=True)

    def parent(self, name: str) -> tuple[str, str, str] | None:
        with self.image(name) as img:
            try:
                return img.parent_info()
            except rbd.ImageNotFound:
                return None

    def read(self, name: str, offset: int, length: int) -> bytes:
        with self.image(name) as img:
            return img.read(offset, length)

    def image_id(self, name: str) -> str:
        with self.image(name) as img:
            return img.id()


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    e = Env(tmp_path)
    yield e
    e.close()


@pytest.fixture
def disks(env: Env) -> GuestDisks:
    return env.disks()


def payload(size: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(size)


def server() -> str:
    return str(uuid.uuid4())


def pieces(data: bytes, size: int = MiB) -> Callable[[], Iterable[bytes]]:
    return lambda: (data[i:i + size] for i in range(0, len(data), size))


def elsewhere(image: DiskImage, **changes: Any) -> DiskImage:
    """``image`` as if Glance kept it in another cluster (same data)."""
    fields = {"locations": (f"rbd://{OTHER_FSID}/images/{image.id}/snap",), **changes}
    return dataclasses.replace(image, **fields)


# --- options ----------------------------------------------------------------------------
def test_options_from_config(tmp_path: Path) -> None:
    conf = tmp_path / "shoal.conf"
    conf.write_text("[libvirt]\nimages_type = rbd\nimages_rbd_pool = vms\nrbd_user = cinder\n"
                    "rbd_destroy_volume_retries = 3\nrbd_destroy_volume_retry_interval = 2\n"
                    "[workarounds]\nnever_download_image_if_on_rbd = true\n")
    assert DiskOptions.from_config(load_config(file=conf, environ={})) == DiskOptions(
        pool="vms", never_download=True, destroy_retries=3, destroy_retry_interval_s=2.0)
    empty = tmp_path / "empty.conf"
    empty.write_text("")
    assert DiskOptions.from_config(load_config(file=empty, environ={})) == DiskOptions(
        pool="rbd", never_download=False, destroy_retries=12, destroy_retry_interval_s=5.0)


@pytest.mark.parametrize("bad", [{"pool": ""}, {"destroy_retries": -1},
                                 {"destroy_retry_interval_s": -0.5}])
def test_options_refuse_bad_values(bad: dict[str, Any]) -> None:
    with pytest.raises(errors.InvalidArgument):
        DiskOptions(**bad)


# --- create -------------------------------------------------------------------------------
def test_root_disk_is_a_copy_on_write_clone_of_the_image(env: Env, disks: GuestDisks) -> None:
    data = payload(9 * MiB + 3, seed=2)
    image = env.store(data)
    sid = server()
    beats: list[int] = []
    made = disks.create(sid, image, DiskPlan(root_gb=2, ephemeral_gb=1, swap_mb=512),
                        heartbeat=lambda: beats.append(1))
    assert made == [
        MadeDisk(f"{sid}_disk", 2 * GiB, f"images/{image.id}@snap", "clone"),
        MadeDisk(f"{sid}_disk.local", GiB, None, "blank"),
        MadeDisk(f"{sid}_disk.swap", 512 * MiB, None, "blank"),
    ]
    assert len(beats) == 3  # one per disk; a clone streams nothing
    assert env.parent(f"{sid}_disk") == ("images", image.id, "snap")
    with env.image(f"{sid}_disk") as img:
        assert img.size() == 2 * GiB
        assert img.overlap() == len(data)
        assert img.order() == 23  # the parent's (Glance's 8 MiB objects)
        assert img.read(0, len(data)) == data
        assert img.read(len(data), 4096) == bytes(4096)
        assert dict(img.metadata_list())[MADE_KEY] == "clone"
        assert img.features() & rbd.FEATURE_LAYERING
    for name in (f"{sid}_disk.local", f"{sid}_disk.swap"):
        assert env.parent(name) is None
        assert env.read(name, 0, 4096) == bytes(4096)
    assert disks.disks(sid) == [
        DiskInfo(f"{sid}_disk", 2 * GiB, f"images/{image.id}@snap", "clone"),
        DiskInfo(f"{sid}_disk.local", GiB, None, "blank"),
        DiskInfo(f"{sid}_disk.swap", 512 * MiB, None, "blank"),
    ]
    assert all(d.complete for d in disks.disks(sid))


def test_root_gb_zero_keeps_the_images_size(env: Env, disks: GuestDisks) -> None:
    image = env.store(payload(3 * MiB))
    sid = server()
    (root,) = disks.create(sid, image, DiskPlan())
    assert (root.size, root.how) == (3 * MiB, "clone")
    assert env.names() == [f"{sid}_disk"]


def test_boot_from_volume_makes_no_root_disk(env: Env, disks: GuestDisks) -> None:
    sid = server()
    assert disks.create(sid, None, DiskPlan(root_gb=10)) == []
    assert disks.create(sid, None, DiskPlan(root_gb=10, swap_mb=64)) == [
        MadeDisk(f"{sid}_disk.swap", 64 * MiB, None, "blank")]
    assert env.names() == [f"{sid}_disk.swap"]


def test_create_again_keeps_what_is_there(env: Env, disks: GuestDisks) -> None:
    image = env.store(payload(MiB))
    sid = server()
    plan = DiskPlan(root_gb=1, ephemeral_gb=1)
    first = disks.create(sid, image, plan)
    ids = {name: env.image_id(name) for name in env.names()}
    assert disks.create(sid, image, plan) == first
    assert {name: env.image_id(name) for name in env.names()} == ids  # nothing remade
    grown = disks.create(sid, image, DiskPlan(root_gb=2, ephemeral_gb=1))
    assert grown[0].size == 2 * GiB and env.image_id(f"{sid}_disk") == ids[f"{sid}_disk"]


def test_a_flavor_smaller_than_the_image_is_refused(env: Env, disks: GuestDisks) -> None:
    """Nothing is made: the sizes are checked first (a 2 GiB sparse image, as Glance
    stores one, against a 1 GiB flavor)."""
    image_id = str(uuid.uuid4())
    rbd.RBD().create(env.io("images"), image_id, 2 * GiB, order=23)
    with rbd.Image(env.io("images"), image_id) as img:
        img.create_snap("snap")
        img.protect_snap("snap")
    fsid = env.admin.get_fsid()
    image = DiskImage(image_id, "raw", 2 * GiB, None, (f"rbd://{fsid}/images/{image_id}/snap",),
                      lambda: iter([]))
    sid = server()
    with pytest.raises(FlavorTooSmall) as info:
        disks.create(sid, image, DiskPlan(root_gb=1, ephemeral_gb=1))
    assert info.value.http_status == 400
    with pytest.raises(FlavorTooSmall):  # downloading checks the same
        disks.create(sid, elsewhere(image), DiskPlan(root_gb=1))
    assert env.names() == []
    assert disks.create(sid, image, DiskPlan(root_gb=2))[0].size == 2 * GiB


def test_an_image_that_is_not_cloneable_is_downloaded(env: Env, disks: GuestDisks) -> None:
    data = payload(6 * MiB, seed=3) + bytes(8 * MiB) + payload(MiB + 5, seed=4)
    stored = env.store(data)
    beats: list[int] = []
    for image in (elsewhere(stored, raw_data=pieces(data)),  # another cluster
                  elsewhere(stored, locations=(), raw_data=pieces(data)),  # no location
                  DiskImage(stored.id, "qcow2", MiB, len(data), stored.locations,
                            pieces(data))):  # not raw: its data comes converted
        sid = server()
        beats.clear()
        made = disks.create(sid, image, DiskPlan(root_gb=1), heartbeat=lambda: beats.append(1))
        assert made == [MadeDisk(f"{sid}_disk", GiB, None, "import")]
        assert len(beats) == 17  # after each of the 16 pieces, and after the disk
        assert env.parent(f"{sid}_disk") is None
        assert env.read(f"{sid}_disk", 0, len(data)) == data
        assert env.read(f"{sid}_disk", len(data), MiB) == bytes(MiB)
        assert disks.disks(sid)[0].how == "import"


def test_never_download_refuses_what_cannot_be_cloned(env: Env) -> None:
    disks = env.disks(never_download=True)
    stored = env.store(payload(MiB, seed=5))

    def no_download() -> Iterable[bytes]:
        raise AssertionError("downloaded")

    sid = server()
    for image in (elsewhere(stored, raw_data=no_download),
                  elsewhere(stored, locations=(), raw_data=no_download),
                  DiskImage(stored.id, "qcow2", MiB, MiB, stored.locations, no_download)):
        with pytest.raises(DownloadRefused) as info:
            disks.create(sid, image, DiskPlan(root_gb=1, swap_mb=16))
        assert stored.id in str(info.value)
        assert "never_download_image_if_on_rbd" in str(info.value)
        assert info.value.http_status == 400
        assert isinstance(info.value, DiskImageUnacceptable)
    assert "another cluster" not in str(info.value) and "not raw" in str(info.value)
    assert env.names() == []
    assert disks.create(sid, stored, DiskPlan(root_gb=1))[0].how == "clone"


def test_data_larger_than_the_disk_is_refused(env: Env, disks: GuestDisks) -> None:
    stored = env.store(payload(MiB))
    image = elsewhere(stored, virtual_size=MiB, raw_data=pieces(payload(2 * MiB)))
    with pytest.raises(DiskImageUnacceptable, match="larger than the root disk"):
        disks.create(server(), image, DiskPlan(ephemeral_gb=1))
    assert env.names() == []


def test_a_failed_create_removes_what_it_made(env: Env, disks: GuestDisks) -> None:
    image = env.store(payload(MiB))
    sid = server()
    calls: list[int] = []

    def lease_lost() -> None:
        calls.append(1)
        if len(calls) == 2:
            raise errors.Canceled("the task's lease was lost")

    with pytest.raises(errors.Canceled):
        disks.create(sid, image, DiskPlan(root_gb=1, ephemeral_gb=1, swap_mb=8),
                     heartbeat=lease_lost)
    assert env.names() == []
    # a root disk complete from an earlier run is not this call's: it stays
    disks.create(sid, image, DiskPlan(root_gb=1))
    calls.clear()
    with pytest.raises(errors.Canceled):
        disks.create(sid, image, DiskPlan(root_gb=1, ephemeral_gb=1, swap_mb=8),
                     heartbeat=lease_lost)
    assert env.names() == [f"{sid}_disk"]


@pytest.fixture
def crash(monkeypatch: pytest.MonkeyPatch) -> None:
    """The process dies in the middle of a create: nothing of its clean-up runs."""
    monkeypatch.setattr(GuestDisks, "_discard", staticmethod(lambda pool, name: None))


@pytest.mark.usefixtures("crash")
def test_a_download_cut_short_by_a_crash_is_made_again(env: Env, disks: GuestDisks) -> None:
    data = payload(12 * MiB, seed=6)
    stored = env.store(data)

    def cut_short() -> Iterator[bytes]:
        yield data[:8 * MiB]
        raise RuntimeError("killed")

    sid = server()
    with pytest.raises(RuntimeError):
        disks.create(sid, elsewhere(stored, raw_data=cut_short), DiskPlan(root_gb=1))
    (left,) = disks.disks(sid)
    assert (left.name, left.complete, left.how) == (f"{sid}_disk", False, None)
    half = env.image_id(f"{sid}_disk")
    made = disks.create(sid, elsewhere(stored, raw_data=pieces(data)), DiskPlan(root_gb=1))
    assert made == [MadeDisk(f"{sid}_disk", GiB, None, "import")]
    assert env.image_id(f"{sid}_disk") != half  # removed and made again
    assert env.read(f"{sid}_disk", 0, len(data)) == data
    # an incomplete download left where the image is now cloneable: a clone replaces it
    sid2 = server()
    with pytest.raises(RuntimeError):
        disks.create(sid2, elsewhere(stored, raw_data=cut_short), DiskPlan(root_gb=1))
    assert disks.create(sid2, stored, DiskPlan(root_gb=1))[0].how == "clone"
    assert env.parent(f"{sid2}_disk") == ("images", stored.id, "snap")


@pytest.mark.usefixtures("crash")
def test_a_clone_left_by_a_crash_is_finished(env: Env, disks: GuestDisks,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    image = env.store(payload(MiB, seed=7))
    sid = server()
    finish = GuestDisks._finish

    def killed(*args: Any) -> int:
        raise RuntimeError("killed")

    monkeypatch.setattr(GuestDisks, "_finish", staticmethod(killed))
    with pytest.raises(RuntimeError):
        disks.create(sid, image, DiskPlan(root_gb=1, ephemeral_gb=1))
    assert disks.disks(sid) == [DiskInfo(f"{sid}_disk", MiB, f"images/{image.id}@snap", None)]
    clone_id = env.image_id(f"{sid}_disk")
    monkeypatch.setattr(GuestDisks, "_finish", staticmethod(finish))
    made = disks.create(sid, image, DiskPlan(root_gb=1, ephemeral_gb=1))
    assert [(d.how, d.size) for d in made] == [("clone", GiB), ("blank", GiB)]
    assert env.image_id(f"{sid}_disk") == clone_id  # the clone was kept and finished


@pytest.mark.usefixtures("crash")
def test_an_incomplete_blank_disk_is_made_again(env: Env, disks: GuestDisks) -> None:
    sid = server()
    rbd.RBD().create(env.vms(), f"{sid}_disk.local", MiB)  # created, never marked
    with rbd.Image(env.vms(), f"{sid}_disk.local") as img:
        img.write(b"junk", 0)
    assert disks.create(sid, None, DiskPlan(ephemeral_gb=1)) == [
        MadeDisk(f"{sid}_disk.local", GiB, None, "blank")]
    assert env.read(f"{sid}_disk.local", 0, 4) == bytes(4)


def test_a_disk_made_meanwhile_by_another_create_is_left_alone(
        env: Env, disks: GuestDisks, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two creates of one server at once (a caller's bug): the loser fails with
    AlreadyExists (409) and does not remove the winner's disk."""
    image = env.store(payload(MiB))
    sid = server()
    disks.create(sid, image, DiskPlan(root_gb=1, swap_mb=8))
    monkeypatch.setattr(driver_module, "_inspect", lambda pool, name: None)  # it looked first
    for image_or_none in (image, None):
        with pytest.raises(errors.AlreadyExists):
            disks.create(sid, image_or_none, DiskPlan(root_gb=1, swap_mb=8))
    assert env.names() == [f"{sid}_disk", f"{sid}_disk.swap"]


# --- remove ---------------------------------------------------------------------------------
def test_remove_takes_every_disk_of_the_server(env: Env, disks: GuestDisks) -> None:
    image = env.store(payload(MiB))
    sid, other = server(), server()
    disks.create(sid, image, DiskPlan(root_gb=1, ephemeral_gb=1, swap_mb=8))
    disks.create(other, image, DiskPlan(root_gb=1))
    rbd.RBD().create(env.vms(), f"{sid}_disk.config", MiB)  # a config drive
    with rbd.Image(env.vms(), f"{sid}_disk") as img:  # a resize snapshot, protected
        img.create_snap("nova-resize")
        img.protect_snap("nova-resize")
    assert disks.remove(sid) == sorted(
        f"{sid}_disk{suffix}" for suffix in ("", ".config", ".local", ".swap"))
    assert env.names() == [f"{other}_disk"]
    assert disks.remove(sid) == []
    assert disks.disks(sid) == []
    with env.image(image.id, "images") as img:  # the image is untouched
        assert img.size() == MiB
    assert disks.remove(other) == [f"{other}_disk"]
    with pytest.raises(errors.InvalidArgument):
        disks.remove("")


def test_remove_retries_a_busy_disk(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    disks = env.disks(destroy_retries=3, destroy_retry_interval_s=0.25)
    sid = server()
    disks.create(sid, None, DiskPlan(ephemeral_gb=1, swap_mb=8))
    pauses: list[int] = []
    monkeypatch.setattr(disks, "_pause", lambda: pauses.append(1))
    guest = rbd.Image(env.vms(), f"{sid}_disk.local")  # a running guest: it watches
    try:
        guest.write(b"x", 0)
        with pytest.raises(DiskBusy) as info:
            disks.remove(sid)
        assert len(pauses) == 3  # 4 tries
        assert info.value.busy == [f"{sid}_disk.local"]
        assert info.value.removed == [f"{sid}_disk.swap"]
        assert info.value.http_status == 409
        message = str(info.value)
        assert f"vms/{sid}_disk.local" in message and "4 tries 0.25 s apart" in message
        assert "open by another client" in message
        assert "rbd_destroy_volume_retries" in message
        assert env.names() == [f"{sid}_disk.local"]
        pauses.clear()

        def guest_stops() -> None:
            pauses.append(1)
            if len(pauses) == 2:
                guest.close()

        monkeypatch.setattr(disks, "_pause", guest_stops)
        assert disks.remove(sid) == [f"{sid}_disk.local"]
        assert len(pauses) == 2
    finally:
        guest.close()
    assert env.names() == []


def test_remove_reports_snapshots_with_clones(env: Env) -> None:
    disks = env.disks(destroy_retries=1)
    sid = server()
    disks.create(sid, None, DiskPlan(ephemeral_gb=1))
    with rbd.Image(env.vms(), f"{sid}_disk.local") as img:
        img.create_snap("s")
        img.protect_snap("s")
    rbd.RBD().clone(env.vms(), f"{sid}_disk.local", "s", env.vms(), "a-clone")
    with pytest.raises(DiskBusy, match="clones of its snapshots s exist"):
        disks.remove(sid)
    rbd.RBD().remove(env.vms(), "a-clone")
    assert disks.remove(sid) == [f"{sid}_disk.local"]


# --- caps and configuration ---------------------------------------------------------------
def test_a_user_without_caps_on_the_pool_gets_a_clear_error(env: Env) -> None:
    image = env.store(payload(MiB))
    glance = GuestDisks(env.session("client.glance"), DiskOptions(pool="vms"))
    sid = server()
    for plan in (DiskPlan(root_gb=1), DiskPlan(ephemeral_gb=1)):
        with pytest.raises(BackendAccessDenied) as info:
            glance.create(sid, image if plan.root_gb else None, plan)
        assert "the compute driver's user client.glance is not allowed to use pool 'vms'" \
            in str(info.value)
        assert info.value.http_status == 503
    assert env.names() == []
    env.disks().create(sid, None, DiskPlan(ephemeral_gb=1))
    with pytest.raises(BackendAccessDenied):
        glance.remove(sid)
    assert env.names() == [f"{sid}_disk.local"]


def test_a_missing_pool_is_a_clear_error(env: Env) -> None:
    with pytest.raises(BackendUnavailable, match="compute backend's pool 'nopool'"):
        env.disks(pool="nopool").create(server(), None, DiskPlan(ephemeral_gb=1))


@pytest.mark.parametrize("bad", ["", None])
def test_a_server_id_is_needed(disks: GuestDisks, bad: Any) -> None:
    with pytest.raises(errors.InvalidArgument):
        disks.create(bad, None, DiskPlan(swap_mb=1))
    with pytest.raises(errors.InvalidArgument):
        disks.disks(bad)
