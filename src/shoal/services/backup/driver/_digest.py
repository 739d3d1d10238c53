"""The SHA-256 of a backup's bytes, kept per block so that an incremental backup can
update it from its diff alone, and a check of a stored backup against it.

A volume of ``size`` bytes is cut into blocks of :data:`BLOCK_BYTES` (the last one may be
shorter). Each block has the SHA-256 of its bytes; the backup's digest is the SHA-256 of

    ``b"shoal-sha256-blocks-v1\\0"`` + size (8 bytes, big endian) + block size (8 bytes)
    + every block's digest in order

(a hash list: any changed byte changes its block's digest and so the top one). Not the
``sha256sum`` of the raw volume: that would need every byte of every incremental read again.

:class:`BlockHasher` takes what a backup streams (``diff`` records or copied chunks), in
offset order, and hashes each block as soon as it has passed. A full backup streams every
byte that holds data, so a block's missing parts are zeros. An incremental backup streams
only what changed since its parent: blocks it does not touch keep the parent's digests, and
the untouched parts of a touched block are read from the volume's new snapshot (each of
those bytes once; a changed byte is never read twice). Memory: one block.

The digests live in the backup pool, in the RADOS object ``backup.<backup id>.sha256``
(:func:`write_digests`): a header then the block digests (32 bytes per MiB of volume).
"""

from __future__ import annotations

import functools
import hashlib
import struct
from collections.abc import Callable
from dataclasses import dataclass

from shoal import errors
from shoal.objstore import IoCtx, WriteOp
from shoal.rbd._diffstream import Record, Write, Zero
from shoal.services.backup.driver._errors import BackupExists
from shoal.services.backup.driver._names import digest_object_name

__all__ = [
    "BLOCK_BYTES",
    "BlockDigests",
    "BlockHasher",
    "read_digests",
    "remove_digests",
    "write_digests",
]

#: Bytes per hashed block (a power of two; 1 MiB: a 1 TiB volume has 32 MiB of digests).
BLOCK_BYTES = 1 << 20
_DIGEST = 32
_TAG = b"shoal-sha256-blocks-v1\0"
_HEADER = struct.Struct(">8sQQ")  # magic, size, block size
_MAGIC = b"SHLDGST1"
#: The largest volume whose digests are kept (bytes): 1 PiB (32 GiB of digests is absurd).
_SIZE_MAX = 1 << 50


@functools.lru_cache(maxsize=16)
def _zero_digest(length: int) -> bytes:
    """SHA-256 of ``length`` zero bytes (memoised: a volume has at most two lengths)."""
    return hashlib.sha256(bytes(length)).digest()


@dataclass(frozen=True)
class BlockDigests:
    """The block digests of ``size`` bytes (see the module doc).

    Attributes:
        size: bytes hashed.
        block_bytes: bytes per block.
        blocks: the blocks' SHA-256 digests, concatenated (32 bytes each, in order).
    """

    size: int
    block_bytes: int
    blocks: bytes

    def __post_init__(self) -> None:
        if self.block_bytes <= 0 or self.size < 0 or self.size > _SIZE_MAX:
            raise errors.InvalidArgument(f"bad digest shape: {self.size} bytes in blocks of "
                                         f"{self.block_bytes}")
        if len(self.blocks) != _DIGEST * self.count:
            raise errors.InvalidArgument(
                f"{len(self.blocks)} bytes of digests for {self.count} blocks")

    @property
    def count(self) -> int:
        """How many blocks ``size`` bytes make."""
        return -(-self.size // self.block_bytes)

    def block_length(self, index: int) -> int:
        """Bytes in block ``index`` (the last one may be short)."""
        return min(self.block_bytes, self.size - index * self.block_bytes)

    def block(self, index: int) -> bytes:
        """Block ``index``'s digest (32 bytes)."""
        return self.blocks[index * _DIGEST:(index + 1) * _DIGEST]

    def sha256(self) -> str:
        """The backup's digest (hex): SHA-256 over the size, block size and block digests."""
        h = hashlib.sha256(_TAG)
        h.update(struct.pack(">QQ", self.size, self.block_bytes))
        h.update(self.blocks)
        return h.hexdigest()

    def differing(self, other: BlockDigests) -> list[tuple[int, int]]:
        """The byte ranges ``(offset, length)`` whose blocks differ from ``other``'s
        (adjacent blocks merged); the whole of both when the shapes differ."""
        if (self.size, self.block_bytes) != (other.size, other.block_bytes):
            return [(0, max(self.size, other.size))]
        ranges: list[tuple[int, int]] = []
        for index in range(self.count):
            if self.block(index) == other.block(index):
                continue
            offset = index * self.block_bytes
            length = self.block_length(index)
            if ranges and ranges[-1][0] + ranges[-1][1] == offset:
                ranges[-1] = (ranges[-1][0], ranges[-1][1] + length)
            else:
                ranges.append((offset, length))
        return ranges

    def encode(self) -> bytes:
        """The stored form: header, then the block digests."""
        return _HEADER.pack(_MAGIC, self.size, self.block_bytes) + self.blocks

    @classmethod
    def decode(cls, data: bytes) -> BlockDigests:
        """Parse :meth:`encode`'s output.

        Raises:
            errors.InvalidArgument: not a digest object, or truncated.
        """
        if len(data) < _HEADER.size:
            raise errors.InvalidArgument("digest object too short")
        magic, size, block_bytes = _HEADER.unpack_from(data)
        if magic != _MAGIC:
            raise errors.InvalidArgument("not a backup digest object")
        return cls(size, block_bytes, data[_HEADER.size:])


class BlockHasher:
    """Hash ``size`` bytes block by block from what a backup streams, in offset order.

    ``previous``: the parent backup's digests (an incremental); None for a full backup.
    ``fill(offset, length)``: reads bytes the stream does not carry inside a touched block
    (an incremental's unchanged bytes); None: they are zeros (a full backup). Feed with
    :meth:`record` (diff records) or :meth:`feed` (copied pieces), then :meth:`finish`.
    """

    def __init__(self, size: int, *, previous: BlockDigests | None = None,
                 fill: Callable[[int, int], bytes] | None = None,
                 block_bytes: int = BLOCK_BYTES) -> None:
        if previous is not None and previous.block_bytes != block_bytes:
            raise errors.InvalidArgument("the parent's digests use another block size")
        if (previous is None) != (fill is None):
            raise errors.InvalidArgument("an incremental hash needs both previous and fill")
        if block_bytes <= 0 or not 0 <= size <= _SIZE_MAX:
            raise errors.InvalidArgument(f"cannot hash {size} bytes in blocks of {block_bytes}")
        self._count = -(-size // block_bytes)
        self._size = size
        self._block = block_bytes
        self._previous = previous
        self._fill = fill
        self._out = bytearray()
        self._index = 0  # the next block to emit
        self._pieces: list[tuple[int, memoryview | None, int]] = []  # inside block ``_index``
        self._done = 0  # stream position: nothing before it may come again
        #: bytes of data (not zeros) the stream carried.
        self.data_bytes = 0

    # --- input ----------------------------------------------------------------------------
    def record(self, record: Record) -> None:
        """Take one diff record (other kinds than data and zeros are ignored)."""
        if isinstance(record, Write):
            self.feed(record.offset, record.data, record.length)
        elif isinstance(record, Zero):
            self.feed(record.offset, None, record.length)

    def feed(self, offset: int, data: bytes | None, length: int) -> None:
        """Take ``length`` bytes at ``offset``: ``data``, or zeros when None.

        Raises:
            errors.InvalidArgument: the piece goes back before the previous one, or past
                the end.
        """
        if offset < self._done or offset + length > self._size:
            raise errors.InvalidArgument(
                f"piece [{offset}, {offset + length}) out of order or past {self._size} bytes")
        if data is not None:
            self.data_bytes += length
        self._done = offset + length
        view = memoryview(data) if data is not None else None
        while length > 0:
            index = offset // self._block
            self._emit_until(index)
            end = min(offset + length, (index + 1) * self._block)
            n = end - offset
            self._pieces.append((offset, None if view is None else view[:n], n))  # no copy
            if view is not None:
                view = view[n:]
            offset, length = end, length - n

    # --- output ---------------------------------------------------------------------------
    def finish(self) -> BlockDigests:
        """Hash what is left; the digests of all ``size`` bytes."""
        self._emit_until(self._count)
        return BlockDigests(self._size, self._block, bytes(self._out))

    def _emit_until(self, index: int) -> None:
        """Emit every block before ``index`` (the current one with its pieces)."""
        if self._index < index and self._pieces:
            self._out += self._hash_touched(self._index)
            self._pieces = []
            self._index += 1
        if self._index >= index:
            return
        # the untouched blocks that are whole here and in the parent, in one slice
        whole = self._size // self._block
        prev = self._previous
        if prev is not None:
            whole = min(whole, prev.size // prev.block_bytes)
        stop = max(self._index, min(index, whole))
        if stop > self._index:
            n = stop - self._index
            self._out += (_zero_digest(self._block) * n if prev is None
                          else prev.blocks[self._index * _DIGEST:stop * _DIGEST])
            self._index = stop
        while self._index < index:
            self._out += self._untouched(self._index)
            self._index += 1

    def _bounds(self, index: int) -> tuple[int, int]:
        start = index * self._block
        return start, min(self._block, self._size - start)

    def _untouched(self, index: int) -> bytes:
        _start, length = self._bounds(index)
        prev = self._previous
        if prev is None:
            return _zero_digest(length)
        if index < prev.count and prev.block_length(index) == length:
            return prev.block(index)
        # a block the parent did not have whole (the volume grew, or its last block):
        # its bytes are on the new snapshot
        return self._hash_touched(index)

    def _hash_touched(self, index: int) -> bytes:
        start, length = self._bounds(index)
        pieces = self._pieces
        if len(pieces) == 1 and pieces[0][0] == start and pieces[0][2] == length:
            data = pieces[0][1]
            return _zero_digest(length) if data is None else hashlib.sha256(data).digest()
        h = hashlib.sha256()
        pos = start
        for offset, data, n in pieces:
            if offset > pos:
                h.update(self._gap(pos, offset - pos))
            h.update(bytes(n) if data is None else data)
            pos = offset + n
        if pos < start + length:
            h.update(self._gap(pos, start + length - pos))
        return h.digest()

    def _gap(self, offset: int, length: int) -> bytes:
        if self._fill is None:
            return bytes(length)
        data = self._fill(offset, length)
        if len(data) != length:
            raise errors.ShoalError(f"short read: {len(data)} of {length} bytes at {offset}")
        return data


# --- storage in the backup pool ---------------------------------------------------------

def write_digests(ioctx: IoCtx, backup_id: str, digests: BlockDigests) -> None:
    """Create ``backup.<id>.sha256``; it must not exist yet.

    Raises:
        BackupExists: the object exists (the backup id was used before).
    """
    name = digest_object_name(backup_id)
    try:
        ioctx.operate(name, WriteOp().create(exclusive=True).write_full(digests.encode()))
    except errors.AlreadyExists:
        raise BackupExists(f"digest object {name!r} already exists") from None


def read_digests(ioctx: IoCtx, backup_id: str) -> BlockDigests | None:
    """The stored digests of ``backup_id``, or None if it has none (or they are unreadable:
    logged by the caller as "no digest")."""
    try:
        return BlockDigests.decode(ioctx.read(digest_object_name(backup_id), 0))
    except (errors.ObjectNotFound, errors.InvalidArgument):
        return None


def remove_digests(ioctx: IoCtx, backup_id: str) -> bool:
    """Remove ``backup.<id>.sha256``; False if there was none."""
    try:
        ioctx.remove_object(digest_object_name(backup_id))
    except errors.ObjectNotFound:
        return False
    return True
