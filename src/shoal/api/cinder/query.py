"""``GET /volumes[/detail]``, ``/snapshots[/detail]``, ``/backups[/detail]``: parse the
query string, then filter, sort and page records as Cinder does.

Parsing (:func:`parse_query`) and evaluation (:func:`apply_query`) are apart so the
service can push filters into SQL later; every filter is a plain :class:`Filter`.

Parameters:

- ``limit`` (default and cap: ``osapi_max_limit``, 1000; 0 gives an empty page),
  ``marker`` (the last id of the previous page; one the caller cannot see is 404, as
  in Cinder), ``offset`` (items to skip after the marker).
- ``sort=key[:dir],...`` or ``sort_key=key&sort_dir=dir`` (not both). Direction
  ``asc``/``desc``, default ``desc``; default key ``created_at``; ``created_at`` and
  ``id`` are added as tie-breakers with the first direction. ``name`` sorts by name.
  Unknown keys and directions are 400.
- ``all_tenants``: a boolean; admins then list every project (``project_id`` narrows
  it; without ``all_tenants`` the caller's project wins over ``project_id``); ignored
  for others (cinderclient sends it for everyone).
- ``with_count`` (3.45+): add the total number of matches (``count``).
- filters, everything else. Which a non-admin may use:

  * before 3.31 the resource's legacy list (volumes: ``query_volume_filters``;
    snapshots: status, volume_id, name, metadata; backups: name, status, volume_id);
    other filters are dropped silently, and filters newer than the version are dropped
    for everyone (volume ``glance_metadata`` < 3.4, ``group_id`` < 3.10,
    ``created_at``/``updated_at`` < 3.60, ``consumes_quota`` < 3.65; snapshot
    ``metadata`` < 3.22);
  * from 3.31 on the configured ``resource_filters``; others are 400 ("Invalid filters
    ... are found in query options."); from 3.34 ``key~=value`` is a LIKE filter
    (case-insensitive substring, ``%`` and ``_`` wildcards) when ``key~`` is configured.

  Admins may filter on any attribute; one the resource does not have matches nothing
  (Cinder's database answers an empty list). Values: ``name`` exactly as sent;
  ``metadata``/``glance_metadata`` a Python dict literal (``{'k': 'v'}``), anything
  else is 400; booleans (``bootable``, ``multiattach``, ``consumes_quota``...) true/
  false/1/0/yes/no... from 3.2 (400 otherwise; before 3.2 anything but a false
  spelling is true); ``created_at``/``updated_at`` ``op:time[,op:time]`` with op
  gt/gte/eq/neq/lt/lte; a list literal (``['available', 'error']``) matches any of
  its values.

Non-admins never see volumes that are migration targets (``migration_status``
``target:...``).
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Generic, TypeVar

from shoal.api._errors import BadRequest
from shoal.api._microversion import APIVersion
from shoal.api.cinder import microversions as mv
from shoal.api.cinder.options import DEFAULT_OPTIONS, VolumeApiOptions
from shoal.errors import NotFound
from shoal.services.volume.records import (
    INT32_MAX,
    BackupRecord,
    SnapshotRecord,
    VolumeRecord,
    as_utc,
)

__all__ = [
    "RESOURCES",
    "SORT_KEYS",
    "TIME_OPERATORS",
    "Filter",
    "ListQuery",
    "ListResult",
    "apply_query",
    "parse_bool_param",
    "parse_query",
]

RESOURCES: Final = ("volume", "snapshot", "backup")
TIME_OPERATORS: Final = ("gt", "gte", "eq", "neq", "lt", "lte")
_PAGING: Final = ("limit", "marker", "offset", "sort", "sort_key", "sort_dir")
_ALL_TENANTS: Final = "all_tenants"
_STRICT_TRUE: Final = frozenset({"1", "t", "true", "on", "y", "yes"})
_STRICT_FALSE: Final = frozenset({"0", "f", "false", "off", "n", "no"})

#: Sort keys per resource → the record attribute.
SORT_KEYS: Final[Mapping[str, Mapping[str, str]]] = {
    "volume": {
        **{k: k for k in ("id", "status", "size", "availability_zone", "created_at",
                          "updated_at", "bootable", "project_id", "user_id",
                          "volume_type_id", "multiattach", "host", "migration_status",
                          "snapshot_id", "source_volid", "group_id", "replication_status",
                          "consistencygroup_id", "cluster_name", "provider_id")},
        "name": "name", "display_name": "name",
        "description": "description", "display_description": "description",
    },
    "snapshot": {
        **{k: k for k in ("id", "status", "volume_id", "volume_size", "created_at",
                          "updated_at", "project_id", "user_id", "progress",
                          "group_snapshot_id")},
        "name": "name", "display_name": "name",
        "description": "description", "display_description": "description",
    },
    "backup": {
        **{k: k for k in ("id", "status", "volume_id", "size", "object_count", "container",
                          "availability_zone", "created_at", "updated_at", "project_id",
                          "user_id", "data_timestamp", "snapshot_id", "parent_id",
                          "fail_reason", "host")},
        "name": "name", "display_name": "name",
        "description": "description", "display_description": "description",
    },
}

_STR, _INT, _BOOL = "str", "int", "bool"
#: Filter keys per resource → (record attribute, kind). ``name`` arrives as
#: ``display_name``, as in Cinder.
_FILTER_ATTRIBUTES: Final[Mapping[str, Mapping[str, tuple[str, str]]]] = {
    "volume": {
        **{k: (k, _STR) for k in ("id", "status", "availability_zone", "project_id",
                                  "user_id", "volume_type_id", "snapshot_id", "source_volid",
                                  "group_id", "consistencygroup_id", "migration_status",
                                  "replication_status", "cluster_name", "provider_id",
                                  "service_uuid", "encryption_key_id")},
        "display_name": ("name", _STR), "display_description": ("description", _STR),
        "size": ("size", _INT), "bootable": ("bootable", _BOOL),
        "multiattach": ("multiattach", _BOOL), "use_quota": ("use_quota", _BOOL),
        "shared_targets": ("shared_targets", _BOOL),
    },
    "snapshot": {
        **{k: (k, _STR) for k in ("id", "status", "volume_id", "project_id", "user_id",
                                  "progress", "group_snapshot_id", "availability_zone")},
        "display_name": ("name", _STR), "display_description": ("description", _STR),
        "volume_size": ("volume_size", _INT), "use_quota": ("use_quota", _BOOL),
    },
    "backup": {
        **{k: (k, _STR) for k in ("id", "status", "volume_id", "project_id", "user_id",
                                  "container", "availability_zone", "snapshot_id",
                                  "parent_id", "fail_reason", "host")},
        "display_name": ("name", _STR), "display_description": ("description", _STR),
        "size": ("size", _INT), "object_count": ("object_count", _INT),
    },
}
#: Legacy (before 3.31) filters non-admins may use, per resource (volumes: options).
_LEGACY_FILTERS: Final = {
    "snapshot": ("status", "volume_id", "name", "metadata"),
    "backup": ("name", "status", "volume_id"),
}
#: (resource, filter, first version): before it the filter is dropped (< 3.31 only).
_ADDED_FILTERS: Final = (
    ("volume", "glance_metadata", mv.VOLUME_LIST_GLANCE_METADATA),
    ("volume", "group_id", mv.VOLUME_LIST_GROUP),
    ("volume", "created_at", mv.VOLUME_TIME_COMPARISON_FILTER),
    ("volume", "updated_at", mv.VOLUME_TIME_COMPARISON_FILTER),
    ("volume", "consumes_quota", mv.USE_QUOTA),
    ("snapshot", "metadata", mv.SNAPSHOT_LIST_METADATA_FILTER),
    ("snapshot", "consumes_quota", mv.USE_QUOTA),
)
_LIKE_KEYS: Final = {"name~": "display_name~", "description~": "display_description~"}
_NOUNS: Final = {"volume": "Volume", "snapshot": "Snapshot", "backup": "Backup"}


@dataclass(frozen=True)
class Filter:
    """One filter.

    ``op`` is ``eq`` (``value`` a str/int/bool), ``in`` (a tuple), ``like`` (a str),
    ``metadata``/``image_metadata`` (a dict every pair of which must be in the
    record's), ``time`` (a tuple of ``(operator, datetime)``), ``host`` (Cinder's host
    match: ``h`` matches ``h``, ``h@b`` and ``h@b#p``) or ``none`` (an attribute the
    resource does not have: nothing matches). ``attribute`` is the record's attribute.
    """

    key: str
    attribute: str
    op: str
    value: Any = None


@dataclass(frozen=True)
class ListQuery:
    """A parsed list query (see the module docstring for each part).

    ``sort`` holds record attributes and directions, tie-breakers included;
    ``all_projects`` is already False for non-admins.
    """

    resource: str
    limit: int
    marker: str | None = None
    offset: int = 0
    sort: tuple[tuple[str, str], ...] = (("created_at", "desc"), ("id", "desc"))
    all_projects: bool = False
    with_count: bool = False
    filters: tuple[Filter, ...] = field(default_factory=tuple)


# --- parsing ---------------------------------------------------------------------------


def parse_bool_param(name: str, value: str) -> bool:
    """A query boolean as Cinder's ``get_bool_param`` reads it (1/0, true/false, t/f,
    yes/no, y/n, on/off, any case).

    Raises:
        BadRequest: another value (400).
    """
    lowered = value.strip().lower()
    if lowered in _STRICT_TRUE:
        return True
    if lowered in _STRICT_FALSE:
        return False
    raise BadRequest(f"Value {value!r} for {name!r} is not a boolean: use true or false.")


def _integer(name: str, text: str, *, minimum: int, message: str) -> int:
    try:
        number = int(text)
    except ValueError:
        raise BadRequest(f"{name} param must be an integer, got {text!r}.") from None
    if not minimum <= number <= INT32_MAX:
        raise BadRequest(message)
    return number


def _sort(resource: str, single: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    keys = SORT_KEYS[resource]
    if "sort" in single and ("sort_key" in single or "sort_dir" in single):
        raise BadRequest("The 'sort_key' and 'sort_dir' parameters are deprecated and cannot"
                         " be used with the 'sort' parameter: use sort=key:dir,... only.")
    pairs: list[tuple[str, str]] = []
    if "sort" in single:
        for item in single["sort"].strip().split(","):
            key, _, direction = item.partition(":")
            pairs.append((key.strip(), direction.strip() or "desc"))
    else:
        pairs.append((single.get("sort_key", "created_at").strip(),
                      single.get("sort_dir", "desc").strip()))
    order = []
    for key, direction in pairs:
        if key not in keys:
            raise BadRequest(f"Invalid sort key {key!r}: use one of {', '.join(sorted(keys))}.")
        if direction not in ("asc", "desc"):
            raise BadRequest(f"Unknown sort direction {direction!r}, must be 'desc' or 'asc'.")
        order.append((keys[key], direction))
    attributes = {attribute for attribute, _ in order}
    for tie in ("created_at", "id"):
        if tie not in attributes:
            order.append((tie, order[0][1]))
    return tuple(order)


def _allowed_filter(key: str, configured: Sequence[str], *, like: bool) -> bool:
    if key in configured:
        return True
    return like and f"{key}~" in configured


def _screen_filters(resource: str, filters: dict[str, str], version: APIVersion,
                    is_admin: bool, options: VolumeApiOptions) -> None:
    """Drop or refuse the filters the caller may not use (in place)."""
    if version < mv.RESOURCE_FILTER:
        for owner, name, since in _ADDED_FILTERS:
            if owner == resource and version < since:
                filters.pop(name, None)
        if not is_admin:
            legacy = (options.query_volume_filters if resource == "volume"
                      else _LEGACY_FILTERS[resource])
            for name in [k for k in filters if k not in legacy]:
                del filters[name]
        return
    if not all(key.isascii() for key in filters):
        raise BadRequest("Filter keys can only contain ASCII characters.")
    if is_admin:
        return
    configured = options.filters_for(resource)
    like = version >= mv.LIKE_FILTER
    refused = [key for key in filters
               if key != _ALL_TENANTS and not _allowed_filter(key, configured, like=like)]
    if refused:
        raise BadRequest(f"Invalid filters {','.join(refused)} are found in query options:"
                         f" use {', '.join(configured) or 'none'}.")


def parse_query(
    resource: str,
    params: Iterable[tuple[str, str]],
    version: APIVersion,
    *,
    is_admin: bool,
    options: VolumeApiOptions = DEFAULT_OPTIONS,
) -> ListQuery:
    """Parse the query string of a list of ``resource`` (``volume``, ``snapshot`` or
    ``backup``): its ``(name, value)`` pairs, repeats allowed (the last one counts).

    Raises:
        BadRequest: a value Cinder would refuse, with what to send instead (400).
        ValueError: ``resource`` is unknown (a programming error).
    """
    if resource not in RESOURCES:
        raise ValueError(f"resource must be one of {RESOURCES}, got {resource!r}")
    single: dict[str, str] = {}
    for name, value in params:
        if "\x00" in name or "\x00" in value:
            raise BadRequest("Query parameters must not contain NUL characters.")
        single.pop(name, None)
        single[name] = value
    limit = options.osapi_max_limit
    if "limit" in single:
        limit = min(_integer("limit", single["limit"], minimum=0,
                             message="limit param must be positive."), limit)
    offset = 0
    if "offset" in single:
        offset = _integer("offset", single["offset"], minimum=0,
                          message=f"offset must be from 0 to {INT32_MAX}.")
    sort = _sort(resource, single)
    filters = {k: value for k, value in single.items() if k not in _PAGING}
    with_count = False
    if version >= mv.SUPPORT_COUNT_INFO and "with_count" in filters:
        with_count = parse_bool_param("with_count", filters.pop("with_count"))
    _screen_filters(resource, filters, version, is_admin, options)
    all_projects = False
    if _ALL_TENANTS in filters:
        all_projects = parse_bool_param(_ALL_TENANTS, filters.pop(_ALL_TENANTS)) and is_admin
    return ListQuery(
        resource=resource, limit=limit, marker=single.get("marker"), offset=offset,
        sort=sort, all_projects=all_projects, with_count=with_count,
        filters=tuple(_filter(resource, key, value, version)
                      for key, value in filters.items()),
    )


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


def _metadata_filter(key: str, attribute: str, text: str) -> Filter:
    value = _literal(text)
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise BadRequest(f"Invalid {key} filter {text!r}: give a dict literal such as"
                         f" {key}={{'key': 'value'}}.")
    pairs = {k: str(item) for k, item in value.items()}
    return Filter(key, attribute, "metadata", pairs)


def _bool_filter(key: str, attribute: str, text: str, version: APIVersion) -> Filter:
    if version >= mv.VOLUME_LIST_BOOTABLE or key == "consumes_quota":
        lowered = text.strip().lower()
        if lowered not in _STRICT_TRUE | _STRICT_FALSE:
            raise BadRequest(f"Invalid input received: '{key} = {text}': give true or"
                             " false.")
        return Filter(key, attribute, "eq", lowered in _STRICT_TRUE)
    return Filter(key, attribute, "eq", text not in ("False", "false", "FALSE", ""))


def _time_filter(key: str, attribute: str, text: str) -> Filter:
    checks = []
    for unit in text.split(","):
        operator, _, moment = unit.partition(":")
        if operator not in TIME_OPERATORS:
            raise BadRequest(f"Invalid {operator} operator for {key}: use one of"
                             f" {', '.join(TIME_OPERATORS)}, e.g. {key}=gt:2026-01-31T12:00:00.")
        try:
            at = as_utc(datetime.fromisoformat(moment.strip()))
        except (ValueError, OverflowError):
            raise BadRequest(f"Invalid {moment} value for {key}: use ISO 8601 time, e.g."
                             " 2026-01-31T12:00:00.") from None
        checks.append((operator, at))
    return Filter(key, attribute, "time", tuple(checks))


def _filter(resource: str, key: str, text: str, version: APIVersion) -> Filter:
    key = {"name": "display_name", "consumes_quota": "use_quota", **_LIKE_KEYS}.get(key, key)
    attributes = _FILTER_ATTRIBUTES[resource]
    if key.endswith("~"):
        attribute, kind = attributes.get(key[:-1], ("", _STR))
        return Filter(key, attribute, "like" if kind == _STR and attribute else "none", text)
    if key == "metadata" and resource != "backup":
        return _metadata_filter(key, "metadata", text)
    if key == "glance_metadata" and resource == "volume":
        return _metadata_filter(key, "image_metadata", text)
    if key in ("created_at", "updated_at") and resource == "volume":
        return _time_filter(key, key, text)
    if key == "host" and resource == "volume":
        return Filter(key, "host", "host", text)
    if key not in attributes:
        return Filter(key, "", "none", text)
    attribute, kind = attributes[key]
    if kind == _BOOL:
        return _bool_filter("consumes_quota" if key == "use_quota" else key, attribute, text,
                            version)
    if key == "display_name":
        return Filter(key, attribute, "eq", text)
    value = _literal(text) if resource != "backup" else text
    if isinstance(value, (list, tuple, set, frozenset)):
        return Filter(key, attribute, "in", tuple(_typed(kind, item) for item in value))
    return Filter(key, attribute, "eq", _typed(kind, text))


def _typed(kind: str, value: Any) -> Any:
    if kind == _INT:
        try:
            return int(str(value).strip())
        except ValueError:
            return str(value)  # matches no integer attribute
    return value if isinstance(value, str) else str(value)


# --- evaluation ------------------------------------------------------------------------

_Record = TypeVar("_Record", VolumeRecord, SnapshotRecord, BackupRecord)


@dataclass(frozen=True)
class ListResult(Generic[_Record]):
    """A page of records and, when ``with_count`` asked for it, the total matches."""

    items: list[_Record]
    count: int | None = None


@functools.lru_cache(maxsize=256)
def _like_pattern(text: str) -> re.Pattern[str]:
    parts = [".*" if c == "%" else "." if c == "_" else re.escape(c) for c in text]
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def _host_matches(host: str | None, wanted: str) -> bool:
    if host is None:
        return False
    if host == wanted:
        return True
    if "#" in wanted:
        return False
    return host.startswith(wanted + "#") or ("@" not in wanted and host.startswith(wanted + "@"))


_COMPARE: Final = {
    "gt": lambda a, b: a > b, "gte": lambda a, b: a >= b, "eq": lambda a, b: a == b,
    "neq": lambda a, b: a != b, "lt": lambda a, b: a < b, "lte": lambda a, b: a <= b,
}


def _holds(record: Any, check: Filter) -> bool:
    if check.op == "none":
        return False
    if check.op == "metadata":
        data = dict(getattr(record, check.attribute))
        if check.attribute == "metadata" and isinstance(record, VolumeRecord):
            data = {**record.admin_metadata, **data}
        return all(data.get(k) == item for k, item in check.value.items())
    value = getattr(record, check.attribute)
    if check.op == "host":
        return _host_matches(value, check.value)
    if value is None:
        return False
    if check.op == "eq":
        return bool(value == check.value)
    if check.op == "in":
        return value in check.value
    if check.op == "like":
        return bool(_like_pattern(check.value).search(str(value)))
    return all(_COMPARE[op](as_utc(value), at) for op, at in check.value)


def _sort_value(record: Any, *, attribute: str) -> tuple[int, Any]:
    value = getattr(record, attribute)
    return (0, 0) if value is None else (1, value)


def _sorted(records: Iterable[_Record], query: ListQuery) -> list[_Record]:
    """``records`` in ``query``'s order; missing values sort first when ascending."""
    result = list(records)
    for attribute, direction in reversed(query.sort):
        result.sort(key=functools.partial(_sort_value, attribute=attribute),
                    reverse=direction == "desc")
    return result


def _in_scope(record: Any, query: ListQuery, project_id: str | None, is_admin: bool) -> bool:
    if not (query.all_projects or record.project_id == project_id):
        return False
    migration = getattr(record, "migration_status", None)
    return is_admin or not (isinstance(migration, str) and migration.startswith("target:"))


def apply_query(
    records: Iterable[_Record],
    query: ListQuery,
    *,
    project_id: str | None,
    is_admin: bool,
) -> ListResult[_Record]:
    """Filter, sort and page ``records`` (all of ``query.resource``'s kind) for a caller.

    Args:
        records: every live record (of every project).
        query: from :func:`parse_query`.
        project_id: the caller's project; only its records list unless
            ``query.all_projects``.
        is_admin: admins may page from a marker of any project and see migration
            targets.

    Raises:
        NotFound: ``query.marker`` names no record the caller may see (404, as Cinder).
    """
    candidates = list(records)
    # within one project, that project wins over a project_id filter (as in Cinder)
    checks = [f for f in query.filters if query.all_projects or f.key != "project_id"]
    listed = [r for r in candidates
              if _in_scope(r, query, project_id, is_admin)
              and all(_holds(r, check) for check in checks)]
    if query.marker is not None:
        marker = next((r for r in candidates if r.id == query.marker
                       and (is_admin or r.project_id == project_id)), None)
        if marker is None:
            raise NotFound(f"{_NOUNS[query.resource]} {query.marker} could not be found.")
        ordered = _sorted([r for r in listed if r.id != marker.id] + [marker], query)
        start = next(i for i, r in enumerate(ordered) if r is marker) + 1
        remaining = ordered[start:]
    else:
        remaining = _sorted(listed, query)
    page = remaining[query.offset: query.offset + query.limit]
    return ListResult(page, len(listed) if query.with_count else None)
