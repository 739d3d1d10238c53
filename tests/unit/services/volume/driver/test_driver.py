"""The RBD volume driver (Cinder's RBDDriver) on the embedded engine: create, clone,
snapshots, extend, connection info, stats, options.

The cluster is provisioned as ``shoal up`` does it (the guide's pools and users); the
driver runs as ``client.cinder`` with its keyring, so every operation goes through the
guide's caps (rwx on volumes and vms, rx on images); checks look as client.admin.
Deletion is in ``test_volume_driver_delete.py``, images in ``test_volume_driver_image.py``.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import shoal.rbd as rbd
import shoal.services.volume.driver as driver_pkg
from shoal import errors
from shoal.config import load_config
from shoal.objstore import IoCtx
from shoal.services.volume.driver import (
    BackendUnavailable,
    InvalidVolumeSize,
    RbdDriverOptions,
    RbdVolumeDriver,
    SnapshotExists,
    SnapshotIsBusy,
    SnapshotNotFound,
    VolumeExists,
    VolumeNotFound,
    parse_mon_addr,
    snapshot_name,
    volume_name,
)
from tests.unit._guide_cluster import GuideCluster

MiB = 1 << 20
GiB = 1 << 30
#: Per-image objects (everything else in a pool is shared bookkeeping).
IMAGE_OBJECT_PREFIXES = ("rbd_data.", "rbd_header.", "rbd_id.", "rbd_object_map.")


class Env(GuideCluster):
    """A provisioned embedded cluster, sessions on it, and drivers as client.cinder."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.cinder = self.session("client.cinder")

    def driver(self, **options: Any) -> RbdVolumeDriver:
        """A driver on ``volumes`` as client.cinder; busy retries do not wait."""
        values: dict[str, Any] = {"rbd_pool": "volumes", "rbd_user": "cinder",
                                  "rados_connection_interval": 0}
        features = options.pop("rbd_default_features", None)
        values.update(options)
        return RbdVolumeDriver(self.cinder, RbdDriverOptions(**values),
                               rbd_default_features=features)

    def io(self, pool: str = "volumes") -> IoCtx:
        return super().io(pool)

    def images(self, pool: str = "volumes") -> list[str]:
        return rbd.RBD().list(self.io(pool))

    def image(self, name: str, pool: str = "volumes", snapshot: str | None = None) -> rbd.Image:
        return rbd.Image(self.io(pool), name, snapshot=snapshot, read_only=True)

    def parent(self, name: str, pool: str = "volumes") -> tuple[str, str, str] | None:
        with self.image(name, pool) as img:
            try:
                return img.parent_info()
            except rbd.ImageNotFound:
                return None

    def snaps(self, name: str, pool: str = "volumes") -> dict[str, bool]:
        """{snapshot name: protected}."""
        with self.image(name, pool) as img:
            return {s["name"]: s["protected"] for s in img.list_snaps()}

    def read(self, name: str, offset: int, length: int, pool: str = "volumes") -> bytes:
        with self.image(name, pool) as img:
            return img.read(offset, length)

    def write(self, name: str, data: bytes, offset: int = 0, pool: str = "volumes") -> None:
        with rbd.Image(self.io(pool), name) as img:
            img.write(data, offset)

    def image_objects(self, pool: str = "volumes") -> set[str]:
        io = self.io(pool)
        names: set[str] = set()
        for prefix in IMAGE_OBJECT_PREFIXES:
            cursor = None
            while True:
                page = io.list_objects(prefix, cursor, 1000)
                names.update(page.names)
                cursor = page.cursor
                if cursor is None:
                    break
        return names


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    e = Env(tmp_path)
    yield e
    e.close()


@pytest.fixture
def drv(env: Env) -> RbdVolumeDriver:
    return env.driver()


ORDER = 22  # of the test drivers' volumes (Cinder's default 4 MiB objects)


def payload(size: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(size)


# --- names and options -----------------------------------------------------------------------
def test_names() -> None:
    assert volume_name("3f2a") == "volume-3f2a"
    assert snapshot_name("77") == "snapshot-77"
    assert driver_pkg.clone_snap_name("volume-b") == "volume-b.clone_snap"
    assert driver_pkg.clone_snap_name("volume-b.deleted") == "volume-b.clone_snap"


@pytest.mark.parametrize("bad", ["", "a/b", "a@b", "x" * 256, "tab\there", 7])
def test_ids_that_cannot_name_an_image_are_refused(env: Env, drv: RbdVolumeDriver,
                                                   bad: Any) -> None:
    with pytest.raises(errors.InvalidArgument) as info:
        drv.create_volume(bad, 1)
    assert info.value.http_status == 400
    with pytest.raises(errors.InvalidArgument):
        drv.create_snapshot("fine", bad)
    assert env.images() == []


def test_options_defaults_are_cinders() -> None:
    opts = RbdDriverOptions()
    assert (opts.rbd_pool, opts.rbd_user, opts.rbd_max_clone_depth) == ("rbd", None, 5)
    assert (opts.rbd_store_chunk_size, opts.order, opts.chunk_bytes) == (4, 22, 4 * MiB)
    assert opts.rbd_flatten_volume_from_snapshot is False
    assert opts.rbd_concurrent_flatten_operations == 3
    assert (opts.rados_connection_retries, opts.rados_connection_interval) == (3, 5.0)
    assert opts.rbd_exclusive_cinder_pool is True
    assert opts.report_dynamic_total_capacity is True


@pytest.mark.parametrize(("field", "value"), [
    ("rbd_pool", ""), ("rbd_store_chunk_size", 0), ("rbd_store_chunk_size", 3),
    ("rbd_store_chunk_size", 64), ("rbd_max_clone_depth", 65),
    ("rbd_concurrent_flatten_operations", -1), ("rados_connection_retries", -1),
    ("deferred_deletion_delay", -5),
])
def test_options_out_of_range_are_refused(field: str, value: Any) -> None:
    with pytest.raises(errors.InvalidArgument, match=field):
        RbdDriverOptions(**{field: value})


def test_options_from_config(tmp_path: Path) -> None:
    conf = tmp_path / "shoal.conf"
    conf.write_text(
        "[DEFAULT]\nenabled_backends = ceph\n\n"
        "[ceph]\nvolume_driver = cinder.volume.drivers.rbd.RBDDriver\n"
        "volume_backend_name = ceph-hdd\nrbd_pool = volumes\nrbd_user = cinder\n"
        "rbd_secret_uuid = 457eb676-33da-42ec-9a8c-9293d545c337\n"
        "rbd_flatten_volume_from_snapshot = true\nrbd_max_clone_depth = 2\n"
        "rbd_store_chunk_size = 8\nenable_deferred_deletion = true\n"
        "deferred_deletion_delay = 120\nrbd_concurrent_flatten_operations = 1\n"
        "rbd_exclusive_cinder_pool = false\n")
    opts = RbdDriverOptions.from_config(load_config(file=conf, environ={}), "ceph")
    assert opts == RbdDriverOptions(
        rbd_pool="volumes", rbd_user="cinder",
        rbd_secret_uuid="457eb676-33da-42ec-9a8c-9293d545c337",
        rbd_flatten_volume_from_snapshot=True, rbd_max_clone_depth=2, rbd_store_chunk_size=8,
        enable_deferred_deletion=True, deferred_deletion_delay=120,
        rbd_concurrent_flatten_operations=1, rbd_exclusive_cinder_pool=False,
        volume_backend_name="ceph-hdd")
    assert opts.order == 23
    with pytest.raises(errors.NotFound, match="no enabled cinder backend"):
        RbdDriverOptions.from_config(load_config(file=conf, environ={}), "lvm")


def test_options_from_config_refuse_another_driver(tmp_path: Path) -> None:
    conf = tmp_path / "shoal.conf"
    conf.write_text("[DEFAULT]\nenabled_backends = lvm\n\n"
                    "[lvm]\nvolume_driver = cinder.volume.drivers.lvm.LVMVolumeDriver\n")
    cfg = load_config(file=conf, environ={})  # loads, with a warning
    with pytest.raises(errors.InvalidArgument, match="not the RBD driver"):
        RbdDriverOptions.from_config(cfg, "lvm")


# --- create ----------------------------------------------------------------------------------
def test_create_volume(env: Env) -> None:
    drv = env.driver(rbd_store_chunk_size=4)  # Cinder's default
    drv.create_volume("a", 2)
    assert env.images() == ["volume-a"]
    with env.image("volume-a") as img:
        assert img.size() == 2 * GiB
        assert img.order() == 22
        assert img.features() == rbd.FEATURES_DEFAULT  # the cluster's rbd_default_features
        assert img.read(2 * GiB - 4096, 4096) == bytes(4096)
    assert drv.features == rbd.FEATURES_DEFAULT


def test_create_volume_order_follows_the_chunk_size(env: Env) -> None:
    env.driver(rbd_store_chunk_size=8).create_volume("big-objects", 1)
    env.driver(rbd_default_features=0).create_volume("layering", 1)
    with env.image("volume-big-objects") as img:
        assert img.order() == 23
    with env.image("volume-layering") as img:
        assert img.features() == rbd.FEATURE_LAYERING  # 0 means layering only, as Cinder


def test_create_existing_volume_is_409(env: Env, drv: RbdVolumeDriver) -> None:
    drv.create_volume("a", 1)
    env.write("volume-a", b"keep me")
    with pytest.raises(VolumeExists) as info:
        drv.create_volume("a", 3)
    assert info.value.http_status == 409
    assert env.read("volume-a", 0, 7) == b"keep me"


@pytest.mark.parametrize("size", [0, -1, True, 1.5, "1", 1 << 31])
def test_bad_sizes_are_400_and_make_nothing(env: Env, drv: RbdVolumeDriver, size: Any) -> None:
    with pytest.raises(InvalidVolumeSize) as info:
        drv.create_volume("a", size)
    assert info.value.http_status == 400
    assert env.images() == []


def test_missing_pool_is_503(env: Env) -> None:
    drv = env.driver(rbd_pool="no-such-pool")
    with pytest.raises(BackendUnavailable, match="no-such-pool") as info:
        drv.create_volume("a", 1)
    assert info.value.http_status == 503


def test_pool_the_user_may_not_write_is_503(env: Env) -> None:
    drv = env.driver(rbd_pool="backups")
    with pytest.raises(driver_pkg.BackendAccessDenied, match=r"client\.cinder") as info:
        drv.create_volume("a", 1)
    assert info.value.http_status == 503
    assert env.images("backups") == []


# --- cloned volumes -----------------------------------------------------------------------------
def test_clone_of_a_volume_is_a_cow_clone_of_a_clone_snap(env: Env, drv: RbdVolumeDriver) -> None:
    data = payload(MiB + 5)
    drv.create_volume("a", 1)
    env.write("volume-a", data)
    drv.create_cloned_volume("b", 2, "a")
    assert env.parent("volume-b") == ("volumes", "volume-a", "volume-b.clone_snap")
    assert env.snaps("volume-a") == {"volume-b.clone_snap": True}
    with env.image("volume-b") as img:
        assert img.size() == 2 * GiB  # grown past the source
        assert img.overlap() == GiB
        assert img.read(0, len(data)) == data
        assert img.read(GiB, 4096) == bytes(4096)
    env.write("volume-a", b"later")
    assert env.read("volume-b", 0, 5) == data[:5]  # a point-in-time copy


def test_clone_smaller_than_its_source_is_refused(env: Env, drv: RbdVolumeDriver) -> None:
    drv.create_volume("a", 2)
    with pytest.raises(InvalidVolumeSize, match="smaller than the source"):
        drv.create_cloned_volume("b", 1, "a")
    assert env.images() == ["volume-a"]
    assert env.snaps("volume-a") == {}


def test_clone_of_missing_source_or_onto_existing_volume(env: Env,
                                                         drv: RbdVolumeDriver) -> None:
    with pytest.raises(VolumeNotFound) as info:
        drv.create_cloned_volume("b", 1, "nope")
    assert info.value.http_status == 404
    drv.create_volume("a", 1)
    drv.create_volume("b", 1)
    with pytest.raises(VolumeExists):
        drv.create_cloned_volume("b", 1, "a")
    with pytest.raises(errors.InvalidArgument, match="into itself"):
        drv.create_cloned_volume("a", 1, "a")
    assert env.snaps("volume-a") == {}
    assert env.parent("volume-b") is None


def test_clone_chain_is_flattened_at_rbd_max_clone_depth(env: Env) -> None:
    drv = env.driver(rbd_max_clone_depth=2)
    data = payload(4096, seed=9)
    drv.create_volume("a", 1)
    env.write("volume-a", data)
    drv.create_cloned_volume("b", 1, "a")  # depth(a) = 0: a clone
    drv.create_cloned_volume("c", 1, "b")  # depth(b) = 1: a clone
    drv.create_cloned_volume("d", 1, "c")  # depth(c) = 2 >= 2: flattened
    assert env.parent("volume-b") == ("volumes", "volume-a", "volume-b.clone_snap")
    assert env.parent("volume-c") == ("volumes", "volume-b", "volume-c.clone_snap")
    assert env.parent("volume-d") is None
    assert env.snaps("volume-c") == {}  # the temporary snapshot went with the flatten
    assert env.read("volume-d", 0, len(data)) == data
    drv.create_cloned_volume("e", 1, "d")  # d starts a new chain
    assert env.parent("volume-e") == ("volumes", "volume-d", "volume-e.clone_snap")


def test_clone_depth_counts_only_volume_clones(env: Env) -> None:
    """A volume made from a snapshot does not count as a clone ancestor (Cinder's
    ``_get_clone_info`` wants the parent snapshot named ``<child>.clone_snap``)."""
    drv = env.driver(rbd_max_clone_depth=1)
    drv.create_volume("a", 1)
    drv.create_snapshot("a", "s")
    drv.create_volume_from_snapshot("x", 1, "a", "s")
    drv.create_cloned_volume("y", 1, "x")  # depth(x) = 0 < 1: stays a clone
    assert env.parent("volume-y") == ("volumes", "volume-x", "volume-y.clone_snap")
    drv.create_cloned_volume("z", 1, "y")  # depth(y) = 1: flattened
    assert env.parent("volume-z") is None


@pytest.mark.parametrize("depth", [0, -1])
def test_max_clone_depth_zero_makes_full_copies(env: Env, depth: int) -> None:
    drv = env.driver(rbd_max_clone_depth=depth)
    data = payload(3 * MiB, seed=4)
    drv.create_volume("a", 1)
    env.write("volume-a", data, 5 * MiB)
    drv.create_cloned_volume("b", 2, "a")
    assert env.parent("volume-b") is None
    assert env.snaps("volume-a") == {}
    with env.image("volume-b") as img:
        assert img.size() == 2 * GiB
        assert img.order() == ORDER
        assert img.read(5 * MiB, len(data)) == data
        assert img.read(0, 4096) == bytes(4096)


def test_failed_clone_leaves_nothing_behind(env: Env, drv: RbdVolumeDriver,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    drv.create_volume("a", 1)

    def no_space(self: rbd.Image, size: int, allow_shrink: bool = True) -> None:
        raise errors.NoSpace("injected: pool full")

    monkeypatch.setattr(rbd.Image, "resize", no_space)
    with pytest.raises(driver_pkg.BackendFull) as info:
        drv.create_cloned_volume("b", 2, "a")
    assert info.value.http_status == 413
    assert env.images() == ["volume-a"]
    assert env.snaps("volume-a") == {}


# --- snapshots ---------------------------------------------------------------------------------
def test_snapshots_are_protected_and_deleted(env: Env, drv: RbdVolumeDriver) -> None:
    drv.create_volume("a", 1)
    drv.create_snapshot("a", "s1")
    assert env.snaps("volume-a") == {"snapshot-s1": True}
    with pytest.raises(SnapshotExists) as exists:
        drv.create_snapshot("a", "s1")
    assert exists.value.http_status == 409
    with pytest.raises(VolumeNotFound):
        drv.create_snapshot("nope", "s2")
    drv.delete_snapshot("a", "s1")
    assert env.snaps("volume-a") == {}
    drv.delete_snapshot("a", "s1")  # gone already: fine
    drv.delete_snapshot("nope", "s1")  # no volume: nothing to delete


def test_delete_snapshot_flattens_its_clones(env: Env, drv: RbdVolumeDriver) -> None:
    data = payload(MiB, seed=5)
    drv.create_volume("a", 1)
    env.write("volume-a", data)
    drv.create_snapshot("a", "s")
    drv.create_volume_from_snapshot("b", 1, "a", "s")
    drv.create_volume_from_snapshot("c", 1, "a", "s")
    env.write("volume-a", bytes(MiB))
    drv.delete_snapshot("a", "s")
    assert env.snaps("volume-a") == {}
    for name in ("volume-b", "volume-c"):
        assert env.parent(name) is None
        assert env.read(name, 0, MiB) == data


def test_snapshot_with_clones_that_cannot_be_flattened_is_busy(env: Env) -> None:
    """A clone in a pool client.cinder may not touch (made by the admin) cannot be
    flattened: the snapshot stays, protected, and the delete answers 409."""
    drv = env.driver(rados_connection_retries=2)
    drv.create_volume("a", 1)
    drv.create_snapshot("a", "s")
    rbd.RBD().clone(env.io(), "volume-a", "snapshot-s", env.io("backups"), "foreign")
    with pytest.raises(SnapshotIsBusy, match="dependent volumes") as info:
        drv.delete_snapshot("a", "s")
    assert info.value.http_status == 409
    assert env.snaps("volume-a") == {"snapshot-s": True}
    assert env.parent("foreign", "backups") == ("volumes", "volume-a", "snapshot-s")
    rbd.RBD().remove(env.io("backups"), "foreign")
    drv.delete_snapshot("a", "s")
    assert env.snaps("volume-a") == {}


def test_revert_to_snapshot(env: Env, drv: RbdVolumeDriver) -> None:
    before, after = payload(MiB, seed=6), payload(MiB, seed=7)
    drv.create_volume("a", 1)
    env.write("volume-a", before)
    drv.create_snapshot("a", "s")
    env.write("volume-a", after)
    drv.extend_volume("a", 2)
    env.write("volume-a", after, GiB + MiB)
    drv.revert_to_snapshot("a", "s")
    with env.image("volume-a") as img:
        assert img.size() == GiB  # the snapshot's size
        assert img.read(0, MiB) == before
    drv.extend_volume("a", 2)
    env.write("volume-a", after, GiB + MiB)
    drv.revert_to_snapshot("a", "s", size_gib=2)  # grown back to the recorded size
    with env.image("volume-a") as img:
        assert img.size() == 2 * GiB
        assert img.read(0, MiB) == before
        assert img.read(GiB + MiB, MiB) == bytes(MiB)
    with pytest.raises(SnapshotNotFound):
        drv.revert_to_snapshot("a", "nope")
    with pytest.raises(VolumeNotFound):
        drv.revert_to_snapshot("nope", "s")


# --- volumes from snapshots -----------------------------------------------------------------------
def test_volume_from_snapshot_is_a_clone_grown_to_size(env: Env, drv: RbdVolumeDriver) -> None:
    data = payload(MiB, seed=8)
    drv.create_volume("a", 1)
    env.write("volume-a", data)
    drv.create_snapshot("a", "s")
    drv.create_volume_from_snapshot("b", 3, "a", "s")
    assert env.parent("volume-b") == ("volumes", "volume-a", "snapshot-s")
    with env.image("volume-b") as img:
        assert (img.size(), img.order(), img.overlap()) == (3 * GiB, ORDER, GiB)
        assert img.read(0, MiB) == data
    drv.create_snapshot("b", "t")
    with pytest.raises(InvalidVolumeSize, match="smaller than the snapshot"):
        drv.create_volume_from_snapshot("c", 2, "b", "t")
    with pytest.raises(SnapshotNotFound):
        drv.create_volume_from_snapshot("c", 1, "a", "nope")
    with pytest.raises(SnapshotNotFound):
        drv.create_volume_from_snapshot("c", 1, "nope", "s")
    with pytest.raises(VolumeExists):
        drv.create_volume_from_snapshot("b", 3, "a", "s")
    assert env.images() == ["volume-a", "volume-b"]


def test_volume_from_snapshot_flattened_when_configured(env: Env) -> None:
    drv = env.driver(rbd_flatten_volume_from_snapshot=True)
    data = payload(MiB, seed=10)
    drv.create_volume("a", 1)
    env.write("volume-a", data)
    drv.create_snapshot("a", "s")
    drv.create_volume_from_snapshot("b", 1, "a", "s")
    assert env.parent("volume-b") is None
    assert env.read("volume-b", 0, MiB) == data
    drv.delete_snapshot("a", "s")  # no clones left to flatten


@pytest.mark.parametrize("slots", [1, 2])
def test_flattens_are_throttled(env: Env, monkeypatch: pytest.MonkeyPatch, slots: int) -> None:
    drv = env.driver(rbd_flatten_volume_from_snapshot=True,
                     rbd_concurrent_flatten_operations=slots)
    drv.create_volume("a", 1)
    env.write("volume-a", payload(4096))
    drv.create_snapshot("a", "s")
    running, peak = 0, 0
    lock = threading.Lock()
    real_flatten: Callable[..., None] = rbd.Image.flatten

    def counting_flatten(self: rbd.Image, on_progress: Any = None) -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.2)  # long enough for the other threads to arrive
        try:
            real_flatten(self, on_progress)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(rbd.Image, "flatten", counting_flatten)
    failures: list[BaseException] = []

    def make(i: int) -> None:
        try:
            drv.create_volume_from_snapshot(f"v{i}", 1, "a", "s")
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=make, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert peak == slots
    assert all(env.parent(f"volume-v{i}") is None for i in range(3))


# --- extend ---------------------------------------------------------------------------------------
def test_extend_volume(env: Env, drv: RbdVolumeDriver) -> None:
    drv.create_volume("a", 1)
    env.write("volume-a", b"data", GiB - 4)
    drv.extend_volume("a", 3)
    drv.extend_volume("a", 3)  # the same size: nothing to do
    with env.image("volume-a") as img:
        assert img.size() == 3 * GiB
        assert img.read(GiB - 4, 8) == b"data" + bytes(4)
    with pytest.raises(InvalidVolumeSize, match="cannot shrink"):
        drv.extend_volume("a", 2)
    with pytest.raises(VolumeNotFound):
        drv.extend_volume("nope", 2)


# --- connection info ----------------------------------------------------------------------------
def test_initialize_connection(env: Env, drv: RbdVolumeDriver) -> None:
    drv.create_volume("a", 1)
    dump = json.loads(env.admin.mon_command({"prefix": "mon dump", "format": "json"}).outbuf)
    assert [m["addr"] for m in dump["mons"]] == ["127.0.0.1:6789/0"]
    info = drv.initialize_connection("a", {"host": "compute-1", "ip": "10.0.0.5"})
    assert info == {
        "driver_volume_type": "rbd",
        "data": {
            "name": "volumes/volume-a", "hosts": ["127.0.0.1"], "ports": ["6789"],
            "cluster_name": "ceph", "auth_enabled": True, "auth_username": "cinder",
            "secret_type": "ceph", "secret_uuid": env.admin.get_fsid(), "volume_id": "a",
            "discard": True,
        },
    }
    drv.terminate_connection("a", {"host": "compute-1"})
    with pytest.raises(VolumeNotFound):
        drv.initialize_connection("nope", {})


def test_initialize_connection_follows_options(env: Env) -> None:
    secret = "457eb676-33da-42ec-9a8c-9293d545c337"
    drv = env.driver(rbd_user=None, rbd_secret_uuid=secret, rbd_cluster_name="east")
    drv.create_volume("a", 1)
    data = drv.initialize_connection("a")["data"]
    assert (data["auth_enabled"], data["auth_username"]) == (False, None)
    assert (data["secret_uuid"], data["cluster_name"]) == (secret, "east")


@pytest.mark.parametrize(("addr", "expected"), [
    ("127.0.0.1:6789/0", ("127.0.0.1", "6789")),
    ("10.1.2.3:3300/12345", ("10.1.2.3", "3300")),
    ("[::1]:6789/0", ("::1", "6789")),
    ("[fd00::12]:6789/7", ("fd00::12", "6789")),
    ("v1:192.168.0.9:6789/0", ("192.168.0.9", "6789")),
])
def test_parse_mon_addr(addr: str, expected: tuple[str, str]) -> None:
    assert parse_mon_addr(addr) == expected


@pytest.mark.parametrize("bad", ["", "6789", "host:/0", "host:port/0", ":6789/0"])
def test_parse_mon_addr_refuses_garbage(bad: str) -> None:
    with pytest.raises(errors.InvalidArgument):
        parse_mon_addr(bad)


# --- stats ----------------------------------------------------------------------------------------
def test_volume_stats(env: Env, drv: RbdVolumeDriver) -> None:
    drv.create_volume("a", 1)
    env.write("volume-a", payload(2 * MiB))
    stats = drv.get_volume_stats()
    df = json.loads(env.admin.mon_command({"prefix": "df", "format": "json"}).outbuf)
    pool = next(p["stats"] for p in df["pools"] if p["name"] == "volumes")
    assert pool["stored"] >= 2 * MiB
    free = pool["max_avail"]
    fsid = env.admin.get_fsid()
    assert stats == {
        "vendor_name": "Open Source", "driver_version": driver_pkg.DRIVER_VERSION,
        "storage_protocol": "ceph", "volume_backend_name": "RBD",
        "total_capacity_gb": pytest.approx(round((free + pool["stored"]) / GiB, 2), abs=0.02),
        "free_capacity_gb": pytest.approx(round(free / GiB, 2), abs=0.02),
        "reserved_percentage": 0, "multiattach": True, "thin_provisioning_support": True,
        "max_over_subscription_ratio": 20.0,
        "location_info": f"ceph::{fsid}:cinder:volumes",
        "replication_enabled": False, "backend_state": "up",
    }
    static = env.driver(report_dynamic_total_capacity=False).get_volume_stats()
    assert static["total_capacity_gb"] == round(df["stats"]["total_bytes"] / GiB, 2)


def test_provisioned_capacity_for_shared_pools(env: Env) -> None:
    drv = env.driver(rbd_exclusive_cinder_pool=False, volume_backend_name="ceph-ssd")
    drv.create_volume("a", 2)
    drv.create_volume("b", 3)
    stats = drv.get_volume_stats()
    assert stats["provisioned_capacity_gb"] == 5.0
    assert stats["volume_backend_name"] == "ceph-ssd"
    assert "provisioned_capacity_gb" not in env.driver().get_volume_stats()


def test_stats_of_an_unreachable_backend_are_unknown(env: Env) -> None:
    drv = env.driver()
    env.cinder.shutdown()
    stats = drv.get_volume_stats()
    assert stats["backend_state"] == "down"
    assert stats["total_capacity_gb"] == stats["free_capacity_gb"] == "unknown"


# --- exports --------------------------------------------------------------------------------------
def test_all_matches_the_public_namespace() -> None:
    names = driver_pkg.__all__
    assert len(names) == len(set(names))
    assert names == sorted(names, key=lambda n: (not n.isupper(), n))
    public = {n for n in vars(driver_pkg) if not n.startswith("_") and n != "annotations"}
    assert public == set(names)


@pytest.mark.parametrize(("cls", "base", "status", "safe"), [
    (driver_pkg.VolumeNotFound, errors.NotFound, 404, True),
    (driver_pkg.SnapshotNotFound, errors.NotFound, 404, True),
    (driver_pkg.VolumeExists, errors.AlreadyExists, 409, True),
    (driver_pkg.SnapshotExists, errors.AlreadyExists, 409, True),
    (driver_pkg.VolumeIsBusy, errors.Busy, 409, True),
    (driver_pkg.SnapshotIsBusy, errors.Busy, 409, True),
    (driver_pkg.InvalidVolumeSize, errors.InvalidArgument, 400, True),
    (driver_pkg.ImageUnacceptable, errors.InvalidArgument, 400, True),
    (driver_pkg.BackendFull, errors.NoSpace, 413, True),
    (driver_pkg.BackendAccessDenied, errors.PermissionDenied, 503, True),
    (driver_pkg.BackendUnavailable, errors.Unavailable, 503, True),
    (driver_pkg.VolumeBackendError, errors.ShoalError, 500, False),
])
def test_error_statuses(cls: type[errors.ShoalError], base: type[errors.ShoalError],
                        status: int, safe: bool) -> None:
    assert issubclass(cls, base)
    assert (cls.http_status, cls.safe) == (status, safe)
