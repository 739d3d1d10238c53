"""ImageService: records and data kept consistent whatever fails (SQLite here; the same
bodies run on PostgreSQL in tests/pg)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shoal import errors
from shoal.db import Database
from shoal.services import Caller
from shoal.services.image import (
    ImageConflict,
    ImageGone,
    ImageRecord,
    ImageService,
    ImageServiceOptions,
)
from shoal.services.image.models import Image
from shoal.services.image.store import InUseByStore, RbdStore
from tests.unit.services.image.store.test_store import Cluster

MiB = 1 << 20


def _record(**fields: object) -> ImageRecord:
    now = datetime.now(UTC)
    base: dict[str, object] = {"id": str(uuid.uuid4()), "status": "queued", "created_at": now,
                               "updated_at": now, "name": "img", "owner": "p1",
                               "disk_format": "raw", "container_format": "bare"}
    base.update(fields)
    return ImageRecord(**base)  # type: ignore[arg-type]


#: A member of the owning project of ``_record()``'s images.
P1 = Caller("u1", "p1", frozenset({"member", "reader"}))
#: A member of another project, a reader of the owning project, an admin elsewhere.
P2 = Caller("u2", "p2", frozenset({"member", "reader"}))
READER = Caller("u3", "p1", frozenset({"reader"}))
ADMIN = Caller("u4", "admin-project", frozenset({"admin", "member", "reader"}))


class ImageServiceContract:
    @pytest.fixture
    def db_url(self, tmp_path: Path) -> str:
        return f"sqlite:///{tmp_path / 'shoal.db'}"

    @pytest.fixture
    def cluster(self, tmp_path: Path) -> Iterator[Cluster]:
        c = Cluster(tmp_path)
        yield c
        c.close()

    @pytest.fixture
    def db(self, db_url: str) -> Iterator[Database]:
        with Database(db_url) as database:
            database.upgrade()
            yield database

    @pytest.fixture
    def dead(self) -> set[str]:
        return set()

    @pytest.fixture
    def service(self, db: Database, cluster: Cluster, tmp_path: Path, dead: set[str]
                ) -> ImageService:
        store = RbdStore(cluster.session("client.glance"), chunk_size_mib=1)
        return ImageService(db, store, ImageServiceOptions(spool_dir=tmp_path,
                                                           progress_check_bytes=MiB),
                            owner="me", owner_gone=lambda owner: owner in dead)

    @staticmethod
    def _rbd_names(cluster: Cluster) -> list[str]:
        import shoal.rbd as rbd

        return list(rbd.RBD().list(cluster.io("images")))

    def test_create_get_and_duplicates(self, service: ImageService) -> None:
        record = _record(tags=("a",), properties={"hw_disk_bus": "scsi"})
        made = service.create(P1, record)
        assert made == record
        assert service.get(record.id) == record
        with pytest.raises(ImageConflict, match="already exists"):
            service.create(P1, record)
        with pytest.raises(errors.NotFound):
            service.get(str(uuid.uuid4()))

    def test_update_writes_what_the_change_returns(self, service: ImageService) -> None:
        record = service.create(P1, _record())
        same = service.update(P1, record.id, lambda current: None)
        assert same.updated_at == record.updated_at
        changed = service.update(P1, record.id, lambda current: replace(
            current, name="renamed", tags=("x", "y"), properties={"k": "v"}))
        assert (changed.name, changed.tags, dict(changed.properties)) == (
            "renamed", ("x", "y"), {"k": "v"})
        assert changed.updated_at > record.updated_at
        dropped = service.update(P1, record.id, lambda current: replace(
            current, tags=("y",), properties={}))
        assert dropped.tags == ("y",) and dict(dropped.properties) == {}

    def test_upload_makes_the_image_active(self, service: ImageService,
                                           cluster: Cluster) -> None:
        record = service.create(P1, _record())
        data = bytes(range(256)) * 9000
        done = service.upload(P1, record.id, [data[:1000], data[1000:]], len(data))
        assert done.status == "active" and done.size == len(data)
        assert done.checksum == hashlib.md5(data).hexdigest()
        assert done.os_hash_value == hashlib.sha512(data).hexdigest()
        assert done.virtual_size == len(data)
        assert done.locations[0].url.endswith(f"/images/{record.id}/snap")
        reader, size = service.open_data(done)
        with reader:
            assert b"".join(reader) == data and size == len(data)
        with pytest.raises(ImageConflict):
            service.upload(P1, record.id, [b"again"], 5)
        assert self._rbd_names(cluster) == [record.id]

    def test_a_refused_or_failed_upload_leaves_it_queued_and_nothing_stored(
            self, service: ImageService, cluster: Cluster) -> None:
        record = service.create(P1, _record())

        with pytest.raises(errors.PermissionDenied):
            service.upload(READER, record.id, [b"x"], 1)
        assert service.get(record.id).status == "queued"

        def broken() -> Iterator[bytes]:
            yield b"\x01" * (3 * MiB)
            raise errors.InvalidArgument("client went away")

        with pytest.raises(errors.InvalidArgument, match="went away"):
            service.upload(P1, record.id, broken(), None)
        assert service.get(record.id).status == "queued"
        assert self._rbd_names(cluster) == []
        assert service.upload(P1, record.id, [b"ok"], 2).status == "active"

    def test_deleted_during_upload_is_gone_and_its_data_removed(
            self, service: ImageService, cluster: Cluster) -> None:
        record = service.create(P1, _record())

        def data() -> Iterator[bytes]:
            yield b"\x02" * (2 * MiB)
            with service.db.session() as session:  # someone deletes the image meanwhile
                session.delete(session.get(Image, record.id))
            yield b"\x03" * (2 * MiB)

        with pytest.raises(ImageGone):
            service.upload(P1, record.id, data(), None)
        assert self._rbd_names(cluster) == []

    def test_delete_removes_data_then_record_unless_cloned(
            self, service: ImageService, cluster: Cluster) -> None:
        import shoal.rbd as rbd

        record = service.create(P1, _record())
        service.upload(P1, record.id, [b"\x04" * MiB], MiB)
        rbd.RBD().clone(cluster.io("images"), record.id, "snap", cluster.io("volumes"), "v1")
        with pytest.raises(InUseByStore):
            service.delete(P1, record.id)
        assert service.get(record.id).status == "active"
        rbd.RBD().remove(cluster.io("volumes"), "v1")
        service.delete(P1, record.id)
        with pytest.raises(errors.NotFound):
            service.get(record.id)
        assert self._rbd_names(cluster) == []

    def test_recovery_requeues_uploads_of_dead_owners_only(
            self, service: ImageService, cluster: Cluster, dead: set[str]) -> None:
        mine = service.create(P1, _record())
        theirs = service.create(P1, _record())
        for record, owner in ((mine, "crashed"), (theirs, "alive")):
            with service.db.session() as session:
                row = session.get(Image, record.id)
                assert row is not None
                row.status, row.upload_owner = "saving", owner
        service.store.add(mine.id, [b"\x05" * MiB], None)  # its partial data
        dead.add("crashed")
        assert service.recover_uploads() == [mine.id]
        assert service.get(mine.id).status == "queued"
        assert service.get(theirs.id).status == "saving"
        assert self._rbd_names(cluster) == []

    def test_members(self, service: ImageService) -> None:
        record = service.create(P1, _record(visibility="shared"))
        added = service.add_member(P1, record.id, "p2", lambda rec, count: None)
        assert (added.member_id, added.status) == ("p2", "pending")
        with pytest.raises(ImageConflict):
            service.add_member(P1, record.id, "p2", lambda rec, count: None)
        assert service.memberships("p2") == {record.id: "pending"}
        service.update_member(P2, record.id, "p2", "accepted", lambda rec, m: None)
        assert service.memberships("p2") == {record.id: "accepted"}
        service.delete_member(P1, record.id, "p2", lambda rec, m: None)
        assert service.members(P1, record.id)[1] == []
        with pytest.raises(errors.NotFound):
            service.delete_member(P1, record.id, "p2", lambda rec, m: None)


class TestImageServiceSqlite(ImageServiceContract):
    pass

    def test_policy_hides_invisible_images_and_refuses_foreign_changes(
            self, service: ImageService) -> None:
        private = service.create(P1, _record())
        public = service.create(P1, _record(visibility="public"))
        shared = service.create(P1, _record(visibility="shared"))
        for image_id in (private.id, shared.id):
            with pytest.raises(errors.NotFound):
                service.show(P2, image_id)
            with pytest.raises(errors.NotFound):
                service.update(P2, image_id, lambda current: None)
            with pytest.raises(errors.NotFound):
                service.delete(P2, image_id)
        assert service.show(P2, public.id) == public
        assert service.show(ADMIN, private.id) == private
        with pytest.raises(errors.PermissionDenied, match="not permitted to modify"):
            service.update(P2, public.id, lambda current: None)
        with pytest.raises(errors.PermissionDenied, match="not permitted to delete"):
            service.delete(P2, public.id)
        with pytest.raises(errors.PermissionDenied, match="role 'member'"):
            service.update(READER, private.id, lambda current: None)
        with pytest.raises(errors.PermissionDenied, match="role 'member'"):
            service.create(READER, _record())
        service.add_member(P1, shared.id, "p2", lambda rec, count: None)
        assert service.show(P2, shared.id) == shared  # a pending member sees it
        with pytest.raises(errors.PermissionDenied):
            service.delete(P2, shared.id)
        changed = service.update(ADMIN, private.id, lambda current: replace(current, name="a"))
        assert changed.name == "a"

    def test_a_protected_image_is_not_deleted(self, service: ImageService) -> None:
        record = service.create(P1, _record(protected=True))
        with pytest.raises(errors.PermissionDenied, match="protected"):
            service.delete(P1, record.id)
        assert service.get(record.id) == record
