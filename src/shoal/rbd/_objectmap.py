"""The RBD object map: a 2-bit state per data object of an image.

States are Ceph's (``cls/rbd/cls_rbd_types.h``, ``OBJECT_*``). Entries are
packed four to a byte, most significant bits first (entry ``4k`` is bits 7..6
of byte ``k``), the way Ceph's ``BitVector<2>`` packs them, so an all-zero
byte means four NONEXISTENT objects. That is what keeps the operations on
sparse maps cheap: :meth:`ObjectMap.iter_present` lets the regex engine skip
runs of zero bytes in C, and :meth:`ObjectMap.mark_clean` is one
``bytearray.translate``.

Serialised form (:meth:`ObjectMap.encode`), shoal's own, little-endian::

    b"SHOM"  u8 version (=1)  u64 count  u32 crc32(count field + data)  data

where ``data`` is ``ceil(count / 4)`` packed bytes whose unused trailing bits
are zero.
"""

from __future__ import annotations

import enum
import re
import struct
import zlib
from collections.abc import Iterator

from shoal import errors

__all__ = ["MAX_OBJECT_COUNT", "ObjectMap", "ObjectState"]

#: ``cls::rbd::MAX_OBJECT_MAP_OBJECT_COUNT``: librbd refuses an object map for
#: images spanning more objects ("image size not compatible with object map").
MAX_OBJECT_COUNT = 256_000_000


class ObjectState(enum.IntEnum):
    """Object map entry states (Ceph ``OBJECT_NONEXISTENT`` .. ``OBJECT_EXISTS_CLEAN``)."""

    #: The object does not exist (never written, or removed).
    NONEXISTENT = 0
    #: The object exists and may differ from the latest snapshot.
    EXISTS = 1
    #: The object is being removed (set before the delete, cleared after).
    PENDING = 2
    #: The object exists and is unchanged since the latest snapshot (fast-diff).
    EXISTS_CLEAN = 3


_MAGIC = b"SHOM"
_VERSION = 1
_HEADER = struct.Struct("<4sBQI")
#: Up to this many non-zero bytes are decoded per step of iter_present.
_RUN_BYTES_MAX = 1024
#: Zero bytes are skipped a block at a time (a bytes compare) before the regex.
_ZERO_BLOCK_BYTES = 4096
_ZERO_BLOCK = bytes(_ZERO_BLOCK_BYTES)
_NONZERO_RUN = re.compile(rb"[^\x00]{1,%d}" % _RUN_BYTES_MAX)
_STATES = tuple(ObjectState)


def _slots_of(byte: int) -> tuple[tuple[int, ObjectState], ...]:
    """The (slot 0..3, state) pairs of the non-NONEXISTENT entries in ``byte``."""
    return tuple(
        (slot, _STATES[(byte >> (6 - 2 * slot)) & 3])
        for slot in range(4)
        if (byte >> (6 - 2 * slot)) & 3
    )


def _clean_byte(byte: int) -> int:
    """``byte`` with every EXISTS (01) entry turned into EXISTS_CLEAN (11)."""
    for shift in (0, 2, 4, 6):
        if (byte >> shift) & 3 == ObjectState.EXISTS:
            byte |= ObjectState.EXISTS_CLEAN << shift
    return byte


_PRESENT_SLOTS = tuple(_slots_of(b) for b in range(256))
_CLEAN_TABLE = bytes(_clean_byte(b) for b in range(256))


def _nbytes(count: int) -> int:
    return (count + 3) // 4


def _check_count(count: int) -> None:
    if not 0 <= count <= MAX_OBJECT_COUNT:
        raise errors.InvalidArgument(
            f"object map size must be in the range [0, {MAX_OBJECT_COUNT}] objects, got {count}"
        )


class ObjectMap:
    """A resizable vector of :class:`ObjectState`, one entry per data object.

    Indexing is zero-based without Python's negative indices: any index
    outside ``0 .. count - 1`` raises IndexError. New maps and grown tails are
    all NONEXISTENT. Maps compare equal when their counts and entries match.
    """

    __slots__ = ("_count", "_data")

    def __init__(self, count: int = 0) -> None:
        """A map of ``count`` NONEXISTENT entries.

        Raises:
            errors.InvalidArgument: count negative or above :data:`MAX_OBJECT_COUNT`.
        """
        _check_count(count)
        self._count = count
        self._data = bytearray(_nbytes(count))

    @property
    def count(self) -> int:
        """Number of objects tracked."""
        return self._count

    def __getitem__(self, objectno: int) -> ObjectState:
        self._check_index(objectno)
        byte = self._data[objectno >> 2]
        return _STATES[(byte >> (6 - 2 * (objectno & 3))) & 3]

    def __setitem__(self, objectno: int, state: ObjectState) -> None:
        """Set one entry. ``state`` may be any int 0..3 (ValueError otherwise)."""
        self._check_index(objectno)
        if not 0 <= state <= 3:
            raise ValueError(f"invalid object state {state!r}")
        shift = 6 - 2 * (objectno & 3)
        index = objectno >> 2
        self._data[index] = (self._data[index] & ~(3 << shift) & 0xFF) | (int(state) << shift)

    def _check_index(self, objectno: int) -> None:
        if not 0 <= objectno < self._count:
            raise IndexError(f"object {objectno} out of range for a map of {self._count}")

    def resize(self, count: int) -> None:
        """Grow (new entries NONEXISTENT) or shrink (trailing entries dropped).

        Raises:
            errors.InvalidArgument: count negative or above :data:`MAX_OBJECT_COUNT`.
        """
        _check_count(count)
        nbytes = _nbytes(count)
        if nbytes < len(self._data):
            del self._data[nbytes:]
        else:
            self._data.extend(bytes(nbytes - len(self._data)))
        self._count = count
        self._clear_padding()

    def _clear_padding(self) -> None:
        """Zero the unused low bits of the last byte (kept zero as an invariant)."""
        used = self._count & 3
        if used:
            self._data[-1] &= (0xFF << (8 - 2 * used)) & 0xFF

    def iter_present(
        self, start: int = 0, end: int | None = None
    ) -> Iterator[tuple[int, ObjectState]]:
        """Yield ``(objectno, state)`` for entries in ``[start, end)`` that are not NONEXISTENT.

        Objects come in increasing order. ``end`` defaults to, and is clipped
        to, :attr:`count`; ``start >= end`` yields nothing. The cost is
        proportional to the non-zero bytes in the range plus a C-speed scan
        over the zero bytes, not to the number of objects in Python.

        Entries may be changed while iterating, and the map resized: a change
        to an entry not reached yet is seen unless it falls in the chunk being
        yielded (at most ``4 * _RUN_BYTES_MAX`` objects from the current one).

        Raises:
            IndexError: negative ``start`` or ``end``.
        """
        if start < 0 or (end is not None and end < 0):
            raise IndexError(f"iter_present range must not be negative, got {start}..{end}")
        pos = start >> 2
        while True:
            stop = min(self._count if end is None else end, self._count)
            run = self._next_run(pos, _nbytes(stop))
            if run is None:
                return
            run_start, pos = run
            for index, byte in enumerate(self._data[run_start:pos], run_start):
                base = index << 2
                for slot, state in _PRESENT_SLOTS[byte]:
                    if start <= base + slot < stop:
                        yield base + slot, state

    def _next_run(self, pos: int, limit: int) -> tuple[int, int] | None:
        """Byte span of the next chunk of non-zero bytes in ``[pos, limit)``.

        Whole zero blocks are skipped with one C-level compare each, the
        first non-zero block is searched with the regex engine.
        """
        data = self._data
        while pos < limit:
            block_end = min(pos + _ZERO_BLOCK_BYTES, limit)
            if data[pos:block_end] != _ZERO_BLOCK[: block_end - pos]:
                match = _NONZERO_RUN.search(data, pos, block_end)
                if match is not None:
                    return match.span()
            pos = block_end
        return None

    def mark_clean(self) -> None:
        """Turn every EXISTS entry into EXISTS_CLEAN (done when a snapshot is taken)."""
        self._data = self._data.translate(_CLEAN_TABLE)

    def copy(self) -> ObjectMap:
        """An independent copy."""
        other = ObjectMap.__new__(ObjectMap)
        other._count = self._count
        other._data = bytearray(self._data)
        return other

    def encode(self) -> bytes:
        """Serialise to shoal's compact form (see the module docstring)."""
        count_field = struct.pack("<Q", self._count)
        crc = zlib.crc32(self._data, zlib.crc32(count_field))
        return _HEADER.pack(_MAGIC, _VERSION, self._count, crc) + bytes(self._data)

    def patch(self, objectno: int) -> list[tuple[int, bytes]]:
        """The (offset, bytes) writes that bring a stored :meth:`encode` of this
        map up to date after ``objectno`` changed: the header (checksum) and the
        one data byte holding the entry. Cheaper than rewriting the whole map."""
        if not 0 <= objectno < self._count:
            raise IndexError(f"object {objectno} out of range 0..{self._count}")
        count_field = struct.pack("<Q", self._count)
        crc = zlib.crc32(self._data, zlib.crc32(count_field))
        header = _HEADER.pack(_MAGIC, _VERSION, self._count, crc)
        at = objectno // 4
        return [(0, header), (_HEADER.size + at, bytes(self._data[at : at + 1]))]

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> ObjectMap:
        """Parse :meth:`encode` output.

        Raises:
            errors.InvalidArgument: short or oversized buffer, wrong magic or
                version, count above :data:`MAX_OBJECT_COUNT`, length not
                matching the count, checksum mismatch, or non-zero padding bits.
        """
        raw = bytes(data)
        if len(raw) < _HEADER.size:
            raise errors.InvalidArgument(
                f"object map: {len(raw)} bytes is shorter than the {_HEADER.size}-byte header"
            )
        magic, version, count, crc = _HEADER.unpack_from(raw)
        if magic != _MAGIC:
            raise errors.InvalidArgument(f"object map: bad magic {magic!r}, expected {_MAGIC!r}")
        if version != _VERSION:
            raise errors.InvalidArgument(f"object map: unsupported version {version}")
        if count > MAX_OBJECT_COUNT:
            raise errors.InvalidArgument(f"object map: count {count} exceeds {MAX_OBJECT_COUNT}")
        body = raw[_HEADER.size :]
        if len(body) != _nbytes(count):
            raise errors.InvalidArgument(
                f"object map: {len(body)} data bytes for {count} objects, expected {_nbytes(count)}"
            )
        if zlib.crc32(body, zlib.crc32(raw[5:13])) != crc:
            raise errors.InvalidArgument("object map: checksum mismatch")
        omap = cls(0)
        omap._count = count
        omap._data = bytearray(body)
        if omap._has_padding_bits():
            raise errors.InvalidArgument("object map: non-zero bits past the last object")
        return omap

    def _has_padding_bits(self) -> bool:
        used = self._count & 3
        return bool(used) and bool(self._data[-1] & (0xFF >> (2 * used)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ObjectMap):
            return NotImplemented
        return self._count == other._count and self._data == other._data

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        present = sum(1 for _ in self.iter_present())
        return f"ObjectMap(count={self._count}, present={present})"
