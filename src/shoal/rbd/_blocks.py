"""Byte helpers every mover of image data shares: the zero test and the re-chunker.

:func:`is_zero` is the one test for "this block reads as zeros" (a hole need not be
written, a diff sends a zero record instead of data). It compares against one
preallocated block of zeros with ``bytes.startswith`` (``memcmp``, no copy of the data,
no allocation per call). Measured (Python 3.11, timeit, a loaded 2-core machine) against
the other forms shoal had, on all-zero buffers of 4 MiB / 4 KiB: this ~190 us / 0.23 us;
``data == bytes(len(data))`` ~350 us / 0.42 us; comparing with a preallocated block via
``==`` ~180 us / 0.47 us; ``data.count(0) == len(data)`` ~4.3 ms / 3.6 us;
``not data.strip(b"\\0")`` ~17 ms / 14 us. Data with a non-zero first byte is answered in
well under a microsecond.

:func:`rechunk` cuts a stream of pieces of any size into fixed-size chunks (an upload
written in object-size writes).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Final

__all__ = ["ZERO_BLOCK_BYTES", "is_zero", "nonzero_length", "rechunk"]

#: The zero block :func:`is_zero` compares with (bytes); longer data is compared block
#: by block. A ``bytes(n)`` this large is calloc'd: its pages stay the kernel's zero page.
ZERO_BLOCK_BYTES: Final = 4 << 20
_ZEROS: Final = bytes(ZERO_BLOCK_BYTES)


def is_zero(data: bytes | bytearray | memoryview) -> bool:
    """Whether every byte of ``data`` is zero (True for empty data).

    ``data`` is any contiguous buffer; a memoryview of another format is read as bytes.
    Cost: one ``memcmp`` over the data, stopping at the first non-zero byte.
    """
    if isinstance(data, bytes | bytearray) and len(data) <= ZERO_BLOCK_BYTES:
        return _ZEROS.startswith(data)
    view = memoryview(data).cast("B")
    for start in range(0, len(view), ZERO_BLOCK_BYTES):
        if not _ZEROS.startswith(view[start : start + ZERO_BLOCK_BYTES]):
            return False
    return True


def nonzero_length(data: bytes | bytearray) -> int:
    """The length of ``data`` without its trailing zero bytes (0 if all are zero): what
    must be written of a block whose tail may stay a hole."""
    return 0 if is_zero(data) else len(data.rstrip(b"\0"))


def rechunk(pieces: Iterable[bytes], chunk_bytes: int) -> Iterator[bytes]:
    """Yield the bytes of ``pieces`` again in chunks of exactly ``chunk_bytes``; the last
    chunk may be shorter. Empty pieces are skipped; no empty chunk is ever yielded.

    At most one chunk plus one piece is buffered. A piece that is already one whole chunk
    (and nothing is buffered) passes without a copy when it is ``bytes``. An exception
    from ``pieces`` (a client that went away mid-upload) propagates from the next ``next()``.

    Raises:
        ValueError: ``chunk_bytes`` is not positive.
    """
    if chunk_bytes <= 0:
        raise ValueError(f"chunk_bytes must be > 0, not {chunk_bytes}")
    buffer = bytearray()
    for piece in pieces:
        if not piece:
            continue
        if not buffer and len(piece) == chunk_bytes:
            yield bytes(piece)  # the common case: no copy for bytes
            continue
        buffer += piece
        while len(buffer) >= chunk_bytes:
            yield bytes(buffer[:chunk_bytes])
            del buffer[:chunk_bytes]
    if buffer:
        yield bytes(buffer)
