"""RBD names of volumes and snapshots, as Cinder's name templates make them.

- a volume is the image ``volume-<id>`` in the backend's pool; a volume deleted
  while clones of it live on is renamed ``volume-<id>.deleted`` ("silent");
- a snapshot is the RBD snapshot ``snapshot-<id>`` of its volume's image;
- ``create_cloned_volume`` snapshots the source as ``<new volume's name>.clone_snap``;
- the Ceph backup driver leaves ``backup.<backup id>.snap.<timestamp>`` snapshots.
"""

from __future__ import annotations

import re

from shoal import errors, limits

__all__ = [
    "CLONE_SNAP_SUFFIX",
    "DELETED_SUFFIX",
    "SNAPSHOT_PREFIX",
    "VOLUME_PREFIX",
    "base_volume_name",
    "check_id",
    "clone_snap_name",
    "is_backup_snap",
    "snapshot_name",
    "volume_name",
]

VOLUME_PREFIX = "volume-"
SNAPSHOT_PREFIX = "snapshot-"
#: Suffix of a deleted volume kept because clones of it still exist.
DELETED_SUFFIX = ".deleted"
#: Suffix of the temporary snapshot a volume clone is made from.
CLONE_SNAP_SUFFIX = ".clone_snap"
#: Cinder's Ceph backup driver's source snapshots (``get_backup_snaps``).
_BACKUP_SNAP = re.compile(r"^backup\.([a-z0-9\-]+?)\.snap\.(.+)$")
#: Longest id accepted (bytes): room for the prefix and both suffixes.
_ID_BYTES_MAX = 255
assert limits.image_name_bytes_max >= _ID_BYTES_MAX + 64


def check_id(kind: str, value: str) -> str:
    """Return ``value`` if it can name an RBD image or snapshot.

    Raises:
        errors.InvalidArgument: not a non-empty string, longer than 255 bytes, or
            holding ``/`` or ``@`` (which the ``rbd`` CLI reads as pool and
            snapshot separators) or a control character.
    """
    if not isinstance(value, str) or not value:
        raise errors.InvalidArgument(f"{kind} id must be a non-empty string, not {value!r}")
    if len(value.encode()) > _ID_BYTES_MAX:
        raise errors.InvalidArgument(f"{kind} id is longer than {_ID_BYTES_MAX} bytes")
    if any(c in "/@" or ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise errors.InvalidArgument(f"{kind} id {value!r} holds '/', '@' or a control character")
    return value


def volume_name(volume_id: str) -> str:
    """``volume-<id>``: the RBD image of volume ``volume_id`` (see :func:`check_id`)."""
    return VOLUME_PREFIX + check_id("volume", volume_id)


def snapshot_name(snapshot_id: str) -> str:
    """``snapshot-<id>``: the RBD snapshot of snapshot ``snapshot_id`` (see :func:`check_id`)."""
    return SNAPSHOT_PREFIX + check_id("snapshot", snapshot_id)


def base_volume_name(name: str) -> str:
    """A volume image's name without the ``.deleted`` suffix."""
    return name.removesuffix(DELETED_SUFFIX)


def clone_snap_name(dest_volume_name: str) -> str:
    """The temporary snapshot a clone named ``dest_volume_name`` is made from."""
    return base_volume_name(dest_volume_name) + CLONE_SNAP_SUFFIX


def is_backup_snap(snap: str) -> bool:
    """Whether ``snap`` is a snapshot the Ceph backup driver made (``backup.ID.snap.TS``)."""
    return _BACKUP_SNAP.match(snap) is not None
