"""Generic volume groups on the embedded engine: group types and specs, groups and their
member volumes, group snapshots (one RBD snapshot per member), groups made from a source,
and Cinder's refusals. Real parts: a provisioned embedded cluster, SQLite, the task
runner's worker threads (the fixtures of :mod:`.test_service`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from shoal import errors
from shoal._time import utcnow
from shoal.db import Database
from shoal.services.tasks import TaskRunner
from shoal.services.volume._group_work import GroupWork
from shoal.services.volume._groups import VolumeGroups
from shoal.services.volume._service import Backend, VolumeOptions, VolumeService
from shoal.services.volume._types import VolumeTypes
from shoal.services.volume._work import VolumeWork
from shoal.services.volume.policy import PolicyNotAuthorized
from shoal.services.volume.quotas import QuotaDefaults, QuotaExceeded, usage_for
from tests.unit.services.volume.driver.test_driver import Env
from tests.unit.services.volume.test_service import (
    ADMIN,
    ALICE,
    BOB,
    HOST,
    READER,
    NoImages,
)
from tests.unit.services.volume.test_service import World as VolumeWorld


@dataclass
class World(VolumeWorld):
    groups: VolumeGroups
    types: VolumeTypes

    def volume(self, group_id: str, type_id: str, size: int = 1) -> str:
        """A new member volume, once ``available``."""
        made = self.service.create_volume(ALICE, size=size, volume_type=type_id,
                                          group_id=group_id)
        self.settle("volume", made.id)
        assert self.service.get_volume(ALICE, made.id).status == "available"
        return made.id


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    env = Env(tmp_path)
    db = Database(f"sqlite:///{tmp_path / 'shoal.db'}")
    db.upgrade()
    runner = TaskRunner(db, workers=2, poll_s=0.05)
    work = VolumeWork({"ceph": env.driver()}, NoImages(), utcnow)
    work.register(runner)
    GroupWork(work).register(runner)
    options = VolumeOptions(backends=(Backend("ceph", "ceph", HOST),),
                            quota_defaults=QuotaDefaults(volumes=10, gigabytes=100, groups=3))
    volumes = VolumeService(db, runner, NoImages(), options)
    volumes.ensure_default_type()
    runner.start()
    yield World(env, db, runner, volumes, VolumeGroups(db, runner, volumes, utcnow),
                VolumeTypes(db, options, utcnow))
    runner.shutdown(wait_s=10)
    db.dispose()
    env.close()


def _setup(world: World) -> tuple[str, str, str]:
    """A volume type, a group type and a group of ALICE's: their ids."""
    vtype = world.service.create_type(ADMIN, "vt1")
    gtype = world.groups.create_type(ADMIN, "gt1", specs={"k": "v"})
    group = world.groups.create_group(ALICE, group_type=gtype.id, volume_types=[vtype.id],
                                      name="g1")
    return vtype.id, gtype.id, group.id


def test_group_types_are_admin_managed_and_public_ones_readable(world: World) -> None:
    made = world.groups.create_type(ADMIN, "gold", description="d", specs={"a": "1"})
    private = world.groups.create_type(ADMIN, "secret", is_public=False)
    with pytest.raises(PolicyNotAuthorized):
        world.groups.create_type(ALICE, "mine")
    with pytest.raises(errors.AlreadyExists):
        world.groups.create_type(ADMIN, "gold")
    assert [t.name for t in world.groups.list_types(ALICE, None)] == ["gold"]
    assert [t.name for t in world.groups.list_types(ADMIN, None)] == ["gold", "secret"]
    assert [t.name for t in world.groups.list_types(ADMIN, False)] == ["secret"]
    with pytest.raises(errors.NotFound):
        world.groups.get_type(ALICE, private.id)
    updated = world.groups.update_type(ADMIN, made.id, name="platinum", is_public=False)
    assert (updated.name, updated.is_public, updated.description) == ("platinum", False, "d")
    with pytest.raises(errors.InvalidArgument, match="Specify group type name"):
        world.groups.update_type(ADMIN, made.id)
    with pytest.raises(errors.NotFound, match="Default group type can not be found"):
        world.groups.get_default_type(ALICE)
    world.groups.delete_type(ADMIN, made.id)
    with pytest.raises(errors.NotFound):
        world.groups.get_type(ADMIN, made.id)


def test_group_specs_merge_show_and_delete(world: World) -> None:
    gtype = world.groups.create_type(ADMIN, "gt", specs={"a": "1"})
    world.groups.set_specs(ADMIN, gtype.id, {"a": "2", "b": "3"})
    assert world.groups.specs(ADMIN, gtype.id) == {"a": "2", "b": "3"}
    assert world.groups.spec(ADMIN, gtype.id, "b") == "3"
    with pytest.raises(PolicyNotAuthorized):
        world.groups.specs(ALICE, gtype.id)
    world.groups.delete_spec(ADMIN, gtype.id, "a")
    with pytest.raises(errors.NotFound, match="has no extra spec with key a"):
        world.groups.spec(ADMIN, gtype.id, "a")
    with pytest.raises(errors.NotFound):
        world.groups.delete_spec(ADMIN, gtype.id, "a")


def test_group_create_members_and_visibility(world: World) -> None:
    vtype, gtype, group_id = _setup(world)
    group = world.groups.get_group(ALICE, group_id)
    assert (group.status, group.group_type_id, group.volume_type_ids) == (
        "available", gtype, (vtype,))
    assert group.host == HOST
    with pytest.raises(errors.NotFound):
        world.groups.get_group(BOB, group_id)
    with pytest.raises(PolicyNotAuthorized):
        world.groups.create_group(READER, group_type=gtype, volume_types=[vtype])
    with pytest.raises(errors.InvalidArgument, match="volume_type must be provided"):
        world.service.create_volume(ALICE, size=1, group_id=group_id)
    with pytest.raises(errors.InvalidArgument, match="must be supported by this group"):
        world.service.create_volume(ALICE, size=1, volume_type="__DEFAULT__",
                                    group_id=group_id)
    volume_id = world.volume(group_id, vtype)
    assert world.service.get_volume(ALICE, volume_id).group_id == group_id
    assert world.groups.get_group(ALICE, group_id).volume_ids == (volume_id,)
    with pytest.raises(errors.InvalidArgument, match="belong to a group"):
        world.service.delete_volume(ALICE, volume_id)
    with pytest.raises(errors.InvalidArgument, match="Target group type is still in use"):
        world.groups.delete_type(ADMIN, gtype)
    with pytest.raises(errors.InvalidArgument, match="deletion is not allowed"):
        world.types.delete(ADMIN, vtype)
    assert [g.id for g in world.groups.list_groups(BOB)] == []
    assert [g.id for g in world.groups.list_groups(ADMIN, all_projects=True)] == [group_id]


def test_group_quota(world: World) -> None:
    vtype, gtype, _group_id = _setup(world)
    for _ in range(2):
        world.groups.create_group(ALICE, group_type=gtype, volume_types=[vtype])
    with pytest.raises(QuotaExceeded, match=r"Maximum number of groups allowed \(3\)"):
        world.groups.create_group(ALICE, group_type=gtype, volume_types=[vtype])
    with world.db.session(readonly=True) as session:
        assert usage_for(session, "p1").in_use("groups") == 3
        assert usage_for(session, "p2").in_use("groups") == 0


def test_update_adds_and_removes_with_cinder_checks(world: World) -> None:
    vtype, gtype, group_id = _setup(world)
    first = world.volume(group_id, vtype)
    loose = world.service.create_volume(ALICE, size=1, volume_type=vtype)
    world.settle("volume", loose.id)
    other = world.service.create_volume(ALICE, size=1)
    world.settle("volume", other.id)
    world.groups.update_group(ALICE, group_id, name="renamed", remove_volumes=first,
                              add_volumes=loose.id)
    got = world.groups.get_group(ALICE, group_id)
    assert (got.name, got.volume_ids, got.status) == ("renamed", (loose.id,), "available")
    with pytest.raises(errors.InvalidArgument, match="in both add and remove"):
        world.groups.update_group(ALICE, group_id, add_volumes=first, remove_volumes=first)
    with pytest.raises(errors.InvalidArgument, match="is not in the group"):
        world.groups.update_group(ALICE, group_id, remove_volumes=first)
    with pytest.raises(errors.InvalidArgument, match="is not supported by the group"):
        world.groups.update_group(ALICE, group_id, add_volumes=other.id)
    with pytest.raises(errors.InvalidArgument, match="no valid name"):
        world.groups.update_group(ALICE, group_id, name="renamed")
    second = world.groups.create_group(ALICE, group_type=gtype, volume_types=[vtype])
    with pytest.raises(errors.InvalidArgument, match="already in group"):
        world.groups.update_group(ALICE, second.id, add_volumes=loose.id)


def test_group_snapshot_is_one_rbd_snapshot_per_member_and_groups_copy_it(
        world: World) -> None:
    vtype, _gtype, group_id = _setup(world)
    members = [world.volume(group_id, vtype), world.volume(group_id, vtype, size=2)]
    world.env.write(f"volume-{members[0]}", b"first")
    made = world.groups.create_group_snapshot(ALICE, group_id, name="gs")
    assert made.status == "creating" and len(made.snapshot_ids) == 2
    world.settle("group_snapshot", made.id)
    gsnap = world.groups.get_group_snapshot(ALICE, made.id)
    assert gsnap.status == "available"
    for snapshot_id in gsnap.snapshot_ids:
        snap = world.service.get_snapshot(ALICE, snapshot_id)
        assert (snap.status, snap.group_snapshot_id) == ("available", made.id)
        assert world.env.snaps(f"volume-{snap.volume_id}") == {f"snapshot-{snap.id}": True}
        with pytest.raises(errors.InvalidArgument, match="must not be part of a group"):
            world.service.delete_snapshot(ALICE, snapshot_id)
    with pytest.raises(errors.InvalidArgument, match="Group has existing snapshots"):
        world.groups.delete_group(ALICE, group_id, delete_volumes=True)
    world.groups.update_group(ALICE, group_id, remove_volumes=members[1])
    with pytest.raises(errors.InvalidArgument, match="part of a group snapshot"):
        world.service.delete_volume(ALICE, members[1], cascade=True)
    world.groups.update_group(ALICE, group_id, add_volumes=members[1])

    copy = world.groups.create_group_from_source(ALICE, name="copy",
                                                 group_snapshot_id=made.id)
    clone = world.groups.create_group_from_source(ALICE, source_group_id=group_id)
    for record in (copy, clone):
        assert record.status == "available" and len(record.volume_ids) == 2
        for volume_id in record.volume_ids:
            world.settle("volume", volume_id)
            got = world.service.get_volume(ALICE, volume_id)
            assert (got.status, got.group_id, got.volume_type_id) == (
                "available", record.id, vtype)
    assert sorted(world.service.get_volume(ALICE, v).size for v in copy.volume_ids) == [1, 2]
    first_copy = next(v for v in copy.volume_ids
                      if world.service.get_volume(ALICE, v).snapshot_id is not None
                      and world.service.get_volume(ALICE, v).size == 1)
    assert world.env.read(f"volume-{first_copy}", 0, 5) == b"first"
    assert world.groups.get_group(ALICE, copy.id).group_snapshot_id == made.id

    for record in (copy, clone):
        world.groups.delete_group(ALICE, record.id, delete_volumes=True)
        world.settle("group", record.id)
    world.groups.delete_group_snapshot(ALICE, made.id)
    world.settle("group_snapshot", made.id)
    with pytest.raises(errors.NotFound):
        world.groups.get_group_snapshot(ALICE, made.id)
    assert all(world.env.snaps(f"volume-{v}") == {} for v in members)
    world.groups.delete_group(ALICE, group_id, delete_volumes=True)
    world.settle("group", group_id)
    with pytest.raises(errors.NotFound):
        world.groups.get_group(ALICE, group_id)
    assert world.env.images() == []


def test_delete_refusals_and_reset_status(world: World) -> None:
    vtype, _gtype, group_id = _setup(world)
    volume_id = world.volume(group_id, vtype)
    with pytest.raises(errors.InvalidArgument, match="delete-volumes flag is required"):
        world.groups.delete_group(ALICE, group_id)
    snap = world.service.create_snapshot(ALICE, volume_id)
    world.settle("snapshot", snap.id)
    with pytest.raises(errors.InvalidArgument, match="still has dependent snapshots"):
        world.groups.delete_group(ALICE, group_id, delete_volumes=True)
    with pytest.raises(PolicyNotAuthorized):
        world.groups.reset_group_status(ALICE, group_id, "error")
    world.groups.reset_group_status(ADMIN, group_id, "error")
    assert world.groups.get_group(ALICE, group_id).status == "error"
    with pytest.raises(errors.InvalidArgument, match="is invalid"):
        world.groups.reset_group_status(ADMIN, group_id, "bogus")
    empty = world.groups.create_group(ALICE, group_type=_gtype, volume_types=[vtype])
    world.groups.delete_group(ALICE, empty.id)
    with pytest.raises(errors.NotFound):
        world.groups.get_group(ALICE, empty.id)


def test_a_group_being_deleted_takes_no_volume_and_no_second_delete(world: World) -> None:
    vtype, _gtype, group_id = _setup(world)
    world.volume(group_id, vtype)
    world.runner.shutdown(wait_s=10)  # the group.delete task stays pending
    world.groups.delete_group(ALICE, group_id, delete_volumes=True)
    assert world.groups.get_group(ALICE, group_id).status == "deleting"
    with pytest.raises(errors.InvalidArgument, match="is being deleted"):
        world.service.create_volume(ALICE, size=1, volume_type=vtype, group_id=group_id)
    with pytest.raises(errors.InvalidArgument, match="already being deleted"):
        world.groups.delete_group(ALICE, group_id, delete_volumes=True)


def test_a_refused_member_leaves_no_group_and_no_volume(world: World) -> None:
    vtype, _gtype, group_id = _setup(world)
    first = world.volume(group_id, vtype)
    second = world.volume(group_id, vtype)
    world.service.reset_status(ADMIN, second, status="error", attach_status=None,
                               migration_status=None)
    with pytest.raises(errors.InvalidArgument, match="status is error"):
        world.groups.create_group_from_source(ALICE, source_group_id=group_id)
    assert [g.id for g in world.groups.list_groups(ALICE)] == [group_id]
    assert sorted(v.id for v in world.service.list_volumes(ALICE)) == sorted([first, second])
    with pytest.raises(errors.InvalidArgument, match="exactly one"):
        world.groups.create_group_from_source(ALICE)
