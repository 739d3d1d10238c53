"""Checking stored backups and showing a volume's backup chains (shoal's own; Cinder has
neither): what ``shoal backup verify`` and ``shoal backup chain`` ask the API for.

- :meth:`BackupChecks.verify` (admins): the backup's restore point is read from the backup
  pool and hashed (the driver's :meth:`~shoal.services.backup.driver.CephBackupDriver.verify`)
  and compared with the SHA-256 recorded when the backup was taken. A match sets the
  backup's ``verified_at``; a difference clears it (the data is no longer known good) and
  reports the differing byte ranges. Synchronous and read-only on the pool: nothing is
  restored, and a check cut short changes nothing.
- :meth:`BackupChecks.chain`: a volume's backups as chains, each full backup followed by
  the incrementals built on it (depth first, oldest first), with what each stored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from shoal import errors
from shoal.db import Database
from shoal.services.backup import policy
from shoal.services.backup._models import Backup
from shoal.services.backup.driver import BackupRef, VerifyResult
from shoal.services.volume.policy import CallerLike

__all__ = ["BackupChecks", "ChainLink", "Verification"]

#: Statuses a backup can be checked in (its data is complete and not being removed).
VERIFIABLE_STATUSES = ("available", "restoring")


@dataclass(frozen=True)
class Verification:
    """The outcome of one check.

    Attributes:
        backup_id: the backup checked.
        ok: the stored bytes hash to the recorded SHA-256.
        recorded: the SHA-256 recorded when the backup was taken (None: none was).
        computed: the SHA-256 of the bytes in the pool now.
        size_bytes: bytes read; location: ``pool/base[@restore point]`` read.
        differing: byte ranges ``(offset, length)`` whose 1 MiB blocks differ from the
            digests stored with the backup.
        verified_at: the backup's ``verified_at`` after the check (None after a mismatch).
        reason: why it is not ok, in words (None when ok).
    """

    backup_id: str
    ok: bool
    recorded: str | None
    computed: str
    size_bytes: int
    location: str
    differing: tuple[tuple[int, int], ...]
    verified_at: datetime | None
    reason: str | None


@dataclass(frozen=True)
class ChainLink:
    """One backup of a chain: ``depth`` 0 is a full backup, 1 an incremental on it, ..."""

    depth: int
    id: str
    name: str | None
    status: str
    is_incremental: bool
    parent_id: str | None
    size_gib: int
    data_bytes: int
    restore_point: str | None
    sha256: str | None
    created_at: datetime
    verified_at: datetime | None


def _ref(row: Backup) -> BackupRef:
    return BackupRef(row.id, row.volume_id, row.service_metadata, row.container)


def _reason(row: Backup, found: VerifyResult) -> str | None:
    if row.sha256 is None:
        return "no SHA-256 was recorded for this backup (taken before shoal kept them)"
    if found.computed != row.sha256:
        return "the stored data differs from what was backed up"
    if found.differing or found.stored != row.sha256:
        return "the block digests stored with the backup differ from its record"
    return None


class BackupChecks:
    """Verification and chains over the backup table; ``verifier`` is a backup driver's
    ``verify`` (any volume backend's: it only reads the backup pool)."""

    def __init__(self, db: Database, verifier: Callable[[BackupRef], VerifyResult],
                 now: Callable[[], datetime]) -> None:
        self.db = db
        self.verifier = verifier
        self.now = now

    def verify(self, caller: CallerLike, backup_id: str) -> Verification:
        """Check backup ``backup_id``'s stored data (admins).

        Raises:
            NotFound: no such backup (404).
            PolicyNotAuthorized: not an admin (403).
            InvalidArgument: the backup is not ``available`` (or ``restoring``) (400).
            BackupNotFound: its data is gone from the pool (404).
        """
        with self.db.session(readonly=True) as session:
            row = session.get(Backup, backup_id)
            if row is None:
                raise errors.NotFound(f"Backup {backup_id} could not be found.")
            policy.authorize(caller, "backup:verify", row.project_id)
            if row.status not in VERIFIABLE_STATUSES:
                raise errors.InvalidArgument(
                    f"Invalid backup: Backup status must be available to be verified, not "
                    f"{row.status}.")
            ref = _ref(row)
        found = self.verifier(ref)
        with self.db.session() as session:
            row = session.get(Backup, backup_id)
            if row is None:  # deleted while it was read
                raise errors.NotFound(f"Backup {backup_id} could not be found.")
            reason = _reason(row, found)
            row.verified_at = self.now() if reason is None else None
            verified_at, recorded = row.verified_at, row.sha256
        point = f"@{found.restore_point}" if found.restore_point else ""
        return Verification(backup_id, reason is None, recorded, found.computed,
                            found.size_bytes, f"{ref.container}/{found.base}{point}",
                            found.differing, verified_at, reason)

    def chain(self, caller: CallerLike, volume_id: str) -> list[ChainLink]:
        """Volume ``volume_id``'s backups the caller may see, as chains (see the module doc);
        empty if it has none (the volume may be gone: backups outlive it)."""
        policy.authorize(caller, "backup:get_all", caller.project_id)
        query = select(Backup).where(Backup.volume_id == volume_id).order_by(
            Backup.created_at, Backup.id)
        with self.db.session(readonly=True) as session:
            rows = [r for r in session.execute(query).scalars()
                    if policy.may_see(caller, r.project_id)]
            ids = {r.id for r in rows}
            children: dict[str | None, list[Backup]] = {}
            for row in rows:
                parent = row.parent_id if row.parent_id in ids else None
                children.setdefault(parent, []).append(row)
            links: list[ChainLink] = []
            stack = [(0, r) for r in reversed(children.get(None, []))]
            while stack:
                depth, row = stack.pop()
                links.append(ChainLink(
                    depth, row.id, row.name, row.status, row.parent_id is not None,
                    row.parent_id, row.size, row.data_bytes or 0, row.restore_point,
                    row.sha256, row.created_at, row.verified_at))
                stack.extend((depth + 1, c) for c in reversed(children.get(row.id, [])))
        return links
