"""Names the Ceph backup driver gives things, and parsing them back.

- ``volume-<volume id>``: a Cinder RBD volume; ``snapshot-<snapshot id>``: its snapshot.
- ``volume-<volume id>.backup.<backup id>``: the base image of a full backup (and of
  the incremental backups that chain on it) in the backup pool.
- ``volume-<volume id>.backup.base``: the legacy base name, shared by all backups of a
  volume; only looked up for backups recorded without ``service_metadata``.
- ``backup.<backup id>.snap.<seconds>``: a backup's snapshot, on the source volume and
  (the same name, made by the diff import) on the base image, where it is the backup's
  restore point. ``<seconds>`` is ``time.time()`` when it was taken.
- ``backup.<backup id>.meta``: the RADOS object holding a backup's volume metadata.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from shoal import errors

__all__ = [
    "BACKUP_SNAP_PATTERN",
    "ID_BYTES_MAX",
    "BackupSnap",
    "backup_snaps",
    "base_name",
    "check_id",
    "digest_object_name",
    "legacy_base_name",
    "meta_object_name",
    "new_snap_name",
    "snapshot_name",
    "volume_name",
]

#: What a backup snapshot's name looks like (``backup.<id>.snap.<seconds>``).
BACKUP_SNAP_PATTERN = re.compile(r"^backup\.([a-z0-9\-]+?)\.snap\.(.+)$")
#: The longest id accepted (a UUID is 36).
ID_BYTES_MAX = 64
_ID = re.compile(r"^[a-z0-9][a-z0-9\-]*$")


def check_id(value: object, what: str) -> str:
    """``value`` if it is a usable Cinder id: lower-case letters, digits and ``-``
    (a UUID), at most :data:`ID_BYTES_MAX` bytes, so that names built from it parse back.

    Raises:
        errors.InvalidArgument: anything else.
    """
    if not isinstance(value, str) or len(value) > ID_BYTES_MAX or not _ID.match(value):
        raise errors.InvalidArgument(
            f"{what} must be 1..{ID_BYTES_MAX} lower-case letters, digits or '-' "
            f"(a UUID), not {value!r}")
    return value


def volume_name(volume_id: str) -> str:
    return f"volume-{volume_id}"


def snapshot_name(snapshot_id: str) -> str:
    return f"snapshot-{snapshot_id}"


def base_name(volume_id: str, backup_id: str) -> str:
    return f"volume-{volume_id}.backup.{backup_id}"


def legacy_base_name(volume_id: str) -> str:
    return f"volume-{volume_id}.backup.base"


def new_snap_name(backup_id: str, seconds: float) -> str:
    return f"backup.{backup_id}.snap.{seconds!r}"


def meta_object_name(backup_id: str) -> str:
    return f"backup.{backup_id}.meta"


def digest_object_name(backup_id: str) -> str:
    """The RADOS object holding the backup's block digests (shoal's own, not Cinder's)."""
    return f"backup.{backup_id}.sha256"


@dataclass(frozen=True)
class BackupSnap:
    """One backup snapshot of an image: its name, the backup it belongs to, the
    timestamp text of its name, and its snapshot id (larger = newer)."""

    name: str
    backup_id: str
    timestamp: str
    snap_id: int


def backup_snaps(snaps: Iterable[dict[str, Any]]) -> list[BackupSnap]:
    """The backup snapshots among ``list_snaps()`` entries, oldest first.

    Ordered by snapshot id, which grows with every snapshot taken, rather than by
    the timestamp text (whose string order breaks when the number of digits changes).
    """
    out = []
    for snap in snaps:
        found = BACKUP_SNAP_PATTERN.match(str(snap["name"]))
        if found:
            out.append(BackupSnap(found.group(0), found.group(1), found.group(2),
                                  int(snap["id"])))
    return sorted(out, key=lambda s: s.snap_id)
