"""Deleting volumes with the RBD volume driver on the embedded engine: backup snapshots,
``.deleted`` volumes kept for their clones, the parent walk (also after a plain removal,
where Cinder 29 skips it), flattening and the trash, busy volumes, deferred deletion and
the purge."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import shoal.rbd as rbd
from shoal.services.volume.driver import DeleteOutcome, RbdVolumeDriver, VolumeIsBusy
from tests.unit.services.volume.driver.test_driver import Env, MiB, payload


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    e = Env(tmp_path)
    yield e
    e.close()


@pytest.fixture
def drv(env: Env) -> RbdVolumeDriver:
    return env.driver()


def trash_names(env: Env) -> list[str]:
    return sorted(e["name"] for e in rbd.RBD().trash_list(env.io()))


def test_delete_removes_everything(env: Env, drv: RbdVolumeDriver) -> None:
    before = env.image_objects()
    drv.create_volume("a", 1)
    env.write("volume-a", payload(3 * MiB))
    assert drv.delete_volume("a") is DeleteOutcome.REMOVED
    assert env.images() == []
    assert env.image_objects() == before
    assert drv.delete_volume("a") is DeleteOutcome.ABSENT  # a retried delete succeeds


def test_delete_removes_backup_snapshots_first(env: Env, drv: RbdVolumeDriver) -> None:
    drv.create_volume("a", 1)
    with rbd.Image(env.io(), "volume-a") as img:
        img.create_snap("backup.5d1e0c2a-0b11-4f6e-a6a2-4a3d2c1b0a99.snap.1700000000.12")
        img.create_snap("backup.7.snap.1700000001.5")
    assert drv.delete_volume("a") is DeleteOutcome.REMOVED
    assert env.images() == []


def test_volume_with_clones_is_kept_as_deleted_until_they_go(env: Env,
                                                            drv: RbdVolumeDriver) -> None:
    data = payload(MiB, seed=3)
    drv.create_volume("a", 1)
    env.write("volume-a", data)
    drv.create_cloned_volume("b", 1, "a")
    assert drv.delete_volume("a") is DeleteOutcome.HIDDEN
    assert env.images() == ["volume-a.deleted", "volume-b"]
    assert env.snaps("volume-a.deleted") == {"volume-b.clone_snap": True}
    assert env.read("volume-b", 0, MiB) == data
    assert drv.delete_volume("a") is DeleteOutcome.ABSENT  # the volume is gone for Cinder
    assert drv.delete_volume("b") is DeleteOutcome.REMOVED
    assert env.images() == []
    assert trash_names(env) == []


def test_parent_walk_removes_a_chain_of_deleted_volumes(env: Env,
                                                       drv: RbdVolumeDriver) -> None:
    drv.create_volume("a", 1)
    drv.create_cloned_volume("b", 1, "a")
    drv.create_cloned_volume("c", 1, "b")
    drv.create_volume("other", 1)
    assert drv.delete_volume("a") is DeleteOutcome.HIDDEN
    assert drv.delete_volume("b") is DeleteOutcome.HIDDEN
    assert env.images() == ["volume-a.deleted", "volume-b.deleted", "volume-c",
                            "volume-other"]
    assert drv.delete_volume("c") is DeleteOutcome.REMOVED
    assert env.images() == ["volume-other"]


def test_deleting_a_clone_releases_its_live_parent(env: Env, drv: RbdVolumeDriver) -> None:
    """Cinder 29 returns right after a plain successful removal and leaves
    ``volume-a@volume-b.clone_snap`` behind for good; here the walk always runs."""
    drv.create_volume("a", 1)
    drv.create_cloned_volume("b", 1, "a")
    assert env.snaps("volume-a") == {"volume-b.clone_snap": True}
    assert drv.delete_volume("b") is DeleteOutcome.REMOVED
    assert env.snaps("volume-a") == {}
    assert drv.delete_volume("a") is DeleteOutcome.REMOVED  # nothing hides it any more
    assert env.images() == []


def test_clone_snap_without_clones_does_not_hide_the_volume(env: Env,
                                                           drv: RbdVolumeDriver) -> None:
    """A ``.clone_snap`` whose clone is gone (left by a crash) is removed, not kept."""
    drv.create_volume("a", 1)
    with rbd.Image(env.io(), "volume-a") as img:
        img.create_snap("volume-gone.clone_snap")
        img.protect_snap("volume-gone.clone_snap")
    assert drv.delete_volume("a") is DeleteOutcome.REMOVED
    assert env.images() == []


def test_volume_with_snapshots_flattens_their_clones_then_goes_to_the_trash(
        env: Env, drv: RbdVolumeDriver) -> None:
    """Cinder's API refuses to delete a volume with snapshots; the driver itself
    flattens their clones and, the snapshots remaining, moves the image to the trash."""
    data = payload(MiB, seed=4)
    drv.create_volume("a", 1)
    env.write("volume-a", data)
    drv.create_snapshot("a", "s")
    drv.create_volume_from_snapshot("b", 1, "a", "s")
    assert drv.delete_volume("a") is DeleteOutcome.TRASHED
    assert env.images() == ["volume-b"]
    assert trash_names(env) == ["volume-a"]
    assert env.parent("volume-b") is None
    assert env.read("volume-b", 0, MiB) == data


def test_volume_open_elsewhere_is_busy(env: Env) -> None:
    drv = env.driver(rados_connection_retries=2, rados_connection_interval=0.1)
    drv.create_volume("a", 1)
    with rbd.Image(env.io(), "volume-a") as attached:  # a writer, as an attached VM
        started = time.monotonic()
        with pytest.raises(VolumeIsBusy, match="in use") as info:
            drv.delete_volume("a")
        assert time.monotonic() - started >= 0.2  # two retries, 0.1 s apart
        assert info.value.http_status == 409
        assert env.images() == ["volume-a"]
        assert trash_names(env) == []
        attached.write(b"still usable", 0)
    assert drv.delete_volume("a") is DeleteOutcome.REMOVED


def test_deferred_deletion_trashes_and_purges(env: Env) -> None:
    drv = env.driver(enable_deferred_deletion=True, deferred_deletion_delay=3600)
    drv.create_volume("a", 1)
    drv.create_volume("kept", 1)
    assert drv.delete_volume("a") is DeleteOutcome.TRASHED
    assert env.images() == ["volume-kept"]
    assert trash_names(env) == ["volume-a"]
    assert drv.purge_trash() == 0  # not expired
    (entry,) = rbd.RBD().trash_list(env.io())
    rbd.RBD().trash_restore(env.io(), entry["id"])  # restorable until purged
    assert env.images() == ["volume-a", "volume-kept"]
    now = env.driver(enable_deferred_deletion=True, deferred_deletion_delay=0)
    assert now.delete_volume("a") is DeleteOutcome.TRASHED
    assert now.purge_trash() == 1
    assert trash_names(env) == []
    assert env.images() == ["volume-kept"]


def test_deferred_deletion_of_an_open_volume_is_busy(env: Env) -> None:
    drv = env.driver(enable_deferred_deletion=True, rados_connection_retries=1)
    drv.create_volume("a", 1)
    with rbd.Image(env.io(), "volume-a"), pytest.raises(VolumeIsBusy):
        drv.delete_volume("a")
    assert trash_names(env) == []
    assert drv.delete_volume("a") is DeleteOutcome.TRASHED


def test_purge_finishes_the_parent_walk_of_trashed_clones(env: Env) -> None:
    drv = env.driver(enable_deferred_deletion=True)
    drv.create_volume("a", 1)
    drv.create_cloned_volume("b", 1, "a")
    assert drv.delete_volume("a") is DeleteOutcome.HIDDEN
    assert drv.delete_volume("b") is DeleteOutcome.TRASHED
    # b sits in the trash, still a clone: a.deleted's snapshot cannot go yet
    assert env.images() == ["volume-a.deleted"]
    assert env.snaps("volume-a.deleted") == {"volume-b.clone_snap": True}
    assert drv.purge_trash() == 1  # b goes; a.deleted follows it into the trash
    assert env.images() == []
    assert trash_names(env) == ["volume-a.deleted"]
    assert drv.purge_trash() == 1
    assert trash_names(env) == []


def test_purge_sweeps_deleted_volumes_nothing_needs(env: Env, drv: RbdVolumeDriver) -> None:
    drv.create_volume("a", 1)
    drv.create_volume("b", 1)
    with rbd.Image(env.io(), "volume-a") as img:  # as a crash could leave it
        img.create_snap("volume-gone.clone_snap")
        img.protect_snap("volume-gone.clone_snap")
    rbd.RBD().rename(env.io(), "volume-a", "volume-a.deleted")
    assert drv.purge_trash() == 0
    assert env.images() == ["volume-b"]


def test_snapshot_of_a_deleted_volume_is_deleted_there(env: Env,
                                                       drv: RbdVolumeDriver) -> None:
    drv.create_volume("a", 1)
    drv.create_snapshot("a", "s")
    drv.create_cloned_volume("b", 1, "a")
    assert drv.delete_volume("a") is DeleteOutcome.HIDDEN
    assert env.snaps("volume-a.deleted") == {"snapshot-s": True, "volume-b.clone_snap": True}
    drv.delete_snapshot("a", "s")
    assert env.snaps("volume-a.deleted") == {"volume-b.clone_snap": True}
    assert drv.delete_volume("b") is DeleteOutcome.REMOVED
    assert env.images() == []


def test_last_snapshot_of_a_deleted_volume_takes_it_along(env: Env,
                                                          drv: RbdVolumeDriver) -> None:
    drv.create_volume("a", 1)
    drv.create_snapshot("a", "s")
    drv.create_cloned_volume("b", 1, "a")
    assert drv.delete_volume("a") is DeleteOutcome.HIDDEN
    # b leaves first (a.deleted keeps its user snapshot), then that snapshot
    assert drv.delete_volume("b") is DeleteOutcome.REMOVED
    assert env.images() == ["volume-a.deleted"]
    drv.delete_snapshot("a", "s")
    assert env.images() == []
