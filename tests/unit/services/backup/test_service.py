"""The backup service on the embedded engine: records, durable tasks, Cinder's rules, policy
and quotas. Real parts: a provisioned embedded cluster (volumes read as client.cinder, the
backups pool written as client.cinder-backup), SQLite, the task runner's worker threads;
restored bytes are read back and compared."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from shoal import errors
from shoal._time import utcnow
from shoal.db import Database
from shoal.services.backup import BackupService, BackupServiceOptions, BackupWork
from shoal.services.backup.driver import BackupOptions, CephBackupDriver
from shoal.services.tasks import ResourceRef, TaskRunner
from shoal.services.volume._service import Backend, VolumeOptions, VolumeService
from shoal.services.volume._work import VolumeWork
from shoal.services.volume.policy import PolicyNotAuthorized
from shoal.services.volume.quotas import QuotaDefaults, QuotaExceeded
from shoal.services.volume.records import BackupRecord
from tests.unit.services.volume.driver.test_driver import Env
from tests.unit.services.volume.test_service import ADMIN, ALICE, BOB, READER, NoImages

WAIT_S = 30
HOST = "shoal@ceph#ceph"
MiB = 1 << 20


@dataclass
class World:
    env: Env
    db: Database
    runner: TaskRunner
    volumes: VolumeService
    backups: BackupService

    def settle(self, kind: str, ident: str) -> None:
        for task in self.runner.tasks_for(ResourceRef(kind, ident)):
            self.runner.wait(task.id, timeout_s=WAIT_S)

    def volume(self, size: int = 1, **kwargs: object) -> str:
        made = self.volumes.create_volume(ALICE, size=size, **kwargs)  # type: ignore[arg-type]
        self.settle("volume", made.id)
        assert self.volumes.get_volume(ADMIN, made.id).status == "available"
        return made.id

    def backup(self, volume_id: str, **kwargs: object) -> BackupRecord:
        made = self.backups.create_backup(ALICE, volume_id, **kwargs)  # type: ignore[arg-type]
        self.settle("backup", made.id)
        return self.backups.get_backup(ADMIN, made.id)

    def read(self, volume_id: str, length: int) -> bytes:
        return self.env.read(f"volume-{volume_id}", 0, length)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    yield from _world(tmp_path)


def _world(tmp_path: Path, **backup_options: object) -> Iterator[World]:
    env = Env(tmp_path)
    db = Database(f"sqlite:///{tmp_path / 'shoal.db'}")
    db.upgrade()
    runner = TaskRunner(db, workers=2, poll_s=0.05)
    volume_driver = env.driver()
    VolumeWork({"ceph": volume_driver}, NoImages(), utcnow).register(runner)
    backup_session = env.session("client.cinder-backup")
    driver = CephBackupDriver(env.cinder, backup_session,
                              BackupOptions(user="cinder-backup", chunk_size=MiB,
                                            **backup_options))  # type: ignore[arg-type]
    BackupWork({"ceph": driver}, {"ceph": volume_driver}, utcnow).register(runner)
    options = VolumeOptions(backends=(Backend("ceph", "ceph", HOST),),
                            quota_defaults=QuotaDefaults(backups=2, backup_gigabytes=4))
    volumes = VolumeService(db, runner, NoImages(), options)
    volumes.ensure_default_type()
    backups = BackupService(db, runner, volumes, BackupServiceOptions(
        host="shoal", volume_pools={"ceph": "volumes"}))
    runner.start()
    yield World(env, db, runner, volumes, backups)
    runner.shutdown(wait_s=10)
    db.dispose()
    env.close()


def test_full_and_incremental_backups_restore_their_own_bytes(world: World) -> None:
    vid = world.volume(1, metadata={"k": "v"})
    first = random.Random(1).randbytes(3 * MiB)
    world.env.write(f"volume-{vid}", first)
    b1 = world.backups.create_backup(ALICE, vid, name="B1")
    assert b1.status == "creating"
    assert world.volumes.get_volume(ALICE, vid).status == "backing-up"
    world.settle("backup", b1.id)
    b1 = world.backups.get_backup(ALICE, b1.id)
    assert b1.status == "available" and b1.container == "backups" and not b1.is_incremental
    assert world.volumes.get_volume(ALICE, vid).status == "available"
    world.env.write(f"volume-{vid}", b"changed!" * 1000, offset=MiB)
    second = world.read(vid, 3 * MiB)
    b2 = world.backup(vid, name="B2", incremental=True)
    assert b2.status == "available" and b2.parent_id == b1.id and b2.is_incremental
    assert world.backups.get_backup(ALICE, b1.id).has_dependent_backups

    _, new_id, new_name = world.backups.restore_backup(ALICE, b1.id)
    assert new_name == f"restore_backup_{b1.id}"
    assert world.volumes.get_volume(ALICE, new_id).status == "restoring-backup"
    world.settle("backup", b1.id)
    restored = world.volumes.get_volume(ALICE, new_id)
    assert restored.status == "available" and restored.metadata == {"k": "v"}
    assert world.read(new_id, 3 * MiB) == first
    assert world.backups.get_backup(ALICE, b1.id).status == "available"

    target = world.volume(2)
    world.backups.restore_backup(ALICE, b2.id, volume_id=target)
    world.settle("backup", b2.id)
    assert world.volumes.get_volume(ALICE, target).status == "available"
    assert world.read(target, 3 * MiB) == second
    assert world.env.read(f"volume-{target}", 1 << 30, MiB) == bytes(MiB)  # excess zeroed

    # a parent with children is refused; children first, then the parent
    with pytest.raises(errors.InvalidArgument, match="Incremental backups exist"):
        world.backups.delete_backup(ALICE, b1.id)
    world.backups.delete_backup(ALICE, b2.id)
    world.settle("backup", b2.id)
    world.backups.delete_backup(ALICE, b1.id)
    world.settle("backup", b1.id)
    assert world.backups.list_backups(ALICE) == []
    assert world.env.images("backups") == []


def test_in_use_needs_force_and_returns_to_in_use(world: World) -> None:
    vid = world.volume()
    world.volumes.reset_status(ADMIN, vid, status="in-use", attach_status=None,
                               migration_status=None)
    with pytest.raises(errors.InvalidArgument, match="must use the force flag"):
        world.backups.create_backup(ALICE, vid)
    made = world.backup(vid, force=True)
    assert made.status == "available"
    assert world.volumes.get_volume(ALICE, vid).status == "in-use"


def test_rules_policy_and_quota(world: World) -> None:
    vid = world.volume()
    with pytest.raises(errors.InvalidArgument, match="No backups available"):
        world.backups.create_backup(ALICE, vid, incremental=True)
    with pytest.raises(PolicyNotAuthorized):
        world.backups.create_backup(READER, vid)
    with pytest.raises(errors.NotFound):
        world.backups.create_backup(BOB, vid)
    made = world.backup(vid)
    with pytest.raises(errors.NotFound, match=f"Backup {made.id} could not be found."):
        world.backups.get_backup(BOB, made.id)
    assert world.backups.get_backup(READER, made.id).id == made.id
    with pytest.raises(PolicyNotAuthorized):
        world.backups.delete_backup(READER, made.id)
    with pytest.raises(PolicyNotAuthorized):
        world.backups.reset_status(ALICE, made.id, "error")
    small = world.volume(1)
    big = world.volume(2)
    two = world.backup(big)
    with pytest.raises(errors.InvalidArgument, match="too small to restore"):
        world.backups.restore_backup(ALICE, two.id, volume_id=small)
    assert world.volumes.get_volume(ALICE, small).status == "available"
    with pytest.raises(QuotaExceeded, match="Requested 2G, quota is 4G and 3G"):
        world.backups.create_backup(ALICE, big)  # 1 + 2 + 2 > 4 GiB
    with pytest.raises(QuotaExceeded, match=r"Maximum number of backups allowed \(2\)"):
        world.backups.create_backup(ALICE, vid)  # 4 GiB fit, a third backup does not
    _, used = world.volumes.project_limits(ALICE)
    assert used["backups"] == 2 and used["backup_gigabytes"] == 3


def test_reset_force_delete_export_import(world: World) -> None:
    vid = world.volume()
    world.env.write(f"volume-{vid}", b"abc")
    made = world.backup(vid, metadata={"m": "1"})
    assert made.metadata == {"m": "1"}
    record = world.backups.export_record(ADMIN, made.id)
    assert record["backup_service"].startswith("cinder.backup.drivers")
    world.backups.reset_status(ADMIN, made.id, "error")
    assert world.backups.get_backup(ALICE, made.id).status == "error"
    with pytest.raises(errors.InvalidArgument, match="already exists"):
        world.backups.import_record(ADMIN, record["backup_service"], record["backup_url"])
    world.backups.delete_backup(ADMIN, made.id, force=True)
    world.settle("backup", made.id)
    with pytest.raises(errors.NotFound):
        world.backups.get_backup(ADMIN, made.id)
    with pytest.raises(errors.InvalidArgument):
        world.backups.import_record(ADMIN, "cinder.backup.drivers.swift", record["backup_url"])
    with pytest.raises(errors.InvalidArgument):
        world.backups.import_record(ADMIN, record["backup_service"], "not base64!")


def test_failed_backup_is_error_with_reason_and_leaves_nothing(world: World) -> None:
    vid = world.volume()
    world.volumes.delete_volume(ALICE, vid)
    world.settle("volume", vid)
    # the row went with the image: recreate a row whose image is missing
    other = world.volume()
    world.env.driver().delete_volume(other)
    made = world.backup(other)
    assert made.status == "error" and made.fail_reason
    assert world.volumes.get_volume(ALICE, other).status == "available"
    assert world.env.images("backups") == []


def test_resumed_backup_removes_what_the_cut_attempt_left(world: World) -> None:
    vid = world.volume()
    world.env.write(f"volume-{vid}", b"data")
    row = world.backups.create_backup(ALICE, vid)
    world.settle("backup", row.id)
    driver = CephBackupDriver(world.env.cinder, world.env.session("client.cinder-backup"),
                              BackupOptions(user="cinder-backup"))
    # what a killed attempt of another backup would leave: its base and source snapshot
    ghost = "0b5e7c0e-0000-4000-8000-000000000001"
    driver.backup(ghost, vid, "volumes", volume_size_gib=1)
    assert any(s.startswith(f"backup.{ghost}.") for s in world.env.snaps(f"volume-{vid}"))
    removed = driver.discard_partial(ghost, vid, "volumes")
    assert len(removed) == 1
    assert not any(s.startswith(f"backup.{ghost}.") for s in world.env.snaps(f"volume-{vid}"))
    assert world.env.images("backups") == [f"volume-{vid}.backup.{row.id}"]


def test_snapshot_backup_is_full_and_restores_the_snapshot(world: World) -> None:
    vid = world.volume()
    early = world.volumes.create_snapshot(ALICE, vid)
    with pytest.raises(errors.InvalidArgument, match='current status is "creating"'):
        world.backups.create_backup(ALICE, vid, snapshot_id=early.id)
    world.settle("snapshot", early.id)
    with pytest.raises(errors.InvalidArgument, match="No backups available"):
        world.backups.create_backup(ALICE, vid, snapshot_id=early.id, incremental=True)
    world.backup(vid)  # older than the snapshot below: the incremental request's parent
    world.env.write(f"volume-{vid}", b"at the snapshot")
    snap = world.volumes.create_snapshot(ALICE, vid, name="s")
    world.settle("snapshot", snap.id)
    world.env.write(f"volume-{vid}", b"after it, later")
    made = world.backups.create_backup(ALICE, vid, snapshot_id=snap.id, incremental=True)
    assert made.parent_id is not None
    assert world.volumes.get_snapshot(ALICE, snap.id).status == "backing-up"
    assert world.volumes.get_volume(ALICE, vid).status == "available"
    world.settle("backup", made.id)
    full = world.backups.get_backup(ALICE, made.id)
    assert full.status == "available" and full.snapshot_id == snap.id
    assert full.parent_id is None and not full.is_incremental  # a snapshot's is full
    assert world.volumes.get_snapshot(ALICE, snap.id).status == "available"
    _, new_id, _ = world.backups.restore_backup(ALICE, full.id)
    world.settle("backup", full.id)
    assert world.read(new_id, 15) == b"at the snapshot"


def test_pruned_parent_snapshot_forces_a_full_backup_with_a_message(tmp_path: Path) -> None:
    from shoal.services.volume import VolumeMessages

    for world in _world(tmp_path, max_snapshots=1):
        vid = world.volume()
        b1 = world.backup(vid)
        b2 = world.backup(vid, incremental=True)  # prunes b1's snapshot from the volume
        assert b2.parent_id == b1.id
        world.backups.delete_backup(ALICE, b2.id)
        world.settle("backup", b2.id)
        b3 = world.backup(vid, incremental=True)  # chains on b1, whose snapshot is gone
        assert b3.status == "available" and b3.parent_id is None and not b3.is_incremental
        messages = VolumeMessages(world.db, utcnow).list_messages(ALICE)
        assert [m.resource_uuid for m in messages] == [b3.id]
        assert "full backup was taken" in messages[0].user_message
