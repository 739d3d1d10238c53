"""Value checks shared by the request-body parsers, with Cinder's rules.

Every refusal is a :class:`~shoal.api.BadRequest` whose message starts like Cinder's
(``Invalid input for field/attribute <name>. Value: <value>.``) and then says what to
send instead. Values are checked as Cinder's JSON schemas (draft 4) check them: an
integer is never a boolean or a float, a boolean flag may be a bool or one of the
strings in :data:`BOOLEAN_STRINGS`.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Iterable, Mapping
from typing import Any, Final

from shoal.api._errors import BadRequest
from shoal.api._ids import is_uuid_like
from shoal.services.volume.records import INT32_MAX

__all__ = [
    "BOOLEAN_STRINGS",
    "METADATA_KEY_RE",
    "check_keys",
    "invalid",
    "nullable_object",
    "optional_boolean",
    "optional_description",
    "optional_metadata",
    "optional_name",
    "optional_string",
    "optional_uuid",
    "parse_bool_text",
    "require_object",
    "require_size",
    "require_uuid",
]

#: The strings Cinder's ``boolean`` parameter type accepts, and what they mean.
BOOLEAN_STRINGS: Final = {
    **dict.fromkeys(("True", "TRUE", "true", "1", "ON", "On", "on", "YES", "Yes", "yes",
                     "y", "t"), True),
    **dict.fromkeys(("False", "FALSE", "false", "0", "OFF", "Off", "off", "NO", "No", "no",
                     "n", "f"), False),
}
#: Keys of volume, snapshot and backup metadata (and extra specs): 1-255 of these.
METADATA_KEY_RE: Final = re.compile(r"[a-zA-Z0-9\-_:. /]{1,255}")
_STRING_MAX: Final = 255
_SHOWN_MAX: Final = 80


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN_MAX else text[: _SHOWN_MAX - 3] + "..."


def invalid(name: str, value: Any, problem: str) -> BadRequest:
    """The 400 for ``name`` holding ``value``: ``problem`` says what to send instead."""
    return BadRequest(f"Invalid input for field/attribute {name}. Value: {_shown(value)}."
                      f" {problem}")


def _object_under(body: Any, key: str) -> Any:
    if not isinstance(body, dict):
        raise BadRequest(f"Malformed request body: send a JSON object {{\"{key}\": {{...}}}}.")
    if key not in body:
        raise BadRequest(f"Malformed request body: '{key}' is a required property.")
    check_keys(body, (key,), "the request body")
    return body[key]


def require_object(body: Any, key: str) -> dict[str, Any]:
    """``body[key]`` of a body that must be ``{key: {...}}`` (extra top-level keys are
    refused, as Cinder's schemas do).

    Raises:
        BadRequest: the body is no object, lacks ``key``, holds other keys, or
            ``body[key]`` is no object.
    """
    value = _object_under(body, key)
    if not isinstance(value, dict):
        raise invalid(key, value, f"'{key}' must be a JSON object.")
    return value


def nullable_object(body: Any, key: str) -> dict[str, Any] | None:
    """Like :func:`require_object`, but ``{key: null}`` gives None."""
    value = _object_under(body, key)
    return None if value is None else require_object(body, key)


def check_keys(obj: Mapping[str, Any], allowed: Iterable[str], where: str) -> None:
    """Refuse keys of ``obj`` outside ``allowed`` (Cinder's ``additionalProperties``).

    Raises:
        BadRequest: names the unexpected keys and the allowed ones.
    """
    names = tuple(allowed)
    extra = [key for key in obj if key not in names]
    if extra:
        raise BadRequest(
            f"Additional properties are not allowed in {where}"
            f" ({', '.join(repr(k) for k in extra)} unexpected): use only"
            f" {', '.join(names)}."
        )


def optional_string(obj: Mapping[str, Any], key: str, *, min_length: int = 0,
                    max_length: int = _STRING_MAX) -> str | None:
    """``obj[key]``: absent or null → None, else a string of the allowed length."""
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid(key, value, f"'{key}' must be a string or null.")
    if not min_length <= len(value) <= max_length:
        raise invalid(key, value,
                      f"'{key}' must hold {min_length} to {max_length} characters.")
    return value


def optional_name(obj: Mapping[str, Any], key: str) -> str | None:
    """A name (or description) Cinder strips of surrounding blanks: at most 255
    characters once stripped; the stripped value is returned."""
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid(key, value, f"'{key}' must be a string or null.")
    stripped = value.strip()
    if len(stripped) > _STRING_MAX:
        raise invalid(key, value,
                      f"'{key}' must hold at most {_STRING_MAX} characters (not counting"
                      " leading and trailing blanks).")
    return stripped


def _printable(char: str) -> bool:
    category = unicodedata.category(char)
    return not category.startswith("C") and (not category.startswith("Z") or category == "Zs")


def optional_description(obj: Mapping[str, Any], key: str) -> str | None:
    """A snapshot or backup description: at most 255 printable characters (no line
    breaks or control characters), stripped of surrounding blanks."""
    value = optional_string(obj, key)
    if value is None:
        return None
    bad = next((char for char in value if not _printable(char)), None)
    if bad is not None:
        raise invalid(key, value, f"'{key}' must hold printable characters only (found"
                                  f" U+{ord(bad):04X}).")
    return value.strip()


def parse_bool_text(value: Any) -> bool | None:
    """``value`` as Cinder's ``boolean`` type reads it, or None when it is none."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return BOOLEAN_STRINGS.get(value)
    return None


def optional_boolean(obj: Mapping[str, Any], key: str, *, nullable: bool = False,
                     required: bool = False) -> bool | None:
    """A boolean flag: ``true``/``false`` or one of :data:`BOOLEAN_STRINGS`; absent →
    None (400 when ``required``); null → None only when ``nullable``."""
    if key not in obj:
        if required:
            raise BadRequest(f"Invalid input: '{key}' is a required property.")
        return None
    value = obj[key]
    if value is None and nullable:
        return None
    parsed = parse_bool_text(value)
    if parsed is None:
        raise invalid(key, value, f"'{key}' must be true or false (or a string such as"
                                  " 'true', 'false', 'yes', 'no', '1', '0').")
    return parsed


def optional_uuid(obj: Mapping[str, Any], key: str) -> str | None:
    """A UUID (dashed or 32 hex digits; returned dashed and lower case); absent or null
    → None."""
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not is_uuid_like(value):
        raise invalid(key, value, f"'{key}' must be a UUID.")
    return str(uuid.UUID(value))


def require_uuid(obj: Mapping[str, Any], key: str) -> str:
    """Like :func:`optional_uuid`, but absent or null is a 400."""
    value = optional_uuid(obj, key)
    if value is None:
        raise BadRequest(f"Invalid input: '{key}' is a required property: give the UUID of"
                         " the resource.")
    return value


def require_size(obj: Mapping[str, Any], key: str, *, nullable: bool = False) -> int | None:
    """A size in GiB: an integer, or a string of digits, from 1 to 2**31-1.

    Absent or null gives None when ``nullable``, else 400.
    """
    value = obj.get(key)
    if value is None:
        if nullable:
            return None
        raise BadRequest(f"Invalid input: '{key}' is a required property: give a size in"
                         " GiB.")
    if isinstance(value, str) and value.isascii() and value.isdigit():
        number = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        raise invalid(key, value, f"'{key}' must be an integer number of GiB.")
    if not 1 <= number <= INT32_MAX:
        raise invalid(key, value, f"'{key}' must be from 1 to {INT32_MAX} GiB.")
    return number


def optional_metadata(obj: Mapping[str, Any], key: str = "metadata", *,
                      nullable: bool = True) -> dict[str, str] | None:
    """Metadata: an object of string values (at most 255 characters) under keys of 1-255
    letters, digits, blanks or ``-_:./``. Absent (or null when ``nullable``) → None."""
    if key not in obj:
        return None
    value = obj[key]
    if value is None and nullable:
        return None
    if not isinstance(value, dict):
        raise invalid(key, value, f"'{key}' must be a JSON object of strings.")
    checked: dict[str, str] = {}
    for name, item in value.items():
        if not METADATA_KEY_RE.fullmatch(name):
            raise invalid(key, value,
                          f"Metadata key {_shown(name)} is not allowed: keys hold 1 to 255"
                          " letters, digits, blanks or any of - _ : . /")
        if not isinstance(item, str):
            raise invalid(key, value,
                          f"The value of metadata key {_shown(name)} must be a string.")
        if len(item) > _STRING_MAX:
            raise invalid(key, value, f"The value of metadata key {_shown(name)} must hold"
                                      f" at most {_STRING_MAX} characters.")
        checked[name] = item
    return checked
