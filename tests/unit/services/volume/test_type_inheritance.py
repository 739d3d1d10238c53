"""A volume created without a type takes its source's, as Cinder's create flow picks it:
the snapshot's volume's type, the source volume's, else the default type."""

from __future__ import annotations

from shoal.services.volume._service import DEFAULT_TYPE_NAME, VolumeSource
from tests.unit.services.volume.test_retype import volume_of, world  # noqa: F401 (fixture)
from tests.unit.services.volume.test_service import ADMIN, ALICE, World


def _type_name(w: World, volume_id: str) -> str | None:
    return w.service.get_volume(ADMIN, volume_id).volume_type_name


def test_volumes_from_a_snapshot_or_a_volume_keep_its_type(world: World) -> None:  # noqa: F811
    base = volume_of(world, "one")
    snap = world.service.create_snapshot(ALICE, base.id)
    world.settle("snapshot", snap.id)
    from_snap = world.service.create_volume(ALICE, size=None, source=_source(snapshot=snap.id))
    from_volume = world.service.create_volume(ALICE, size=None,
                                              source=_source(volume=base.id))
    blank = world.service.create_volume(ALICE, size=1)
    given = world.service.create_volume(ALICE, size=None, volume_type="two",
                                        source=_source(volume=base.id))
    for made in (from_snap, from_volume, blank, given):
        world.wait(made, "available")
    assert _type_name(world, from_snap.id) == "one"
    assert _type_name(world, from_volume.id) == "one"
    assert _type_name(world, blank.id) == DEFAULT_TYPE_NAME
    assert _type_name(world, given.id) == "two"


def _source(*, snapshot: str | None = None, volume: str | None = None) -> VolumeSource:
    return VolumeSource(snapshot_id=snapshot, source_volid=volume)
