"""Moving image data in-process, on either backend, in bounded memory.

- :func:`diff_records` is ``rbd export-diff``: the records (:mod:`shoal.rbd._diffstream`)
  of an image's changes since a snapshot (or since its creation), from ``diff_iterate``.
- :func:`diff_stream` turns records into the byte stream ``rbd export-diff`` writes,
  lazily: it is produced as it is read.
- :func:`import_diff` is ``rbd import-diff``: it parses a stream and applies it (the
  start snapshot must exist on the target, the end snapshot must not; the size record
  resizes; the end snapshot is made once the whole stream applied).
- :func:`pipe_diff` is ``rbd export-diff SRC - | rbd import-diff - DEST`` without
  processes and without the stream: the records go from a reading thread to
  :func:`apply_records` (import-diff's part), a few records ahead (memory: at most
  :data:`PREFETCH_RECORDS` + 1 pieces of :data:`DIFF_PIECE_BYTES`).
- :func:`copy_chunks` is Cinder's full copy in chunk-size pieces (``_transfer_data``).
- :func:`zero_range` is Cinder's ``_discard_bytes``.

Images are ``shoal.rbd.Image`` or ``shoal.rbd.ceph.Image`` objects (:class:`shoal.rbd.RbdImage`).
Offsets and lengths are bytes.
"""

from __future__ import annotations

import io
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from shoal import errors
from shoal.rbd import RbdImage, is_zero
from shoal.rbd._diffstream import (
    DiffReader,
    DiffWriter,
    FromSnap,
    Record,
    Size,
    SnapProtected,
    ToSnap,
    Write,
    Zero,
)
from shoal.services.backup.driver._errors import BackupRBDOperationFailed

__all__ = [
    "DIFF_PIECE_BYTES",
    "DISCARD_BYTES_MAX",
    "EXTENT_WINDOW_BYTES",
    "CopyStats",
    "apply_records",
    "copy_chunks",
    "diff_records",
    "diff_stream",
    "has_extents",
    "import_diff",
    "pipe_diff",
    "reset_head",
    "zero_range",
]

#: The largest data record of a diff (bytes): what one read or write moves.
DIFF_PIECE_BYTES = 4 << 20
#: Records read ahead of the writes by :func:`pipe_diff` (memory: up to this many
#: :data:`DIFF_PIECE_BYTES` pieces more).
PREFETCH_RECORDS = 4
#: ``diff_iterate`` is asked about this many bytes at a time, so that the extents of
#: one call are few whatever the image size.
EXTENT_WINDOW_BYTES = 1 << 30
#: The largest single discard (bytes): librbd's calls return the length as an int.
DISCARD_BYTES_MAX = (1 << 31) - 1


def _extents(img: RbdImage, offset: int, length: int, from_snap: str | None
             ) -> list[tuple[int, int, bool]]:
    """``diff_iterate`` extents in ``[offset, offset + length)``, parent data included."""
    found: list[tuple[int, int, bool]] = []

    def collect(off: int, n: int, exists: bool) -> None:
        found.append((off, n, exists))

    img.diff_iterate(offset, length, from_snap, collect, include_parent=True,
                     whole_object=False)
    return sorted(found)


def _windows(size: int, window: int) -> Iterator[tuple[int, int]]:
    for offset in range(0, size, window):
        yield offset, min(window, size - offset)


# ------------------------------------------------------------------ export-diff


def diff_records(img: RbdImage, *, from_snap: str | None, end_snap: str | None,
                 piece_bytes: int = DIFF_PIECE_BYTES) -> Iterator[Record]:
    """The records of ``img`` (open at ``end_snap``, or at the head) since ``from_snap``.

    ``from_snap`` None: since the image's creation (every extent holding data).
    ``end_snap`` is only named in the stream (``t``); the caller opens ``img`` at it.
    Data extents are read ``piece_bytes`` at a time; a piece of zeros is sent as a
    zero record, as ``rbd export-diff`` does.
    """
    assert piece_bytes > 0
    if from_snap is not None:
        yield FromSnap(from_snap)
    if end_snap is not None:
        yield ToSnap(end_snap)
    size = img.size()
    yield Size(size)
    for window_offset, window_length in _windows(size, EXTENT_WINDOW_BYTES):
        for offset, length, exists in _extents(img, window_offset, window_length, from_snap):
            if not exists:
                yield Zero(offset, length)
                continue
            end = offset + length
            while offset < end:
                n = min(piece_bytes, end - offset)
                data = img.read(offset, n)
                if len(data) != n:
                    raise errors.ShoalError(f"short read: {len(data)} of {n} bytes at {offset}")
                yield Zero(offset, n) if is_zero(data) else Write(offset, data)
                offset += n


class _LazyStream(io.RawIOBase):
    """A readable binary stream whose bytes come from an iterator of byte strings."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        super().__init__()
        self._chunks = chunks
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = memoryview(chunk)
        target = memoryview(buffer).cast("B")
        n = min(len(target), len(self._pending))
        target[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def close(self) -> None:
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()  # a generator: runs its cleanup (closes what it read from)
        super().close()


def _encoded(records: Iterable[Record], version: int) -> Iterator[bytes]:
    sink = io.BytesIO()
    writer = DiffWriter(sink)

    def take() -> bytes:
        data = sink.getvalue()
        sink.seek(0)
        sink.truncate()
        return data

    writer.write_header(version)
    yield take()
    for record in records:
        writer.write_record(record)
        yield take()
    writer.end()
    yield take()


def diff_stream(records: Iterable[Record], version: int = 1) -> BinaryIO:
    """The ``rbd export-diff`` byte stream of ``records``, encoded as it is read.

    An error raised while producing the records surfaces from ``read``. Close the
    stream to release the producer early.
    """
    return io.BufferedReader(_LazyStream(_encoded(records, version)), DIFF_PIECE_BYTES)


# ------------------------------------------------------------------ import-diff


def _snap_names(img: RbdImage) -> set[str]:
    return {str(s["name"]) for s in img.list_snaps()}


def import_diff(img: RbdImage, stream: BinaryIO, *, create_end_snap: bool = True,
                shrink: bool = True) -> str | None:
    """Apply the diff ``stream`` to ``img``'s head; return the end snapshot's name.

    ``create_end_snap`` False applies the data without making the end snapshot (a
    restore leaves no backup snapshot on the volume). ``shrink`` False never makes
    the image smaller than it is (``rbd import-diff`` resizes it to the stream's size,
    losing the bytes past it): it only grows.

    Raises:
        BackupRBDOperationFailed: the start snapshot is missing on ``img``, or the end
            snapshot already exists.
        errors.InvalidArgument: the stream is malformed.
        errors.ShoalError: the image refused a write.
    """
    return apply_records(img, DiffReader(stream, max_write_bytes=DIFF_PIECE_BYTES),
                         create_end_snap=create_end_snap, shrink=shrink)


def apply_records(img: RbdImage, records: Iterable[Record], *, create_end_snap: bool = True,
                  shrink: bool = True) -> str | None:
    """What :func:`import_diff` does with the records of a diff stream, taken as records
    (no encoding): the same checks, writes, resizes and end snapshot."""
    to_snap: str | None = None
    protected = False
    for record in records:
        if isinstance(record, FromSnap):
            if record.name not in _snap_names(img):
                raise BackupRBDOperationFailed(
                    f"start snapshot {record.name!r} does not exist on the target image")
        elif isinstance(record, ToSnap):
            if create_end_snap and record.name in _snap_names(img):
                raise BackupRBDOperationFailed(
                    f"end snapshot {record.name!r} already exists on the target image")
            to_snap = record.name
        elif isinstance(record, SnapProtected):
            protected = record.protected
        elif isinstance(record, Size):
            current = img.size()
            if record.size > current or (shrink and record.size < current):
                img.resize(record.size)
        elif isinstance(record, Write):
            if is_zero(record.data):
                img.write_zeroes(record.offset, record.length)
            else:
                _write_exact(img, record.data, record.offset)
        elif isinstance(record, Zero):
            img.write_zeroes(record.offset, record.length)
    img.flush()
    if to_snap is None or not create_end_snap:
        return None
    img.create_snap(to_snap)
    if protected:
        img.protect_snap(to_snap)
    return to_snap


def _write_exact(img: RbdImage, data: bytes, offset: int) -> None:
    done = img.write(data, offset)
    if done != len(data):
        raise errors.ShoalError(f"short write: {done} of {len(data)} bytes at {offset}")


def _observed(records: Iterable[Record], observe: Callable[[Record], None]
              ) -> Iterator[Record]:
    for record in records:
        observe(record)
        yield record


class _Prefetched:
    """Iterate ``items`` in a thread of its own, up to ``depth`` items ahead of the consumer:
    the source's reads (and what ``items`` computes, a hash) overlap the target's writes.

    Everything ``items`` does runs in that one thread, in order. An error it raises comes
    out of the consumer's ``next`` after the items before it. Leaving the ``with`` block
    stops the thread (at its next item) and waits for it, so the source is not read after.
    """

    _END = object()

    def __init__(self, items: Iterable[Record], depth: int) -> None:
        self._items = items
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="shoal-diff-prefetch",
                                        daemon=True)

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            for item in self._items:
                if not self._put(item):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            self._put(_Failure(exc))
            return
        finally:
            close = getattr(self._items, "close", None)
            if close is not None:
                close()
        self._put(self._END)

    def __enter__(self) -> Iterator[Record]:
        self._thread.start()
        return self._consume()

    def _consume(self) -> Iterator[Record]:
        while True:
            item = self._queue.get()
            if item is self._END:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item  # type: ignore[misc]

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass(frozen=True)
class _Failure:
    error: BaseException


def pipe_diff(source: RbdImage, target: RbdImage, *, from_snap: str | None,
              end_snap: str | None, create_end_snap: bool = True,
              shrink: bool = True, observe: Callable[[Record], None] | None = None
              ) -> str | None:
    """``rbd export-diff [--from-snap F] SRC@END - | rbd import-diff - TARGET`` in
    process (``source`` is open at ``end_snap``); returns the snapshot made on ``target``.
    ``observe`` is shown each record (in offset order) before it is sent.

    Raises: as :func:`import_diff`, and whatever reading ``source`` or ``observe`` raises.
    """
    records: Iterable[Record] = diff_records(source, from_snap=from_snap, end_snap=end_snap)
    if observe is not None:
        records = _observed(records, observe)
    with _Prefetched(records, PREFETCH_RECORDS) as ahead:
        # the records go straight across: encoding them as a stream and parsing it back
        # would copy every byte twice more (``diff_stream`` is the encoding, for files)
        return apply_records(target, ahead, create_end_snap=create_end_snap, shrink=shrink)


def reset_head(img: RbdImage, snap: str) -> bool:
    """Roll ``img``'s head back to snapshot ``snap`` if it moved past it (a diff import
    cut short leaves its writes on the head, where the next import from ``snap`` would
    build on them); return whether it had to. Cheap when the head did not move: one
    ``diff_iterate`` from ``snap`` (object maps with fast-diff).
    """
    snap_size = next(int(s["size"]) for s in img.list_snaps() if s["name"] == snap)
    moved = img.size() != snap_size
    for offset, length in _windows(img.size(), EXTENT_WINDOW_BYTES):
        if moved:
            break
        moved = bool(_extents(img, offset, length, snap))
    if moved:
        img.rollback_to_snap(snap)
    return moved


# ------------------------------------------------------------------ full copies


def has_extents(img: RbdImage) -> bool:
    """Whether any byte of ``img`` holds data (its own or its parent's)."""
    for offset, length in _windows(img.size(), EXTENT_WINDOW_BYTES):
        if any(exists for _o, _n, exists in _extents(img, offset, length, None)):
            return True
    return False


@dataclass(frozen=True)
class CopyStats:
    """Bytes a :func:`copy_chunks` wrote as data, wrote as zeros, and skipped."""

    written: int
    zeroed: int
    skipped: int


def _chunks_with_data(img: RbdImage, offset: int, length: int, chunk: int) -> set[int]:
    """Indexes (offset // chunk) of the chunks of the window that hold some data."""
    marked: set[int] = set()
    for off, n, exists in _extents(img, offset, length, None):
        if exists and n > 0:
            marked.update(range(off // chunk, (off + n - 1) // chunk + 1))
    return marked


def copy_chunks(source: RbdImage, target: RbdImage, *, length: int, chunk_bytes: int,
                skip_zero_chunks: bool,
                observe: Callable[[int, bytes | None, int], None] | None = None
                ) -> CopyStats:
    """Copy bytes ``[0, length)`` of ``source`` to the same offsets of ``target``, one
    ``chunk_bytes`` piece at a time.

    A piece that reads as zeros (a hole, or written zeros) is skipped when
    ``skip_zero_chunks`` (the target is new, so it reads as zeros already: Cinder's fix
    for bug 2155612) and zeroed otherwise (the target's old bytes must go). Every write
    names its offset, so a skipped piece never shifts the ones after it. Holes are found
    with ``diff_iterate`` rather than read. ``observe(offset, data, length)`` is shown
    each piece in order (``data`` None: it reads as zeros).
    """
    assert chunk_bytes > 0 and 0 <= length <= source.size()
    written = zeroed = skipped = 0
    window = -(-EXTENT_WINDOW_BYTES // chunk_bytes) * chunk_bytes
    for window_offset, window_length in _windows(length, window):
        with_data = _chunks_with_data(source, window_offset, window_length, chunk_bytes)
        for offset in range(window_offset, window_offset + window_length, chunk_bytes):
            n = min(chunk_bytes, length - offset)
            data = source.read(offset, n) if offset // chunk_bytes in with_data else None
            if data is not None and len(data) != n:
                raise errors.ShoalError(f"short read: {len(data)} of {n} bytes at {offset}")
            if data is not None and is_zero(data):
                data = None
            if observe is not None:
                observe(offset, data, n)
            if data is not None:
                _write_exact(target, data, offset)
                written += n
            elif skip_zero_chunks:
                skipped += n
            else:
                target.write_zeroes(offset, n)
                zeroed += n
    target.flush()
    return CopyStats(written, zeroed, skipped)


def zero_range(img: RbdImage, offset: int, length: int) -> None:
    """Make ``[offset, offset + length)`` of ``img`` read as zeros, freeing the space.

    The whole objects inside are discarded, in pieces of at most
    :data:`DISCARD_BYTES_MAX` bytes cut at object-set boundaries (librbd skips the
    partial granules of a discard, so Cinder's pieces of exactly 2 GiB - 1 leave old
    bytes at every piece boundary); the partial objects at either end are zeroed.
    """
    assert offset >= 0 and length >= 0
    end = offset + length
    align = (1 << img.order()) * max(img.stripe_count(), 1)
    lo = -(-offset // align) * align
    hi = end // align * align
    piece = DISCARD_BYTES_MAX // align * align
    if lo >= hi or piece == 0:
        _zero_pieces(img, offset, end)
        return
    _zero_pieces(img, offset, lo)
    for start in range(lo, hi, piece):
        img.discard(start, min(piece, hi - start))
    _zero_pieces(img, hi, end)
    img.flush()


def _zero_pieces(img: RbdImage, offset: int, end: int) -> None:
    for start in range(offset, end, DISCARD_BYTES_MAX):
        img.write_zeroes(start, min(DISCARD_BYTES_MAX, end - start))
