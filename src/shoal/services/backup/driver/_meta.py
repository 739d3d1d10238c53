"""A backup's volume metadata: the RADOS object ``backup.<backup id>.meta`` in the
backup's pool (Cinder's ``VolumeMetadataBackup``), written once, as UTF-8 text."""

from __future__ import annotations

from shoal import errors
from shoal.objstore import IoCtx, WriteOp
from shoal.services.backup.driver._errors import BackupExists
from shoal.services.backup.driver._names import meta_object_name

__all__ = ["META_BYTES_MAX", "read_meta", "remove_meta", "write_meta"]

#: The largest metadata document accepted (bytes of UTF-8).
META_BYTES_MAX = 8 << 20


def write_meta(ioctx: IoCtx, backup_id: str, text: str) -> None:
    """Create the object holding ``text``; it must not exist yet.

    Raises:
        errors.InvalidArgument: ``text`` is longer than :data:`META_BYTES_MAX` bytes.
        BackupExists: the object exists (the backup id was used before).
    """
    data = text.encode()
    if len(data) > META_BYTES_MAX:
        raise errors.InvalidArgument(
            f"volume metadata of {len(data)} bytes is larger than {META_BYTES_MAX}")
    name = meta_object_name(backup_id)
    try:
        ioctx.operate(name, WriteOp().create(exclusive=True).write_full(data))
    except errors.AlreadyExists:
        raise BackupExists(f"metadata backup object {name!r} already exists") from None


def read_meta(ioctx: IoCtx, backup_id: str) -> str | None:
    """The stored text, or None if the backup has no metadata object.

    Raises:
        errors.InvalidArgument: the object is not UTF-8 text.
    """
    name = meta_object_name(backup_id)
    try:
        data = ioctx.read(name, 0)
    except errors.ObjectNotFound:
        return None
    try:
        return data.decode()
    except UnicodeDecodeError:
        raise errors.InvalidArgument(f"metadata backup object {name!r} is not UTF-8") from None


def remove_meta(ioctx: IoCtx, backup_id: str) -> bool:
    """Remove the object; False if there was none."""
    try:
        ioctx.remove_object(meta_object_name(backup_id))
    except errors.ObjectNotFound:
        return False
    return True
