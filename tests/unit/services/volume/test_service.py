"""The volume service on the embedded engine: records, durable tasks, Cinder's rules, policy
and quotas. Real parts: a provisioned embedded cluster (the driver runs as client.cinder),
SQLite, the task runner's worker threads."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from shoal import errors
from shoal._time import utcnow
from shoal.db import Database
from shoal.services.tasks import ResourceRef, TaskRunner
from shoal.services.volume._service import (
    Backend,
    VolumeOptions,
    VolumeService,
    VolumeSource,
)
from shoal.services.volume._work import ImageData, VolumeWork
from shoal.services.volume.policy import PolicyNotAuthorized
from shoal.services.volume.quotas import QuotaDefaults, QuotaExceeded
from shoal.services.volume.records import VolumeRecord
from tests.unit.services.volume.driver.test_driver import Env

WAIT_S = 30
HOST = "shoal@ceph#ceph"


@dataclass(frozen=True)
class Caller:
    user_id: str
    project_id: str | None
    roles: frozenset[str]


ALICE = Caller("alice", "p1", frozenset({"member", "reader"}))
READER = Caller("rita", "p1", frozenset({"reader"}))
BOB = Caller("bob", "p2", frozenset({"member", "reader"}))
ADMIN = Caller("admin", "padmin", frozenset({"admin", "member", "reader"}))


class NoImages:
    """An image source with no images (the image tests live with the API work)."""

    def image(self, image_id: str, project_id: str | None, *, is_admin: bool = False
              ) -> ImageData:
        raise errors.NotFound(f"Image {image_id} could not be found.")

    def raw_data(self, image_id: str) -> Iterator[bytes]:
        raise errors.NotFound(f"Image {image_id} could not be found.")

    def unacceptable(self, image_id: str) -> str | None:
        return None

    def find_by_name(self, name: str, project_id: str | None) -> list[ImageData]:
        return []


@dataclass
class World:
    env: Env
    db: Database
    runner: TaskRunner
    service: VolumeService

    def settle(self, kind: str, ident: str) -> None:
        """Wait until every task of the resource has ended."""
        for task in self.runner.tasks_for(ResourceRef(kind, ident)):
            self.runner.wait(task.id, timeout_s=WAIT_S)

    def wait(self, record: VolumeRecord | str, status: str) -> VolumeRecord:
        """Wait until the volume's tasks end; return it as ``ADMIN`` sees it then."""
        volume_id = record if isinstance(record, str) else record.id
        self.settle("volume", volume_id)
        got = self.service.get_volume(ADMIN, volume_id)
        assert got.status == status
        return got


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    env = Env(tmp_path)
    db = Database(f"sqlite:///{tmp_path / 'shoal.db'}")
    db.upgrade()
    runner = TaskRunner(db, workers=2, poll_s=0.05)
    VolumeWork({"ceph": env.driver()}, NoImages(), utcnow).register(runner)
    options = VolumeOptions(backends=(Backend("ceph", "ceph", HOST),),
                            quota_defaults=QuotaDefaults(volumes=3, gigabytes=10))
    service = VolumeService(db, runner, NoImages(), options)
    service.ensure_default_type()
    runner.start()
    yield World(env, db, runner, service)
    runner.shutdown(wait_s=10)
    db.dispose()
    env.close()


def test_create_blank_volume_becomes_available(world: World) -> None:
    made = world.service.create_volume(ALICE, size=1, name="v1", metadata={"k": "v"})
    assert made.status == "creating"
    assert made.host == HOST
    got = world.wait(made, "available")
    assert got.name == "v1" and got.metadata == {"k": "v"} and got.size == 1
    assert got.volume_type_name == "__DEFAULT__"
    assert f"volume-{made.id}" in world.env.images()


def test_reader_may_not_create_and_others_do_not_see(world: World) -> None:
    with pytest.raises(PolicyNotAuthorized):
        world.service.create_volume(READER, size=1)
    made = world.service.create_volume(ALICE, size=1)
    world.wait(made, "available")
    assert world.service.get_volume(READER, made.id).id == made.id
    with pytest.raises(errors.NotFound, match=f"Volume {made.id} could not be found."):
        world.service.get_volume(BOB, made.id)
    assert world.service.list_volumes(BOB) == []
    assert [v.id for v in world.service.list_volumes(ADMIN, all_projects=True)] == [made.id]
    with pytest.raises(PolicyNotAuthorized):
        world.service.delete_volume(READER, made.id)


def test_quota_refuses_and_leaves_nothing(world: World) -> None:
    with pytest.raises(QuotaExceeded, match="Requested 11G, quota is 10G and 0G"):
        world.service.create_volume(ALICE, size=11)
    for _ in range(3):
        world.service.create_volume(ALICE, size=1)
    with pytest.raises(QuotaExceeded, match=r"Maximum number of volumes allowed \(3\)"):
        world.service.create_volume(ALICE, size=1)
    assert len(world.service.list_volumes(ALICE)) == 3
    assert len(world.service.create_volume(BOB, size=1).id) == 36  # per project


def test_snapshot_clone_and_delete_rules(world: World) -> None:
    vol = world.wait(world.service.create_volume(ALICE, size=2), "available")
    world.env.write(f"volume-{vol.id}", b"hello")
    snap = world.service.create_snapshot(ALICE, vol.id, name="s1")
    assert snap.status == "creating" and snap.volume_size == 2
    world.settle("snapshot", snap.id)
    assert world.service.get_snapshot(ALICE, snap.id).status == "available"
    with pytest.raises(errors.InvalidArgument, match="cannot be smaller than the snapshot"):
        world.service.create_volume(ALICE, size=1, source=VolumeSource(snapshot_id=snap.id))
    child = world.service.create_volume(ALICE, size=None,
                                        source=VolumeSource(snapshot_id=snap.id))
    child = world.wait(child, "available")
    assert child.size == 2 and child.snapshot_id == snap.id
    assert world.env.read(f"volume-{child.id}", 0, 5) == b"hello"
    with pytest.raises(errors.InvalidArgument, match="have snapshots"):
        world.service.delete_volume(ALICE, vol.id)
    world.service.delete_volume(ALICE, vol.id, cascade=True)
    world.settle("snapshot", snap.id)
    world.settle("volume", vol.id)
    with pytest.raises(errors.NotFound):
        world.service.get_volume(ADMIN, vol.id)
    # the clone keeps its data: the parent's image is hidden (.deleted) or flattened away
    assert world.env.read(f"volume-{child.id}", 0, 5) == b"hello"


def test_extend_rules_and_growth(world: World) -> None:
    vol = world.wait(world.service.create_volume(ALICE, size=1), "available")
    with pytest.raises(errors.InvalidArgument, match="must be greater than current size"):
        world.service.extend_volume(ALICE, vol.id, 1)
    with pytest.raises(QuotaExceeded):
        world.service.extend_volume(ALICE, vol.id, 11)
    world.service.extend_volume(ALICE, vol.id, 3)
    got = world.wait(vol, "available")
    assert got.size == 3
    with world.env.image(f"volume-{vol.id}") as img:
        assert img.size() == 3 << 30
