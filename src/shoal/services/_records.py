"""Building blocks the services' frozen records share (image, volume).

:class:`FrozenMap` is the read-only mapping a frozen record holds for its free-form
properties; :func:`as_utc` normalizes the timestamps records carry.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

__all__ = ["FrozenMap", "as_utc"]


def as_utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime (a naive one is taken to be UTC already)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


class FrozenMap(Mapping[str, Any]):
    """A read-only mapping that copies, pickles and compares like a dict.

    The given mapping is copied (shallowly) at construction; ``None`` means empty.
    """

    def __init__(self, data: Mapping[str, Any] | None = None) -> None:
        self._data = dict(data or {})

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return repr(self._data)
