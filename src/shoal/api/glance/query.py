"""``GET /v2/images``: parse the query string, then filter, sort and page images.

Parsing (:func:`parse_query`) gives a :class:`~shoal.services.image.listing.ImageQuery`;
the image service evaluates it in SQL (:meth:`shoal.services.image.ImageService.list_images`).
:func:`apply_query` is the same evaluation in plain Python over every record, kept as
the reference the SQL one is tested against.

Parameters (Glance's, all optional):

- ``limit``: page size, default ``limit_param_default`` (25), values above
  ``api_limit_max`` (1000) are cut to it; 0 gives an empty page. ``marker``: the id of
  the last image of the previous page.
- sorting, two syntaxes that cannot be mixed: ``sort_key=name&sort_dir=asc`` (repeatable;
  one ``sort_dir`` applies to every key, otherwise one per key) or
  ``sort=name:asc,size:desc``. Keys: name, status, container_format, disk_format, size,
  id, created_at, updated_at. Default ``created_at`` ``desc``; ``created_at`` and ``id``
  are always added as tie-breakers, so the order is total.
- ``visibility``: public, private, shared, community or all. Without it, community
  images show only to their owner.
- ``member_status``: pending, accepted (default), rejected or all: which shared images
  (shared with the caller's project, not owned by it) to include.
- ``os_hidden``: true shows only hidden images; false (default) only the others.
- ``protected``: true or false.
- ``name``, ``id``, ``status``, ``container_format``, ``disk_format``: one value, or
  ``in:a,b,"c,d"`` (double quotes around values holding commas; ``\\"`` inside quotes).
  ``eq:`` may prefix a single value. A prefix that is no operator (``name=ubuntu:22.04``)
  is part of the value (Glance answers 400 there).
- ``created_at``, ``updated_at``: ``[gt|gte|lt|lte|eq|neq:]<ISO 8601>``; repeatable, all
  must hold (a range: ``created_at=gte:A&created_at=lt:B``).
- ``size_min``, ``size_max``, ``virtual_size_min``, ``virtual_size_max``: bytes.
- ``tag``: repeatable; an image must carry every one.
- ``owner``, ``checksum``, ``os_hash_algo``, ``os_hash_value``: equality;
  ``size``, ``virtual_size``, ``min_disk``, ``min_ram``: integer equality.
- anything else: a free property that must equal the value (``hw_disk_bus=scsi``).

``changes-since`` is refused (400), as on Glance v2. When a single-valued parameter
repeats, the last value counts. Bad values are 400 with a message saying what to send.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from shoal.api._errors import BadRequest
from shoal.api.glance.options import ImageApiOptions
from shoal.services._caller import Caller
from shoal.services.image import policy
from shoal.services.image.listing import (
    INT_EQUALS,
    MEMBER_STATUS_FILTERS,
    OPERATORS,
    RANGE_FILTERS,
    SET_FILTERS,
    SORT_DIRS,
    SORT_KEYS,
    STRING_EQUALS,
    TIME_OPERATORS,
    UNLISTED_STATUSES,
    VISIBILITY_FILTERS,
    ImageQuery,
    TimeFilter,
    order_of,
)
from shoal.services.image.records import ImageRecord, as_utc

__all__ = [
    "SORT_KEYS",
    "ImageQuery",
    "TimeFilter",
    "apply_query",
    "is_listable",
    "is_visible",
    "parse_query",
    "split_in_values",
]

# --- parsing --------------------------------------------------------------------------


def parse_query(params: Iterable[tuple[str, str]], options: ImageApiOptions) -> ImageQuery:
    """Parse the query string's ``(name, value)`` pairs (repeats allowed, in order).

    Raises:
        BadRequest: a value Glance would refuse, with what to send instead (400).
    """
    single: dict[str, str] = {}
    repeated: dict[str, list[str]] = {"tag": [], "sort_key": [], "sort_dir": [],
                                      "created_at": [], "updated_at": []}
    for name, value in params:
        if "\x00" in name or "\x00" in value:
            raise BadRequest("Query parameters must not contain NUL characters.")
        if name in repeated:
            repeated[name].append(value)
        else:
            single[name] = value
    if "changes-since" in single:
        raise BadRequest('The "changes-since" filter is no longer available on v2:'
                         ' use updated_at=gte:<time>.')
    fields: dict[str, Any] = {
        "limit": _limit(single.pop("limit", None), options),
        "marker": single.pop("marker", None),
        "sort": _sort(single.pop("sort", None), repeated["sort_key"], repeated["sort_dir"]),
        "visibility": _choice("visibility", single.pop("visibility", None),
                              VISIBILITY_FILTERS),
        "member_status": _choice("member_status", single.pop("member_status", "accepted"),
                                 MEMBER_STATUS_FILTERS),
        "os_hidden": _boolean("os_hidden", single.pop("os_hidden", "false").lower()),
        "tags": tuple(tag.strip() for tag in repeated["tag"]),
        "created_at": tuple(_time_filter("created_at", v) for v in repeated["created_at"]),
        "updated_at": tuple(_time_filter("updated_at", v) for v in repeated["updated_at"]),
    }
    if "protected" in single:
        fields["protected"] = _boolean("protected", single.pop("protected"))
    for name in SET_FILTERS:
        if name in single:
            fields[name] = _set_filter(name, single.pop(name))
    for name in RANGE_FILTERS:
        if name in single:
            fields[name] = _integer(name, single.pop(name), "a range")
    equals: dict[str, str | int] = {}
    for name in STRING_EQUALS:
        if name in single:
            equals[name] = single.pop(name)
    for name in INT_EQUALS:
        if name in single:
            equals[name] = _integer(name, single.pop(name), "an equality")
    single.pop("deleted", None)  # Glance overrides it: deleted images never list
    return ImageQuery(**fields, equals=equals, properties=single)


def _limit(text: str | None, options: ImageApiOptions) -> int:
    if text is None:
        return options.page_size_default
    try:
        limit = int(text)
    except ValueError:
        raise BadRequest(f"limit must be an integer, got {text!r}.") from None
    if limit < 0:
        raise BadRequest(f"limit must be 0 or more, got {limit}.")
    return min(limit, options.api_limit_max)


def _sort(
    combined: str | None, keys: Sequence[str], dirs: Sequence[str]
) -> tuple[tuple[str, str], ...]:
    if combined is not None:
        if keys or dirs:
            raise BadRequest("Use either sort=key:dir,... or sort_key/sort_dir, not both.")
        pairs = []
        for item in combined.strip().split(","):
            key, _, direction = item.partition(":")
            pairs.append((_sort_key(key.strip()), _sort_dir(direction.strip() or "desc")))
        return tuple(pairs)
    checked_keys = [_sort_key(key.strip()) for key in keys] or ["created_at"]
    checked_dirs = [_sort_dir(direction.strip()) for direction in dirs] or ["desc"]
    if len(checked_dirs) == 1:
        checked_dirs *= len(checked_keys)
    if len(checked_dirs) != len(checked_keys):
        raise BadRequest(
            f"{len(dirs)} sort_dir values for {len(keys)} sort_key values: give one"
            " sort_dir for all keys, or one per key."
        )
    return tuple(zip(checked_keys, checked_dirs, strict=True))


def _sort_key(key: str) -> str:
    if key not in SORT_KEYS:
        raise BadRequest(f"Invalid sort key: {key!r}. It must be one of: {', '.join(SORT_KEYS)}.")
    return key


def _sort_dir(direction: str) -> str:
    if direction not in SORT_DIRS:
        raise BadRequest(f"Invalid sort direction: {direction!r}. It must be asc or desc.")
    return direction


def _choice(name: str, value: str | None, allowed: Sequence[str]) -> str | None:
    if value is not None and value not in allowed:
        raise BadRequest(f"Invalid {name} value {value!r}: give one of {', '.join(allowed)}.")
    return value


def _boolean(name: str, value: str) -> bool:
    if value not in ("true", "false"):
        raise BadRequest(f"Invalid value {value!r} for the {name!r} filter: give true or false.")
    return value == "true"


def _integer(name: str, value: str, kind: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise BadRequest(
            f"Invalid value {value!r} for {name}: {kind} filter needs an integer."
        ) from None


def _split_operator(expression: str) -> tuple[str, str]:
    """``"gt:x"`` → ``("gt", "x")``; no operator prefix → ``("eq", expression)``."""
    head, sep, tail = expression.partition(":")
    if sep and head in OPERATORS:
        return head, tail
    return "eq", expression


def _set_filter(name: str, expression: str) -> tuple[str, ...]:
    operator, value = _split_operator(expression)
    if operator == "in":
        return tuple(split_in_values(value))
    if operator != "eq":
        raise BadRequest(
            f"Unable to filter {name} by operator {operator!r}: use a value, eq:value"
            " or in:a,b."
        )
    return (value,)


def _time_filter(name: str, expression: str) -> TimeFilter:
    moment = _parse_time(expression)
    if moment is not None:
        return TimeFilter("eq", moment)
    operator, value = _split_operator(expression)
    if operator not in TIME_OPERATORS:
        raise BadRequest(
            f"Unable to filter {name} by operator {operator!r}: use one of"
            f" {', '.join(TIME_OPERATORS)}."
        )
    moment = _parse_time(value)
    if moment is None:
        raise BadRequest(
            f'Bad "{name}" query filter format {expression!r}. Use ISO 8601 DateTime'
            " notation, e.g. gte:2026-01-31T12:00:00Z."
        )
    return TimeFilter(operator, moment)


def _parse_time(text: str) -> datetime | None:
    try:
        return as_utc(datetime.fromisoformat(text.strip()))
    except (ValueError, OverflowError):  # not ISO 8601, or out of range once in UTC
        return None


def split_in_values(text: str) -> list[str]:
    """Split the list of an ``in:`` filter: commas separate, double quotes protect.

    ``a,"b,c",d`` → ``["a", "b,c", "d"]``; inside quotes ``\\"`` is a quote and
    ``\\\\`` a backslash. An empty item (``a,,b``) is the empty string; a trailing comma
    adds nothing.

    Raises:
        BadRequest: a quote opens after other characters, closes before anything but a
            comma, or never closes (400, as upstream).
    """
    values: list[str] = []
    position, length = 0, len(text)
    while position < length:
        if text[position] == '"':
            value, position = _quoted(text, position)
        else:
            end = text.find(",", position)
            end = length if end < 0 else end
            value = text[position:end]
            if '"' in value:
                raise BadRequest(
                    f"Invalid filter value {text!r}: there is no comma before the opening"
                    " quotation mark."
                )
            position = end
        values.append(value)
        position += 1  # past the comma (or past the end)
    return values


def _quoted(text: str, start: int) -> tuple[str, int]:
    chars: list[str] = []
    position = start + 1
    while position < len(text):
        char = text[position]
        if char == "\\" and position + 1 < len(text) and text[position + 1] in '"\\':
            chars.append(text[position + 1])
            position += 2
            continue
        if char == '"':
            end = position + 1
            if end < len(text) and text[end] != ",":
                raise BadRequest(
                    f"Invalid filter value {text!r}: there is no comma after the closing"
                    " quotation mark."
                )
            return "".join(chars), end
        chars.append(char)
        position += 1
    raise BadRequest(f"Invalid filter value {text!r}: the quote is not closed.")


# --- evaluation -----------------------------------------------------------------------


def is_visible(
    image: ImageRecord, *, project_id: str | None, is_admin: bool, membership: str | None
) -> bool:
    """Whether the caller may see ``image`` at all: :func:`shoal.services.image.policy.can_see`
    for a caller of ``project_id`` (admin or not); ``membership`` is its project's
    membership status of the image (None: not a member).
    """
    caller = Caller("", project_id, frozenset({"admin"}) if is_admin else frozenset())
    return policy.can_see(caller, image, membership)


def is_listable(
    image: ImageRecord,
    query: ImageQuery,
    *,
    project_id: str | None,
    is_admin: bool,
    membership: str | None,
) -> bool:
    """Whether ``image`` belongs in the listing ``query`` asks for (before paging)."""
    if image.status in UNLISTED_STATUSES:
        return False
    owned = project_id is not None and image.owner == project_id
    if not is_admin and not owned and image.visibility not in ("public", "community"):
        wanted = query.member_status
        if image.visibility != "shared" or membership is None:
            return False
        if wanted != "all" and membership != wanted:
            return False
    if query.visibility is None:
        if image.visibility == "community" and not owned:
            return False
    elif query.visibility != "all" and image.visibility != query.visibility:
        return False
    return image.os_hidden == query.os_hidden and _matches(image, query)


def _matches(image: ImageRecord, query: ImageQuery) -> bool:
    if query.protected is not None and image.protected != query.protected:
        return False
    for name in SET_FILTERS:
        allowed = getattr(query, name)
        if allowed is not None and getattr(image, name) not in allowed:
            return False
    for name in ("created_at", "updated_at"):
        if not all(check.holds(getattr(image, name)) for check in getattr(query, name)):
            return False
    for bound, attribute in RANGE_FILTERS.items():
        limit = getattr(query, bound)
        value = getattr(image, attribute)
        if limit is None:
            continue
        if value is None or (value < limit if bound.endswith("_min") else value > limit):
            return False
    if not set(query.tags) <= set(image.tags):
        return False
    if any(getattr(image, name) != value for name, value in query.equals.items()):
        return False
    return all(image.properties.get(key) == value for key, value in query.properties.items())


def _sort_value(image: ImageRecord, *, key: str) -> tuple[int, Any]:
    value = getattr(image, key)
    return (0, 0) if value is None else (1, value)


def _sorted(images: Iterable[ImageRecord], query: ImageQuery) -> list[ImageRecord]:
    """``images`` in ``query``'s order; missing values sort first when ascending."""
    result = list(images)
    for key, direction in reversed(order_of(query)):
        result.sort(key=functools.partial(_sort_value, key=key), reverse=direction == "desc")
    return result


def apply_query(
    images: Iterable[ImageRecord],
    query: ImageQuery,
    *,
    project_id: str | None,
    is_admin: bool,
    memberships: Mapping[str, str] | None = None,
) -> tuple[list[ImageRecord], str | None]:
    """Filter, sort and page ``images`` for a caller: ``(page, next_marker)``.

    Args:
        images: every image that exists (deleted ones are skipped here).
        query: from :func:`parse_query`.
        project_id: the caller's project (None for an unscoped token).
        is_admin: an admin sees every project's images.
        memberships: image id → status of the caller's project's membership.

    Returns:
        At most ``query.limit`` images, and the id to pass as ``marker`` for the next
        page, or None when no image follows (Glance also gives a marker when the page is
        merely full).

    Raises:
        BadRequest: ``query.marker`` names no image the caller can see (400, as
            upstream).
    """
    members = memberships or {}
    candidates = list(images)
    listed = [
        image for image in candidates
        if is_listable(image, query, project_id=project_id, is_admin=is_admin,
                       membership=members.get(image.id))
    ]
    if query.marker is not None:
        marker = next((image for image in candidates if image.id == query.marker), None)
        if marker is None or not is_visible(marker, project_id=project_id,
                                             is_admin=is_admin,
                                             membership=members.get(marker.id)):
            raise BadRequest(f"Marker {query.marker} names no image you can see.")
        ordered = _sorted([image for image in listed if image.id != marker.id] + [marker],
                          query)
        start = next(i for i, image in enumerate(ordered) if image is marker) + 1
        remaining = ordered[start:]
    else:
        remaining = _sorted(listed, query)
    page = remaining[: query.limit]
    more = len(remaining) > len(page)
    return page, (page[-1].id if page and more else None)
