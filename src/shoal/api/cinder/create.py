"""``POST /volumes``, ``/snapshots``, ``/backups`` and ``/backups/{id}/restore``: check
the body and say what to make.

Each parser takes the decoded JSON body and the request's microversion, checks it
against Cinder's JSON schema for that version (:func:`~._validate.check`, Cinder's 400
messages) and returns a frozen request record, or raises :class:`~shoal.api.BadRequest`
(400) saying what to fix. Whether the named volume, snapshot, image, type or backup
exists, may be used by the caller and is in a usable state are the service's checks
(404, 400, 409).

``POST /volumes`` (``{"volume": {...}}``, plus an ignored
``OS-SCH-HNT:scheduler_hints`` object next to it):

- ``size``: GiB, an integer or digit string, 1..2**31-1; may be left out (or null)
  only when the volume copies a snapshot, a volume or a backup (it then has the
  source's size).
- ``name``/``description`` (or ``display_name``/``display_description``; the new
  spellings win): strings of at most 255 characters once stripped, or null.
- ``imageRef`` (or ``image_id``, which wins): the image's id or its name
  (cinderclient sends names) or an image URL; ``snapshot_id``, ``source_volid``,
  ``backup_id`` (3.47; ignored before, as Cinder does): UUIDs. At most one of the four
  sources.
- ``volume_type`` (name or id; empty or null: the default type),
  ``availability_zone``, ``consistencygroup_id``, ``group_id`` (3.13),
  ``multiattach`` (boolean), ``metadata`` (see :data:`~._validate.METADATA`).
- Unknown keys are ignored before 3.53 and refused from 3.53 on.
"""

from __future__ import annotations

import urllib.parse
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from shoal.api._errors import BadRequest
from shoal.api._ids import is_uuid_like
from shoal.api._microversion import APIVersion
from shoal.api.cinder import _validate as v
from shoal.api.cinder import microversions as mv
from shoal.errors import NotFound

__all__ = [
    "BackupRestore",
    "ImageReference",
    "NewAttachment",
    "NewBackup",
    "NewSnapshot",
    "NewVolume",
    "parse_attachment_create",
    "parse_backup_create",
    "parse_backup_restore",
    "parse_snapshot_create",
    "parse_volume_create",
]

_SCHEDULER_HINTS: Final = "OS-SCH-HNT:scheduler_hints"
_VOLUME_PROPERTIES: Final[Mapping[str, Any]] = {
    "name": v.STRIPPED_NAME, "description": v.STRIPPED_DESCRIPTION,
    "display_name": v.STRIPPED_NAME, "display_description": v.STRIPPED_DESCRIPTION,
    # volume_type is a name or an id: checked when looked up
    "volume_type": v.NULLABLE_STRING, "metadata": v.METADATA_OR_NULL,
    "snapshot_id": v.UUID_OR_NULL, "source_volid": v.UUID_OR_NULL,
    "consistencygroup_id": v.UUID_OR_NULL, "size": v.VOLUME_SIZE_OR_NULL,
    "availability_zone": v.AVAILABILITY_ZONE, "multiattach": v.OPTIONAL_BOOLEAN,
    "image_id": v.NULLABLE_STRING, "imageRef": v.NULLABLE_STRING,
}


def _volume_schema(version: APIVersion) -> dict[str, Any]:
    """Cinder's ``POST /volumes`` schema at ``version``: ``group_id`` from 3.13,
    ``backup_id`` from 3.47, unknown keys refused from 3.53."""
    properties = dict(_VOLUME_PROPERTIES)
    if version >= mv.GROUP_VOLUME:
        properties["group_id"] = v.NULLABLE_STRING
    if version >= mv.VOLUME_CREATE_FROM_BACKUP:
        properties["backup_id"] = v.UUID_OR_NULL
    strict = version >= mv.SUPPORT_VOLUME_SCHEMA_CHANGES
    return v.body("volume", v.obj(properties, additional=not strict),
                  **{_SCHEDULER_HINTS: {"type": ["object", "null"]}})


@dataclass(frozen=True)
class ImageReference:
    """The image a volume is made from, as the client named it.

    ``kind`` is ``id`` (``value`` is then a dashed lower-case UUID) or ``name`` (the
    service looks the image up by name: none → 400, several → 409, as Cinder).
    """

    value: str
    kind: str

    @classmethod
    def parse(cls, text: str) -> ImageReference:
        """Read ``imageRef``: a UUID, an image URL ending in one, or a name.

        Raises:
            BadRequest: the reference is empty.
        """
        stripped = text.strip()
        if not stripped:
            raise v.invalid("imageRef", text, "Give the id or the name of an image.")
        if is_uuid_like(stripped):
            return cls(str(uuid.UUID(stripped)), "id")
        if "://" in stripped:
            tail = urllib.parse.urlsplit(stripped).path.rstrip("/").rsplit("/", 1)[-1]
            if is_uuid_like(tail):
                return cls(str(uuid.UUID(tail)), "id")
        return cls(stripped, "name")


@dataclass(frozen=True)
class NewVolume:
    """A checked volume create request (sizes in GiB; None: not given)."""

    size: int | None
    name: str | None = None
    description: str | None = None
    image: ImageReference | None = None
    snapshot_id: str | None = None
    source_volid: str | None = None
    backup_id: str | None = None
    volume_type: str | None = None
    availability_zone: str | None = None
    consistencygroup_id: str | None = None
    group_id: str | None = None
    multiattach: bool = False
    metadata: Mapping[str, str] = field(default_factory=dict)

    @property
    def source(self) -> str | None:
        """What the volume copies: ``image``, ``snapshot``, ``volume``, ``backup`` or
        None (an empty volume)."""
        for name, value in (("image", self.image), ("snapshot", self.snapshot_id),
                            ("volume", self.source_volid), ("backup", self.backup_id)):
            if value is not None:
                return name
        return None


def _renamed(volume: Mapping[str, Any], new: str, old: str) -> str | None:
    return v.text(volume, new if new in volume else old, strip=True)


def parse_volume_create(body: Any, version: APIVersion) -> NewVolume:
    """Check a ``POST /volumes`` body (decoded JSON) at microversion ``version``.

    Raises:
        BadRequest: see the module docstring (400).
    """
    v.check(_volume_schema(version), body)
    volume = body["volume"]
    # Cinder moves image_id over imageRef when both are given
    image_text = v.text(volume, "image_id" if "image_id" in volume else "imageRef")
    new = NewVolume(
        size=v.size(volume, "size"),
        name=_renamed(volume, "name", "display_name"),
        description=_renamed(volume, "description", "display_description"),
        image=None if image_text is None else ImageReference.parse(image_text),
        snapshot_id=v.uuid_text(volume, "snapshot_id"),
        source_volid=v.uuid_text(volume, "source_volid"),
        backup_id=(v.uuid_text(volume, "backup_id")
                   if version >= mv.VOLUME_CREATE_FROM_BACKUP else None),
        volume_type=v.text(volume, "volume_type") or None,
        availability_zone=v.text(volume, "availability_zone"),
        consistencygroup_id=v.uuid_text(volume, "consistencygroup_id"),
        group_id=v.text(volume, "group_id") if version >= mv.GROUP_VOLUME else None,
        multiattach=bool(v.flag(volume, "multiattach")),
        metadata=v.metadata(volume) or {},
    )
    sources = [name for name, value in (
        ("imageRef", new.image), ("snapshot_id", new.snapshot_id),
        ("source_volid", new.source_volid), ("backup_id", new.backup_id)) if value is not None]
    if len(sources) > 1:
        raise BadRequest(f"Give only one source for a new volume, not {' and '.join(sources)}.")
    if new.size is None and new.source in (None, "image"):
        ignored = volume.get("backup_id") is not None and new.backup_id is None
        raise BadRequest(
            "Invalid volume size provided for create request: 'size' is required (an"
            " integer number of GiB, at least 1) unless the volume is made from a"
            " snapshot, a volume or a backup."
            + (f" backup_id is read from microversion {mv.VOLUME_CREATE_FROM_BACKUP} on"
               " (ignored before, as Cinder does)." if ignored else "")
        )
    return new


# --- snapshots -------------------------------------------------------------------------

_SNAPSHOT_CREATE: Final = v.body("snapshot", v.obj({
    "name": v.NULLABLE_STRING, "display_name": v.NULLABLE_STRING,
    "description": v.DESCRIPTION, "volume_id": v.UUID_OR_NULL, "force": v.BOOLEAN,
    "metadata": v.METADATA_OR_NULL,
}, required=["volume_id"]))
#: Cinder's refusal of ``force: false`` from 3.66 on (the flag is obsolete there).
SNAPSHOT_FORCE_REFUSED: Final = (
    f"Since microversion {mv.SNAPSHOT_IN_USE} the 'force' flag is invalid for this request:"
    " leave it out (a true value is still accepted and ignored)."
)


@dataclass(frozen=True)
class NewSnapshot:
    """A checked snapshot create request. ``force`` allows an in-use volume (always
    allowed from 3.66 on: ``force`` is then True)."""

    volume_id: str
    name: str | None = None
    description: str | None = None
    force: bool = False
    metadata: Mapping[str, str] = field(default_factory=dict)


def parse_snapshot_create(body: Any, version: APIVersion) -> NewSnapshot:
    """Check a ``POST /snapshots`` body at microversion ``version``.

    Raises:
        BadRequest: not ``{"snapshot": {...}}``; ``volume_id`` missing or no UUID; a bad
            ``name``/``description``/``metadata``/``force``; ``force: false`` from 3.66
            on; an unknown key.
    """
    v.check(_SNAPSHOT_CREATE, body)
    snapshot = body["snapshot"]
    volume_id = v.uuid_text(snapshot, "volume_id")
    if volume_id is None:  # Cinder looks the volume up, and finds none: 404
        raise NotFound("Volume None could not be found: give the UUID of the volume.")
    force = v.flag(snapshot, "force")
    if version >= mv.SNAPSHOT_IN_USE:
        if force is False:
            raise BadRequest(SNAPSHOT_FORCE_REFUSED)
        force = True
    return NewSnapshot(
        volume_id=volume_id,
        name=_renamed(snapshot, "name", "display_name"),
        description=v.text(snapshot, "description", strip=True),
        force=bool(force),
        metadata=v.metadata(snapshot) or {},
    )


# --- backups ---------------------------------------------------------------------------

_BACKUP_PROPERTIES: Final[Mapping[str, Any]] = {
    "volume_id": v.UUID, "container": v.NULLABLE_STRING, "description": v.DESCRIPTION,
    "incremental": v.BOOLEAN, "force": v.BOOLEAN, "name": v.NULLABLE_STRING,
    "snapshot_id": v.UUID_OR_NULL,
}


def _backup_schema(version: APIVersion) -> dict[str, Any]:
    """Cinder's ``POST /backups`` schema: ``metadata`` from 3.43, ``availability_zone``
    from 3.51."""
    properties = dict(_BACKUP_PROPERTIES)
    if version >= mv.BACKUP_METADATA:
        properties["metadata"] = v.METADATA_OR_NULL
    if version >= mv.BACKUP_AZ:
        properties["availability_zone"] = v.NULLABLE_STRING
    return v.body("backup", v.obj(properties, required=["volume_id"]))


@dataclass(frozen=True)
class NewBackup:
    """A checked backup create request.

    ``incremental`` asks for the changes since the volume's latest backup; ``force``
    allows an in-use volume; ``container`` is the pool (None: the configured one);
    ``availability_zone`` (3.51) the zone of the backup service.
    """

    volume_id: str
    name: str | None = None
    description: str | None = None
    container: str | None = None
    incremental: bool = False
    force: bool = False
    snapshot_id: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    availability_zone: str | None = None


def parse_backup_create(body: Any, version: APIVersion) -> NewBackup:
    """Check a ``POST /backups`` body at microversion ``version``.

    ``metadata`` is accepted from 3.43 on, ``availability_zone`` from 3.51 on; earlier
    they are unknown keys (400), as are any others. ``incremental`` and ``force`` may be
    booleans or boolean strings but not null; ``container`` and ``snapshot_id`` may be
    null.

    Raises:
        BadRequest: says which value to fix (400).
    """
    v.check(_backup_schema(version), body)
    backup = body["backup"]
    volume_id = v.uuid_text(backup, "volume_id")
    assert volume_id is not None  # required, not nullable
    return NewBackup(
        volume_id=volume_id,
        name=v.text(backup, "name", strip=True),
        description=v.text(backup, "description", strip=True),
        container=v.text(backup, "container"),
        incremental=bool(v.flag(backup, "incremental")),
        force=bool(v.flag(backup, "force")),
        snapshot_id=v.uuid_text(backup, "snapshot_id"),
        metadata=v.metadata(backup) or {},
        availability_zone=v.text(backup, "availability_zone"),
    )


@dataclass(frozen=True)
class BackupRestore:
    """Where to restore a backup: into ``volume_id`` (an existing volume at least as big
    as the backup), or, when None, into a new volume named ``name``."""

    volume_id: str | None = None
    name: str | None = None


_RESTORE: Final = v.body("restore", v.obj(
    {"name": v.NULLABLE_STRING, "volume_id": v.UUID_OR_NULL}, nullable=True))


def parse_backup_restore(body: Any) -> BackupRestore:
    """Check a ``POST /backups/{id}/restore`` body.

    ``{"restore": null}``, ``{"restore": {}}`` and Rally's ``{"restore": {"volume_id":
    null, "name": null}}`` all restore into a new volume.

    Raises:
        BadRequest: not ``{"restore": ...}``; ``volume_id`` no UUID; ``name`` too long or
            no string; an unknown key (400).
    """
    v.check(_RESTORE, body)
    restore = body["restore"]
    if restore is None:
        return BackupRestore()
    return BackupRestore(volume_id=v.uuid_text(restore, "volume_id"),
                         name=v.text(restore, "name"))


# --- attachments (3.27) ----------------------------------------------------------------


@dataclass(frozen=True)
class NewAttachment:
    """A checked ``POST /attachments`` request: reserve ``volume_id`` for a server and,
    when ``connector`` is given, connect it at once. ``mode`` (3.54) is ``rw``/``ro``
    (None: the volume's read-only flag decides)."""

    volume_id: str
    instance_uuid: str
    connector: Mapping[str, Any] | None = None
    mode: str | None = None


def parse_attachment_create(body: Any, version: APIVersion) -> NewAttachment:
    """Check a ``POST /attachments`` body: ``volume_uuid`` and ``instance_uuid``
    (UUIDs, required), ``connector`` (an object or null), ``mode`` from 3.54.

    Raises:
        NotFound: ``version`` is before 3.27 (no attachments API there; 404).
        BadRequest: says which value to fix (400).
    """
    mv.require_version(version, mv.NEW_ATTACH)
    properties: dict[str, Any] = {"instance_uuid": v.UUID,
                                  "connector": {"type": ["object", "null"]},
                                  "volume_uuid": v.UUID}
    if version >= mv.ATTACHMENT_CREATE_MODE_ARG:
        properties["mode"] = {"type": "string", "enum": ["rw", "ro"]}
    v.check(v.body("attachment", v.obj(properties, required=["volume_uuid"])), body)
    attachment = body["attachment"]
    volume_id = v.uuid_text(attachment, "volume_uuid")
    instance_uuid = v.uuid_text(attachment, "instance_uuid")
    assert volume_id is not None  # required, not nullable
    if instance_uuid is None:
        raise BadRequest("Invalid input: 'instance_uuid' is a required property: give the"
                         " server the volume is reserved for.")
    return NewAttachment(volume_id=volume_id, instance_uuid=instance_uuid,
                         connector=attachment.get("connector"), mode=attachment.get("mode"))
