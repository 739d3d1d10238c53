"""Cinder's JSON Schema rules: the parameter types its body schemas share, its formats,
the check each body parser runs first, and readers for the values a schema let through.

Every body parser of this package first runs :func:`check` (the ``CINDER`` dialect of
:mod:`shoal.api._validation`: draft 4, digit strings bounded as numbers) with a schema
built from the types below, then reads the values with :func:`text`, :func:`flag`,
:func:`uuid_text`, :func:`size` and :func:`metadata`, which assume the schema passed.
A refusal is Cinder's 400: ``Invalid input for field/attribute <name>. Value: <value>.
<reason>`` for a value inside the body, the reason alone at the top level
(``'volume' is a required property``), and the formats' own words where Cinder's
formats raise their own errors (``Invalid input received: name has 256 characters, more
than 255.``).

Where shoal departs from Cinder: Cinder's ``description`` type is a pattern listing every
printable character of the BMP (its 400 quotes that pattern, some kilobytes); here it is
the ``printable`` format, refusing the same characters (line breaks, control characters)
with a short message.
"""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Final

import jsonschema

from shoal.api._errors import BadRequest
from shoal.api._validation import CINDER, cinder_formats
from shoal.services.volume.records import (
    INT32_MAX,
    MIGRATION_STATUSES,
    SNAPSHOT_STATUSES,
    VOLUME_STATUSES,
)

__all__ = [
    "AVAILABILITY_ZONE",
    "BOOLEAN",
    "BOOLEAN_STRINGS",
    "DESCRIPTION",
    "IMAGE_METADATA",
    "METADATA",
    "METADATA_KEY_PATTERN",
    "METADATA_OR_NULL",
    "NAME",
    "NULLABLE_STRING",
    "OPTIONAL_BOOLEAN",
    "STRIPPED_DESCRIPTION",
    "STRIPPED_NAME",
    "UPDATE_NAME",
    "UUID",
    "UUID_OR_NULL",
    "VOLUME_SIZE",
    "VOLUME_SIZE_OR_NULL",
    "body",
    "check",
    "flag",
    "invalid",
    "metadata",
    "obj",
    "size",
    "text",
    "uuid_text",
    "with_metadata_values",
]

#: The strings Cinder's ``boolean`` parameter type accepts, and what they mean.
BOOLEAN_STRINGS: Final = {
    **dict.fromkeys(("True", "TRUE", "true", "1", "ON", "On", "on", "YES", "Yes", "yes",
                     "y", "t"), True),
    **dict.fromkeys(("False", "FALSE", "false", "0", "OFF", "Off", "off", "NO", "No", "no",
                     "n", "f"), False),
}
#: Keys of volume, snapshot and backup metadata (and extra specs): 1-255 of these.
METADATA_KEY_PATTERN: Final = "^[a-zA-Z0-9-_:. /]{1,255}$"
#: Most characters of a name, a description, a metadata value.
_STRING_MAX: Final = 255
#: Most characters of an image metadata value (a MySQL TEXT column).
_TEXT_MAX: Final = 65535

# --- parameter types (read-only: compose them with {**TYPE, ...}) ----------------------

#: A volume type name: 1-255 characters, not all blank ("name" format).
NAME: Final[Mapping[str, Any]] = {"type": "string", "minLength": 1,
                                  "maxLength": _STRING_MAX, "format": "name"}
#: A new volume type name, or null.
UPDATE_NAME: Final[Mapping[str, Any]] = {"type": ["string", "null"], "minLength": 1,
                                         "maxLength": _STRING_MAX}
#: A string of 0-255 characters or null (names of snapshots and backups, containers...).
NULLABLE_STRING: Final[Mapping[str, Any]] = {"type": ["string", "null"], "minLength": 0,
                                             "maxLength": _STRING_MAX}
#: A volume name: at most 255 characters once stripped of surrounding blanks, or null.
STRIPPED_NAME: Final[Mapping[str, Any]] = {
    "type": ["string", "null"], "format": "name_non_mandatory_remove_white_spaces"}
#: A volume description, likewise.
STRIPPED_DESCRIPTION: Final[Mapping[str, Any]] = {
    "type": ["string", "null"], "format": "description_non_mandatory_remove_white_spaces"}
#: A description: 0-255 printable characters (no line breaks), or null.
DESCRIPTION: Final[Mapping[str, Any]] = {"type": ["string", "null"], "minLength": 0,
                                         "maxLength": _STRING_MAX, "format": "printable"}
#: A boolean flag: true/false or one of :data:`BOOLEAN_STRINGS`.
BOOLEAN: Final[Mapping[str, Any]] = {
    "type": ["boolean", "string"],
    "enum": [True, *(k for k, v in BOOLEAN_STRINGS.items() if v),
             False, *(k for k, v in BOOLEAN_STRINGS.items() if not v)],
}
#: A boolean flag or null.
OPTIONAL_BOOLEAN: Final[Mapping[str, Any]] = {"oneOf": [{"type": "null"}, BOOLEAN]}
#: A UUID (dashed or not, any case).
UUID: Final[Mapping[str, Any]] = {"type": "string", "format": "uuid"}
#: A UUID or null.
UUID_OR_NULL: Final[Mapping[str, Any]] = {"oneOf": [UUID, {"type": "null"}]}
#: Metadata: string values of at most 255 characters under keys of 1-255 letters,
#: digits, blanks or ``-_:./``.
METADATA: Final[Mapping[str, Any]] = {
    "type": "object",
    "patternProperties": {METADATA_KEY_PATTERN: {"type": "string",
                                                 "maxLength": _STRING_MAX}},
    "additionalProperties": False,
}
#: Metadata or null.
METADATA_OR_NULL: Final[Mapping[str, Any]] = {**METADATA, "type": ["object", "null"]}
#: Image metadata: values up to 65535 characters.
IMAGE_METADATA: Final[Mapping[str, Any]] = {
    **METADATA,
    "patternProperties": {METADATA_KEY_PATTERN: {"type": "string", "maxLength": _TEXT_MAX}},
}
#: A size in GiB: an integer or a string of digits, 1..2**31-1.
VOLUME_SIZE: Final[Mapping[str, Any]] = {"type": ["integer", "string"], "pattern": "^[0-9]+$",
                                         "minimum": 1, "maximum": INT32_MAX}
#: A size in GiB or null.
VOLUME_SIZE_OR_NULL: Final[Mapping[str, Any]] = {**VOLUME_SIZE,
                                                 "type": ["integer", "string", "null"]}
#: An availability zone: 1-255 characters, or null.
AVAILABILITY_ZONE: Final[Mapping[str, Any]] = {"type": ["string", "null"], "minLength": 1,
                                               "maxLength": _STRING_MAX}


def with_metadata_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """:data:`METADATA` with ``values`` as the schema of each value (extra specs may be
    null)."""
    return {**METADATA, "patternProperties": {METADATA_KEY_PATTERN: dict(values)}}


def obj(properties: Mapping[str, Any], *, required: Sequence[str] = (),
        additional: bool = False, nullable: bool = False, **more: Any) -> dict[str, Any]:
    """An object schema: ``properties``, the ``required`` keys, other keys refused unless
    ``additional``; ``nullable`` also takes null; ``more`` adds keywords (``anyOf``...).

    Draft 4 reports the first failing keyword in the schema's order, so the order is
    Cinder's: ``type``, ``format``, ``properties``, ``required``, ``additionalProperties``,
    then the rest of ``more``.
    """
    schema: dict[str, Any] = {"type": ["object", "null"] if nullable else "object"}
    if "format" in more:
        schema["format"] = more.pop("format")
    schema["properties"] = dict(properties)
    if required:
        schema["required"] = list(required)
    schema["additionalProperties"] = additional
    schema.update(more)
    return schema


def body(root: str, inner: Mapping[str, Any],
         **siblings: Mapping[str, Any]) -> dict[str, Any]:
    """A whole body ``{root: inner}``: ``root`` required, only ``siblings`` beside it
    (keyword names are the sibling keys)."""
    return {"type": "object", "properties": {root: dict(inner), **siblings},
            "required": [root], "additionalProperties": False}


# --- formats ------------------------------------------------------------------------


def _length_refusal(value: str, what: str) -> BadRequest | None:
    length = len(value.strip())
    if length <= _STRING_MAX:
        return None
    return BadRequest(f"Invalid input received: {what} has {length} characters, more than"
                      f" {_STRING_MAX}.")


def _printable(char: str) -> bool:
    category = unicodedata.category(char)
    return not category.startswith("C") and (not category.startswith("Z") or category == "Zs")


def _status_refusal(kind: str, value: str, valid: Sequence[str]) -> BadRequest:
    return BadRequest(f"{kind} status: {value} is invalid, valid statuses are:"
                      f" {tuple(valid)!r}.")


def _formats() -> jsonschema.FormatChecker:
    checker = cinder_formats()

    @checker.checks("name")
    def _name(value: object) -> bool:
        if isinstance(value, str) and not value.strip():
            reason = "can not be None" if not value else "can not be empty"
            raise BadRequest(f"An invalid 'name' value was provided. The 'name' {reason}.")
        return True

    for what in ("name", "description"):
        def _stripped(value: object, what: str = what) -> bool:
            refusal = _length_refusal(value, what) if isinstance(value, str) else None
            if refusal is not None:
                raise refusal
            return True
        checker.checks(f"{what}_non_mandatory_remove_white_spaces")(_stripped)

    @checker.checks("printable")
    def _printable_text(value: object) -> bool:
        return not isinstance(value, str) or all(_printable(char) for char in value)

    @checker.checks("validate_volume_reset_body")
    def _reset_body(value: object) -> bool:
        if isinstance(value, dict) and not any(
                value.get(key) for key in ("status", "attach_status", "migration_status")):
            raise BadRequest("Must specify 'status', 'attach_status' or 'migration_status'"
                             " for update.")
        return True

    for name, kind, valid, needed in (
            ("volume_status", "Volume", VOLUME_STATUSES, False),
            ("volume_attach_status", "Volume attach", ("attached", "detached"), False),
            ("volume_migration_status", "Volume migration", MIGRATION_STATUSES, False),
            ("snapshot_status", "Snapshot", SNAPSHOT_STATUSES, True),
            ("backup_status", "Backup", ("available", "error"), True)):
        def _status(value: object, kind: str = kind, valid: Sequence[str] = valid,
                    needed: bool = needed) -> bool:
            if isinstance(value, str) and (value or needed) and value.lower() not in valid:
                raise _status_refusal(kind, value, valid)
            return True
        checker.checks(name)(_status)

    @checker.checks("progress")
    def _progress(value: object) -> bool:
        if not isinstance(value, str) or not value:
            return True
        try:
            percent = int(value[:-1])
        except ValueError:
            raise BadRequest("Invalid input received: progress must be an integer"
                             " percentage") from None
        if not 0 <= percent <= 100 or value[-1] != "%":
            raise BadRequest("Invalid input received: progress must be an integer percentage"
                             " between 0 and 100")
        return True

    return checker


_FORMATS: Final = _formats()


def check(schema: Mapping[str, Any], instance: Any) -> None:
    """Refuse ``instance`` unless it fits ``schema``, as Cinder's validator does.

    Raises:
        BadRequest: Cinder's message for the first error (400).
    """
    CINDER.check(schema, instance, format_checker=_FORMATS)


def invalid(name: str, value: Any, problem: str) -> BadRequest:
    """The 400 for ``name`` holding ``value`` that a rule beyond the schema refuses, in
    the words of a schema refusal."""
    return BadRequest(f"Invalid input for field/attribute {name}. Value: {value}. {problem}")


# --- readers (the schema has passed) -------------------------------------------------


def text(obj: Mapping[str, Any], key: str, *, strip: bool = False) -> str | None:
    """``obj[key]`` (a string or null under the schema); None when absent or null;
    ``strip`` removes surrounding blanks."""
    value = obj.get(key)
    if value is None:
        return None
    assert isinstance(value, str), key
    return value.strip() if strip else value


def flag(obj: Mapping[str, Any], key: str) -> bool | None:
    """A :data:`BOOLEAN` value as a bool; None when absent or null."""
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    return BOOLEAN_STRINGS[value]


def uuid_text(obj: Mapping[str, Any], key: str) -> str | None:
    """A :data:`UUID` value, dashed and lower case; None when absent or null."""
    value = obj.get(key)
    return None if value is None else str(uuid.UUID(value))


def size(obj: Mapping[str, Any], key: str) -> int | None:
    """A :data:`VOLUME_SIZE` value in GiB; None when absent or null."""
    value = obj.get(key)
    return None if value is None else int(value)


def metadata(obj: Mapping[str, Any], key: str = "metadata") -> dict[str, str] | None:
    """A :data:`METADATA` value (a copy); None when absent or null."""
    value = obj.get(key)
    return None if value is None else dict(value)
