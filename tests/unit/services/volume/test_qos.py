"""QoS specs (:class:`VolumeQos`) on SQLite: Cinder's rules for consumers, names, keys,
associations and deletion, the type record's ``qos_specs_id`` and the front-end specs an
attachment's ``connection_info`` carries."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from shoal import errors
from shoal._time import utcnow
from shoal.db import Database
from shoal.services.volume import VolumeAttachments, VolumeQos
from shoal.services.volume._qos import front_end_specs
from shoal.services.volume._rows import type_record
from shoal.services.volume.models import Volume, VolumeType
from shoal.services.volume.policy import PolicyNotAuthorized
from tests.unit.services.volume.test_service import ADMIN, ALICE


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'shoal.db'}")
    database.upgrade()
    yield database
    database.dispose()


@pytest.fixture
def qos(db: Database) -> VolumeQos:
    return VolumeQos(db, utcnow)


def add_type(db: Database, name: str) -> str:
    type_id = str(uuid.uuid4())
    with db.session() as session:
        session.add(VolumeType(id=type_id, name=name, is_public=True, created_at=utcnow()))
    return type_id


def test_create_show_list_and_consumers(qos: VolumeQos) -> None:
    first = qos.create(ADMIN, "gold", {"consumer": "front-end", "read_iops_sec": "2000"})
    assert (first.consumer, dict(first.specs)) == ("front-end", {"read_iops_sec": "2000"})
    plain = qos.create(ADMIN, "silver", {})
    assert (plain.consumer, dict(plain.specs)) == ("back-end", {})
    assert qos.get(ADMIN, first.id) == first
    assert [s.name for s in qos.list_specs(ADMIN)] == ["silver", "gold"]  # newest first
    with pytest.raises(errors.AlreadyExists, match="QoS Specs gold already exists"):
        qos.create(ADMIN, "gold", {})
    with pytest.raises(errors.InvalidArgument, match="Valid consumer of QoS specs"):
        qos.create(ADMIN, "bronze", {"consumer": "hypervisor"})
    with pytest.raises(errors.InvalidArgument, match="Value for key"):
        qos.create(ADMIN, "bronze", {"k": "v" * 256})
    with pytest.raises(errors.NotFound, match="No such QoS spec nope"):
        qos.get(ADMIN, "nope")


def test_admins_only(qos: VolumeQos) -> None:
    for attempt in (lambda: qos.list_specs(ALICE), lambda: qos.create(ALICE, "x", {}),
                    lambda: qos.get(ALICE, "x"), lambda: qos.delete(ALICE, "x")):
        with pytest.raises(PolicyNotAuthorized):
            attempt()


def test_set_and_unset_keys(qos: VolumeQos) -> None:
    spec = qos.create(ADMIN, "gold", {"a": "1", "b": "2", "c": "3"})
    qos.set_keys(ADMIN, spec.id, {"a": "10", "d": "4", "consumer": "both"})
    got = qos.get(ADMIN, spec.id)
    assert (got.consumer, dict(got.specs)) == ("both", {"a": "10", "b": "2", "c": "3",
                                                        "d": "4"})
    with pytest.raises(errors.InvalidArgument):
        qos.set_keys(ADMIN, spec.id, {"consumer": "nobody"})
    # Cinder stops at the first missing key; the ones before it are gone all the same.
    with pytest.raises(errors.NotFound, match=f"QoS spec {spec.id} has no spec with key x"):
        qos.unset_keys(ADMIN, spec.id, ["b", "x", "c"])
    assert dict(qos.get(ADMIN, spec.id).specs) == {"a": "10", "c": "3", "d": "4"}
    qos.unset_keys(ADMIN, spec.id, ["a", "c"])
    assert dict(qos.get(ADMIN, spec.id).specs) == {"d": "4"}


def test_associations_and_delete(db: Database, qos: VolumeQos) -> None:
    spec = qos.create(ADMIN, "gold", {})
    other = qos.create(ADMIN, "silver", {})
    one, two = add_type(db, "t1"), add_type(db, "t2")
    qos.associate(ADMIN, spec.id, one)
    qos.associate(ADMIN, spec.id, one)  # again: nothing changes
    qos.associate(ADMIN, spec.id, two)
    assert [(a.id, a.name, a.association_type) for a in qos.associations(ADMIN, spec.id)] == [
        (one, "t1", "volume_type"), (two, "t2", "volume_type")]
    with pytest.raises(errors.InvalidArgument, match="already associated with another"):
        qos.associate(ADMIN, other.id, one)
    with pytest.raises(errors.NotFound, match="Volume type nope could not be found"):
        qos.associate(ADMIN, spec.id, "nope")
    with db.session(readonly=True) as session:
        assert type_record(session.get(VolumeType, one)).qos_specs_id == spec.id
    with pytest.raises(errors.InvalidArgument, match="Qos specs still in use"):
        qos.delete(ADMIN, spec.id)
    qos.disassociate(ADMIN, other.id, one)  # not its spec: nothing happens
    qos.disassociate(ADMIN, spec.id, one)
    assert [a.id for a in qos.associations(ADMIN, spec.id)] == [two]
    qos.associate(ADMIN, spec.id, one)
    qos.disassociate_all(ADMIN, spec.id)
    assert qos.associations(ADMIN, spec.id) == []
    qos.associate(ADMIN, spec.id, one)
    qos.delete(ADMIN, spec.id, force=True)
    with pytest.raises(errors.NotFound):
        qos.get(ADMIN, spec.id)
    with db.session(readonly=True) as session:
        assert type_record(session.get(VolumeType, one)).qos_specs_id is None


def test_deleting_a_type_drops_its_association(db: Database, qos: VolumeQos) -> None:
    spec = qos.create(ADMIN, "gold", {})
    type_id = add_type(db, "t1")
    qos.associate(ADMIN, spec.id, type_id)
    with db.session() as session:
        session.delete(session.get(VolumeType, type_id))
    assert qos.associations(ADMIN, spec.id) == []
    qos.delete(ADMIN, spec.id)


def test_front_end_specs_and_per_gib_keys(db: Database, qos: VolumeQos) -> None:
    type_id = add_type(db, "t1")
    back = qos.create(ADMIN, "back", {"total_iops_sec": "100"})
    qos.associate(ADMIN, back.id, type_id)
    with db.session(readonly=True) as session:
        assert front_end_specs(session, type_id, 10) is None  # the backend's to apply
        assert front_end_specs(session, None, 10) is None
    qos.disassociate_all(ADMIN, back.id)
    front = qos.create(ADMIN, "front", {
        "consumer": "both", "read_iops_sec_per_gb": "30", "read_iops_sec_per_gb_min": "500",
        "write_bytes_sec_per_gb": "1000", "write_bytes_sec_max": "5000",
        "total_iops_sec": "900"})
    qos.associate(ADMIN, front.id, type_id)
    with db.session(readonly=True) as session:
        assert front_end_specs(session, type_id, 10) == {
            "read_iops_sec": "500", "write_bytes_sec": "5000", "total_iops_sec": "900"}
        assert front_end_specs(session, type_id, 20)["read_iops_sec"] == "600"  # type: ignore[index]


class FakeDriver:
    """A driver's ``initialize_connection`` as the RBD driver shapes it."""

    def initialize_connection(self, volume_id: str,
                              connector: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return {"driver_volume_type": "rbd", "data": {"name": f"volumes/volume-{volume_id}"}}


def test_initialize_connection_carries_the_front_end_specs(db: Database,
                                                           qos: VolumeQos) -> None:
    host = "shoal@ceph#ceph"
    attachments = VolumeAttachments(db, {host: FakeDriver()}, utcnow)  # type: ignore[dict-item]
    type_id = add_type(db, "limited")
    volume_id = str(uuid.uuid4())
    with db.session() as session:
        session.add(Volume(id=volume_id, project_id="p1", user_id="u", status="available",
                           size=2, volume_type_id=type_id, host=host, created_at=utcnow()))
    info = attachments.initialize_connection(ADMIN, volume_id, {})
    assert info["data"]["qos_specs"] is None  # Cinder sends the key even without a spec
    spec = qos.create(ADMIN, "front", {"consumer": "front-end", "total_bytes_sec": "1000",
                                       "read_iops_sec_per_gb": "50"})
    qos.associate(ADMIN, spec.id, type_id)
    info = attachments.initialize_connection(ADMIN, volume_id, {})
    assert info["data"]["qos_specs"] == {"total_bytes_sec": "1000", "read_iops_sec": "100"}
    assert info["data"]["access_mode"] == "rw"
