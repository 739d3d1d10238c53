"""What an admin's ``os-services`` changes do to volumes: a disabled ``cinder-volume`` is
not scheduled (a new volume errors, as with no backend at all); a frozen one refuses
delete, extend and snapshots of its volumes until it is thawed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shoal import errors
from shoal._time import utcnow
from shoal.services.volume._admin import VolumeAdmin
from tests.unit.services.volume.test_retype import open_world
from tests.unit.services.volume.test_service import ADMIN, ALICE, HOST, NoImages, World

SERVICE_HOST = HOST.partition("#")[0]


class _NoStats:
    def get_volume_stats(self) -> dict[str, object]:
        return {}


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[World, VolumeAdmin]]:
    with open_world(tmp_path, NoImages()) as made:
        yield made, VolumeAdmin(made.db, made.service.options, {"ceph": _NoStats()}, utcnow)


def test_a_disabled_backend_is_not_scheduled_until_enabled(
        world: tuple[World, VolumeAdmin]) -> None:
    w, admin = world
    admin.set_disabled(ADMIN, SERVICE_HOST, "cinder-volume", disabled=True, reason="maint")
    refused = w.wait(w.service.create_volume(ALICE, size=1), "error")
    assert refused.host is None
    admin.set_disabled(ADMIN, SERVICE_HOST, "cinder-volume", disabled=False, reason=None)
    made = w.wait(w.service.create_volume(ALICE, size=1), "available")
    assert made.host == HOST


def test_a_frozen_backend_refuses_changes_of_its_volumes_until_thawed(
        world: tuple[World, VolumeAdmin]) -> None:
    w, admin = world
    vol = w.wait(w.service.create_volume(ALICE, size=1), "available")
    snap = w.service.create_snapshot(ALICE, vol.id)
    w.settle("snapshot", snap.id)
    admin.set_frozen(ADMIN, SERVICE_HOST, frozen=True)
    for attempt in (lambda: w.service.delete_volume(ALICE, vol.id, cascade=True),
                    lambda: w.service.extend_volume(ALICE, vol.id, 2),
                    lambda: w.service.create_snapshot(ALICE, vol.id),
                    lambda: w.service.delete_snapshot(ALICE, snap.id)):
        with pytest.raises(errors.InvalidArgument, match="frozen"):
            attempt()
    assert w.service.get_volume(ADMIN, vol.id).status == "available"
    admin.set_frozen(ADMIN, SERVICE_HOST, frozen=False)
    w.service.extend_volume(ALICE, vol.id, 2)
    assert w.wait(vol.id, "available").size == 2
