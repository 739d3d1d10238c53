"""File-level helpers of the local store: PG locks, a descriptor cache, hole
punching, and hole-preserving file copies (for snapshot clones).

PG locks combine an in-process mutex (threads) with ``flock`` on a per-PG lock
file (processes). The lock file's first byte is the PG's *dirty* flag: a writer
sets it before committing a transaction whose file actions (redo log) are not
yet applied and clears it after; whoever finds it set must replay the redo log.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import fcntl
import mmap
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from shoal import limits

__all__ = ["FdCache", "PgLocks", "copy_sparse", "punch_hole", "pwrite_all", "start_writeback"]

#: Size of a PG lock file: one page, mapped shared; byte 0 is the dirty flag.
_FLAG_BYTES = 4096
#: lock-file descriptor -> its shared mapping (descriptors are unique per process).
_FLAGS: dict[int, mmap.mmap] = {}

_FALLOC_FL_KEEP_SIZE = 0x01
_FALLOC_FL_PUNCH_HOLE = 0x02
_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_fallocate = _libc.fallocate
_fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
_fallocate.restype = ctypes.c_int
_SYNC_FILE_RANGE_WRITE = 0x02
_sync_file_range = _libc.sync_file_range
_sync_file_range.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
_sync_file_range.restype = ctypes.c_int


def start_writeback(fd: int, offset: int, length: int) -> None:
    """Start writing ``[offset, offset+length)`` of ``fd``'s dirty pages to disk without
    waiting (``sync_file_range(SYNC_FILE_RANGE_WRITE)``) when the range is at least
    :data:`shoal.limits.writebehind_bytes_min`: a large write's data then reaches the
    disk while the writer goes on, and the next ``fdatasync`` waits only for the tail
    (a restore of 2 GiB: its final sync went from ~1.2 s to ~0.03 s here).

    Only a hint: it makes nothing durable (metadata, the disk's cache) and its errors are
    ignored (a filesystem without it, a full request queue); the kernel may block it
    briefly while the disk's queue is full, which paces a writer at disk speed.
    """
    if length >= limits.writebehind_bytes_min:
        _sync_file_range(fd, offset, length, _SYNC_FILE_RANGE_WRITE)


def pwrite_all(fd: int, data: bytes | bytearray | memoryview, offset: int) -> None:
    """Write all of ``data`` at ``offset``, going on after a short write (``pwrite`` may
    write less than asked, e.g. when interrupted).

    Raises:
        OSError: the write failed (ENOSPC, EIO...).
    """
    view = memoryview(data).cast("B")
    done = 0
    while done < len(view):
        done += os.pwrite(fd, view[done:], offset + done)


def punch_hole(fd: int, offset: int, length: int) -> None:
    """Zero ``[offset, offset+length)`` without changing the file size.

    Deallocates the blocks where the filesystem supports it; otherwise writes zeros.
    """
    if length <= 0:
        return
    if _fallocate(fd, _FALLOC_FL_PUNCH_HOLE | _FALLOC_FL_KEEP_SIZE, offset, length) == 0:
        return
    chunk = b"\0" * min(length, 1 << 20)
    end = offset + length
    while offset < end:
        n = min(len(chunk), end - offset)
        pwrite_all(fd, memoryview(chunk)[:n], offset)
        offset += n


#: errnos meaning "this kernel/filesystem cannot do that here": fall back.
_UNSUPPORTED = {errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP}


def copy_sparse(src: int, dst: int, length: int, offset: int = 0) -> None:
    """Copy bytes ``[offset, offset+length)`` of ``src`` to the same offsets of ``dst``.

    ``dst`` must read as zeros there (a new, empty file, or a range known to be
    zeros). Only the data extents of ``src`` (``SEEK_DATA``/``SEEK_HOLE``) are copied,
    so holes stay holes; the copy itself is ``copy_file_range`` (in-kernel, or a reflink
    where the filesystem shares blocks), with a ``pread``/``pwrite`` fallback. Does not
    change the size of ``dst`` beyond the last data byte copied.
    """
    pos, end = offset, offset + length
    while pos < end:
        try:
            start = os.lseek(src, pos, os.SEEK_DATA)
        except OSError as exc:
            if exc.errno == errno.ENXIO:  # nothing but holes from pos on
                return
            if exc.errno not in _UNSUPPORTED:
                raise
            _copy_range(src, dst, pos, end - pos)
            return
        if start >= end:
            return
        stop = min(os.lseek(src, start, os.SEEK_HOLE), end)
        _copy_range(src, dst, start, stop - start)
        pos = stop


def _copy_range(src: int, dst: int, offset: int, count: int) -> None:
    """Copy ``count`` bytes at ``offset`` (same offset in both); stops early at EOF."""
    while count > 0:
        try:
            n = os.copy_file_range(src, dst, count, offset, offset)
        except OSError as exc:
            if exc.errno not in _UNSUPPORTED:
                raise
            n = -1
        if n < 0:  # no in-kernel copy here: do it by hand
            while count > 0:
                chunk = os.pread(src, min(count, 1 << 20), offset)
                if not chunk:
                    return
                os.pwrite(dst, chunk, offset)
                offset += len(chunk)
                count -= len(chunk)
            return
        if n == 0:
            return
        offset += n
        count -= n


class PgLocks:
    """Shared/exclusive locks per (pool id, pg), across threads and processes."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._guard = threading.Lock()
        self._mutexes: dict[tuple[int, int], threading.Lock] = {}
        self._fds: dict[tuple[int, int], int] = {}
        self._dir_strs: dict[tuple[int, int], str] = {}

    def pg_dir(self, pool: int, pg: int) -> Path:
        return self._root / str(pool) / f"{pg:04x}"

    def pg_dir_str(self, pool: int, pg: int) -> str:
        """``pg_dir`` as a string, cached (hot path)."""
        key = (pool, pg)
        d = self._dir_strs.get(key)
        if d is None:
            d = self._dir_strs[key] = str(self.pg_dir(pool, pg))
        return d

    def _fd(self, pool: int, pg: int) -> tuple[threading.Lock, int]:
        key = (pool, pg)
        with self._guard:
            mutex = self._mutexes.get(key)
            if mutex is None:
                mutex = self._mutexes[key] = threading.Lock()
            fd = self._fds.get(key)
            if fd is None:
                d = self.pg_dir(pool, pg)
                d.mkdir(parents=True, exist_ok=True)
                fd = os.open(d / "lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
                if os.fstat(fd).st_size < _FLAG_BYTES:
                    os.ftruncate(fd, _FLAG_BYTES)  # only ever grows: safe if racing
                _FLAGS[fd] = mmap.mmap(fd, _FLAG_BYTES)
                self._fds[key] = fd
            return mutex, fd

    @contextmanager
    def hold(self, pool: int, pg: int, exclusive: bool) -> Iterator[int]:
        """Hold the PG lock; yields the lock file descriptor (for the dirty flag)."""
        mutex, fd = self._fd(pool, pg)
        with mutex:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            try:
                yield fd
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    @staticmethod
    def is_dirty(fd: int) -> bool:
        """The PG's dirty flag (byte 0 of the lock file, read through a shared mapping)."""
        return _FLAGS[fd][0] == 1

    @staticmethod
    def set_dirty(fd: int, dirty: bool) -> None:
        """Set the flag in the shared page: visible to other processes at once and
        kept by the kernel if this process dies (no system call, no fsync)."""
        _FLAGS[fd][0] = 1 if dirty else 0

    @staticmethod
    def _close_fd(fd: int) -> None:
        flags = _FLAGS.pop(fd, None)
        if flags is not None:
            flags.close()
        os.close(fd)

    def forget_pool(self, pool: int) -> None:
        """Close the lock files of a deleted pool."""
        with self._guard:
            for key in [k for k in self._fds if k[0] == pool]:
                self._close_fd(self._fds.pop(key))

    def close(self) -> None:
        with self._guard:
            for fd in self._fds.values():
                self._close_fd(fd)
            self._fds.clear()


def _sync_one(item: tuple[str, int | None]) -> None:
    """fdatasync one file of :meth:`FdCache.sync_all`, then close the descriptor: its own
    ``dup``, or (None) one opened read-only by path (fdatasync needs no write access)."""
    path, fd = item
    if fd is None:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return
    try:
        os.fdatasync(fd)
    finally:
        os.close(fd)


class FdCache:
    """An LRU of open data-file descriptors, keyed by path.

    Callers must hold the PG lock of the file they use, so an entry is never
    closed while another thread of this process reads or writes through it:
    eviction skips entries that are in use.
    """

    def __init__(self, capacity: int = limits.fd_cache_entries_max) -> None:
        self._capacity = capacity
        self._lock = threading.Lock()
        self._fds: OrderedDict[str, int] = OrderedDict()
        self._users: dict[str, int] = {}
        self._dirty: set[str] = set()

    def mark_dirty(self, path: str) -> None:
        """Remember that ``path`` holds data not yet made durable by ``sync_all``."""
        with self._lock:
            self._dirty.add(path)

    @contextmanager
    def open(self, path: str, create: bool = False, truncate: bool = False) -> Iterator[int]:
        """Yield a descriptor for ``path`` (O_RDWR). Raises FileNotFoundError unless create."""
        fd = self._acquire(path, create, truncate)
        try:
            yield fd
        finally:
            with self._lock:
                self._users[path] -= 1
                if self._users[path] == 0:
                    del self._users[path]
                self._evict()

    def _acquire(self, path: str, create: bool, truncate: bool) -> int:
        with self._lock:
            fd = self._fds.get(path)
            if fd is not None and not truncate:
                self._fds.move_to_end(path)
                self._users[path] = self._users.get(path, 0) + 1
                return fd
        flags = os.O_RDWR | os.O_CLOEXEC
        if create:
            flags |= os.O_CREAT
        if truncate:
            flags |= os.O_TRUNC
        new_fd = os.open(path, flags, 0o600)
        with self._lock:
            old = self._fds.pop(path, None)
            if old is not None and old != new_fd:
                os.close(old)
            self._fds[path] = new_fd
            self._users[path] = self._users.get(path, 0) + 1
        return new_fd

    def _evict(self) -> None:
        # A dirty entry stays in ``_dirty``: ``sync_all`` reopens it by path, so eviction
        # never waits for the disk in the middle of a write.
        for path in list(self._fds):
            if len(self._fds) <= self._capacity:
                return
            if path not in self._users:
                os.close(self._fds.pop(path))

    def drop(self, path: str) -> None:
        """Close ``path``'s descriptor (before unlinking the file)."""
        with self._lock:
            fd = self._fds.pop(path, None)
            self._dirty.discard(path)
            if fd is not None:
                os.close(fd)

    def sync_all(self) -> None:
        """fdatasync every file written since the last call, files closed by eviction
        included (reopened by path; one removed since is skipped).

        The cache's lock is held only to take the list: each open entry is ``dup``-ed,
        so a concurrent eviction cannot close it under the sync. Many files are synced
        by up to :data:`shoal.limits.sync_threads_max` threads at once: serial
        ``fdatasync`` calls leave the disk queue one request deep (it was the largest
        cost of restoring a backup: 512 objects of 4 MiB).

        Raises:
            OSError: a sync failed (EIO, ENOSPC); the files not known synced stay dirty.
        """
        with self._lock:
            items = [(p, os.dup(self._fds[p]) if p in self._fds else None) for p in self._dirty]
            self._dirty.clear()
        if not items:
            return
        try:
            if len(items) <= 2:
                for item in items:
                    _sync_one(item)
            else:
                workers = min(limits.sync_threads_max, len(items))
                with ThreadPoolExecutor(workers, thread_name_prefix="shoal-sync") as pool:
                    list(pool.map(_sync_one, items))
        except OSError:
            with self._lock:
                self._dirty.update(p for p, _ in items)
            raise

    def close(self) -> None:
        with self._lock:
            for fd in self._fds.values():
                os.close(fd)
            self._fds.clear()
