"""Bodies that change an existing resource: ``PUT /volumes/{id}``,
``PUT /snapshots/{id}``, ``PUT /backups/{id}`` (3.9), the metadata calls and the
volume type calls.

Each parser checks the body against Cinder's JSON schema (:func:`~._validate.check`,
Cinder's 400 messages) and returns a frozen record of what to change, or raises
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
_VOLUME_NAMES: Final[Mapping[str, Any]] = {
    "name": v.STRIPPED_NAME, "description": v.STRIPPED_DESCRIPTION,
    "display_name": v.STRIPPED_NAME, "display_description": v.STRIPPED_DESCRIPTION,
}
_SNAPSHOT_NAMES: Final[Mapping[str, Any]] = {
    "name": v.NULLABLE_STRING, "description": v.DESCRIPTION,
    "display_name": v.NULLABLE_STRING, "display_description": v.DESCRIPTION,
}


def _any_of(keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """``anyOf`` asking for at least one of ``keys``."""
    return [{"required": [key]} for key in keys]


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
        if new in obj:
            changes[new] = v.text(obj, new, strip=True)
        elif old in obj:
            changes[new] = v.text(obj, old, strip=True)
    return changes


def _volume_update_schema(version: APIVersion) -> dict[str, Any]:
    more: dict[str, Any] = {}
    if version >= mv.SUPPORT_VOLUME_SCHEMA_CHANGES:
        more["anyOf"] = _any_of((*_NAME_KEYS, "metadata"))
    return v.body("volume", v.obj({**_VOLUME_NAMES, "metadata": v.METADATA}, **more))


def parse_volume_update(body: Any, version: APIVersion) -> VolumeUpdate:
    """Check a ``PUT /volumes/{id}`` body at microversion ``version``.

    Raises:
        BadRequest: not ``{"volume": {...}}``, an unknown key, a bad value, or (3.53+)
            nothing to change (400).
    """
    v.check(_volume_update_schema(version), body)
    volume = body["volume"]
    return VolumeUpdate(changes=_name_changes(volume), metadata=v.metadata(volume))


@dataclass(frozen=True)
class SnapshotUpdate:
    """What ``PUT /snapshots/{id}`` changes (``name``/``description`` → new value)."""

    changes: Mapping[str, str | None] = field(default_factory=dict)


_SNAPSHOT_UPDATE: Final = v.body("snapshot", v.obj(_SNAPSHOT_NAMES, anyOf=_any_of(_NAME_KEYS)))


def parse_snapshot_update(body: Any) -> SnapshotUpdate:
    """Check a ``PUT /snapshots/{id}`` body.

    Raises:
        BadRequest: not ``{"snapshot": {...}}``, an unknown key, a bad value, or
            nothing to change (400).
    """
    v.check(_SNAPSHOT_UPDATE, body)
    return SnapshotUpdate(changes=_name_changes(body["snapshot"]))


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
    properties: dict[str, Any] = {"name": v.NULLABLE_STRING, "description": v.DESCRIPTION}
    if version >= mv.BACKUP_METADATA:
        properties["metadata"] = v.METADATA
    v.check(v.body("backup", v.obj(properties, nullable=True)), body)
    backup = body["backup"]
    if backup is None:
        return BackupUpdate()
    changes: dict[str, str | None] = {}
    for key in ("name", "description"):
        if key in backup:
            changes[key] = v.text(backup, key, strip=True)
    return BackupUpdate(changes=changes, metadata=v.metadata(backup))


# --- metadata --------------------------------------------------------------------------


_METADATA: Final = v.body("metadata", v.METADATA)
#: ``{"meta": {key: value}}``: exactly one key.
_METADATA_ITEM: Final = v.body("meta", {**v.METADATA, "minProperties": 1, "maxProperties": 1})


def parse_metadata(body: Any) -> dict[str, str]:
    """Check ``{"metadata": {...}}`` (``POST``/``PUT .../metadata`` of a volume or a
    snapshot): keys of 1-255 letters, digits, blanks or ``-_:./``, string values of at
    most 255 characters.

    Raises:
        BadRequest: another shape or a bad key or value (400).
    """
    v.check(_METADATA, body)
    metadata = v.metadata(body)
    assert metadata is not None  # required and not nullable
    return metadata


def parse_metadata_item(body: Any, key: str) -> tuple[str, str]:
    """Check ``{"meta": {key: value}}`` of ``PUT .../metadata/{key}``.

    Raises:
        BadRequest: another shape, a bad key or value, not exactly one key, or a key
            other than the URL's ("Request body and URI mismatch", 400).
    """
    v.check(_METADATA_ITEM, body)
    meta = v.metadata(body, "meta")
    assert meta is not None and len(meta) == 1  # the schema asks for one key
    if key not in meta:
        raise BadRequest(f"Request body and URI mismatch: the URL names {key!r}, the body"
                         f" {', '.join(repr(k) for k in meta)}.")
    return key, meta[key]


# --- volume types ----------------------------------------------------------------------


@dataclass(frozen=True)
class NewVolumeType:
    """A checked ``POST /types`` request."""

    name: str
    description: str | None = None
    is_public: bool = True
    extra_specs: Mapping[str, str] = field(default_factory=dict)


_TYPE_CREATE: Final = v.body("volume_type", v.obj({
    "name": v.NAME, "description": v.DESCRIPTION,
    "extra_specs": v.with_metadata_values({"type": ["string", "null"],
                                           "maxLength": 255}),
    _TYPE_ACCESS_KEY: v.BOOLEAN,
}, required=["name"]))
_TYPE_UPDATE: Final = v.body("volume_type", v.obj({
    "name": v.UPDATE_NAME, "description": v.DESCRIPTION, "is_public": v.BOOLEAN}))


def parse_volume_type_create(body: Any) -> NewVolumeType:
    """Check a ``POST /types`` body: ``name`` (required, not blank, at most 255),
    ``description``, ``os-volume-type-access:is_public`` (default true),
    ``extra_specs``.

    Raises:
        BadRequest: a missing or blank name, a bad value, an unknown key (400).
    """
    v.check(_TYPE_CREATE, body)
    volume_type = body["volume_type"]
    name = v.text(volume_type, "name", strip=True)
    assert name  # required, not blank (the "name" format)
    public = v.flag(volume_type, _TYPE_ACCESS_KEY)
    return NewVolumeType(
        name=name,
        description=v.text(volume_type, "description", strip=True),
        is_public=True if public is None else public,
        extra_specs={key: value for key, value in
                     (v.metadata(volume_type, "extra_specs") or {}).items()
                     if value is not None},
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
    v.check(_TYPE_UPDATE, body)
    volume_type = body["volume_type"]
    name = v.text(volume_type, "name", strip=True)
    if name is not None and not name:
        raise BadRequest("Volume type name can not be empty.")
    update = VolumeTypeUpdate(
        name=name,
        description=v.text(volume_type, "description", strip=True),
        is_public=v.flag(volume_type, "is_public"),
    )
    if update.name is None and update.description is None and update.is_public is None:
        raise BadRequest("Specify volume type name, description, is_public or a"
                         " combination thereof.")
    return update


_ATTACHMENT_UPDATE: Final = v.body("attachment", v.obj(
    {"connector": {"type": "object", "minProperties": 1}}, required=["connector"]))


def parse_attachment_update(body: Any, version: APIVersion) -> dict[str, Any]:
    """Check a ``PUT /attachments/{id}`` body: the connector (a non-empty object) that
    completes the reservation.

    Raises:
        NotFound: ``version`` is before 3.27 (404).
        BadRequest: another shape or an empty connector (400).
    """
    mv.require_version(version, mv.NEW_ATTACH)
    v.check(_ATTACHMENT_UPDATE, body)
    connector: dict[str, Any] = body["attachment"]["connector"]
    return connector
