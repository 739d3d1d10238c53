"""Cutting a byte stream into fixed-size chunks, and telling all-zero chunks apart."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

__all__ = ["ZeroTest", "rechunk"]


def rechunk(pieces: Iterable[bytes], chunk_bytes: int) -> Iterator[bytes]:
    """Yield the bytes of ``pieces`` again in chunks of exactly ``chunk_bytes``; the last
    chunk may be shorter. Empty pieces are skipped; no empty chunk is ever yielded.

    At most one chunk plus one piece is buffered. An exception from ``pieces`` (a client
    that went away mid-upload) propagates from the next ``next()``.
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


class ZeroTest:
    """``is_zero(chunk)``: whether a chunk of at most ``chunk_bytes`` is all zero bytes
    (compared against one preallocated block, so no allocation per chunk)."""

    def __init__(self, chunk_bytes: int) -> None:
        self._zeros = bytes(chunk_bytes)

    def is_zero(self, chunk: bytes) -> bool:
        if len(chunk) == len(self._zeros):
            return chunk == self._zeros
        if len(chunk) > len(self._zeros):
            raise ValueError(f"chunk of {len(chunk)} bytes > {len(self._zeros)}")
        return chunk == bytes(len(chunk))
