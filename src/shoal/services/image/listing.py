"""A ``GET /v2/images`` listing in SQL: which images a caller lists, in which order, paged.

:class:`ImageQuery` is the parsed query (``shoal.api.glance.query`` parses the query
string into it); :func:`listing_select` turns it, for one caller, into one SELECT over
``image_images`` that filters, orders and pages in the database, on SQLite and
PostgreSQL alike:

- **visibility**: status not deleted, pending_delete or killed; admins list every
  project's images, others their own, public and community ones, and shared ones their
  project is a member of with the wanted ``member_status``. Without a ``visibility``
  filter community images list only for their owner.
- **order**: the client's keys, then ``created_at`` and ``id`` (in the one direction the
  client gave, else ``desc``), so the order is total; a missing value sorts first when
  ascending, last when descending. Strings compare by code point (``COLLATE "C"`` on
  PostgreSQL, SQLite's binary collation), as Python compares them.
- **marker**: the rows strictly after the marker image in that order (keyset paging).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from sqlalchemy import ColumnElement, Select, and_, exists, false, or_, select, true
from sqlalchemy.sql.elements import UnaryExpression

from shoal.services._caller import Caller
from shoal.services.image.models import Image, ImageMember, ImageProperty, ImageTag
from shoal.services.image.records import ImageRecord, as_utc

__all__ = [
    "INT_EQUALS",
    "MEMBER_STATUS_FILTERS",
    "OPERATORS",
    "RANGE_FILTERS",
    "SET_FILTERS",
    "SORT_DIRS",
    "SORT_KEYS",
    "STRING_EQUALS",
    "TIME_OPERATORS",
    "UNLISTED_STATUSES",
    "VISIBILITY_FILTERS",
    "ImageQuery",
    "TimeFilter",
    "listing_select",
    "order_of",
]

SORT_KEYS: Final = (
    "name", "status", "container_format", "disk_format", "size", "id", "created_at",
    "updated_at",
)
SORT_DIRS: Final = ("asc", "desc")
VISIBILITY_FILTERS: Final = ("community", "public", "private", "shared", "all")
MEMBER_STATUS_FILTERS: Final = ("pending", "accepted", "rejected", "all")
TIME_OPERATORS: Final = ("gt", "gte", "lt", "lte", "eq", "neq")
#: Every operator word Glance knows; another prefix is part of the value.
OPERATORS: Final = frozenset({*TIME_OPERATORS, "in"})
#: Attributes filtered by ``value`` or ``in:list``.
SET_FILTERS: Final = ("name", "id", "status", "container_format", "disk_format")
RANGE_FILTERS: Final = {
    "size_min": "size", "size_max": "size",
    "virtual_size_min": "virtual_size", "virtual_size_max": "virtual_size",
}
STRING_EQUALS: Final = ("owner", "checksum", "os_hash_algo", "os_hash_value")
INT_EQUALS: Final = ("size", "virtual_size", "min_disk", "min_ram")
#: Statuses never listed (Glance filters deleted rows and killed images out).
UNLISTED_STATUSES: Final = frozenset({"deleted", "pending_delete", "killed"})


@dataclass(frozen=True)
class TimeFilter:
    """``<attribute> <op> at``: ``op`` one of gt, gte, lt, lte, eq, neq; ``at`` UTC."""

    op: str
    at: datetime

    def holds(self, value: datetime) -> bool:
        """Whether ``value`` passes the filter."""
        compare: Mapping[str, Callable[[datetime, datetime], bool]] = {
            "gt": lambda a, b: a > b, "gte": lambda a, b: a >= b,
            "lt": lambda a, b: a < b, "lte": lambda a, b: a <= b,
            "eq": lambda a, b: a == b, "neq": lambda a, b: a != b,
        }
        return compare[self.op](as_utc(value), self.at)


@dataclass(frozen=True)
class ImageQuery:
    """A parsed ``GET /v2/images`` query (see the module docstring for each field).

    ``limit`` is already cut to ``api_limit_max``; ``sort`` holds the client's keys and
    directions (tie-breakers are added by :func:`order_of`). For the set filters a
    None field means "no filter"; ``equals`` holds core-attribute equality filters
    (``owner``, ``min_disk``...), ``properties`` the free-property ones.
    """

    limit: int
    marker: str | None = None
    sort: tuple[tuple[str, str], ...] = (("created_at", "desc"),)
    visibility: str | None = None
    member_status: str = "accepted"
    os_hidden: bool = False
    protected: bool | None = None
    name: tuple[str, ...] | None = None
    id: tuple[str, ...] | None = None
    status: tuple[str, ...] | None = None
    container_format: tuple[str, ...] | None = None
    disk_format: tuple[str, ...] | None = None
    created_at: tuple[TimeFilter, ...] = ()
    updated_at: tuple[TimeFilter, ...] = ()
    size_min: int | None = None
    size_max: int | None = None
    virtual_size_min: int | None = None
    virtual_size_max: int | None = None
    tags: tuple[str, ...] = ()
    equals: Mapping[str, str | int] = field(default_factory=dict)
    properties: Mapping[str, str] = field(default_factory=dict)


def order_of(query: ImageQuery) -> list[tuple[str, str]]:
    """The total order of a listing: ``query.sort`` then the ``created_at`` and ``id``
    tie-breakers (in the client's one direction, ``desc`` when it gave several)."""
    order = list(query.sort)
    tie_direction = order[0][1] if len({d for _, d in order}) == 1 else "desc"
    for key in ("created_at", "id"):
        if key not in {k for k, _ in order}:
            order.append((key, tie_direction))
    return order


_COMPARE: Final[Mapping[str, Callable[[Any, Any], ColumnElement[bool]]]] = {
    "gt": lambda a, b: a > b, "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b, "lte": lambda a, b: a <= b,
    "eq": lambda a, b: a == b, "neq": lambda a, b: a != b,
}


def _column(key: str, dialect: str) -> Any:
    """The column of sort key ``key``, compared by code point on every dialect."""
    column = getattr(Image, key)
    if dialect == "postgresql" and key not in ("size", "created_at", "updated_at"):
        return column.collate("C")
    return column


def _visible(caller: Caller, query: ImageQuery) -> ColumnElement[bool]:
    owned = Image.owner == caller.project_id if caller.project_id is not None else false()
    if caller.is_admin:
        shown: ColumnElement[bool] = true()
    else:
        member = and_(ImageMember.image_id == Image.id, ImageMember.member == caller.project_id)
        if query.member_status != "all":
            member = and_(member, ImageMember.status == query.member_status)
        shared = and_(Image.visibility == "shared", exists().where(member))
        shown = or_(owned, Image.visibility.in_(("public", "community")),
                    shared if caller.project_id is not None else false())
    if query.visibility is None:
        wanted: ColumnElement[bool] = or_(Image.visibility != "community", owned)
    elif query.visibility == "all":
        wanted = true()
    else:
        wanted = Image.visibility == query.visibility
    return and_(Image.status.not_in(sorted(UNLISTED_STATUSES)), shown, wanted,
                Image.os_hidden == query.os_hidden)


def _filters(query: ImageQuery) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if query.protected is not None:
        where.append(Image.protected == query.protected)
    for name in SET_FILTERS:
        allowed = getattr(query, name)
        if allowed is not None:
            where.append(getattr(Image, name).in_(list(allowed)))
    for name in ("created_at", "updated_at"):
        for check in getattr(query, name):
            where.append(_COMPARE[check.op](getattr(Image, name), check.at))
    for bound, attribute in RANGE_FILTERS.items():
        limit = getattr(query, bound)
        if limit is not None:
            column = getattr(Image, attribute)
            where.append(column >= limit if bound.endswith("_min") else column <= limit)
    for tag in dict.fromkeys(query.tags):
        where.append(exists().where(ImageTag.image_id == Image.id, ImageTag.value == tag))
    for name, value in query.equals.items():
        where.append(getattr(Image, name) == value)
    for key, text in query.properties.items():
        where.append(exists().where(ImageProperty.image_id == Image.id,
                                    ImageProperty.name == key, ImageProperty.value == text))
    return where


def _after(order: list[tuple[str, str]], marker: ImageRecord, dialect: str
           ) -> ColumnElement[bool]:
    """Rows strictly after ``marker`` in ``order`` (missing values first ascending)."""
    alternatives: list[ColumnElement[bool]] = []
    equal: list[ColumnElement[bool]] = []
    for key, direction in order:
        column = _column(key, dialect)
        value = getattr(marker, key)
        if value is None:
            later = column.is_not(None) if direction == "asc" else false()
            same = column.is_(None)
        else:
            later = column > value if direction == "asc" else or_(column < value,
                                                                   column.is_(None))
            same = column == value
        alternatives.append(and_(*equal, later))
        equal.append(same)
    return or_(*alternatives)


def _sort_clause(key: str, direction: str, dialect: str) -> UnaryExpression[Any]:
    column = _column(key, dialect)
    if direction == "asc":
        return column.asc().nulls_first()  # type: ignore[no-any-return]
    return column.desc().nulls_last()  # type: ignore[no-any-return]


def listing_select(caller: Caller, query: ImageQuery, *, marker: ImageRecord | None,
                   dialect: str) -> Select[Image]:
    """The SELECT of the images after ``marker`` (None: from the start) that ``caller``
    lists for ``query``, in its order, at most ``query.limit + 1`` rows (one more than a
    page, telling whether another page follows). ``dialect``: ``"sqlite"`` or
    ``"postgresql"``.
    """
    order = order_of(query)
    statement = select(Image).where(_visible(caller, query), *_filters(query))
    if marker is not None:
        statement = statement.where(Image.id != marker.id, _after(order, marker, dialect))
    return statement.order_by(
        *(_sort_clause(key, direction, dialect) for key, direction in order)
    ).limit(query.limit + 1)
