"""Volume transfers: a volume offered by its project, taken by another with the auth key.

As Cinder's ``transfer.api.API``: creating a transfer needs the volume ``available``
and makes it ``awaiting-transfer``; the auth key (16 characters) is shown once, in the
create reply, and kept only as a salted SHA-256; accepting it with the right key (in any
project, quota permitting) moves the volume, and its snapshots unless ``no_snapshots``, to
the accepting project and user; deleting the transfer puts the volume back ``available``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from shoal import errors
from shoal.db import Database
from shoal.services.volume import policy, quotas
from shoal.services.volume.models import Snapshot, Transfer, Volume
from shoal.services.volume.policy import CallerLike

__all__ = ["AUTH_KEY_LENGTH", "TransferRecord", "VolumeTransfers"]

#: Cinder's ``volume_transfer_key_length`` default.
AUTH_KEY_LENGTH: Final = 16
_SALT_BYTES: Final = 16
_KEY_ALPHABET: Final = "23456789abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"


@dataclass(frozen=True)
class TransferRecord:
    """One transfer as the API shows it; ``auth_key`` only in the create reply."""

    id: str
    volume_id: str
    name: str | None
    created_at: datetime
    source_project_id: str
    destination_project_id: str | None
    accepted: bool
    no_snapshots: bool
    auth_key: str | None = None


def _record(row: Transfer, auth_key: str | None = None) -> TransferRecord:
    return TransferRecord(id=row.id, volume_id=row.volume_id, name=row.name,
                          created_at=row.created_at, source_project_id=row.source_project_id,
                          destination_project_id=row.destination_project_id,
                          accepted=row.accepted, no_snapshots=row.no_snapshots,
                          auth_key=auth_key)


def _hash(salt: str, auth_key: str) -> str:
    return hashlib.sha256(bytes.fromhex(salt) + auth_key.encode("utf-8")).hexdigest()


class VolumeTransfers:
    """Transfers of one deployment's volumes (``quota_defaults`` for the taker's quota)."""

    def __init__(self, db: Database, quota_defaults: quotas.QuotaDefaults,
                 now: Callable[[], datetime]) -> None:
        self.db = db
        self.quota_defaults = quota_defaults
        self.now = now

    def _visible(self, session: Session, caller: CallerLike, transfer_id: str,
                 action: str) -> Transfer:
        row = session.get(Transfer, transfer_id)
        if row is None or not policy.may_see(caller, row.source_project_id):
            raise errors.NotFound(f"Transfer {transfer_id} could not be found.")
        policy.authorize(caller, action, row.source_project_id)
        return row

    def create(self, caller: CallerLike, volume_id: str, *, name: str | None = None,
               no_snapshots: bool = False) -> TransferRecord:
        """Offer a volume; the reply holds the auth key (shown only here).

        Raises:
            NotFound: no such volume for the caller.
            InvalidArgument: the volume is not ``available``.
        """
        with self.db.session() as session:
            volume = session.get(Volume, volume_id)
            if volume is None or not policy.may_see(caller, volume.project_id):
                raise errors.NotFound(f"Volume {volume_id} could not be found.")
            policy.authorize(caller, "volume:create_transfer", volume.project_id)
            if volume.status != "available":
                raise errors.InvalidArgument("Invalid volume: status must be available")
            auth_key = "".join(secrets.choice(_KEY_ALPHABET) for _ in range(AUTH_KEY_LENGTH))
            salt = secrets.token_hex(_SALT_BYTES)
            row = Transfer(id=str(uuid.uuid4()), volume_id=volume_id, name=name, salt=salt,
                           crypt_hash=_hash(salt, auth_key),
                           source_project_id=volume.project_id, accepted=False,
                           no_snapshots=no_snapshots, created_at=self.now())
            session.add(row)
            volume.status = "awaiting-transfer"
            volume.updated_at = self.now()
            session.flush()
            return _record(row, auth_key)

    def get(self, caller: CallerLike, transfer_id: str) -> TransferRecord:
        """One transfer of the caller's project (every project's for an admin)."""
        with self.db.session(readonly=True) as session:
            return _record(self._visible(session, caller, transfer_id,
                                         "volume:get_transfer"))

    def list(self, caller: CallerLike, *, all_projects: bool = False) -> list[TransferRecord]:
        """The caller's project's open transfers, newest first."""
        policy.authorize(caller, "volume:get_all_transfers", caller.project_id)
        query = select(Transfer).where(Transfer.accepted.is_(False)).order_by(
            Transfer.created_at.desc(), Transfer.id.desc())
        if not (all_projects and policy.is_admin(caller)):
            query = query.where(Transfer.source_project_id == caller.project_id)
        with self.db.session(readonly=True) as session:
            return [_record(r) for r in session.execute(query).scalars()]

    def delete(self, caller: CallerLike, transfer_id: str) -> None:
        """Withdraw the offer: the volume is ``available`` again."""
        with self.db.session() as session:
            row = self._visible(session, caller, transfer_id, "volume:delete_transfer")
            volume = session.get(Volume, row.volume_id)
            if volume is not None and volume.status == "awaiting-transfer":
                volume.status = "available"
                volume.updated_at = self.now()
            session.delete(row)

    def accept(self, caller: CallerLike, transfer_id: str, auth_key: str) -> TransferRecord:
        """Take the volume into the caller's project.

        Raises:
            NotFound: no such transfer (any project may accept one it knows the id of).
            InvalidArgument: the wrong auth key (400, Cinder's message).
            QuotaExceeded: the caller's project has no room for the volume (and its
                snapshots).
        """
        project_id = caller.project_id
        if project_id is None:
            raise policy.PolicyNotAuthorized("Policy doesn't allow volume:accept_transfer to "
                                             "be performed.")
        policy.authorize(caller, "volume:accept_transfer", project_id)
        with self.db.session() as session:
            row = session.get(Transfer, transfer_id)
            if row is None or row.accepted:
                raise errors.NotFound(f"Transfer {transfer_id} could not be found.")
            if not hmac.compare_digest(row.crypt_hash, _hash(row.salt, auth_key)):
                raise errors.InvalidArgument(f"Invalid auth key: Attempt to transfer "
                                             f"{transfer_id} with invalid auth key.")
            volume = session.get(Volume, row.volume_id)
            if volume is None or volume.status != "awaiting-transfer":
                raise errors.InvalidArgument("Invalid volume: status must be "
                                             "awaiting-transfer")
            snaps = list(session.execute(select(Snapshot).where(
                Snapshot.volume_id == volume.id)).scalars())
            quotas.lock_project(session, project_id)
            vtype = volume.volume_type
            type_name = None if vtype is None else vtype.name
            quotas.check_volume(session, project_id, self.quota_defaults, volume.size,
                                type_name)
            if not row.no_snapshots:
                for snap in snaps:
                    quotas.check_snapshot(session, project_id, self.quota_defaults,
                                          snap.volume_size, type_name)
            volume.project_id = project_id
            volume.user_id = caller.user_id
            volume.status = "available"
            volume.updated_at = self.now()
            if not row.no_snapshots:
                for snap in snaps:
                    snap.project_id = project_id
                    snap.user_id = caller.user_id
            row.accepted = True
            row.destination_project_id = project_id
            row.updated_at = self.now()
            session.flush()
            return _record(row)
