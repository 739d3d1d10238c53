"""Volume type encryption (Cinder's ``volume_type_encryption``): how volumes of a type are
encrypted (provider, cipher, key size, control location). Admins only.

Cinder's rules kept here: a type has at most one encryption (a second is 400); none of
create, update and delete is allowed while volumes of the type exist (400, ``Volume type
in use.``); a type without encryption shows an empty one. Deleting the type deletes its
encryption (the table cascades).

Volumes of an encrypted type are not encrypted by shoal yet: there is no key manager, so
the specs are stored and shown only.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from shoal import errors
from shoal.db import Database
from shoal.services.volume import policy
from shoal.services.volume._qos import type_by_id
from shoal.services.volume._qos_models import VolumeTypeEncryption
from shoal.services.volume.models import Volume
from shoal.services.volume.policy import CallerLike

__all__ = ["CONTROL_LOCATIONS", "EncryptionRecord", "EncryptionSpec", "VolumeEncryption"]

#: Where the encryptor runs (Cinder's schema enum).
CONTROL_LOCATIONS: Final = ("front-end", "back-end")
#: Fields of :class:`EncryptionSpec` an update may change.
_FIELDS: Final = ("provider", "cipher", "key_size", "control_location")


@dataclass(frozen=True)
class EncryptionSpec:
    """What a create or update sets; an update changes only the fields in ``given``.

    ``key_size`` is in bits (None: the provider's default).
    """

    provider: str | None = None
    cipher: str | None = None
    key_size: int | None = None
    control_location: str | None = None
    given: frozenset[str] = frozenset(_FIELDS)


@dataclass(frozen=True)
class EncryptionRecord:
    """A type's encryption as stored."""

    volume_type_id: str
    encryption_id: str
    provider: str
    cipher: str | None
    key_size: int | None
    control_location: str
    created_at: datetime
    updated_at: datetime | None = None


def _record(row: VolumeTypeEncryption) -> EncryptionRecord:
    return EncryptionRecord(
        volume_type_id=row.volume_type_id, encryption_id=row.encryption_id,
        provider=row.provider, cipher=row.cipher, key_size=row.key_size,
        control_location=row.control_location, created_at=row.created_at,
        updated_at=row.updated_at)


def _missing(type_id: str) -> errors.NotFound:
    return errors.NotFound(f"Volume type encryption for type {type_id} does not exist.")


class VolumeEncryption:
    """The volume type encryptions of one deployment (see the module docstring)."""

    def __init__(self, db: Database, now: Callable[[], datetime]) -> None:
        self.db = db
        self.now = now

    @staticmethod
    def _row(session: Session, type_id: str) -> VolumeTypeEncryption | None:
        return session.execute(select(VolumeTypeEncryption).where(
            VolumeTypeEncryption.volume_type_id == type_id)).scalar_one_or_none()

    @staticmethod
    def _refuse_in_use(session: Session, type_id: str, verb: str) -> None:
        used = session.execute(select(Volume.id).where(
            Volume.volume_type_id == type_id).limit(1)).first()
        if used is not None:
            raise errors.InvalidArgument(f"Cannot {verb} encryption specs. Volume type in "
                                         "use.")

    def get(self, caller: CallerLike, type_id: str) -> EncryptionRecord | None:
        """The type's encryption; None when it has none.

        Raises:
            PolicyNotAuthorized: not an admin.
            NotFound: no such type.
        """
        policy.authorize(caller, "volume_extension:volume_type_encryption:get")
        with self.db.session(readonly=True) as session:
            type_by_id(session, type_id)
            row = self._row(session, type_id)
            return None if row is None else _record(row)

    def create(self, caller: CallerLike, type_id: str, spec: EncryptionSpec
               ) -> EncryptionRecord:
        """Give the type an encryption (``provider`` and ``control_location`` needed: the
        API's schema requires them).

        Raises:
            PolicyNotAuthorized: not an admin.
            InvalidArgument: volumes of the type exist, or it has an encryption already.
            NotFound: no such type.
        """
        policy.authorize(caller, "volume_extension:volume_type_encryption:create")
        if spec.provider is None or spec.control_location not in CONTROL_LOCATIONS:
            raise errors.InvalidArgument("Invalid input received: provider and "
                                         "control_location are required.")
        with self.db.session() as session:
            self._refuse_in_use(session, type_id, "create")
            type_by_id(session, type_id)
            if self._row(session, type_id) is not None:
                raise errors.InvalidArgument(f"Volume type encryption for type {type_id} "
                                             "already exists.")
            row = VolumeTypeEncryption(
                encryption_id=str(uuid.uuid4()), volume_type_id=type_id,
                provider=spec.provider, cipher=spec.cipher, key_size=spec.key_size,
                control_location=spec.control_location, created_at=self.now())
            session.add(row)
            session.flush()
            return _record(row)

    def update(self, caller: CallerLike, type_id: str, spec: EncryptionSpec
               ) -> EncryptionRecord:
        """Change the fields of ``spec.given``.

        Raises:
            PolicyNotAuthorized: not an admin.
            NotFound: no such type, or it has no encryption.
            InvalidArgument: volumes of the type exist; a ``provider`` or
                ``control_location`` set to nothing.
        """
        policy.authorize(caller, "volume_extension:volume_type_encryption:update")
        with self.db.session() as session:
            type_by_id(session, type_id)
            self._refuse_in_use(session, type_id, "update")
            row = self._row(session, type_id)
            if row is None:
                raise _missing(type_id)
            for name in _FIELDS:
                if name not in spec.given:
                    continue
                value = getattr(spec, name)
                if name in ("provider", "control_location") and value is None:
                    raise errors.InvalidArgument(f"Invalid input received: {name} can not "
                                                 "be None.")
                setattr(row, name, value)
            row.updated_at = self.now()
            session.flush()
            return _record(row)

    def delete(self, caller: CallerLike, type_id: str) -> None:
        """Remove the type's encryption.

        Raises:
            PolicyNotAuthorized: not an admin.
            InvalidArgument: volumes of the type exist.
            NotFound: the type has no encryption.
        """
        policy.authorize(caller, "volume_extension:volume_type_encryption:delete")
        with self.db.session() as session:
            self._refuse_in_use(session, type_id, "delete")
            row = self._row(session, type_id)
            if row is None:
                raise _missing(type_id)
            session.delete(row)
