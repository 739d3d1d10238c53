"""User messages the volume service writes: a volume no backend can take (Cinder's
``schedule allocate volume`` / ``NoValidBackend``), and a volume from an image that was
copied, not cloned (shoal's details 901-905)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

import shoal.rbd as rbd
from shoal import errors
from shoal._time import utcnow
from shoal.services.image.store import RbdStore
from shoal.services.tasks import ResourceRef
from shoal.services.volume._messages import IMAGE_NOT_CLONED, MESSAGE_TTL, VolumeMessages
from shoal.services.volume._service import VolumeSource
from shoal.services.volume._work import ImageData
from shoal.services.volume.driver import CloneRefusal
from shoal.services.volume.quotas import QuotaExceeded
from tests.unit.services.volume.driver.test_driver import MiB, payload
from tests.unit.services.volume.test_retype import open_world
from tests.unit.services.volume.test_service import ADMIN, ALICE, BOB, World


class Images:
    """Images kept in memory; their bytes are the raw data."""

    def __init__(self) -> None:
        self.known: dict[str, tuple[ImageData, bytes]] = {}

    def add(self, data: bytes, *, disk_format: str = "raw", locations: tuple[str, ...] = (),
            image_id: str | None = None) -> ImageData:
        made = ImageData(id=image_id or str(uuid.uuid4()), name="img", status="active",
                         disk_format=disk_format, size=len(data), virtual_size=len(data),
                         locations=locations, properties={"disk_format": disk_format})
        self.known[made.id] = (made, data)
        return made

    def image(self, image_id: str, project_id: str | None, *, is_admin: bool = False
              ) -> ImageData:
        if image_id not in self.known:
            raise errors.NotFound(f"Image {image_id} could not be found.")
        return self.known[image_id][0]

    def raw_data(self, image_id: str) -> Iterator[bytes]:
        yield self.known[image_id][1]

    def unacceptable(self, image_id: str) -> str | None:
        return None

    def find_by_name(self, name: str, project_id: str | None) -> list[ImageData]:
        return []


@pytest.fixture
def images() -> Images:
    return Images()


@pytest.fixture
def world(tmp_path: Path, images: Images) -> Iterator[World]:
    with open_world(tmp_path, images) as made:
        yield made


def messages(world: World) -> VolumeMessages:
    return VolumeMessages(world.db, utcnow)


def test_a_type_no_backend_passes_makes_an_error_volume_with_a_message(world: World) -> None:
    for name, specs in (("nope", {"volume_backend_name": "nope"}),
                        ("bogus", {"storage_protocol": "nfs", "vendor_name": "acme"})):
        world.service.create_type(ADMIN, name, extra_specs=specs)
        made = world.service.create_volume(ALICE, size=1, volume_type=name)
        assert made.status == "error" and made.host is None
        assert world.service.get_volume(ALICE, made.id).status == "error"
        assert world.runner.tasks_for(ResourceRef("volume", made.id)) == []
        found = [m for m in messages(world).list_messages(ALICE) if m.resource_uuid == made.id]
        assert len(found) == 1
        message = found[0]
        assert message.event_id == "VOLUME_VOLUME_001_003"
        assert message.user_message == ("schedule allocate volume: Could not find any "
                                        "available weighted backend.")
        assert (message.message_level, message.resource_type) == ("ERROR", "VOLUME")
        assert message.project_id == "p1"
        assert message.expires_at is not None
        assert message.expires_at - message.created_at == MESSAGE_TTL
        assert messages(world).list_messages(BOB) == []
        # it holds quota until deleted, and deletes at once (no backend holds anything)
        world.service.delete_volume(ALICE, made.id)
        with pytest.raises(errors.NotFound):
            world.service.get_volume(ALICE, made.id)
        assert messages(world).get(ALICE, message.id).id == message.id  # messages stay
    assert world.env.images() == []


def test_an_unschedulable_volume_takes_quota(world: World) -> None:
    world.service.create_type(ADMIN, "nope", extra_specs={"volume_backend_name": "nope"})
    for _ in range(5):
        world.service.create_volume(ALICE, size=1, volume_type="nope")
    with pytest.raises(QuotaExceeded):
        world.service.create_volume(ALICE, size=1, volume_type="nope")


def test_matching_types_still_schedule(world: World) -> None:
    world.service.create_type(ADMIN, "ok", extra_specs={
        "volume_backend_name": "ceph", "storage_protocol": "ceph",
        "vendor_name": "Open Source", "multiattach": "<is> True", "qos:iops": "5"})
    made = world.wait(world.service.create_volume(ALICE, size=1, volume_type="ok"),
                      "available")
    assert made.host is not None
    assert messages(world).list_messages(ALICE) == []


@pytest.fixture
def glance(world: World) -> RbdStore:
    return RbdStore(world.env.session("client.glance"))


def from_image(world: World, image: ImageData) -> str:
    made = world.service.create_volume(ALICE, size=1, source=VolumeSource(image_id=image.id))
    world.wait(made, "available")
    return made.id


def test_a_cloned_image_says_nothing(world: World, images: Images, glance: RbdStore) -> None:
    data = payload(MiB, seed=3)
    image_id = str(uuid.uuid4())
    location = glance.add(image_id, [data], len(data)).location
    volume_id = from_image(world, images.add(data, locations=(location,), image_id=image_id))
    assert world.env.parent(f"volume-{volume_id}") == ("images", image_id, "snap")
    assert messages(world).list_messages(ALICE) == []


def test_an_image_copied_instead_of_cloned_says_why(world: World, images: Images,
                                                    glance: RbdStore) -> None:
    data = payload(MiB, seed=5)
    image_id = str(uuid.uuid4())
    good = glance.add(image_id, [data], len(data)).location
    fsid = world.env.admin.get_fsid()
    rbd.RBD().create(world.env.io("backups"), "hidden", MiB)
    with rbd.Image(world.env.io("backups"), "hidden") as img:
        img.create_snap("snap")
        img.protect_snap("snap")
    base = images.add(data, locations=(good,), image_id=image_id)
    cases = {
        "not_raw": replace(base, id=str(uuid.uuid4()), disk_format="qcow2"),
        "no_location": replace(base, id=str(uuid.uuid4()), locations=()),
        "other_cluster": replace(base, id=str(uuid.uuid4()), locations=(
            good.replace(fsid, "00000000-0000-0000-0000-000000000000"),)),
        "no_access": replace(base, id=str(uuid.uuid4()), locations=(
            f"rbd://{fsid}/backups/hidden/snap",)),
        "not_in_store": replace(base, id=str(uuid.uuid4()), locations=(
            f"rbd://{fsid}/images/{uuid.uuid4()}/snap",)),
    }
    assert set(cases) == {r.value for r in CloneRefusal} == set(IMAGE_NOT_CLONED)
    for reason, image in cases.items():
        images.known[image.id] = (image, data)
        volume_id = from_image(world, image)
        assert world.env.parent(f"volume-{volume_id}") is None  # copied
        assert world.env.read(f"volume-{volume_id}", 0, len(data)) == data
        found = [m for m in messages(world).list_messages(ALICE)
                 if m.resource_uuid == volume_id]
        assert len(found) == 1, reason
        detail = IMAGE_NOT_CLONED[reason]
        assert found[0].event_id == f"VOLUME_VOLUME_005_{detail.id}"
        assert found[0].user_message == f"copy image to volume: {detail.text}"
        assert found[0].message_level == "INFO"
    ids = sorted(d.id for d in IMAGE_NOT_CLONED.values())
    assert ids == ["901", "902", "903", "904", "905"]
    assert "show_image_direct_url" in IMAGE_NOT_CLONED["no_location"].text
