"""Request bodies checked against JSON Schema documents: one path for every service.

Glance, Cinder, Nova and Keystone all validate request bodies with the ``jsonschema``
library; each picks a draft, a format checker and a way to word the first error. A
:class:`Dialect` holds those three choices and :meth:`Dialect.problem` /
:meth:`Dialect.check` run a document against a schema:

==========  ==============  =======================  ==========================================
dialect     draft           formats                  400 message
==========  ==============  =======================  ==========================================
GLANCE      2020-12         none checked             ``Provided object does not match schema
                                                     '<name>': <reason>`` (the best match)
CINDER      4, with digit   uuid, name..., and the   ``Invalid input for field/attribute
            strings for     draft's own              <last path element>. Value: <value>.
            min/maximum                              <reason>``; at the top level the reason
                                                     alone (the first error)
KEYSTONE    2020-12         date-time, uuid          ``Invalid input for field '<a/b>':
                                                     <reason>``; at the top level the reason
==========  ==============  =======================  ==========================================

Upstream Glance and Keystone put ``str(error)`` in the message, which appends the failing
schema and instance in full; shoal gives the reason line only (``error.message``).

A format checker may raise :class:`~shoal.api.BadRequest` itself to answer with its own
words (Cinder's ``name`` format: "The 'name' can not be empty."); that refusal leaves the
validation at once, as in Cinder.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

import jsonschema
from jsonschema import exceptions as jsonschema_exceptions
from jsonschema.protocols import Validator

from shoal.api._errors import BadRequest
from shoal.api._ids import is_uuid_like

__all__ = [
    "CINDER",
    "GLANCE",
    "KEYSTONE",
    "Dialect",
    "cinder_formats",
]

#: Digits beyond which a digit string is compared as +/- infinity (Python's int() limit).
_DIGITS_MAX: Final = 4000
_INTEGER_TEXT: Final = re.compile(r"\s*[+-]?[0-9]+\s*")


def _number_from_text(value: Any) -> int | float | None:
    """``value`` as Cinder's minimum/maximum read it: a number, a string holding one, or
    None (not comparable: the keyword then says nothing). Strings of more than
    :data:`_DIGITS_MAX` digits compare as infinity of their sign; NaN never compares."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if not isinstance(value, str):
        return None
    if _INTEGER_TEXT.fullmatch(value):
        text = value.strip()
        if len(text) > _DIGITS_MAX:
            return -math.inf if text.startswith("-") else math.inf
        return int(text)
    try:
        number = float(value)
    except ValueError:
        return None
    return None if math.isnan(number) else number


def _bound(keyword: str) -> Callable[..., Iterator[jsonschema.ValidationError]]:
    """Draft 4's ``minimum``/``maximum``, comparing digit strings as numbers (Cinder)."""
    original = jsonschema.Draft4Validator.VALIDATORS[keyword]

    def check(validator: Validator, bound: Any, instance: Any,
              schema: Mapping[str, Any]) -> Iterator[jsonschema.ValidationError]:
        number = _number_from_text(instance)
        if number is None:
            return iter(())
        found = original(validator, bound, number, schema)
        return iter(()) if found is None else iter(found)

    return check


#: ``jsonschema.validators.extend`` (untyped in its stubs).
_extend: Callable[..., type[Validator]] = jsonschema.validators.extend

_CinderValidator: Final = _extend(
    jsonschema.Draft4Validator,
    {"minimum": _bound("minimum"), "maximum": _bound("maximum")},
)


def cinder_formats() -> jsonschema.FormatChecker:
    """A fresh format checker with Cinder's formats (add service-specific ones to it)."""
    checker = jsonschema.FormatChecker()

    @checker.checks("uuid")
    def _uuid(instance: object) -> bool:
        return not isinstance(instance, str) or is_uuid_like(instance)

    return checker


def _keystone_formats() -> jsonschema.FormatChecker:
    checker = jsonschema.FormatChecker([])

    @checker.checks("uuid")
    def _uuid(instance: object) -> bool:
        return not isinstance(instance, str) or is_uuid_like(instance)

    @checker.checks("date-time")
    def _date_time(instance: object) -> bool:
        if not isinstance(instance, str):
            return True
        try:
            datetime.datetime.fromisoformat(instance)
        except ValueError:
            return False
        return True

    return checker


def _glance_message(error: jsonschema.ValidationError, schema_name: str) -> str:
    return f"Provided object does not match schema '{schema_name}': {error.message}"


def _cinder_message(error: jsonschema.ValidationError, schema_name: str) -> str:
    if error.path:
        return (f"Invalid input for field/attribute {error.path[-1]}. Value:"
                f" {error.instance}. {error.message}")
    return error.message


def _keystone_message(error: jsonschema.ValidationError, schema_name: str) -> str:
    if error.path:
        path = "/".join(str(part) for part in error.path)
        return f"Invalid input for field '{path}': {error.message}"
    return error.message


@dataclass(frozen=True)
class Dialect:
    """One service's way of validating: a validator class (the draft and its keyword
    rules), a format checker (None: formats are annotations only), whether the reported
    error is jsonschema's best match or the first found, and the wording of the 400."""

    validator_class: type[Validator]
    format_checker: jsonschema.FormatChecker | None
    best_match: bool
    message: Callable[[jsonschema.ValidationError, str], str]

    def error(self, schema: Mapping[str, Any], instance: Any,
              format_checker: jsonschema.FormatChecker | None = None
              ) -> jsonschema.ValidationError | None:
        """The error to report for ``instance`` under ``schema``, or None when it fits.

        ``format_checker`` replaces the dialect's for this call.

        Raises:
            BadRequest: a format check refused the value in its own words.
        """
        checker = self.format_checker if format_checker is None else format_checker
        validator = self.validator_class(schema, format_checker=checker)
        errors = validator.iter_errors(instance)
        found: jsonschema.ValidationError | None
        if self.best_match:
            found = jsonschema_exceptions.best_match(errors)
        else:
            found = next(iter(errors), None)
        return found

    def problem(self, schema: Mapping[str, Any], instance: Any,
                format_checker: jsonschema.FormatChecker | None = None) -> str | None:
        """jsonschema's reason (``"-5 is less than the minimum of 0"``), or None."""
        error = self.error(schema, instance, format_checker)
        return None if error is None else error.message

    def check(self, schema: Mapping[str, Any], instance: Any, *, schema_name: str = "",
              format_checker: jsonschema.FormatChecker | None = None) -> None:
        """Refuse ``instance`` unless it fits ``schema``.

        ``schema_name`` names the schema in Glance's message.

        Raises:
            BadRequest: the 400 in the dialect's words.
        """
        error = self.error(schema, instance, format_checker)
        if error is not None:
            raise BadRequest(self.message(error, schema_name))


#: Glance: ``jsonschema.validate`` (the newest draft, no format checks, the best match).
GLANCE: Final = Dialect(jsonschema.Draft202012Validator, None, True, _glance_message)
#: Cinder (and Nova): draft 4, digit strings bounded as numbers, Cinder's formats.
CINDER: Final = Dialect(_CinderValidator, cinder_formats(), False, _cinder_message)
#: Keystone: draft 2020-12 with date-time and uuid formats.
KEYSTONE: Final = Dialect(jsonschema.Draft202012Validator, _keystone_formats(), False,
                          _keystone_message)
