"""``os-volume_upload_image`` on the embedded engine: the request's rules, the in-cluster
clone + flatten, the streamed raw and qcow2 copies, failures that leave nothing behind.
Real parts: a provisioned embedded cluster, SQLite, the task runner; the image service is
a recording fake (the real one is driven end to end in tests/e2e/test_volume_upload.py)."""

from __future__ import annotations

import contextlib
import hashlib
import shutil
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import shoal.rbd as rbd
from shoal import errors
from shoal._time import utcnow
from shoal.db import Database
from shoal.services.tasks import ResourceRef, TaskInfo, TaskRunner, TaskState
from shoal.services.volume._service import Backend, VolumeOptions, VolumeService
from shoal.services.volume._upload import (
    StoreTarget,
    UploadBackend,
    UploadRequest,
    UploadWork,
    VolumeUploads,
    export_sparse,
    image_properties,
    temp_snapshot_name,
)
from shoal.services.volume._work import VolumeWork
from shoal.services.volume.models import Volume, VolumeMetadata
from shoal.services.volume.policy import PolicyNotAuthorized
from tests.unit.services.volume.driver.test_driver import Env
from tests.unit.services.volume.test_service import ADMIN, ALICE, BOB, HOST, READER, NoImages
from tests.unit.services.volume.test_service import World as ServiceWorld

GiB = 1 << 30
MiB = 1 << 20


@dataclass
class Sink:
    """The image service as uploads write it, recording what it is asked."""

    fsid: str
    statuses: dict[str, str] = field(default_factory=dict)
    created: dict[str, dict[str, Any]] = field(default_factory=dict)
    uploaded: dict[str, bytes] = field(default_factory=dict)
    activated: dict[str, dict[str, Any]] = field(default_factory=dict)
    discarded: list[str] = field(default_factory=list)
    fail_upload: bool = False

    def create_image(self, caller: Any, *, name: str, disk_format: str,
                     container_format: str, visibility: str, protected: bool,
                     properties: Mapping[str, str]) -> str:
        if container_format not in ("bare", "ovf"):
            raise errors.InvalidArgument(f"Invalid value '{container_format}'")
        image_id = f"00000000-0000-0000-0000-{len(self.created):012d}"
        self.created[image_id] = {"name": name, "disk_format": disk_format,
                                  "owner": caller.project_id, "visibility": visibility,
                                  "protected": protected, "properties": dict(properties)}
        self.statuses[image_id] = "queued"
        return image_id

    def image_status(self, image_id: str) -> str | None:
        return self.statuses.get(image_id)

    def upload(self, image_id: str, project_id: str, user_id: str, data: Iterable[bytes],
               size: int | None) -> None:
        head = b""
        total = 0
        for piece in data:
            if self.fail_upload and total:
                raise errors.NoSpace("image storage is full")
            if len(head) < MiB:
                head += piece[:MiB]
            total += len(piece)
        assert total == size
        self.uploaded[image_id] = head
        self.statuses[image_id] = "active"

    def activate(self, image_id: str, *, location: str, size: int, checksum: str,
                 hash_value: str, virtual_size: int) -> None:
        self.activated[image_id] = {"location": location, "size": size,
                                    "checksum": checksum, "hash": hash_value}
        self.statuses[image_id] = "active"

    def discard(self, image_id: str) -> None:
        self.discarded.append(image_id)
        self.statuses.pop(image_id, None)

    def forget(self, session: Any, image_id: str) -> None:
        if self.statuses.get(image_id) != "active":
            self.statuses.pop(image_id, None)

    def target(self) -> StoreTarget:
        return StoreTarget(fsid=self.fsid, pool="images", features=1, order=22,
                           hashing_algorithm="sha512")


@dataclass
class World(ServiceWorld):
    sink: Sink

    def volume(self, size: int = 1, data: bytes = b"") -> str:
        made = self.service.create_volume(ALICE, size=size)
        self.wait(made, "available")
        if data:
            self.env.write(f"volume-{made.id}", data)
        return made.id

    def status(self, volume_id: str) -> str:
        self.settle("volume", volume_id)
        return self.service.get_volume(ADMIN, volume_id).status


def _world(tmp_path: Path, *, same_cluster: bool) -> Iterator[World]:
    env = Env(tmp_path)
    db = Database(f"sqlite:///{tmp_path / 'shoal.db'}")
    db.upgrade()
    runner = TaskRunner(db, workers=2, poll_s=0.05)
    driver = env.driver()
    VolumeWork({"ceph": driver}, NoImages(), utcnow).register(runner)
    sink = Sink(driver.fsid if same_cluster else "another-cluster")
    backend = UploadBackend(driver, env.cinder, env.admin)
    UploadWork({"ceph": backend}, sink, tmp_path / "conversion", utcnow).register(runner)
    options = VolumeOptions(backends=(Backend("ceph", "ceph", HOST),))
    service = VolumeService(db, runner, NoImages(), options)
    service.ensure_default_type()
    service.uploads = VolumeUploads(db, runner, sink, service.backend_section, utcnow)
    runner.start()
    yield World(env, db, runner, service, sink)
    runner.shutdown(wait_s=10)
    db.dispose()
    env.close()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    yield from _world(tmp_path, same_cluster=True)


@pytest.fixture
def remote(tmp_path: Path) -> Iterator[World]:
    """The image store on another cluster: uploads stream."""
    yield from _world(tmp_path, same_cluster=False)


def _md5_of(head: bytes, size: int) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    digest.update(head)
    zeros = bytes(64 * MiB)
    left = size - len(head)
    while left:
        digest.update(zeros[:min(left, len(zeros))])
        left -= min(left, len(zeros))
    return digest.hexdigest()


def test_in_cluster_upload_is_a_flattened_image_with_a_protected_snap(world: World) -> None:
    volume_id = world.volume(data=b"hello")
    started = world.service.upload_to_image(ALICE, volume_id, UploadRequest("img"))
    assert started.volume.id == volume_id and started.image_name == "img"
    with world.db.session() as session:
        row = session.get(Volume, volume_id)
        assert row is not None and row.status in ("uploading", "available")
    world.settle("volume", volume_id)
    assert world.status(volume_id) == "available"
    image_id = started.image_id
    done = world.sink.activated[image_id]
    assert done["location"] == f"rbd://{world.sink.fsid}/images/{image_id}/snap"
    assert done["size"] == GiB and done["checksum"] == _md5_of(b"hello", GiB)
    assert world.env.parent(image_id, "images") is None
    assert world.env.snaps(image_id, "images") == {"snap": True}
    assert world.env.read(image_id, 0, 5, "images") == b"hello"
    assert world.env.snaps(f"volume-{volume_id}") == {}
    assert world.sink.created[image_id]["owner"] == ALICE.project_id


def test_streamed_raw_and_qcow2(remote: World) -> None:
    volume_id = remote.volume(data=b"hello")
    raw = remote.service.upload_to_image(ALICE, volume_id, UploadRequest("r"))
    remote.settle("volume", volume_id)
    assert remote.sink.uploaded[raw.image_id][:5] == b"hello"
    assert remote.env.images("images") == []  # nothing cloned
    if shutil.which("qemu-img") is None:
        pytest.skip("needs qemu-img")
    qcow2 = remote.service.upload_to_image(ALICE, volume_id,
                                           UploadRequest("q", disk_format="qcow2"))
    remote.settle("volume", volume_id)
    assert remote.sink.uploaded[qcow2.image_id][:4] == b"QFI\xfb"
    assert remote.status(volume_id) == "available"
    assert remote.env.snaps(f"volume-{volume_id}") == {}


def test_failed_upload_discards_the_image_and_restores_the_volume(remote: World) -> None:
    remote.sink.fail_upload = True
    volume_id = remote.volume(data=b"x")
    started = remote.service.upload_to_image(ALICE, volume_id, UploadRequest("f"))
    remote.settle("volume", volume_id)
    assert remote.status(volume_id) == "available"
    assert remote.sink.discarded == [started.image_id]
    assert remote.env.snaps(f"volume-{volume_id}") == {}


def test_refusals_leave_nothing(world: World) -> None:
    volume_id = world.volume()
    with pytest.raises(errors.NotFound):
        world.service.upload_to_image(BOB, volume_id, UploadRequest("x"))
    with pytest.raises(PolicyNotAuthorized):
        world.service.upload_to_image(READER, volume_id, UploadRequest("x"))
    with pytest.raises(PolicyNotAuthorized):  # volume:upload_public is for admins
        world.service.upload_to_image(ALICE, volume_id,
                                      UploadRequest("x", visibility="public"))
    with pytest.raises(errors.InvalidArgument, match="Invalid value 'nope'"):
        world.service.upload_to_image(ALICE, volume_id,
                                      UploadRequest("x", container_format="nope"))
    with world.db.session() as session:
        row = session.get(Volume, volume_id)
        assert row is not None
        row.status = "in-use"
    for force in (False, True):  # enable_force_upload is off
        with pytest.raises(errors.InvalidArgument, match="status must be available"):
            world.service.upload_to_image(ALICE, volume_id, UploadRequest("x", force=force))
    assert world.sink.created == {}
    assert world.status(volume_id) == "in-use"


def test_force_uploads_an_in_use_volume_when_allowed(remote: World) -> None:
    assert remote.service.uploads is not None
    remote.service.uploads.force_allowed = True
    volume_id = remote.volume()
    with remote.db.session() as session:
        row = session.get(Volume, volume_id)
        assert row is not None
        row.status = "in-use"
    remote.service.upload_to_image(ALICE, volume_id, UploadRequest("x", force=True))
    remote.settle("volume", volume_id)
    assert remote.status(volume_id) == "in-use"


def test_properties_come_from_the_volume_image_metadata(remote: World) -> None:
    volume_id = remote.volume()
    with remote.db.session() as session:
        row = session.get(Volume, volume_id)
        assert row is not None
        row.metadata_items.extend(VolumeMetadata(kind="image", key=k, value=v) for k, v in (
            ("image_id", "i"), ("disk_format", "raw"), ("hw_disk_bus", "scsi"),
            ("os_glance_importing_to_stores", "rbd"), ("min_ram", "1")))
    started = remote.service.upload_to_image(ALICE, volume_id, UploadRequest("p"))
    remote.settle("volume", volume_id)
    assert remote.sink.created[started.image_id]["properties"] == {"hw_disk_bus": "scsi"}


def test_image_properties_and_sparse_export(tmp_path: Path) -> None:
    assert image_properties({"name": "n", "size": "1", "os_glance_x": "y", "a": "b"}) == {
        "a": "b"}
    path = tmp_path / "out.raw"
    export_sparse([b"a" * MiB, bytes(4 * MiB), b"b" * MiB], path, 8 * MiB)
    data = path.read_bytes()
    assert len(data) == 8 * MiB and data[:MiB] == b"a" * MiB
    assert data[5 * MiB:6 * MiB] == b"b" * MiB and data[MiB:5 * MiB] == bytes(4 * MiB)
    assert path.stat().st_blocks * 512 < 4 * MiB  # the zeros are holes
    assert temp_snapshot_name("i1") == "upload-i1"


def test_given_up_task_leaves_nothing(tmp_path: Path) -> None:
    """A task that gave up at recovery (its handler never ran again): the failure hook
    removes the clone and the temporary snapshot, forgets the image, restores the volume."""
    gen = _world(tmp_path, same_cluster=True)
    world = next(gen)
    volume_id = world.volume()
    image_id = "00000000-0000-0000-0000-00000000000f"
    world.sink.statuses[image_id] = "queued"
    snap = temp_snapshot_name(image_id)
    with rbd.Image(world.env.io(), f"volume-{volume_id}") as img:
        img.create_snap(snap)
        img.protect_snap(snap)
    rbd.RBD().clone(world.env.io(), f"volume-{volume_id}", snap, world.env.io("images"),
                    image_id, features=1, order=22)
    with world.db.session() as session:
        row = session.get(Volume, volume_id)
        assert row is not None
        row.status, row.previous_status = "uploading", "available"
    now = utcnow()
    task = TaskInfo(id="t", kind="volume.upload", resource=ResourceRef("volume", volume_id),
                    params={"backend": "ceph", "image_id": image_id}, state=TaskState.FAILED,
                    attempts=3, progress=None, error=None, owner=None, heartbeat_at=None,
                    created_at=now, updated_at=now)
    work = UploadWork({"ceph": UploadBackend(world.env.driver(), world.env.cinder,
                                             world.env.admin)},
                      world.sink, tmp_path / "conversion", utcnow)
    with world.db.session() as session:
        work._failed(session, task, "gave up")
    assert world.status(volume_id) == "available"
    assert world.env.images("images") == []
    assert world.env.snaps(f"volume-{volume_id}") == {}
    assert image_id not in world.sink.statuses
    with contextlib.suppress(StopIteration):
        next(gen)
