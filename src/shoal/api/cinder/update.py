"""Bodies that change an existing resource: ``PUT /volumes/{id}``,
``PUT /snapshots/{id}``, ``PUT /backups/{id}`` (3.9), the metadata calls and the
volume type calls.

Each parser returns a frozen record of what to change, or raises
:class:`~shoal.api.BadRequest` (400) saying what to fix:

- Volume update: ``name``, ``description`` (or ``display_name``/
  ``display_description``; the new spellings win) and ``metadata`` (replaces the
  user metadata). Other keys are refused; from 3.53 on at least one key is needed.
- Snapshot update: ``name``, ``description`` (and the ``display_`` spellings); at
  least one.
- Backup update (3.9+, 404 before): ``name``, ``description``; ``metadata`` from 3.43.
- Metadata: ``{"metadata": {...}}`` (create merges, update-all replaces) and
  ``{"meta": {key: value}}`` for one key, which must be the key of the URL.
- Attachment update (3.27): ``{"attachment": {"connector": {...}}}``, a non-empty
  connector.
- Volume types: create needs a non-blank ``name``; update needs one of ``name``,
  ``description``, ``is_public``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from shoal.api._errors import BadRequest
from shoal.api._microversion import APIVersion
from shoal.api.cinder import _validate as v
from shoal.api.cinder import microversions as mv

__all__ = [
    "BackupUpdate",
    "NewVolumeType",
    "SnapshotUpdate",
    "VolumeTypeUpdate",
    "VolumeUpdate",
    "parse_attachment_update",
    "parse_backup_update",
    "parse_metadata",
    "parse_metadata_item",
    "parse_snapshot_update",
    "parse_volume_type_create",
    "parse_volume_type_update",
    "parse_volume_update",
]

_NAME_KEYS: Final = ("name", "description", "display_name", "display_description")
_TYPE_ACCESS_KEY: Final = "os-volume-type-access:is_public"


@dataclass(frozen=True)
class VolumeUpdate:
    """What ``PUT /volumes/{id}`` changes: ``changes`` maps ``name``/``description`` to
    the new value (None clears it); ``metadata`` replaces the user metadata when not
    None."""

    changes: Mapping[str, str | None] = field(default_factory=dict)
    metadata: Mapping[str, str] | None = None


def _name_changes(obj: Mapping[str, Any]) -> dict[str, str | None]:
    changes: dict[str, str | None] = {}
    for new, old in (("name", "display_name"), ("description", "display_description")):
        legacy = v.optional_name(obj, old)
        value = v.optional_name(obj, new)
        if new in obj:
            changes[new] = value
        elif old in obj:
            changes[new] = legacy
    return changes


def parse_volume_update(body: Any, version: APIVersion) -> VolumeUpdate:
    """Check a ``PUT /volumes/{id}`` body at microversion ``version``.

    Raises:
        BadRequest: not ``{"volume": {...}}``, an unknown key, a bad value, or (3.53+)
            nothing to change (400).
    """
    volume = v.require_object(body, "volume")
    v.check_keys(volume, (*_NAME_KEYS, "metadata"), "'volume'")
    if version >= mv.SUPPORT_VOLUME_SCHEMA_CHANGES and not volume:
        raise BadRequest("Give at least one of name, description, display_name,"
                         " display_description, metadata to update the volume.")
    return VolumeUpdate(changes=_name_changes(volume),
                        metadata=v.optional_metadata(volume, nullable=False))


@dataclass(frozen=True)
class SnapshotUpdate:
    """What ``PUT /snapshots/{id}`` changes (``name``/``description`` → new value)."""

    changes: Mapping[str, str | None] = field(default_factory=dict)


def parse_snapshot_update(body: Any) -> SnapshotUpdate:
    """Check a ``PUT /snapshots/{id}`` body.

    Raises:
        BadRequest: not ``{"snapshot": {...}}``, an unknown key, a bad value, or
            nothing to change (400).
    """
    snapshot = v.require_object(body, "snapshot")
    v.check_keys(snapshot, _NAME_KEYS, "'snapshot'")
    if not snapshot:
        raise BadRequest("Give at least one of name, description, display_name,"
                         " display_description to update the snapshot.")
    for key in ("description", "display_description"):
        v.optional_description(snapshot, key)
    return SnapshotUpdate(changes=_name_changes(snapshot))


@dataclass(frozen=True)
class BackupUpdate:
    """What ``PUT /backups/{id}`` changes; ``metadata`` (3.43) replaces the backup's."""

    changes: Mapping[str, str | None] = field(default_factory=dict)
    metadata: Mapping[str, str] | None = None


def parse_backup_update(body: Any, version: APIVersion) -> BackupUpdate:
    """Check a ``PUT /backups/{id}`` body; ``{"backup": null}`` changes nothing.

    Raises:
        NotFound: ``version`` is before 3.9 (the call does not exist there; 404).
        BadRequest: an unknown key (``metadata`` before 3.43) or a bad value (400).
    """
    mv.require_version(version, mv.BACKUP_UPDATE)
    backup = v.nullable_object(body, "backup")
    if backup is None:
        return BackupUpdate()
    keys: tuple[str, ...] = ("name", "description")
    if version >= mv.BACKUP_METADATA:
        keys += ("metadata",)
    v.check_keys(backup, keys, "'backup'")
    changes: dict[str, str | None] = {}
    if "name" in backup:
        changes["name"] = v.optional_name(backup, "name")
    if "description" in backup:
        changes["description"] = v.optional_description(backup, "description")
    return BackupUpdate(changes=changes,
                        metadata=v.optional_metadata(backup, nullable=False))


# --- metadata --------------------------------------------------------------------------


def parse_metadata(body: Any) -> dict[str, str]:
    """Check ``{"metadata": {...}}`` (``POST``/``PUT .../metadata`` of a volume or a
    snapshot): keys of 1-255 letters, digits, blanks or ``-_:./``, string values of at
    most 255 characters.

    Raises:
        BadRequest: another shape or a bad key or value (400).
    """
    if not isinstance(body, dict) or "metadata" not in body:
        raise BadRequest("Malformed request body: send {\"metadata\": {\"key\": \"value\"}}.")
    v.check_keys(body, ("metadata",), "the request body")
    metadata = v.optional_metadata(body, nullable=False)
    assert metadata is not None  # present and not null, or optional_metadata raised
    return metadata


def parse_metadata_item(body: Any, key: str) -> tuple[str, str]:
    """Check ``{"meta": {key: value}}`` of ``PUT .../metadata/{key}``.

    Raises:
        BadRequest: another shape, a bad key or value, a key other than the URL's
            ("Request body and URI mismatch"), or more than one key (400).
    """
    if not isinstance(body, dict) or not isinstance(body.get("meta"), dict):
        raise BadRequest("Malformed request body: send {\"meta\": {\"<key>\": \"<value>\"}}.")
    v.check_keys(body, ("meta",), "the request body")
    meta = v.optional_metadata(body, "meta", nullable=False)
    assert meta is not None
    if not meta:
        raise BadRequest("Request body and URI mismatch: 'meta' holds no key.")
    if key not in meta:
        raise BadRequest(f"Request body and URI mismatch: the URL names {key!r}, the body"
                         f" {', '.join(repr(k) for k in meta)}.")
    if len(meta) > 1:
        raise BadRequest("Request body contains too many items: 'meta' must hold exactly"
                         " the key of the URL.")
    return key, meta[key]


# --- volume types ----------------------------------------------------------------------


@dataclass(frozen=True)
class NewVolumeType:
    """A checked ``POST /types`` request."""

    name: str
    description: str | None = None
    is_public: bool = True
    extra_specs: Mapping[str, str] = field(default_factory=dict)


def parse_volume_type_create(body: Any) -> NewVolumeType:
    """Check a ``POST /types`` body: ``name`` (required, not blank, at most 255),
    ``description``, ``os-volume-type-access:is_public`` (default true),
    ``extra_specs``.

    Raises:
        BadRequest: a missing or blank name, a bad value, an unknown key (400).
    """
    volume_type = v.require_object(body, "volume_type")
    v.check_keys(volume_type, ("name", "description", "extra_specs", _TYPE_ACCESS_KEY),
                 "'volume_type'")
    name = v.optional_name(volume_type, "name")
    if not name:
        raise BadRequest("Volume type name can not be empty: give 'name' (1 to 255"
                         " characters).")
    public = v.optional_boolean(volume_type, _TYPE_ACCESS_KEY)
    return NewVolumeType(
        name=name,
        description=v.optional_description(volume_type, "description"),
        is_public=True if public is None else public,
        extra_specs=v.optional_metadata(volume_type, "extra_specs") or {},
    )


@dataclass(frozen=True)
class VolumeTypeUpdate:
    """What ``PUT /types/{id}`` changes (None: unchanged)."""

    name: str | None = None
    description: str | None = None
    is_public: bool | None = None


def parse_volume_type_update(body: Any) -> VolumeTypeUpdate:
    """Check a ``PUT /types/{id}`` body: at least one of ``name`` (not blank),
    ``description``, ``is_public`` not null.

    Raises:
        BadRequest: nothing to change, a blank name, a bad value, an unknown key (400).
    """
    volume_type = v.require_object(body, "volume_type")
    v.check_keys(volume_type, ("name", "description", "is_public"), "'volume_type'")
    name = v.optional_name(volume_type, "name")
    if name is not None and not name:
        raise BadRequest("Volume type name can not be empty.")
    update = VolumeTypeUpdate(
        name=name,
        description=v.optional_description(volume_type, "description"),
        is_public=v.optional_boolean(volume_type, "is_public", nullable=True),
    )
    if update.name is None and update.description is None and update.is_public is None:
        raise BadRequest("Specify volume type name, description, is_public or a"
                         " combination thereof.")
    return update


def parse_attachment_update(body: Any, version: APIVersion) -> dict[str, Any]:
    """Check a ``PUT /attachments/{id}`` body: the connector (a non-empty object) that
    completes the reservation.

    Raises:
        NotFound: ``version`` is before 3.27 (404).
        BadRequest: another shape or an empty connector (400).
    """
    mv.require_version(version, mv.NEW_ATTACH)
    attachment = v.require_object(body, "attachment")
    v.check_keys(attachment, ("connector",), "'attachment'")
    connector = attachment.get("connector")
    if not isinstance(connector, dict) or not connector:
        raise v.invalid("connector", connector, "'connector' is required: an object"
                                                " describing the host (host, initiator...).")
    return connector
