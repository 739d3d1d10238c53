"""Volume type encryption (:class:`VolumeEncryption`) on SQLite: one per type, no change
while volumes use the type, gone with the type."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from shoal import errors
from shoal._time import utcnow
from shoal.db import Database
from shoal.services.volume import EncryptionSpec, VolumeEncryption
from shoal.services.volume._qos_models import VolumeTypeEncryption
from shoal.services.volume.models import Volume, VolumeType
from shoal.services.volume.policy import PolicyNotAuthorized
from tests.unit.services.volume.test_qos import add_type, db
from tests.unit.services.volume.test_service import ADMIN, ALICE

__all__ = ["db"]

LUKS = EncryptionSpec(provider="luks", cipher="aes-xts-plain64", key_size=256,
                      control_location="front-end")


def test_create_show_update_delete(db: Database) -> None:
    encryption = VolumeEncryption(db, utcnow)
    type_id = add_type(db, "secret")
    assert encryption.get(ADMIN, type_id) is None
    made = encryption.create(ADMIN, type_id, LUKS)
    assert (made.volume_type_id, made.provider, made.key_size) == (type_id, "luks", 256)
    assert encryption.get(ADMIN, type_id) == made
    with pytest.raises(errors.InvalidArgument, match="already exists"):
        encryption.create(ADMIN, type_id, LUKS)
    changed = encryption.update(ADMIN, type_id, EncryptionSpec(
        key_size=128, control_location="back-end",
        given=frozenset({"key_size", "control_location"})))
    assert (changed.provider, changed.cipher, changed.key_size, changed.control_location) == (
        "luks", "aes-xts-plain64", 128, "back-end")
    assert changed.encryption_id == made.encryption_id and changed.updated_at is not None
    with pytest.raises(errors.InvalidArgument, match="provider can not be None"):
        encryption.update(ADMIN, type_id, EncryptionSpec(given=frozenset({"provider"})))
    encryption.delete(ADMIN, type_id)
    assert encryption.get(ADMIN, type_id) is None
    with pytest.raises(errors.NotFound, match="does not exist"):
        encryption.delete(ADMIN, type_id)
    with pytest.raises(errors.NotFound, match="does not exist"):
        encryption.update(ADMIN, type_id, LUKS)


def test_unknown_type_policy_and_in_use(db: Database) -> None:
    encryption = VolumeEncryption(db, utcnow)
    with pytest.raises(errors.NotFound, match="Volume type nope could not be found"):
        encryption.get(ADMIN, "nope")
    with pytest.raises(errors.NotFound, match="Volume type nope could not be found"):
        encryption.create(ADMIN, "nope", LUKS)
    type_id = add_type(db, "secret")
    with pytest.raises(PolicyNotAuthorized):
        encryption.get(ALICE, type_id)
    encryption.create(ADMIN, type_id, LUKS)
    with db.session() as session:
        session.add(Volume(id=str(uuid.uuid4()), project_id="p1", user_id="u",
                           status="available", size=1, volume_type_id=type_id,
                           created_at=utcnow()))
    for verb, attempt in (
            ("update", lambda: encryption.update(ADMIN, type_id, LUKS)),
            ("delete", lambda: encryption.delete(ADMIN, type_id))):
        with pytest.raises(errors.InvalidArgument,
                           match=f"Cannot {verb} encryption specs. Volume type in use."):
            attempt()
    other = add_type(db, "other")
    with db.session() as session:
        session.add(Volume(id=str(uuid.uuid4()), project_id="p1", user_id="u",
                           status="available", size=1, volume_type_id=other,
                           created_at=utcnow()))
    with pytest.raises(errors.InvalidArgument, match="Cannot create encryption specs"):
        encryption.create(ADMIN, other, LUKS)


def test_deleting_the_type_deletes_its_encryption(db: Database) -> None:
    encryption = VolumeEncryption(db, utcnow)
    type_id = add_type(db, "secret")
    encryption.create(ADMIN, type_id, LUKS)
    with db.session() as session:
        session.delete(session.get(VolumeType, type_id))
    with db.session(readonly=True) as session:
        assert session.execute(select(VolumeTypeEncryption)).all() == []
