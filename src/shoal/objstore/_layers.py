"""Layered heads of the local store: copy-on-write at :data:`CHUNK` granularity.

When a write must preserve an object's head as a clone (a snapshot the object has not
seen), the clone keeps the head's data file and the head does not get a full copy of it:
its new file holds only the chunks written since (a sparse file), and the head row names
the clone's file as the one *under* it, with a mask of the chunks it owns. A chunk the
head owns reads from its own file; any other reads from the file under it (zeros past
that file's end). A write to a chunk the head does not own first copies the chunk up
from under, unless the write covers it whole. BlueStore shares blobs between a clone
and its head in the same spirit; before this, every first write after a snapshot copied
the whole object (4 MiB for a 4 KiB write).

Only heads are layered, only over a file of one of their own clones (clone files never
change), and only writes keep a head layered: a truncate, a zero, or a newer clone first
*materialise* it (copy the chunks it does not own into a complete file).

The mask is an ``int`` (bit ``i``: chunk ``i`` owned), kept in SQLite as little-endian
bytes. Offsets and lengths are bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Final

__all__ = ["CHUNK", "copy_ups", "decode_mask", "encode_mask", "owns_all", "runs",
           "touched_mask"]

#: Bytes per copy-on-write chunk (BlueStore's default HDD min_alloc_size is 64 KiB).
CHUNK: Final = 64 * 1024


def decode_mask(blob: bytes | None) -> int:
    """The mask kept in the ``own`` column (NULL: none owned)."""
    return int.from_bytes(blob, "little") if blob else 0


def encode_mask(mask: int) -> bytes:
    """The ``own`` column's bytes of ``mask`` (at least one byte)."""
    return mask.to_bytes(max(1, (mask.bit_length() + 7) // 8), "little")


def _chunks(offset: int, length: int) -> range:
    """Indexes of the chunks holding bytes of ``[offset, offset+length)``."""
    if length <= 0:
        return range(0)
    return range(offset // CHUNK, (offset + length - 1) // CHUNK + 1)


def touched_mask(writes: Iterable[tuple[int, int]]) -> int:
    """The mask of every chunk that ``(offset, length)`` writes touch."""
    mask = 0
    for offset, length in writes:
        r = _chunks(offset, length)
        if r:
            mask |= ((1 << len(r)) - 1) << r.start
    return mask


def copy_ups(writes: list[tuple[int, int]], own: int, under_size: int
             ) -> list[tuple[int, int]]:
    """The ``(offset, length)`` ranges to copy from the file under a head before applying
    ``writes`` to its own file: every chunk the writes touch that the head does not own
    and that no single write covers whole, cut to ``under_size`` (past it the file under
    reads as zeros, as a hole of the own file does). Adjacent ranges are merged."""
    covered = 0
    for offset, length in writes:
        first = -(-offset // CHUNK)
        last = (offset + length) // CHUNK  # exclusive
        if last > first:
            covered |= ((1 << (last - first)) - 1) << first
    need = touched_mask(writes) & ~own & ~covered
    out: list[tuple[int, int]] = []
    for lo, hi, owned in runs(need, 0, min(under_size, need.bit_length() * CHUNK)):
        if owned:
            if out and out[-1][0] + out[-1][1] == lo:
                out[-1] = (out[-1][0], hi - out[-1][0])
            else:
                out.append((lo, hi - lo))
    return out


def owns_all(mask: int, size: int) -> bool:
    """Whether ``mask`` owns every chunk of an object of ``size`` bytes."""
    count = -(-size // CHUNK)
    full = (1 << count) - 1
    return mask & full == full


def runs(mask: int, lo: int, hi: int) -> Iterator[tuple[int, int, bool]]:
    """``[lo, hi)`` cut into maximal ``(start, end, owned)`` runs of chunks alike."""
    pos = lo
    while pos < hi:
        index = pos // CHUNK
        owned = bool(mask >> index & 1)
        index += 1
        while index * CHUNK < hi and bool(mask >> index & 1) == owned:
            index += 1
        end = min(hi, index * CHUNK)
        yield pos, end, owned
        pos = end
