"""Plain value types of the object layer (frozen dataclasses, no behaviour)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = [
    "SNAP_HEAD",
    "CloneInfo",
    "ObjectPage",
    "ObjectStat",
    "OmapPage",
    "PoolInfo",
    "PoolStats",
    "SnapContext",
    "SnapSet",
]

#: librados ``LIBRADOS_SNAP_HEAD`` (CEPH_NOSNAP as a signed value): the live head.
SNAP_HEAD = -2


@dataclass(frozen=True)
class PoolInfo:
    """A pool as ``ceph osd pool ls detail`` knows it.

    ``applications`` maps an application name (``rbd``) to its key/value metadata.
    ``id`` values start at 1 and are never reused within one store.
    """

    id: int
    name: str
    pg_num: int
    created: float
    applications: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class PoolStats:
    """``stored_bytes``: sum of logical object sizes; ``objects``: object count."""

    stored_bytes: int
    objects: int


@dataclass(frozen=True)
class ObjectStat:
    """``size`` in bytes, ``mtime`` in seconds since the epoch, ``version`` > 0.

    ``version`` grows with every mutation of the object and is never reused for
    the same name, even after the object was removed and created again.
    """

    size: int
    mtime: float
    version: int


@dataclass(frozen=True)
class ObjectPage:
    """One page of an object listing, sorted by name.

    ``cursor`` is None on the last page; otherwise pass it back to get the next.
    """

    names: list[str]
    cursor: str | None


@dataclass(frozen=True)
class OmapPage:
    """Omap entries in key order; ``more`` is True when the listing was cut short."""

    items: list[tuple[str, bytes]]
    more: bool


@dataclass(frozen=True)
class SnapContext:
    """The snap context writes carry: ``seq`` and existing ``snaps``, newest first."""

    seq: int
    snaps: tuple[int, ...]


@dataclass(frozen=True)
class CloneInfo:
    """One clone of an object: ``id`` (the snap seq it was made at), the snap
    ids it covers (ascending) and its size in bytes.

    ``overlap``: byte ranges ``(offset, length)``, ascending, where the clone is known to
    hold the same bytes as the next newer version of the object (the next clone, or the
    head), as RADOS's ``clone_overlap``; a store may know less than is true (a range left
    out may still be equal) but never more. None: the store does not say (nothing is
    known to be equal). Not part of equality: it describes how the store keeps the bytes.
    """

    id: int
    snaps: tuple[int, ...]
    size: int
    overlap: tuple[tuple[int, int], ...] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class SnapSet:
    """An object's snapshot state: ``seq`` of the last write's snap context,
    its clones (ascending id), and whether the head exists (and its size)."""

    seq: int
    clones: tuple[CloneInfo, ...]
    head_exists: bool
    head_size: int
