"""Request rules of Cinder's admin APIs: ``os-services`` updates, extra specs, type
access actions, ``os-quota-sets`` and ``os-quota-class-sets`` updates and the ``is_public``
filter of ``GET /types``.

Every refusal is a 400 (:class:`~shoal.api.BadRequest`) with Cinder's wording where
clients or Tempest read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from shoal.api._errors import BadRequest
from shoal.api.cinder import _validate as v
from shoal.limits import INT32_MAX
from shoal.services.volume import ALL_TYPES

__all__ = [
    "SERVICE_ACTIONS",
    "QuotaUpdate",
    "ServiceUpdate",
    "parse_extra_spec_item",
    "parse_extra_specs",
    "parse_is_public",
    "parse_quota_class_update",
    "parse_quota_update",
    "parse_service_update",
    "parse_type_access_action",
]

#: ``PUT os-services/<action>`` actions served.
SERVICE_ACTIONS: Final = ("enable", "disable", "disable-log-reason", "freeze", "thaw")
#: Keys of a quota set that name no resource (ignored, as Cinder does).
_NON_QUOTA_KEYS: Final = ("tenant_id", "id")
_TYPE_ACCESS_ACTIONS: Final = ("addProjectAccess", "removeProjectAccess")
_EXTRA_SPECS: Final = v.body("extra_specs", {**v.METADATA, "minProperties": 1})
_SKIP_VALIDATION: Final = {"type": "object", "properties": {"skip_validation": v.BOOLEAN}}


@dataclass(frozen=True)
class ServiceUpdate:
    """A checked ``PUT os-services/<action>``; ``binary`` None for freeze/thaw."""

    action: str
    host: str
    binary: str | None = None
    reason: str | None = None


def _string(obj: Mapping[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if value is not None and not isinstance(value, str):
        raise v.invalid(key, value, f"'{key}' must be a string.")
    return value


def parse_service_update(action: str, body: Any) -> ServiceUpdate:
    """Check the body of ``PUT os-services/<action>``: ``host`` always; ``binary`` (or
    the older ``service``) for enable and disable; ``disabled_reason`` for
    disable-log-reason.

    Raises:
        BadRequest: an unknown action or a missing field (400).
    """
    if action not in SERVICE_ACTIONS:
        raise BadRequest(f"Invalid input received: Unknown action '{action}': use one of "
                         f"{', '.join(SERVICE_ACTIONS)}.")
    if not isinstance(body, dict):
        raise BadRequest("Malformed request body: send a JSON object with 'host'.")
    host = _string(body, "host")
    if not host:
        raise BadRequest("Missing required element 'host' in request body.")
    if action in ("freeze", "thaw"):
        return ServiceUpdate(action, host)
    binary = _string(body, "binary") or _string(body, "service")
    if not binary:
        raise BadRequest("Missing required element 'binary' in request body.")
    reason = None
    if action == "disable-log-reason":
        reason = _string(body, "disabled_reason")
        if reason is None:
            raise BadRequest("Missing disabled reason field")
    return ServiceUpdate(action, host, binary, reason)


def parse_extra_specs(body: Any) -> dict[str, str]:
    """Check ``{"extra_specs": {key: value}}`` of ``POST /types/{id}/extra_specs``: keys
    and values as metadata's (1-255 of ``[a-zA-Z0-9-_:. /]``; values at most 255).

    Raises:
        BadRequest: another shape or a bad key or value (400).
    """
    v.check(_EXTRA_SPECS, body)
    return dict(body["extra_specs"])


def parse_extra_spec_item(body: Any, key: str) -> tuple[str, str]:
    """Check ``{key: value}`` of ``PUT /types/{id}/extra_specs/{key}``.

    Raises:
        BadRequest: not exactly the URL's key ("Request body and URI mismatch", "Request
            body contains too many items"), or a bad value (400).
    """
    if not isinstance(body, dict) or not body:
        raise BadRequest("Malformed request body: send {\"<key>\": \"<value>\"}.")
    v.check(_EXTRA_SPECS, {"extra_specs": body})
    specs: dict[str, str] = dict(body)
    if key not in specs:
        raise BadRequest("Request body and URI mismatch")
    if len(specs) > 1:
        raise BadRequest("Request body contains too many items")
    return key, specs[key]


def parse_type_access_action(body: Any) -> tuple[bool, str]:
    """Check ``{"addProjectAccess": {"project": P}}`` or ``removeProjectAccess``;
    return ``(add, project_id)``.

    Raises:
        BadRequest: another action, or no ``project`` string (400).
    """
    if not isinstance(body, dict) or len(body) != 1 or next(iter(body)) not in \
            _TYPE_ACCESS_ACTIONS:
        raise BadRequest("Malformed request body: send {\"addProjectAccess\": {\"project\":"
                         " \"<project id>\"}} or removeProjectAccess.")
    action = next(iter(body))
    inner = body[action]
    if not isinstance(inner, dict):
        raise BadRequest(f"Malformed request body: '{action}' must be an object.")
    project = _string(inner, "project")
    if not project:
        raise BadRequest("Missing required element 'project' in request body.")
    return action == "addProjectAccess", project


@dataclass(frozen=True)
class QuotaUpdate:
    """A checked ``PUT os-quota-sets/{project}``: resource → new limit."""

    limits: Mapping[str, int]
    skip_validation: bool = True


def _quota_limit(key: str, value: Any) -> int:
    """Cinder's ``validate_integer(value, key, -1, MAX_INT)``: an integer or a string of
    one."""
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, str):
        try:
            number = int(value.strip())
        except ValueError:
            number = None
    else:
        number = None
    if number is None:
        raise BadRequest(f"Invalid input received: {key} must be an integer.")
    if number < -1:
        raise BadRequest(f"Invalid input received: {key} must be >= -1.")
    if number > INT32_MAX:
        raise BadRequest(f"Invalid input received: {key} must be <= {INT32_MAX}.")
    return number


def parse_quota_update(body: Any) -> QuotaUpdate:
    """Check ``{"quota_set": {resource: limit, ..., "skip_validation": bool}}``; limits are
    -1 (unlimited) to 2**31-1. Unknown resources are the service's to refuse.

    Raises:
        BadRequest: another shape or a bad limit (400).
    """
    if not isinstance(body, dict) or not isinstance(body.get("quota_set"), dict):
        raise BadRequest("Missing required element 'quota_set' in request body.")
    quota_set = dict(body["quota_set"])
    v.check(_SKIP_VALIDATION, quota_set)
    skip = v.flag(quota_set, "skip_validation")
    quota_set.pop("skip_validation", None)
    limits = {key: _quota_limit(key, value) for key, value in quota_set.items()
              if key not in _NON_QUOTA_KEYS}
    return QuotaUpdate(limits, True if skip is None else skip)


def parse_quota_class_update(body: Any) -> dict[str, int]:
    """Check ``{"quota_class_set": {resource: limit}}`` of ``PUT
    os-quota-class-sets/{class}``; limits are -1 (unlimited) to 2**31-1. Unknown resources
    are the service's to refuse.

    Raises:
        BadRequest: another shape or a bad limit (400).
    """
    if not isinstance(body, dict) or not isinstance(body.get("quota_class_set"), dict):
        raise BadRequest("Missing required element 'quota_class_set' in request body.")
    return {key: _quota_limit(key, value) for key, value in body["quota_class_set"].items()}


def parse_is_public(value: str | None) -> bool | str:
    """``GET /types?is_public=``: absent → True; ``None`` (any case) → every type
    (:data:`~shoal.services.volume._types.ALL_TYPES`); else a boolean string.

    Raises:
        BadRequest: anything else (400).
    """
    if value is None:
        return True
    if value.strip().lower() == "none":
        return ALL_TYPES
    parsed = parse_bool_text(value)
    if parsed is None:
        raise BadRequest(f"Invalid is_public filter [{value}]")
    return parsed


def parse_bool_text(text: str) -> bool | None:
    """A boolean string as Cinder reads one (``true``/``1``/``yes``...); None: not one."""
    return v.BOOLEAN_STRINGS.get(text.strip())
