"""Root disk snapshots into images (``createImage``) on the embedded engine: the direct
path when the disks' user may write ``images`` (here client.admin), the refusal under the
guide's caps (client.cinder reads ``images`` only), resumption, and the streamed bytes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import shoal.rbd as rbd
from shoal.services.compute.disks import DiskOptions, DiskPlan, GuestDisks
from shoal.services.compute.disks._snapshot import GLANCE_SNAP

from .test_driver import Env, MiB, payload


def _no_beat() -> None:
    return None


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    made = Env(tmp_path)
    yield made
    made.close()


def _server_with_disk(env: Env, disks: GuestDisks, data: bytes) -> str:
    server_id = str(uuid.uuid4())
    disks.create(server_id, env.store(data), DiskPlan(root_gb=1))
    return server_id


def test_direct_snapshot_clones_flattens_and_protects(env: Env) -> None:
    admin = GuestDisks(env.admin, DiskOptions(pool="vms"))
    data = payload(3 * MiB)
    server_id = _server_with_disk(env, admin, data)
    with rbd.Image(env.io("vms"), f"{server_id}_disk") as img:
        img.write(b"changed after boot", 1 * MiB)
    snaps = admin.snapshots
    image_id = str(uuid.uuid4())
    size = snaps.take(server_id, image_id)
    assert size == 1 << 30
    location = snaps.clone_into(server_id, image_id, "images", image_id, _no_beat)
    assert location == f"rbd://{env.admin.get_fsid().lower()}/images/{image_id}/{GLANCE_SNAP}"
    snaps.drop(server_id, image_id)
    with env.image(image_id, "images") as img:
        with pytest.raises(rbd.ImageNotFound):
            img.parent_info()  # flattened: the new image stands alone
        assert [s["name"] for s in img.list_snaps()] == [GLANCE_SNAP]
        assert img.is_protected_snap(GLANCE_SNAP)
        assert img.read(0, 3 * MiB)[:MiB] == data[:MiB]
        assert img.read(MiB, 18) == b"changed after boot"
    with env.image(f"{server_id}_disk") as disk:
        assert list(disk.list_snaps()) == []  # the temporary snapshot is gone
    # an earlier run that finished is found, not redone
    assert snaps.clone_into(server_id, image_id, "images", image_id, _no_beat) == location


def test_the_guides_caps_refuse_the_direct_path_and_leave_nothing(env: Env) -> None:
    disks = env.disks()
    server_id = _server_with_disk(env, disks, payload(2 * MiB, seed=3))
    before = env.names("images")
    image_id = str(uuid.uuid4())
    disks.snapshots.take(server_id, image_id)
    assert disks.snapshots.clone_into(server_id, image_id, "images", image_id,
                                      _no_beat) is None
    assert env.names("images") == before
    streamed = b"".join(disks.snapshots.read_snapshot(server_id, image_id, _no_beat))
    assert len(streamed) == 1 << 30
    assert streamed == env.read(f"{server_id}_disk", 0, 1 << 30)
    disks.snapshots.drop(server_id, image_id)
    disks.snapshots.drop(server_id, image_id)  # twice: nothing left to do
    assert disks.remove(server_id) == [f"{server_id}_disk"]


def test_a_half_made_direct_image_is_made_again(env: Env) -> None:
    admin = GuestDisks(env.admin, DiskOptions(pool="vms"))
    server_id = _server_with_disk(env, admin, payload(MiB, seed=5))
    image_id = str(uuid.uuid4())
    admin.snapshots.take(server_id, image_id)
    rbd.RBD().create(env.io("images"), image_id, 4096)  # a crash before its snap
    location = admin.snapshots.clone_into(server_id, image_id, "images", image_id, _no_beat)
    assert location is not None
    with env.image(image_id, "images") as img:
        assert img.size() == 1 << 30 and img.is_protected_snap(GLANCE_SNAP)
