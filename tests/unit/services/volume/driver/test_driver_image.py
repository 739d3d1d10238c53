"""Volumes from Glance images with the RBD volume driver on the embedded engine.

Images are stored the way the image store stores them (``RbdStore`` as client.glance:
an image in ``images`` with a protected snapshot ``snap``); the driver, as client.cinder,
only has ``rx`` on ``images``: it clones across pools and never writes there.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import shoal.rbd as rbd
from shoal import errors
from shoal.services.image.store import InUseByStore, RbdStore
from shoal.services.volume.driver import (
    CloneRefusal,
    ImageUnacceptable,
    NotCloned,
    RbdVolumeDriver,
    VolumeExists,
)
from tests.unit.services.volume.driver.test_driver import Env, GiB, MiB, payload


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    e = Env(tmp_path)
    yield e
    e.close()


@pytest.fixture
def drv(env: Env) -> RbdVolumeDriver:
    return env.driver()


@pytest.fixture
def glance(env: Env) -> RbdStore:
    """The image store as Glance runs it: 8 MiB chunks (order 23)."""
    return RbdStore(env.session("client.glance"))


def stored(store: RbdStore, data: bytes) -> tuple[str, str]:
    """Store ``data`` as a new image; return (image id, location)."""
    image_id = str(uuid.uuid4())
    return image_id, store.add(image_id, [data], len(data)).location


def test_clone_image_clones_across_pools(env: Env, drv: RbdVolumeDriver,
                                         glance: RbdStore) -> None:
    data = payload(9 * MiB + 3, seed=11)
    image_id, location = stored(glance, data)
    assert drv.clone_image("a", 2, [location], "raw") is True
    assert env.parent("volume-a") == ("images", image_id, "snap")
    with env.image("volume-a") as img:
        assert img.size() == 2 * GiB  # grown to the volume's size
        assert img.overlap() == len(data)
        assert img.read(0, len(data)) == data
        assert img.read(len(data), 4096) == bytes(4096)
    env.write("volume-a", b"mine", 0)
    with env.image(image_id, "images", snapshot="snap") as img:
        assert img.read(0, 4) == data[:4]  # the image is untouched


def test_volume_order_follows_bug_1931004s_rule(env: Env, drv: RbdVolumeDriver,
                                                glance: RbdStore) -> None:
    """The image's 8 MiB objects (stripe unit 8 MiB) and the backend's 4 MiB chunks:
    the clone gets order log2(max(8 MiB, 4 MiB)) = 23. Cloning at the backend's
    order 22 inherits the 8 MiB stripe unit, which a 4 MiB object cannot hold."""
    image_id, location = stored(glance, payload(MiB))
    with pytest.raises(errors.InvalidArgument, match="stripe unit"):
        rbd.RBD().clone(env.io("images"), image_id, "snap", env.io(), "naive", order=22)
    assert drv.clone_image("a", 1, [location], "raw")
    with env.image("volume-a") as img:
        assert (img.order(), img.stripe_unit(), img.stripe_count()) == (23, 8 * MiB, 1)
    small = RbdStore(env.session("client.glance"), chunk_size_mib=1)
    _, small_location = stored(small, payload(MiB))
    assert drv.clone_image("b", 1, [small_location], "raw")
    with env.image("volume-b") as img:
        assert img.order() == 22  # the backend's chunk size wins over 1 MiB objects


def test_volume_from_snapshot_follows_the_same_rule(env: Env, drv: RbdVolumeDriver) -> None:
    env.driver(rbd_store_chunk_size=16).create_volume("big", 1)
    drv.create_snapshot("big", "s")
    drv.create_volume_from_snapshot("a", 1, "big", "s")
    with env.image("volume-a") as img:
        assert img.order() == 24


def test_not_cloneable_locations_are_skipped(env: Env, drv: RbdVolumeDriver,
                                             glance: RbdStore) -> None:
    data = payload(MiB, seed=12)
    image_id, good = stored(glance, data)
    fsid = env.admin.get_fsid()
    rbd.RBD().create(env.io("backups"), "hidden", MiB)
    with rbd.Image(env.io("backups"), "hidden") as img:
        img.create_snap("snap")
        img.protect_snap("snap")
    bad = [
        f"rbd://{image_id}",  # legacy: no fsid, pool or snapshot
        f"rbd://00000000-0000-0000-0000-000000000000/images/{image_id}/snap",  # other cluster
        f"rbd://{fsid}/images/{image_id}/nosnap",
        f"rbd://{fsid}/images/no-such-image/snap",
        f"rbd://{fsid}/no-such-pool/{image_id}/snap",
        f"rbd://{fsid}/backups/hidden/snap",  # client.cinder may not read backups
        f"rbd://{fsid}/images/{image_id}",
        f"swift://example/{image_id}",
        "",
    ]
    refused = drv.clone_image("a", 1, bad, "raw")
    assert isinstance(refused, NotCloned) and not refused
    assert refused.reason is CloneRefusal.NOT_IN_STORE and refused.location == bad[0]
    reasons = []
    for url in bad:  # each location's own reason
        one = drv.clone_image("a", 1, [url], "raw")
        assert isinstance(one, NotCloned) and one.location == url
        reasons.append(one.reason)
    assert reasons == [CloneRefusal.NOT_IN_STORE, CloneRefusal.OTHER_CLUSTER,
                       *[CloneRefusal.NOT_IN_STORE] * 3, CloneRefusal.NO_ACCESS,
                       *[CloneRefusal.NOT_IN_STORE] * 3]
    raw_only = drv.clone_image("a", 1, [good], "qcow2")  # only raw images clone
    assert isinstance(raw_only, NotCloned) and raw_only.reason is CloneRefusal.NOT_RAW
    nowhere = drv.clone_image("a", 1, [], "raw")  # show_image_direct_url off
    assert isinstance(nowhere, NotCloned) and nowhere.reason is CloneRefusal.NO_LOCATION
    assert env.images() == []
    assert not drv.clone_image("a", 1, [*bad, good.upper().replace("RBD://", "rbd://")],
                               "raw")  # the image and pool names are case-sensitive
    assert drv.clone_image("a", 1, [*bad, good], "raw") is True
    assert env.parent("volume-a") == ("images", image_id, "snap")


def test_fsid_compares_case_insensitively(env: Env, drv: RbdVolumeDriver,
                                          glance: RbdStore) -> None:
    image_id, _ = stored(glance, payload(4096))
    fsid = env.admin.get_fsid().upper()
    assert drv.clone_image("a", 1, [f"rbd://{fsid}/images/{image_id}/snap"], "raw")


def sized_image(env: Env, store: RbdStore, size: int) -> str:
    """A sparse image of ``size`` bytes stored as the image store does; its location."""
    image_id = str(uuid.uuid4())
    location = store.add(image_id, [b"x"], 1).location
    with rbd.Image(env.io("images"), image_id) as img:  # grown by the admin, re-snapped
        img.unprotect_snap("snap")
        img.remove_snap("snap")
        img.resize(size)
        img.create_snap("snap")
        img.protect_snap("snap")
    return location


def test_image_larger_than_the_volume_is_unacceptable(env: Env, drv: RbdVolumeDriver,
                                                      glance: RbdStore) -> None:
    """Cinder's ``clone_image`` would shrink the clone to the volume's size."""
    too_big = sized_image(env, glance, GiB + 1)
    with pytest.raises(ImageUnacceptable, match="does not fit") as info:
        drv.clone_image("a", 1, [too_big], "raw")
    assert info.value.http_status == 400
    assert env.images() == []
    assert drv.clone_image("a", 2, [too_big], "raw")
    assert drv.clone_image("b", 1, [sized_image(env, glance, GiB)], "raw")  # exactly fits
    with env.image("volume-b") as img:
        assert img.size() == GiB


def test_clone_image_onto_an_existing_volume_is_409(env: Env, drv: RbdVolumeDriver,
                                                    glance: RbdStore) -> None:
    _, location = stored(glance, payload(4096))
    drv.create_volume("a", 1)
    with pytest.raises(VolumeExists):
        drv.clone_image("a", 1, [location], "raw")
    assert env.parent("volume-a") is None


def test_image_with_volumes_cloned_from_it_cannot_be_deleted(env: Env, drv: RbdVolumeDriver,
                                                             glance: RbdStore) -> None:
    image_id, location = stored(glance, payload(MiB))
    assert drv.clone_image("a", 1, [location], "raw")
    with pytest.raises(InUseByStore):
        glance.delete(location)
    assert drv.delete_volume("a").value == "removed"
    assert env.snaps(image_id, "images") == {"snap": True}  # the parent walk left it alone
    glance.delete(location)
    assert env.images("images") == []
    assert image_id not in env.images()


# --- download fallback --------------------------------------------------------------------------
def test_copy_image_to_volume_writes_and_skips_zero_chunks(env: Env, drv: RbdVolumeDriver) -> None:
    data = payload(MiB, seed=13) + bytes(8 * MiB) + payload(MiB + 17, seed=14)
    before = env.image_objects()
    pieces = [data[i:i + 300_000] for i in range(0, len(data), 300_000)]
    assert drv.copy_image_to_volume("a", 1, iter(pieces)) == len(data)
    with env.image("volume-a") as img:
        assert img.size() == GiB
        assert img.read(0, len(data)) == data
        prefix = img.block_name_prefix()
    data_objects = sorted(o for o in env.image_objects() - before if o.startswith(prefix))
    # objects 0 and 2 (4 MiB each) hold data; object 1 is all zeros and never written
    assert data_objects == [f"{prefix}.{n:016x}" for n in (0, 2)]


def test_copy_image_larger_than_the_volume_leaves_nothing(env: Env,
                                                          drv: RbdVolumeDriver) -> None:
    before = env.image_objects()

    def chunks() -> Iterator[bytes]:
        for _ in range(257):  # 1 GiB + 4 MiB
            yield b"\x01" * (4 * MiB)

    with pytest.raises(ImageUnacceptable, match="larger than the volume"):
        drv.copy_image_to_volume("a", 1, chunks())
    assert env.images() == []
    assert env.image_objects() == before


def test_copy_image_aborted_by_its_source_leaves_nothing(env: Env,
                                                         drv: RbdVolumeDriver) -> None:
    before = env.image_objects()

    class DownloadFailed(ConnectionError):
        pass

    def chunks() -> Iterator[bytes]:
        yield payload(5 * MiB)
        raise DownloadFailed("glance went away")

    with pytest.raises(DownloadFailed):
        drv.copy_image_to_volume("a", 1, chunks())
    assert env.images() == []
    assert env.image_objects() == before
    drv.create_volume("b", 1)
    with pytest.raises(VolumeExists):
        drv.copy_image_to_volume("b", 1, [b"data"])
