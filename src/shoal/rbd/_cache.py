"""A per-image write-back cache, as librbd's ``rbd cache``.

Dirty data is kept per object as sorted, non-overlapping extents; writes that
overlap or touch an extent are merged into it. Reads overlay dirty data on what
the store holds. Nothing here touches the store: the image writes the dirty
extents out (one transaction per object) when it flushes.

Durability: data in the cache is lost if the process dies; it is durable once
``Image.flush()`` returns (``rbd cache`` semantics). With ``rbd cache
writethrough until flush`` the image stays write-through until the first flush.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

__all__ = ["WriteCache"]


@dataclass
class _ObjectDirty:
    starts: list[int] = field(default_factory=list)
    datas: list[bytearray] = field(default_factory=list)

    def add(self, offset: int, data: bytes) -> int:
        """Merge ``data`` at ``offset``; returns the change in dirty bytes."""
        end = offset + len(data)
        lo = bisect.bisect_left(self.starts, offset)
        if lo > 0 and self.starts[lo - 1] + len(self.datas[lo - 1]) >= offset:
            lo -= 1
        hi = lo
        while hi < len(self.starts) and self.starts[hi] <= end:
            hi += 1
        if lo == hi:
            self.starts.insert(lo, offset)
            self.datas.insert(lo, bytearray(data))
            return len(data)
        before = sum(len(d) for d in self.datas[lo:hi])
        start = min(self.starts[lo], offset)
        stop = max(end, self.starts[hi - 1] + len(self.datas[hi - 1]))
        merged = bytearray(stop - start)
        for s, d in zip(self.starts[lo:hi], self.datas[lo:hi], strict=True):
            merged[s - start : s - start + len(d)] = d
        merged[offset - start : end - start] = data
        self.starts[lo:hi] = [start]
        self.datas[lo:hi] = [merged]
        return len(merged) - before

    def overlay(self, offset: int, base: bytearray) -> None:
        end = offset + len(base)
        i = max(0, bisect.bisect_right(self.starts, offset) - 1)
        while i < len(self.starts) and self.starts[i] < end:
            s, d = self.starts[i], self.datas[i]
            lo, hi = max(s, offset), min(s + len(d), end)
            if lo < hi:
                base[lo - offset : hi - offset] = d[lo - s : hi - s]
            i += 1

    def extents(self) -> list[tuple[int, bytes]]:
        return [(s, bytes(d)) for s, d in zip(self.starts, self.datas, strict=True)]


class WriteCache:
    """Dirty extents of one image handle, bounded by ``max_dirty`` bytes."""

    def __init__(self, max_dirty: int) -> None:
        assert max_dirty > 0
        self.max_dirty = max_dirty
        self._objects: dict[int, _ObjectDirty] = {}
        self.dirty_bytes = 0

    def add(self, objectno: int, offset: int, data: bytes) -> None:
        entry = self._objects.setdefault(objectno, _ObjectDirty())
        self.dirty_bytes += entry.add(offset, data)

    def has(self, objectno: int) -> bool:
        return objectno in self._objects

    def overlay(self, objectno: int, offset: int, base: bytes) -> bytes:
        """``base`` (object bytes at ``offset``) with dirty data laid over it."""
        entry = self._objects.get(objectno)
        if entry is None:
            return base
        buf = bytearray(base)
        entry.overlay(offset, buf)
        return bytes(buf)

    def over_limit(self) -> bool:
        return self.dirty_bytes > self.max_dirty

    def take_all(self) -> list[tuple[int, list[tuple[int, bytes]]]]:
        """Remove and return every object's dirty extents, in object order."""
        out = [(n, self._objects[n].extents()) for n in sorted(self._objects)]
        self._objects.clear()
        self.dirty_bytes = 0
        return out

    def __bool__(self) -> bool:
        return bool(self._objects)
