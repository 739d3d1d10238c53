"""Image data to and from streams, as ``rbd export-diff``/``import-diff`` move it.

- :func:`write_diff`: one diff stream (``Export.cc:do_export_diff_fd``): banner,
  ``f``/``t`` (and ``p`` in format 2), ``s``, then a ``w`` record per changed
  extent (``z`` where the extent is discarded or reads as zeros), then ``e``.
  Extents come from ``diff_iterate`` with the parent included, cut at object
  boundaries as librbd reports them.
- :func:`apply_diff` (``Import.cc:do_import_diff_fd``): the start snapshot must
  exist and the end snapshot must not; ``s`` resizes the image; data records
  are applied as they are read (runs of zero ``sparse_size`` blocks inside a
  ``w`` become zero writes); only when the whole stream has been read is the
  end snapshot created (and protected if the stream says so). A malformed
  stream therefore never leaves a snapshot behind.
- :func:`sparse_runs`: ``utils::calc_sparse_extent``.
"""

from __future__ import annotations

import errno as _errno
from collections.abc import Callable, Iterator
from typing import BinaryIO

from shoal import errors
from shoal.rbd import Image
from shoal.rbd._diffstream import (
    DiffReader,
    DiffWriter,
    FromSnap,
    Size,
    SnapProtected,
    ToSnap,
    Write,
    Zero,
)

__all__ = ["DiffAbort", "apply_diff", "changed_extents", "sparse_runs", "write_diff"]

#: ``RBD_DEFAULT_SPARSE_SIZE``.
SPARSE_SIZE_DEFAULT = 4096


class DiffAbort(Exception):
    """import-diff refused the stream; ``message`` is printed as ``rbd`` does."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.message = message
        self.errno = code


def changed_extents(img: Image, from_snap: str | None, whole_object: bool,
                    include_parent: bool = True) -> list[tuple[int, int, bool]]:
    """``diff_iterate`` extents up to the open snapshot, cut at object boundaries."""
    found: list[tuple[int, int, bool]] = []

    def collect(offset: int, length: int, exists: bool) -> None:
        found.append((offset, length, exists))

    img.diff_iterate(0, img.size(), from_snap, collect, include_parent=include_parent,
                     whole_object=whole_object)
    step = img.layout.object_size
    out: list[tuple[int, int, bool]] = []
    for offset, length, exists in found:
        end = offset + length
        while offset < end:
            cut = min(end, (offset // step + 1) * step)
            out.append((offset, cut - offset, exists))
            offset = cut
    return out


def write_diff(img: Image, out: BinaryIO, *, from_snap: str | None, end_snap: str | None,
               whole_object: bool = False, version: int = 1,
               on_progress: Callable[[int, int], object] | None = None) -> None:
    """Write the diff of ``img`` (open at ``end_snap`` or the head) since ``from_snap``.

    ``on_progress(offset, size)`` follows each extent written (``offset`` its start,
    ``size`` the image size in bytes), as ``rbd export-diff`` reports progress.
    """
    writer = DiffWriter(out)
    writer.write_header(version)
    if from_snap:
        writer.from_snap(from_snap)
    if end_snap:
        writer.to_snap(end_snap)
        if version == 2:
            writer.snap_protected(img.is_protected_snap(end_snap))
    size = img.size()
    writer.size(size)
    for offset, length, exists in changed_extents(img, from_snap, whole_object):
        data = img.read(offset, length) if exists else b""
        if exists and data.count(0) != len(data):
            writer.write(offset, data)
        else:
            writer.zero(offset, length)
        if on_progress is not None:
            on_progress(offset, size)
    writer.end()


def sparse_runs(data: bytes, sparse_size: int) -> Iterator[tuple[int, int, bool]]:
    """(offset, length, all zero) runs of ``sparse_size`` blocks of ``data``."""
    if sparse_size <= 0:
        yield 0, len(data), False
        return
    start, zero = 0, None
    for pos in range(0, len(data), sparse_size):
        block = data[pos: pos + sparse_size]
        is_zero = block.count(0) == len(block)
        if zero is None:
            zero = is_zero
        elif is_zero != zero:
            yield start, pos - start, zero
            start, zero = pos, is_zero
    if zero is not None:
        yield start, len(data) - start, zero


def _snap_exists(img: Image, name: str) -> bool:
    return any(s["name"] == name for s in img.list_snaps())


def apply_diff(img: Image, stream: BinaryIO, *, sparse_size: int = SPARSE_SIZE_DEFAULT,
               version: int | None = None,
               on_record: Callable[[], object] | None = None) -> str | None:
    """Apply one diff stream to ``img``'s head; returns the snapshot it created.

    ``on_record()`` is called after each record is applied (for progress).

    Raises:
        DiffAbort: the stream's snapshots do not fit the image.
        errors.InvalidArgument: the stream is malformed (message gives the offset).
        errors.ShoalError: the engine refused a step.
    """
    to_snap: str | None = None
    protected = False
    for record in DiffReader(stream, version=version):
        if isinstance(record, FromSnap):
            if not _snap_exists(img, record.name):
                raise DiffAbort(f"start snapshot '{record.name}' does not exist in the "
                                "image, aborting", _errno.EINVAL)
        elif isinstance(record, ToSnap):
            if _snap_exists(img, record.name):
                raise DiffAbort(f"end snapshot '{record.name}' already exists, aborting",
                                _errno.EEXIST)
            to_snap = record.name
        elif isinstance(record, SnapProtected):
            protected = record.protected
        elif isinstance(record, Size):
            if img.size() != record.size:
                img.resize(record.size)
        elif isinstance(record, Write):
            for offset, length, zero in sparse_runs(record.data, sparse_size):
                if zero:
                    img.write_zeroes(record.offset + offset, length)
                else:
                    img.write(record.data[offset: offset + length], record.offset + offset)
        elif isinstance(record, Zero):
            img.write_zeroes(record.offset, record.length)
        if on_record is not None:
            on_record()
    img.flush()
    if to_snap:
        img.create_snap(to_snap)
        if protected:
            img.protect_snap(to_snap)
    return to_snap


def diff_error_code(exc: errors.ShoalError) -> int:
    """``EBADMSG`` for a stream cut short (``safe_read_exact``'s EDOM), else the errno."""
    if isinstance(exc, errors.InvalidArgument) and "stream ends" in str(exc):
        return _errno.EBADMSG
    return exc.errno
