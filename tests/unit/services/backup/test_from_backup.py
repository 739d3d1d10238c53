"""Volumes made from a backup (Cinder's create with ``backup_id``, 3.47) on the embedded
engine: the statuses on the way, the restored bytes, Cinder's refusals (nothing recorded),
a failed restore (the volume ``error``, the backup ``available``, no image left) and a
resumed one (a runner that died mid-restore: its partial image is replaced)."""

from __future__ import annotations

import json
import random
import threading
from typing import Any

import pytest

from shoal import errors
from shoal._time import utcnow
from shoal.services.backup import BackupWork, create_volume_from_backup
from shoal.services.backup._from_backup import KIND
from shoal.services.backup._models import Backup
from shoal.services.backup.driver import BackupOptions, CephBackupDriver
from shoal.services.tasks import TaskRunner, TaskState
from shoal.services.tasks import _store as task_store
from shoal.services.tasks._owner import new_owner_id
from shoal.services.volume._work import VolumeWork
from shoal.services.volume.policy import PolicyNotAuthorized
from shoal.services.volume.quotas import QuotaExceeded
from tests.unit.services.backup.test_service import WAIT_S, MiB, World
from tests.unit.services.backup.test_service import world as world  # fixture
from tests.unit.services.volume.test_service import ADMIN, ALICE, BOB, READER, NoImages

LENGTH = 3 * MiB


def _backed_up(world: World, size: int = 1) -> tuple[str, str, bytes]:
    """A volume with random bytes and user metadata, and an available backup of it:
    (volume id, backup id, the bytes backed up)."""
    vid = world.volume(size, metadata={"k": "v"})
    data = random.Random(47).randbytes(LENGTH)
    world.env.write(f"volume-{vid}", data)
    backup = world.backup(vid, name="B")
    assert backup.status == "available"
    return vid, backup.id, data


def _volume_ids(world: World) -> set[str]:
    return {v.id for v in world.volumes.list_volumes(ADMIN, all_projects=True)}


def test_volume_from_backup_holds_its_bytes_and_metadata(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    vid, bid, data = _backed_up(world)
    gate = threading.Event()
    restore = CephBackupDriver.restore

    def held(self: CephBackupDriver, *args: Any, **kwargs: Any) -> Any:
        assert gate.wait(WAIT_S)
        return restore(self, *args, **kwargs)

    monkeypatch.setattr(CephBackupDriver, "restore", held)
    made = create_volume_from_backup(world.backups, ALICE, bid, size=None, name="from-b",
                                     metadata={"own": "1"})
    assert made.status == "creating" and made.size == 1 and made.name == "from-b"
    assert world.backups.get_backup(ALICE, bid).status == "restoring"
    assert world.volumes.get_volume(ALICE, made.id).status == "creating"
    with pytest.raises(errors.InvalidArgument, match="Backup status must be available"):
        world.backups.restore_backup(ALICE, bid)  # busy meanwhile, as a restore makes it
    gate.set()
    world.settle("backup", bid)
    done = world.volumes.get_volume(ALICE, made.id)
    assert done.status == "available" and done.metadata == {"own": "1", "k": "v"}
    assert world.read(made.id, LENGTH) == data
    assert world.backups.get_backup(ALICE, bid).status == "available"
    assert world.volumes.get_volume(ALICE, vid).status == "available"

    bigger = create_volume_from_backup(world.backups, ALICE, bid, size=2)
    world.settle("backup", bid)
    assert world.volumes.get_volume(ALICE, bigger.id).size == 2
    assert world.read(bigger.id, LENGTH) == data
    assert world.env.read(f"volume-{bigger.id}", 1 << 30, MiB) == bytes(MiB)


def test_refusals_record_nothing(world: World) -> None:
    vid, bid, _ = _backed_up(world, size=2)
    before = _volume_ids(world)
    missing = "00000000-0000-4000-8000-000000000000"
    with pytest.raises(errors.NotFound, match=f"Backup {missing} could not be found."):
        create_volume_from_backup(world.backups, ALICE, missing, size=None)
    with pytest.raises(errors.NotFound, match=f"Backup {bid} could not be found."):
        create_volume_from_backup(world.backups, BOB, bid, size=None)  # another project's
    with pytest.raises(errors.InvalidArgument, match="cannot be smaller than the backup "
                                                     "size 2GB"):
        create_volume_from_backup(world.backups, ALICE, bid, size=1)
    with pytest.raises(PolicyNotAuthorized):
        create_volume_from_backup(world.backups, READER, bid, size=None)
    with pytest.raises(errors.NotFound, match="Volume type with name nope"):
        create_volume_from_backup(world.backups, ALICE, bid, size=None, volume_type="nope")
    world.backups.reset_status(ADMIN, bid, "error")
    with pytest.raises(errors.InvalidArgument, match="Invalid backup: Originating backup "
                                                     "status must be one of 'available'"):
        create_volume_from_backup(world.backups, ALICE, bid, size=None)
    world.backups.reset_status(ADMIN, bid, "available")
    assert _volume_ids(world) == before
    assert world.backups.get_backup(ALICE, bid).status == "available"
    # an admin sees every project's backup; the volume is the admin's
    made = create_volume_from_backup(world.backups, ADMIN, bid, size=None)
    world.settle("backup", bid)
    assert world.volumes.get_volume(ADMIN, made.id).status == "available"
    assert world.volumes.get_volume(ADMIN, vid).project_id != made.project_id


def test_quota_counts_the_new_volume(world: World) -> None:
    from shoal.services.volume import QuotaSets

    _, bid, _ = _backed_up(world)
    QuotaSets(world.db, world.volumes.options.quota_defaults).update(
        ADMIN, ALICE.project_id or "", {"volumes": 1})
    before = _volume_ids(world)
    with pytest.raises(QuotaExceeded):
        create_volume_from_backup(world.backups, ALICE, bid, size=None)
    assert _volume_ids(world) == before
    assert world.backups.get_backup(ALICE, bid).status == "available"


def test_failed_restore_is_error_and_leaves_no_image(world: World) -> None:
    _, bid, _ = _backed_up(world)
    with world.db.session() as session:  # the backup's data gone from under its record
        row = session.get(Backup, bid)
        assert row is not None
        row.service_metadata = json.dumps({"base": f"volume-{bid}.backup.gone"})
    images = world.env.images()
    made = create_volume_from_backup(world.backups, ALICE, bid, size=None)
    world.settle("backup", bid)
    assert world.volumes.get_volume(ALICE, made.id).status == "error"
    assert world.backups.get_backup(ALICE, bid).status == "available"
    assert world.env.images() == images  # the partial volume-<id> was removed
    world.volumes.delete_volume(ALICE, made.id)  # an error volume deletes as any
    world.settle("volume", made.id)
    assert made.id not in _volume_ids(world)


def test_runner_killed_mid_restore_resumes_and_replaces_the_partial_image(
        world: World) -> None:
    _, bid, data = _backed_up(world)
    world.runner.shutdown(wait_s=10)
    # the next start's runner (not started yet: the task stays as the dead one left it)
    runner = TaskRunner(world.db, workers=2, poll_s=0.05)
    volume_driver = world.env.driver()
    VolumeWork({"ceph": volume_driver}, NoImages(), utcnow).register(runner)
    driver = CephBackupDriver(world.env.cinder, world.env.session("client.cinder-backup"),
                              BackupOptions(user="cinder-backup", chunk_size=MiB))
    BackupWork({"ceph": driver}, {"ceph": volume_driver}, utcnow).register(runner)
    world.runner = world.backups.runner = world.volumes.runner = runner
    made = create_volume_from_backup(world.backups, ALICE, bid, size=None)
    dead = new_owner_id()  # this process's, no runner uses it: certainly gone
    claimed = task_store.claim(world.db, dead, [KIND], 1)
    assert [t.kind for t in claimed] == [KIND]
    volume_driver.create_volume(made.id, 1)  # what the cut-short attempt wrote
    world.env.write(f"volume-{made.id}", b"half-written garbage" * 1000, offset=5 * MiB)
    report = runner.recover()
    assert report.resumed == (claimed[0].id,)
    runner.start()
    finished = runner.wait(claimed[0].id, timeout_s=WAIT_S)
    assert finished.state == TaskState.SUCCEEDED and finished.attempts == 2
    assert world.volumes.get_volume(ALICE, made.id).status == "available"
    assert world.read(made.id, LENGTH) == data
    assert world.env.read(f"volume-{made.id}", 5 * MiB, MiB) == bytes(MiB)
    assert world.backups.get_backup(ALICE, bid).status == "available"
