"""``os-retype`` without migration: Cinder's rules and errors, the scheduler's verdict on
the volume's own backend, per-type quotas moving with the volume."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from shoal import errors
from shoal._time import utcnow
from shoal.db import Database
from shoal.services.tasks import TaskRunner
from shoal.services.volume._service import Backend, VolumeOptions, VolumeService
from shoal.services.volume._work import ImageSource, VolumeWork
from shoal.services.volume.models import Quota, Volume
from shoal.services.volume.policy import PolicyNotAuthorized
from shoal.services.volume.quotas import QuotaDefaults, QuotaExceeded
from shoal.services.volume.records import VolumeRecord
from tests.unit.services.volume.driver.test_driver import Env
from tests.unit.services.volume.test_service import (
    ADMIN,
    ALICE,
    BOB,
    HOST,
    READER,
    NoImages,
    World,
)

RBD_CAPABILITIES = {"vendor_name": "Open Source", "storage_protocol": "ceph",
                    "multiattach": True}


@contextmanager
def open_world(tmp_path: Path, images: ImageSource, *,
               backends: tuple[Backend, ...] | None = None) -> Iterator[World]:
    """The volume service over one embedded backend (``ceph``, as the guide's), with
    ``images`` as its image source and the RBD driver's capabilities."""
    env = Env(tmp_path)
    db = Database(f"sqlite:///{tmp_path / 'shoal.db'}")
    db.upgrade()
    runner = TaskRunner(db, workers=2, poll_s=0.05)
    VolumeWork({"ceph": env.driver()}, images, utcnow).register(runner)
    options = VolumeOptions(
        backends=backends or (Backend("ceph", "ceph", HOST, capabilities=RBD_CAPABILITIES),),
        quota_defaults=QuotaDefaults(volumes=5, gigabytes=20))
    service = VolumeService(db, runner, images, options)
    service.ensure_default_type()
    runner.start()
    try:
        yield World(env, db, runner, service)
    finally:
        runner.shutdown(wait_s=10)
        db.dispose()
        env.close()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with open_world(tmp_path, NoImages()) as made:
        for name, specs in (("one", {}), ("two", {}), ("ceph", {"volume_backend_name": "ceph"}),
                            ("nope", {"volume_backend_name": "nope"}),
                            ("multi", {"multiattach": "<is> True"}),
                            ("small", {"provisioning:max_vol_size": "1"}),
                            ("big", {"provisioning:min_vol_size": "5"})):
            made.service.create_type(ADMIN, name, extra_specs=specs)
        yield made


def volume_of(world: World, type_name: str, size: int = 1) -> VolumeRecord:
    return world.wait(world.service.create_volume(ALICE, size=size, volume_type=type_name),
                      "available")


def test_retype_to_a_type_of_the_same_backend_changes_only_the_type(world: World) -> None:
    vol = volume_of(world, "one")
    snap = world.service.create_snapshot(ALICE, vol.id)
    world.settle("snapshot", snap.id)
    for target in ("two", "ceph"):  # no volume_backend_name, or this backend's
        got = world.service.retype_volume(ALICE, vol.id, target)
        assert got.volume_type_name == target and got.status == "available"
        assert got.host == HOST and got.migration_status is None
    by_id = world.service.get_type(ADMIN, "one").id
    assert world.service.retype_volume(ALICE, vol.id, by_id,
                                       migration_policy="on-demand").volume_type_name == "one"
    shown = world.service.get_volume(ALICE, vol.id)
    assert (shown.volume_type_name, shown.size, shown.status) == ("one", 1, "available")
    assert f"volume-{vol.id}" in world.env.images()  # the image stays where it was


def test_same_type_unknown_type_and_policy(world: World) -> None:
    vol = volume_of(world, "one")
    with pytest.raises(errors.InvalidArgument, match="requested type has to be different"):
        world.service.retype_volume(ALICE, vol.id, "one")
    with pytest.raises(errors.InvalidArgument, match=r"Invalid volume_type passed: gold\."):
        world.service.retype_volume(ALICE, vol.id, "gold")
    with pytest.raises(PolicyNotAuthorized):
        world.service.retype_volume(READER, vol.id, "two")
    with pytest.raises(errors.NotFound, match=f"Volume {vol.id} could not be found."):
        world.service.retype_volume(BOB, vol.id, "two")


def test_no_backend_for_the_new_type_is_400_and_changes_nothing(world: World) -> None:
    vol = volume_of(world, "one")
    for policy in ("never", "on-demand"):
        with pytest.raises(errors.InvalidArgument,
                           match=f"No valid backends for volume {vol.id} with type nope"):
            world.service.retype_volume(ALICE, vol.id, "nope", migration_policy=policy)
    shown = world.service.get_volume(ALICE, vol.id)
    assert (shown.volume_type_name, shown.status) == ("one", "available")


def test_a_type_of_another_backend_needs_a_migration(tmp_path: Path) -> None:
    backends = (Backend("ceph", "ceph", HOST),
                Backend("fast", "fast", "shoal@fast#fast"))
    with open_world(tmp_path, NoImages(), backends=backends) as world:
        world.service.create_type(ADMIN, "fast", extra_specs={"volume_backend_name": "fast"})
        vol = volume_of(world, "__DEFAULT__")
        with pytest.raises(errors.InvalidArgument,
                           match=r"Current backend not valid .* migration not allowed"):
            world.service.retype_volume(ALICE, vol.id, "fast")
        with pytest.raises(errors.NotSupported, match=r"needs a migration to shoal@fast#fast"):
            world.service.retype_volume(ALICE, vol.id, "fast", migration_policy="on-demand")
        assert world.service.get_volume(ALICE, vol.id).volume_type_name == "__DEFAULT__"


def test_status_rules(world: World) -> None:
    vol = volume_of(world, "one")
    for status in ("in-use", "available"):
        world.service.reset_status(ADMIN, vol.id, status=status, attach_status=None,
                                   migration_status=None)
        target = "two" if world.service.get_volume(ALICE, vol.id).volume_type_name == "one" \
            else "one"
        got = world.service.retype_volume(ALICE, vol.id, target)
        assert got.status == status  # in-use volumes retype too, and stay in-use
    for status in ("error", "creating", "extending", "retyping"):
        world.service.reset_status(ADMIN, vol.id, status=status, attach_status=None,
                                   migration_status=None)
        with pytest.raises(errors.InvalidArgument, match="Retype needs volume to be in "
                                                         "available or in-use state"):
            world.service.retype_volume(ALICE, vol.id, "ceph")
    world.service.reset_status(ADMIN, vol.id, status="available", attach_status=None,
                               migration_status="migrating")
    with pytest.raises(errors.InvalidArgument, match="active migration"):
        world.service.retype_volume(ALICE, vol.id, "ceph")


def test_multiattach_changes_need_an_available_volume(world: World) -> None:
    vol = volume_of(world, "one")
    world.service.reset_status(ADMIN, vol.id, status="in-use", attach_status=None,
                               migration_status=None)
    with pytest.raises(errors.InvalidArgument, match=r"retypes affecting multiattach are only "
                                                     r"allowed on available volumes.*in-use"):
        world.service.retype_volume(ALICE, vol.id, "multi")
    world.service.reset_status(ADMIN, vol.id, status="available", attach_status=None,
                               migration_status=None)
    assert world.service.retype_volume(ALICE, vol.id, "multi").multiattach is True
    assert world.service.retype_volume(ALICE, vol.id, "one").multiattach is False


def test_size_limits_of_the_new_type(world: World) -> None:
    vol = volume_of(world, "one", size=2)
    with pytest.raises(errors.InvalidArgument, match="greater than the maximum allowable size "
                                                     "of '1' for volume type 'small'"):
        world.service.retype_volume(ALICE, vol.id, "small")
    with pytest.raises(errors.InvalidArgument, match="less than the minimum required size of "
                                                     "'5' for volume type 'big'"):
        world.service.retype_volume(ALICE, vol.id, "big")


def set_limit(world: World, resource: str, limit: int) -> None:
    with world.db.session() as session:
        session.add(Quota(project_id="p1", resource=resource, hard_limit=limit))


def test_per_type_quotas_move_with_the_volume(world: World) -> None:
    vol = volume_of(world, "one", size=2)
    snap = world.service.create_snapshot(ALICE, vol.id)
    world.settle("snapshot", snap.id)
    other = volume_of(world, "two")
    set_limit(world, "volumes_two", 2)
    set_limit(world, "gigabytes_two", 4)  # holds 1; the volume brings 2 + its snapshot's 2
    with pytest.raises(QuotaExceeded, match="exceeds allowed gigabytes_two quota"):
        world.service.retype_volume(ALICE, vol.id, "two")
    with world.db.session() as session:
        session.query(Quota).filter_by(resource="gigabytes_two").delete()
    set_limit(world, "snapshots_two", 0)
    with pytest.raises(QuotaExceeded, match=r"Maximum number of snapshots allowed \(0\)"):
        world.service.retype_volume(ALICE, vol.id, "two")
    with world.db.session() as session:
        session.query(Quota).filter_by(resource="snapshots_two").delete()
    world.service.retype_volume(ALICE, vol.id, "two")
    set_limit(world, "volumes_one", 0)  # the old type's usage is gone with the volume
    with pytest.raises(QuotaExceeded, match=r"Maximum number of volumes allowed \(2\) "
                                            "exceeded for quota 'volumes_two'"):
        world.service.retype_volume(ALICE, volume_of(world, "ceph").id, "two")
    with pytest.raises(QuotaExceeded, match="'volumes_one'"):
        world.service.retype_volume(ALICE, other.id, "one")
    with world.db.session() as session:
        assert session.get(Volume, vol.id) is not None
