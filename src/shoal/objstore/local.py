"""The embedded object store: a data directory on local disk.

Layout under ``root``::

    store.db                      SQLite (WAL): pools, object metadata, xattrs, omap,
                                  snapsets, redo log
    pgs/<pool id>/<pg>/lock       per-PG lock file; byte 0 is the PG's dirty flag
    pgs/<pool id>/<pg>/<digest>.<gen>   object data (sparse file); digest = blake2b(ns, name)

Objects are placed in PGs by Ceph's rjenkins hash of the name, ``stable_mod``
``pg_num``. Names are never used as paths.

**Concurrency.** Several threads and several processes may open the same root at
once. Each operation holds its PG's lock (shared to read, exclusive to write);
metadata changes are SQLite transactions.

**Atomicity and durability contract.**

- One operation (``write``, ``operate``, ``execute``, …) is all-or-nothing, also
  across ``kill -9``: after a crash, the store opens with every operation either
  fully applied or not at all.
- Every operation that returned survives ``kill -9`` of the process (it is in
  the page cache and SQLite's WAL).
- ``flush()`` makes every operation that returned before it durable against
  power loss (``fdatasync`` of written files, their directories and the WAL).
  Operations after the last ``flush()`` may be lost on power loss.

How: a write that replaces an object's data (``write_full``, the first data of
an object, ``remove`` then write) goes to a fresh file whose generation is
switched in the metadata commit. Any other data change (a partial overwrite,
truncate, zero) is logged with its bytes in the same SQLite transaction (the
redo log), applied to the file after the commit, and replayed by the next user
of the PG if the writer died in between (the PG's dirty flag says so). Replay is
idempotent: each logged action sets bytes or a size, so replaying any suffix of
the log in order reproduces the committed state.

**Snapshots** (RADOS self-managed snaps; semantics in :class:`~shoal.objstore.IoCtx`).
Object, xattr and omap rows are keyed by ``snap``: ``SNAP_HEAD`` for the head,
the clone id for a clone. ``snapsets`` holds an object's ``seq`` while it has a
head or a clone (and a non-zero seq); ``clone_snaps`` lists the snaps each clone
covers (keyed by snap first, so trimming a snap finds its clones). Each pool
counts its snap ids (``pools.snap_seq``) and remembers removed ones
(``removed_snaps``).

- Each data file belongs to exactly one row. When a write makes a clone, the
  clone row takes over the head's data file (no copy) and the head moves to a
  new generation *layered* over it (:mod:`shoal.objstore._layers`): a sparse
  file holding only the 64 KiB chunks written since (a chunk written in part is
  copied up from the clone's file first), the row naming the file under it
  (``base``) and the chunks it owns (``own``). This is the new-generation path,
  so the clone costs no redo log and is atomic like any other operation. A
  truncate or zero of a layered head, or a newer clone of it, makes it whole
  first (the chunks it lacks copied in), and so does trimming the clone under
  it. Clone files are never written again (a replay may re-apply redo actions
  logged before the clone was made; they set the bytes the file already holds).
  A rollback copies the clone's file into a new head generation (a hole-
  preserving ``copy_file_range`` of its data extents).
- A read at snap S finds the snapset ``seq``; if S is newer it reads the head,
  else the oldest clone with id >= S if ``clone_snaps`` says it covers S.
  ``list_objects`` and ``pool_stats`` count heads only (as RADOS lists heads).
- ``remove_self_managed_snap`` marks the snap removed and trims it from every
  clone of the pool in one transaction, holding (in PG order) the exclusive
  locks of every PG with a clone to trim; clone files left to nobody are
  unlinked through the redo log, like any other unlink after a commit.
- The non-snapshot hot path makes no extra statement: a writer gets the
  snapset ``seq`` from the query that already fetches the head row (one more
  index lookup in it; readers at the head skip even that), and a handle
  without a snap context never looks further.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TypeVar

from shoal import errors, limits
from shoal.objstore._base import EmbeddedIoCtx, ObjectStore, check_pg_num, check_pool_name
from shoal.objstore._layers import copy_ups, decode_mask, encode_mask, owns_all, runs, touched_mask
from shoal.objstore._localfs import (
    FdCache,
    PgLocks,
    copy_sparse,
    punch_hole,
    pwrite_all,
    start_writeback,
)
from shoal.objstore._ops import (
    ObjectContext,
    check_extent,
    check_list_entries,
    check_name,
    check_snap_id,
    object_not_found,
)
from shoal.objstore._placement import file_digest, pg_of
from shoal.objstore._types import (
    SNAP_HEAD,
    CloneInfo,
    ObjectPage,
    ObjectStat,
    OmapPage,
    PoolInfo,
    PoolStats,
    SnapContext,
    SnapSet,
)

__all__ = ["LocalStore"]

T = TypeVar("T")

_SCHEMA_VERSION = 3
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v INTEGER NOT NULL);
INSERT OR IGNORE INTO meta VALUES ('seq', 0), ('next_pool_id', 1), ('schema', {_SCHEMA_VERSION});
CREATE TABLE IF NOT EXISTS pools(
    id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, pg_num INTEGER NOT NULL,
    created REAL NOT NULL, apps TEXT NOT NULL DEFAULT '{{}}',
    snap_seq INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS objects(
    pool INTEGER NOT NULL, ns TEXT NOT NULL, name TEXT NOT NULL, snap INTEGER NOT NULL,
    size INTEGER NOT NULL, mtime REAL NOT NULL, version INTEGER NOT NULL, gen INTEGER NOT NULL,
    base INTEGER NOT NULL DEFAULT 0, own BLOB,
    PRIMARY KEY(pool, ns, name, snap)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS xattrs(
    pool INTEGER NOT NULL, ns TEXT NOT NULL, name TEXT NOT NULL, snap INTEGER NOT NULL,
    key TEXT NOT NULL, value BLOB NOT NULL,
    PRIMARY KEY(pool, ns, name, snap, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS omap(
    pool INTEGER NOT NULL, ns TEXT NOT NULL, name TEXT NOT NULL, snap INTEGER NOT NULL,
    key TEXT NOT NULL, value BLOB NOT NULL,
    PRIMARY KEY(pool, ns, name, snap, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS snapsets(
    pool INTEGER NOT NULL, ns TEXT NOT NULL, name TEXT NOT NULL, seq INTEGER NOT NULL,
    PRIMARY KEY(pool, ns, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS clone_snaps(
    pool INTEGER NOT NULL, snap INTEGER NOT NULL, ns TEXT NOT NULL, name TEXT NOT NULL,
    clone INTEGER NOT NULL, PRIMARY KEY(pool, snap, ns, name, clone)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS clone_snaps_obj ON clone_snaps(pool, ns, name, clone);
CREATE TABLE IF NOT EXISTS removed_snaps(
    pool INTEGER NOT NULL, snap INTEGER NOT NULL, PRIMARY KEY(pool, snap)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS redo(
    seq INTEGER PRIMARY KEY, pool INTEGER NOT NULL, pg INTEGER NOT NULL, path TEXT NOT NULL,
    kind TEXT NOT NULL, off INTEGER NOT NULL, len INTEGER NOT NULL, data BLOB);
CREATE INDEX IF NOT EXISTS redo_pg ON redo(pool, pg);
"""

# A file action: (kind, offset, length, data). kinds: w(rite) t(runcate) z(ero) u(nlink)
_Action = tuple[str, int, int, bytes | None]
_UNLINK: _Action = ("u", 0, 0, None)

#: A writer's view: the head row of an object and its snapset seq (NULL: no
#: snapset), in the one query the hot path makes anyway.
_HEAD_SQL = (
    "SELECT p.id, o.size, o.mtime, o.version, o.gen, s.seq, o.base, o.own FROM pools p"
    f" LEFT JOIN objects o ON o.pool = p.id AND o.ns = ?1 AND o.name = ?2 AND o.snap = {SNAP_HEAD}"
    " LEFT JOIN snapsets s ON s.pool = p.id AND s.ns = ?1 AND s.name = ?2"
    " WHERE p.id = ?3"
)
#: A reader's view of the head (readers never need the snapset).
_HEAD_READ_SQL = (
    "SELECT p.id, o.size, o.mtime, o.version, o.gen, NULL, o.base, o.own FROM pools p"
    f" LEFT JOIN objects o ON o.pool = p.id AND o.ns = ?1 AND o.name = ?2 AND o.snap = {SNAP_HEAD}"
    " WHERE p.id = ?3"
)
#: An object's snapset seq (NULL: no snapset), in a row that exists iff the pool does.
_SNAPSET_SEQ_SQL = (
    "SELECT p.id, s.seq FROM pools p LEFT JOIN snapsets s"
    " ON s.pool = p.id AND s.ns = ? AND s.name = ? WHERE p.id = ?"
)
_REDO_INSERT_SQL = (
    "INSERT INTO redo(pool, pg, path, kind, off, len, data) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_NO_SNAPC = SnapContext(0, ())
#: (size, mtime, version, gen, snapset seq, gen under a layered head, owned-chunk mask
#: bytes: :mod:`._layers`); all None for a missing object.
_Meta = tuple[int | None, float | None, int | None, int | None, int | None, int | None,
              bytes | None]
_ABSENT: _Meta = (None, None, None, None, None, None, None)


def _apply_action(fds: FdCache, path: str, action: _Action, create: bool = False) -> None:
    """Apply one file action; actions on a file that no longer exists are skipped."""
    kind, off, length, data = action
    if kind == "u":
        fds.drop(path)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        return
    try:
        with fds.open(path, create=create) as fd:
            if kind == "w":
                assert data is not None and len(data) == length
                pwrite_all(fd, data, off)
                start_writeback(fd, off, length)
            elif kind == "t":
                os.ftruncate(fd, off)
            elif kind == "z":
                punch_hole(fd, off, length)
            else:
                raise AssertionError(f"unknown redo action {kind!r}")
    except FileNotFoundError:
        return
    fds.mark_dirty(path)


def _apply_actions(fds: FdCache, post: list[tuple[str, _Action]]) -> None:
    """Apply a committed transaction's file actions in order; consecutive data
    actions on one file share one descriptor (a cache flush sends dozens)."""
    i = 0
    while i < len(post):
        path, action = post[i]
        j = i + 1
        while j < len(post) and post[j][0] == path and post[j][1][0] == "w" and action[0] == "w":
            j += 1
        if j - i == 1:
            _apply_action(fds, path, action)
        else:
            try:
                with fds.open(path) as fd:
                    for _, (_, off, length, data) in post[i:j]:
                        assert data is not None and len(data) == length
                        pwrite_all(fd, data, off)
                        start_writeback(fd, off, length)
                fds.mark_dirty(path)
            except FileNotFoundError:
                pass
        i = j


def _fill_layers(fds: FdCache, path: str, under_path: str, own: int, size: int) -> None:
    """Copy into a layered head's own file ``path`` the chunks (of its ``size`` bytes) it
    does not own, from the file under it: the file is then complete. Before the commit
    that says so (the bytes are not read until then)."""
    with fds.open(path, create=True) as fd, fds.open(under_path) as src:
        for lo, hi, owned in runs(own, 0, size):
            if not owned:
                copy_sparse(src, fd, hi - lo, lo)
    fds.mark_dirty(path)


def _overlay(buf: bytearray, window: int, actions: Iterable[_Action]) -> None:
    """Apply data actions to ``buf``, a copy of object bytes at offset ``window``."""
    end = window + len(buf)
    for kind, off, length, data in actions:
        if kind == "w":
            assert data is not None
            lo, hi = max(off, window), min(off + length, end)
            if lo < hi:
                buf[lo - window : hi - window] = data[lo - off : hi - off]
        elif kind == "t":
            lo = max(off, window)
            if lo < end:
                buf[lo - window :] = bytes(end - lo)
        elif kind == "z":
            lo, hi = max(off, window), min(off + length, end)
            if lo < hi:
                buf[lo - window : hi - window] = bytes(hi - lo)


class _LocalContext(ObjectContext):
    """One object inside one transaction of the local store.

    ``snap`` is ``SNAP_HEAD`` for the head (the only view that may change) or the
    id of the clone being read; ``meta`` is that row as :data:`_Meta`; ``snapc``
    is the snap context of the writes.
    """

    # Defaults for state that the hot path rarely changes (saves assignments).
    _fresh = False  # the head's data goes to a new generation file
    _clone_took = False  # a clone made by this transaction owns _orig_gen
    _touched = False

    def __init__(
        self,
        io: LocalIoCtx,
        db: sqlite3.Connection,
        oid: str,
        mutate: bool,
        snap: int,
        meta: _Meta,
        snapc: SnapContext = _NO_SNAPC,
    ) -> None:
        self.oid = oid
        self._io = io
        self._db = db
        self._mutate = mutate
        self._key = (io.pool_id, io.get_namespace(), oid, snap)
        size, mtime, version, gen, ss_seq, under, own = meta
        self._orig_exists = size is not None
        self._orig_size: int = size or 0
        self._orig_gen: int = gen or 0
        self._exists = self._orig_exists
        self._size = self._orig_size
        self._mtime: float = mtime or 0.0
        self._version: int = version or 0
        # The data as it stands is the file of generation ``_base_gen`` (0: none)
        # cut to ``_base_size``, with ``_actions`` applied on top.
        self._base_gen = self._orig_gen
        self._base_size = self._orig_size
        # A layered head (:mod:`._layers`): the chunks of ``_own`` read from the file of
        # ``_base_gen``, the others from the clone file of generation ``_under``.
        self._under: int = under or 0
        self._own: int = decode_mask(own) if under else 0
        self._flat = False  # a truncate or zero: the head must stop being layered
        self._actions: list[_Action] = []
        self._ss_seq: int = ss_seq or 0
        self._ss_row = ss_seq is not None
        self._snapc = snapc
        # The first change must first run make_writeable (a newer snap context).
        self._snapc_pending = snapc.seq > self._ss_seq

    # --- helpers ------------------------------------------------------------
    def _path(self, gen: int) -> str:
        return self._io.data_path(self.oid, gen)

    def _need(self) -> None:
        if not self._exists:
            raise object_not_found(self.oid)

    def _change(self, create: bool = True) -> None:
        if not self._mutate:
            raise errors.PermissionDenied("a read-only operation tried to modify the object")
        if self._snapc_pending:
            self._snapc_pending = False
            self._make_writeable()
        if create and not self._exists:
            self._exists = True
            self._size = 0
        self._touched = True

    def _make_writeable(self) -> None:
        """Before the first change under a newer snap context: preserve the head as
        a clone if the context holds live snaps the object has not seen, and
        advance the snapset seq (RADOS ``make_writeable``)."""
        snapc = self._snapc
        db = self._db
        pool, ns, name, _ = self._key
        snaps = [s for s in snapc.snaps if s > self._ss_seq]
        removed: set[int] = set()
        for i in range(0, len(snaps), 500):  # stay far below SQLite's parameter limit
            chunk = snaps[i : i + 500]
            removed.update(
                r[0]
                for r in db.execute(
                    "SELECT snap FROM removed_snaps WHERE pool = ? AND snap IN"
                    f" ({','.join('?' * len(chunk))})",
                    (pool, *chunk),
                )
            )
        snaps = [s for s in snaps if s not in removed]
        if self._orig_exists and snaps:
            clone = snapc.seq
            if self._under:  # a clone's file is complete: fill in what the head lacks
                _fill_layers(self._io.store.fds, self._path(self._orig_gen),
                             self._path(self._under), self._own, self._orig_size)
            db.execute(
                "INSERT INTO objects VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, NULL)",
                (pool, ns, name, clone, self._orig_size, self._mtime, self._version,
                 self._orig_gen),
            )
            for table in ("xattrs", "omap"):
                db.execute(
                    f"INSERT INTO {table} SELECT pool, ns, name, ?, key, value FROM {table}"
                    f" WHERE pool = ? AND ns = ? AND name = ? AND snap = {SNAP_HEAD}",
                    (clone, pool, ns, name),
                )
            db.executemany(
                "INSERT INTO clone_snaps VALUES (?, ?, ?, ?, ?)",
                [(pool, s, ns, name, clone) for s in snaps],
            )
            if self._orig_gen:
                self._clone_took = True
                self._fresh = True
                # The head now lies over the clone's file and owns no chunk yet.
                self._under, self._own, self._base_gen = self._orig_gen, 0, 0
        db.execute(
            "INSERT OR REPLACE INTO snapsets VALUES (?, ?, ?, ?)", (pool, ns, name, snapc.seq)
        )
        self._ss_seq = snapc.seq
        self._ss_row = True

    # --- data ---------------------------------------------------------------
    def exists(self) -> bool:
        return self._exists

    def stat(self) -> ObjectStat:
        self._need()
        return ObjectStat(self._size, self._mtime, self._version)

    def read(self, offset: int, length: int) -> bytes:
        self._need()
        end = min(offset + length, self._size)
        if end <= offset:
            return b""
        if self._under:
            buf = self._layered_bytes(offset, end)
            _overlay(buf, offset, self._actions)
            return bytes(buf)
        base_end = min(end, self._base_size) if self._base_gen else 0
        raw = b""
        if base_end > offset:
            try:
                with self._io.store.fds.open(self._path(self._base_gen)) as fd:
                    raw = os.pread(fd, base_end - offset, offset)
            except FileNotFoundError:
                raw = b""
        if not self._actions and len(raw) == end - offset:
            return raw
        buf = bytearray(raw)
        buf.extend(bytes(end - offset - len(buf)))
        _overlay(buf, offset, self._actions)
        return bytes(buf)

    def _layered_bytes(self, offset: int, end: int) -> bytearray:
        """Bytes ``[offset, end)`` of a layered head before this transaction's actions:
        owned chunks from its own file, the others from the file under it (zeros past
        either file's end and past the head's size at the start)."""
        buf = bytearray(end - offset)
        view = memoryview(buf)
        fds = self._io.store.fds
        for lo, hi, owned in runs(self._own, offset, min(end, self._base_size)):
            gen = self._base_gen if owned else self._under
            if not gen:
                continue
            with contextlib.suppress(FileNotFoundError), fds.open(self._path(gen)) as fd:
                os.preadv(fd, [view[lo - offset : hi - offset]], lo)  # short: zeros stay
        return buf

    def _flatten(self) -> None:
        """A layered head stops being layered: its data goes to a complete new file."""
        if self._under:
            self._flat = True
            self._fresh = True

    def create(self, exclusive: bool) -> None:
        if self._exists and exclusive:
            raise errors.AlreadyExists(f"object {self.oid!r} already exists")
        self._change()

    def write(self, data: bytes, offset: int) -> None:
        check_extent(offset, len(data))
        self._change()
        self._actions.append(("w", offset, len(data), data))
        self._size = max(self._size, offset + len(data))

    def write_full(self, data: bytes) -> None:
        self._change()
        self._fresh = True
        self._base_gen = self._base_size = self._under = self._own = 0
        self._actions = [("w", 0, len(data), data)] if data else []
        self._size = len(data)

    def truncate(self, size: int) -> None:
        check_extent(size, 0)
        if not self._exists:
            return
        self._change()
        self._flatten()
        self._actions.append(("t", size, 0, None))
        self._size = size

    def zero(self, offset: int, length: int) -> None:
        """As the OSD: a range reaching the end truncates the object to ``offset``."""
        if not self._exists:
            return
        if offset < self._size <= offset + length:
            self.truncate(offset)
            return
        self._change()
        end = min(offset + length, self._size)
        if end > offset:
            self._flatten()
            self._actions.append(("z", offset, end - offset, None))

    def remove(self) -> None:
        self._need()
        self._change(create=False)
        for table in ("xattrs", "omap"):
            self._db.execute(
                f"DELETE FROM {table} WHERE pool=? AND ns=? AND name=? AND snap=?", self._key
            )
        self._exists = False
        self._fresh = True
        self._base_gen = self._base_size = self._under = self._own = 0
        self._actions = []
        self._size = 0

    # --- snapshots ----------------------------------------------------------
    def rollback_to(self, snap_id: int) -> None:
        """Make the head what it was at ``snap_id`` (RADOS ``_rollback_to``)."""
        if snap_id > self._ss_seq:
            # Unchanged since then: the op is only a write (snap context, version).
            if self._exists:
                self._change(create=False)
            return
        pool, ns, name, _ = self._key
        clone = _clone_at(self._db, pool, ns, name, snap_id)
        if clone is None:
            if self._exists:
                self.remove()
            return
        clone_id, size, _, _, gen = clone
        self._change()
        for table in ("xattrs", "omap"):
            self._db.execute(
                f"DELETE FROM {table} WHERE pool = ? AND ns = ? AND name = ? AND snap = ?",
                self._key,
            )
            self._db.execute(
                f"INSERT INTO {table} SELECT pool, ns, name, {SNAP_HEAD}, key, value"
                f" FROM {table} WHERE pool = ? AND ns = ? AND name = ? AND snap = ?",
                (pool, ns, name, clone_id),
            )
        self._fresh = True
        self._base_gen, self._base_size = gen, size
        self._under = self._own = 0
        self._actions = []
        self._size = size

    # --- xattrs -------------------------------------------------------------
    def get_xattr(self, name: str) -> bytes:
        self._need()
        row = self._db.execute(
            "SELECT value FROM xattrs WHERE pool=? AND ns=? AND name=? AND snap=? AND key=?",
            (*self._key, name),
        ).fetchone()
        if row is None:
            raise errors.NoData(f"object {self.oid!r} has no xattr {name!r}")
        return bytes(row[0])

    def get_xattrs(self) -> dict[str, bytes]:
        self._need()
        rows = self._db.execute(
            "SELECT key, value FROM xattrs WHERE pool=? AND ns=? AND name=? AND snap=?"
            " ORDER BY key",
            self._key,
        )
        return {k: bytes(v) for k, v in rows}

    def set_xattr(self, name: str, value: bytes) -> None:
        self._change()
        self._db.execute(
            "INSERT OR REPLACE INTO xattrs VALUES (?, ?, ?, ?, ?, ?)", (*self._key, name, value)
        )

    def rm_xattr(self, name: str) -> None:
        self._need()
        self._change()
        self._db.execute(
            "DELETE FROM xattrs WHERE pool=? AND ns=? AND name=? AND snap=? AND key=?",
            (*self._key, name),
        )

    # --- omap ---------------------------------------------------------------
    def omap_get_vals(self, start_after: str, filter_prefix: str, max_return: int) -> OmapPage:
        self._need()
        rows = self._db.execute(
            "SELECT key, value FROM omap WHERE pool=? AND ns=? AND name=? AND snap=? AND key > ?"
            " AND key >= ? ORDER BY key LIMIT ?",
            (*self._key, start_after, filter_prefix, max_return + 1),
        ).fetchall()
        items: list[tuple[str, bytes]] = []
        for k, v in rows:
            if not k.startswith(filter_prefix):
                return OmapPage(items, False)
            items.append((k, bytes(v)))
        more = len(items) > max_return
        return OmapPage(items[:max_return], more)

    def omap_get_vals_by_keys(self, keys: Iterable[str]) -> dict[str, bytes]:
        self._need()
        out: dict[str, bytes] = {}
        for k in keys:
            row = self._db.execute(
                "SELECT value FROM omap WHERE pool=? AND ns=? AND name=? AND snap=? AND key=?",
                (*self._key, k),
            ).fetchone()
            if row is not None:
                out[k] = bytes(row[0])
        return out

    def omap_set(self, items: Mapping[str, bytes]) -> None:
        self._change()
        self._db.executemany(
            "INSERT OR REPLACE INTO omap VALUES (?, ?, ?, ?, ?, ?)",
            [(*self._key, k, v) for k, v in items.items()],
        )

    def omap_rm_keys(self, keys: Iterable[str]) -> None:
        self._need()
        self._change()
        self._db.executemany(
            "DELETE FROM omap WHERE pool=? AND ns=? AND name=? AND snap=? AND key=?",
            [(*self._key, k) for k in keys],
        )

    def omap_clear(self) -> None:
        self._need()
        self._change()
        self._db.execute("DELETE FROM omap WHERE pool=? AND ns=? AND name=? AND snap=?", self._key)

    # --- commit -------------------------------------------------------------
    def commit(self, seq: int) -> list[tuple[str, _Action]]:
        """Write this object's metadata in the open SQLite transaction.

        Data that replaces the object (or must leave its file to a clone) is
        written to a new file now; other file actions are logged (redo) and
        returned for the caller to apply after the commit. ``seq`` is this
        transaction's unique sequence number.
        """
        if not self._touched:
            return []
        post: list[tuple[str, _Action]] = []
        old_path = self._path(self._orig_gen) if self._orig_gen else None
        unlink_old = old_path is not None and not self._clone_took
        if not self._exists:
            if self._orig_exists:
                self._db.execute(
                    "DELETE FROM objects WHERE pool=? AND ns=? AND name=? AND snap=?", self._key
                )
            if unlink_old:
                assert old_path is not None
                post.append((old_path, _UNLINK))
            if self._ss_row:
                self._drop_snapset_if_unused()
            return post
        gen = self._orig_gen
        layered = bool(self._under) and not self._flat
        under, own = (self._under, self._own) if layered else (0, 0)
        if self._fresh or (gen == 0 and self._actions):
            if layered:
                gen, own = self._write_layered_generation(seq)
            else:
                gen = self._write_new_generation(seq)
            if unlink_old:
                assert old_path is not None
                post.append((old_path, _UNLINK))
        elif self._actions:
            assert old_path is not None
            if layered:
                own = self._copy_up(old_path)
            post.extend((old_path, a) for a in self._actions)
        if under and owns_all(own, self._size):
            under = own = 0  # every chunk is its own now: a plain head
        self._db.execute(
            "INSERT OR REPLACE INTO objects VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (*self._key, self._size, time.time(), seq, gen, under,
             encode_mask(own) if under else None),
        )
        return post

    def _writes(self) -> list[tuple[int, int]]:
        """The (offset, length) of this transaction's actions on a layered head: writes
        only (anything else flattened it)."""
        assert all(a[0] == "w" for a in self._actions)
        return [(off, length) for _k, off, length, _d in self._actions]

    def _copy_up(self, path: str) -> int:
        """Copy from the file under the head into ``path`` (its own file, or its new
        one) the chunks this transaction's writes touch but do not cover and the head
        does not own; return the mask owned once the writes are applied.

        Done before the commit: until the row says a chunk is owned, its bytes in the
        own file are never read, so a transaction that fails leaves nothing visible.
        """
        writes = self._writes()
        fds = self._io.store.fds
        with fds.open(path) as fd, fds.open(self._path(self._under)) as src:
            for off, length in copy_ups(writes, self._own, os.fstat(src).st_size):
                copy_sparse(src, fd, length, off)
        fds.mark_dirty(path)
        return self._own | touched_mask(writes)

    def _write_layered_generation(self, seq: int) -> tuple[int, int]:
        """The new file of a head just laid over its clone: only the chunks written
        (copied up where written in part), sized as the head; (gen, owned mask)."""
        assert self._base_gen == 0 and self._own == 0
        path = self._path(seq)
        fds = self._io.store.fds
        with fds.open(path, create=True, truncate=True):
            pass
        own = self._copy_up(path)
        for action in self._actions:
            _apply_action(fds, path, action)
        _apply_action(fds, path, ("t", self._size, 0, None))
        self._io.store.note_new_file(path)
        return seq, own

    def _drop_snapset_if_unused(self) -> None:
        """The head is gone: forget the snapset unless a clone remains."""
        pool, ns, name, _ = self._key
        if not self._db.execute(
            "SELECT 1 FROM objects WHERE pool=? AND ns=? AND name=? AND snap>0 LIMIT 1",
            (pool, ns, name),
        ).fetchone():
            self._db.execute(
                "DELETE FROM snapsets WHERE pool=? AND ns=? AND name=?", (pool, ns, name)
            )

    def _write_new_generation(self, seq: int) -> int:
        if self._size == 0 and not self._actions:
            return 0
        path = self._path(seq)
        fds = self._io.store.fds
        with fds.open(path, create=True, truncate=True) as fd:
            if self._under:  # a layered head made whole: each chunk from where it lies
                for lo, hi, owned in runs(self._own, 0, self._base_size):
                    src_gen = self._base_gen if owned else self._under
                    if src_gen:
                        with contextlib.suppress(FileNotFoundError), \
                                fds.open(self._path(src_gen)) as src:
                            copy_sparse(src, fd, hi - lo, lo)
            elif self._base_gen and self._base_size:
                try:
                    with fds.open(self._path(self._base_gen)) as src:
                        copy_sparse(src, fd, self._base_size)
                except FileNotFoundError:
                    pass
        for action in self._actions:
            _apply_action(fds, path, action)
        _apply_action(fds, path, ("t", self._size, 0, None))
        self._io.store.note_new_file(path)
        return seq


def _head_overlap(head: tuple[int, int, bytes | None], clone_gen: int, clone_size: int
                  ) -> tuple[tuple[int, int], ...] | None:
    """The ``overlap`` of a clone with the head (``(size, base, own)`` of its row): the
    chunks a head layered over this clone's file does not own are the clone's bytes
    (up to the smaller size); None when the head is not layered over this clone."""
    size, base, own = head
    if not base or base != clone_gen:
        return None
    mask = decode_mask(own)
    return tuple((lo, hi - lo) for lo, hi, owned in runs(mask, 0, min(size, clone_size))
                 if not owned)


def _clone_at(
    db: sqlite3.Connection, pool: int, ns: str, name: str, snap_id: int
) -> tuple[int, int, float, int, int] | None:
    """(clone id, size, mtime, version, gen) of the clone readers at ``snap_id``
    see, if any.

    That is the oldest clone with id >= ``snap_id``, if it covers ``snap_id``
    (RADOS ``find_object_context``); the caller has checked that ``snap_id`` is
    not newer than the snapset seq (then the head answers).
    """
    row = db.execute(
        "SELECT snap, size, mtime, version, gen FROM objects"
        " WHERE pool=? AND ns=? AND name=? AND snap>=? ORDER BY snap LIMIT 1",
        (pool, ns, name, snap_id),
    ).fetchone()
    if row is None or not db.execute(
        "SELECT 1 FROM clone_snaps WHERE pool=? AND snap=? AND ns=? AND name=? AND clone=?",
        (pool, snap_id, ns, name, row[0]),
    ).fetchone():
        return None
    return int(row[0]), int(row[1]), float(row[2]), int(row[3]), int(row[4])


class LocalIoCtx(EmbeddedIoCtx["LocalStore"]):
    """An IoCtx of :class:`LocalStore`."""

    def data_path(self, oid: str, gen: int, namespace: str | None = None) -> str:
        pg = pg_of(oid, self._pool.pg_num)
        d = self.store.locks.pg_dir_str(self._pool.id, pg)
        ns = self._namespace if namespace is None else namespace
        return f"{d}/{file_digest(ns, oid)}.{gen:x}"

    def _context(self, db: sqlite3.Connection, oid: str, mutate: bool) -> _LocalContext:
        """The view of ``oid`` this handle reads (its head, or what its read snap sees)."""
        ns, pool = self._namespace, self._pool.id
        snap = self._read_snap
        if snap != SNAP_HEAD and snap <= self._snapset_seq(db, oid):
            clone = _clone_at(db, pool, ns, oid, snap)
            if clone is None:
                return _LocalContext(self, db, oid, mutate, snap, _ABSENT)
            clone_id, size, mtime, version, gen = clone
            return _LocalContext(
                self, db, oid, mutate, clone_id, (size, mtime, version, gen, None, None, None)
            )
        row = db.execute(_HEAD_SQL if mutate else _HEAD_READ_SQL, (ns, oid, pool)).fetchone()
        if row is None:
            raise self._pool_gone()
        return _LocalContext(self, db, oid, mutate, SNAP_HEAD, row[1:], self._snapc)

    def _pool_gone(self) -> errors.PoolNotFound:
        """The error for this handle's pool having been deleted."""
        return errors.PoolNotFound(f"pool {self.pool_name!r} does not exist")

    def _snapset_seq(self, db: sqlite3.Connection, oid: str) -> int:
        """The snapset seq of ``oid`` in this handle's namespace (0: no snapset).

        Raises PoolNotFound when the pool was deleted."""
        row = db.execute(_SNAPSET_SEQ_SQL, (self._namespace, oid, self._pool.id)).fetchone()
        if row is None:
            raise self._pool_gone()
        return int(row[1] or 0)

    def _transact(self, oid: str, mutate: bool, fn: Callable[[ObjectContext], T]) -> T:
        pg = pg_of(oid, self._pool.pg_num)
        locks = self.store.locks
        if mutate:
            self._check_head_write(oid)
            with locks.hold(self._pool.id, pg, exclusive=True) as lock_fd:
                if PgLocks.is_dirty(lock_fd):
                    self.store.replay(self._pool.id, pg, lock_fd)
                return self._write(oid, pg, lock_fd, fn)
        while True:
            with locks.hold(self._pool.id, pg, exclusive=False) as lock_fd:
                if not PgLocks.is_dirty(lock_fd):
                    db = self.store.db()
                    if self._read_snap != SNAP_HEAD:
                        return fn(self._context(db, oid, False))
                    row = db.execute(
                        _HEAD_READ_SQL, (self._namespace, oid, self._pool.id)
                    ).fetchone()
                    if row is None:
                        raise self._pool_gone()
                    return fn(_LocalContext(self, db, oid, False, SNAP_HEAD, row[1:]))
            with locks.hold(self._pool.id, pg, exclusive=True) as lock_fd:
                if PgLocks.is_dirty(lock_fd):
                    self.store.replay(self._pool.id, pg, lock_fd)

    def _write(self, oid: str, pg: int, lock_fd: int, fn: Callable[[ObjectContext], T]) -> T:
        store = self.store
        db = store.db()
        db.execute("BEGIN IMMEDIATE")
        post: list[tuple[str, _Action]] = []
        try:
            ctx = self._context(db, oid, True)
            result = fn(ctx)
            seq = db.execute("UPDATE meta SET v = v + 1 WHERE k = 'seq' RETURNING v").fetchone()[0]
            store.clear_applied_redo(db, self._pool.id, pg)
            post = ctx.commit(seq)
            if post:
                db.executemany(
                    _REDO_INSERT_SQL, [(self._pool.id, pg, store.rel(p), *a) for p, a in post]
                )
                PgLocks.set_dirty(lock_fd, True)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        if post:
            _apply_actions(store.fds, post)
            PgLocks.set_dirty(lock_fd, False)
            store.note_redo(self._pool.id, pg)
        return result

    # --- self-managed snapshots ---------------------------------------------
    def create_self_managed_snap(self) -> int:
        db = self.store.db()
        db.execute("BEGIN IMMEDIATE")
        try:
            rows = db.execute(
                "UPDATE pools SET snap_seq = snap_seq + 1 WHERE id = ? RETURNING snap_seq",
                (self._pool.id,),
            ).fetchall()
            if not rows:
                raise self._pool_gone()
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return int(rows[0][0])

    def remove_self_managed_snap(self, snap_id: int) -> None:
        """Mark ``snap_id`` removed and trim it from every clone, in one transaction.

        Holds the exclusive locks of every PG with a clone to trim (taken in PG
        order, before the SQLite write lock, like every writer). If a clone
        appeared in another PG between looking and locking, start over with the
        larger set.
        """
        check_snap_id(snap_id)
        store, pool = self.store, self._pool.id
        pgs: set[int] = set()
        while True:
            with contextlib.ExitStack() as stack:
                lock_fds: dict[int, int] = {}
                for pg in sorted(pgs):
                    fd = stack.enter_context(store.locks.hold(pool, pg, exclusive=True))
                    if PgLocks.is_dirty(fd):
                        store.replay(pool, pg, fd)
                    lock_fds[pg] = fd
                missing = self._trim(snap_id, lock_fds)
                if not missing:
                    return
            pgs |= missing

    def _trim(self, snap_id: int, lock_fds: dict[int, int]) -> set[int]:
        """Trim with the PGs of ``lock_fds`` held; returns the PGs that would be
        needed too (nothing done) or an empty set (done)."""
        store, pool, pg_num = self.store, self._pool.id, self._pool.pg_num
        db = store.db()
        db.execute("BEGIN IMMEDIATE")
        post: list[tuple[int, str]] = []  # (pg, data file to unlink)
        try:
            row = db.execute("SELECT snap_seq FROM pools WHERE id = ?", (pool,)).fetchone()
            if row is None:
                raise self._pool_gone()
            if snap_id > row[0]:
                raise errors.InvalidArgument(
                    f"snap id {snap_id} was never allocated in pool {self.pool_name!r}"
                )
            victims = db.execute(
                "SELECT ns, name, clone FROM clone_snaps WHERE pool = ? AND snap = ?",
                (pool, snap_id),
            ).fetchall()
            missing = {pg_of(name, pg_num) for _, name, _ in victims} - set(lock_fds)
            if missing:
                db.execute("ROLLBACK")
                return missing
            db.execute("INSERT OR IGNORE INTO removed_snaps VALUES (?, ?)", (pool, snap_id))
            for pg in lock_fds:
                store.clear_applied_redo(db, pool, pg)
            db.execute("DELETE FROM clone_snaps WHERE pool = ? AND snap = ?", (pool, snap_id))
            for ns, name, clone in victims:
                path = self._drop_clone_if_unused(db, ns, name, clone)
                if path is not None:
                    post.append((pg_of(name, pg_num), path))
            if post:
                db.executemany(
                    _REDO_INSERT_SQL, [(pool, pg, store.rel(path), *_UNLINK) for pg, path in post]
                )
                for pg in {pg for pg, _ in post}:
                    PgLocks.set_dirty(lock_fds[pg], True)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        for _, path in post:
            _apply_action(store.fds, path, _UNLINK)
        for pg in {pg for pg, _ in post}:
            PgLocks.set_dirty(lock_fds[pg], False)
            store.note_redo(pool, pg)
        return set()

    def _drop_clone_if_unused(
        self, db: sqlite3.Connection, ns: str, name: str, clone: int
    ) -> str | None:
        """Delete a clone that covers no snap any more (and the snapset if nothing
        is left); returns its data file to unlink, if any."""
        pool = self._pool.id
        if db.execute(
            "SELECT 1 FROM clone_snaps WHERE pool=? AND ns=? AND name=? AND clone=? LIMIT 1",
            (pool, ns, name, clone),
        ).fetchone():
            return None
        key = (pool, ns, name, clone)
        row = db.execute(
            "SELECT gen FROM objects WHERE pool=? AND ns=? AND name=? AND snap=?", key
        ).fetchone()
        if row is not None and row[0]:
            self._unlayer_head(db, ns, name, int(row[0]))
        for table in ("objects", "xattrs", "omap"):
            db.execute(f"DELETE FROM {table} WHERE pool=? AND ns=? AND name=? AND snap=?", key)
        if not db.execute(
            "SELECT 1 FROM objects WHERE pool=? AND ns=? AND name=? LIMIT 1", (pool, ns, name)
        ).fetchone():
            db.execute("DELETE FROM snapsets WHERE pool=? AND ns=? AND name=?", (pool, ns, name))
        if row is None or not row[0]:
            return None
        return self.data_path(name, int(row[0]), ns)

    def _unlayer_head(self, db: sqlite3.Connection, ns: str, name: str, gen: int) -> None:
        """Before the clone file of generation ``gen`` goes: a head laid over it gets the
        chunks it does not own copied in and becomes a plain head (same transaction)."""
        head_key = (self._pool.id, ns, name, SNAP_HEAD)
        head = db.execute(
            "SELECT gen, size, own FROM objects WHERE pool=? AND ns=? AND name=? AND snap=?"
            " AND base=?", (*head_key, gen)
        ).fetchone()
        if head is None:
            return
        _fill_layers(self.store.fds, self.data_path(name, int(head[0]), ns),
                     self.data_path(name, gen, ns), decode_mask(head[2]), int(head[1]))
        db.execute("UPDATE objects SET base = 0, own = NULL WHERE pool=? AND ns=? AND name=?"
                   " AND snap=?", head_key)

    def rollback_self_managed_snap(self, oid: str, snap_id: int) -> None:
        self._check_rollback(oid, snap_id)

        def rollback(ctx: ObjectContext) -> None:
            assert isinstance(ctx, _LocalContext)
            ctx.rollback_to(snap_id)

        self._transact(oid, True, rollback)

    def list_snaps(self, oid: str) -> SnapSet:
        check_name(oid)
        db = self.store.db()
        ns, pool = self._namespace, self._pool.id
        db.execute("BEGIN")  # one consistent read of the metadata
        try:
            seq = self._snapset_seq(db, oid)
            rows = db.execute(
                "SELECT snap, size, gen, base, own FROM objects"
                " WHERE pool=? AND ns=? AND name=? ORDER BY snap",
                (pool, ns, oid),
            ).fetchall()
            covered: dict[int, list[int]] = {}
            for clone, snap in db.execute(
                "SELECT clone, snap FROM clone_snaps WHERE pool=? AND ns=? AND name=?"
                " ORDER BY clone, snap",
                (pool, ns, oid),
            ):
                covered.setdefault(clone, []).append(snap)
        finally:
            db.execute("ROLLBACK")
        if not rows:
            raise object_not_found(oid)
        head = [(size, base, own) for snap, size, _gen, base, own in rows if snap == SNAP_HEAD]
        clones = tuple(
            CloneInfo(snap, tuple(covered.get(snap, ())), size,
                      _head_overlap(head[0], gen, size) if head else None)
            for snap, size, gen, _base, _own in rows
            if snap != SNAP_HEAD
        )
        return SnapSet(seq, clones, bool(head), head[0][0] if head else 0)

    def list_objects(
        self, prefix: str = "", cursor: str | None = None, max_entries: int = 1000
    ) -> ObjectPage:
        check_list_entries(max_entries)
        db = self.store.db()
        self.store.get_pool(self._pool.id)
        rows = db.execute(
            "SELECT name FROM objects WHERE pool=? AND ns=? AND name >= ? AND name > ?"
            f" AND snap = {SNAP_HEAD} ORDER BY name LIMIT ?",
            (self._pool.id, self._namespace, prefix, cursor or "", max_entries + 1),
        ).fetchall()
        names: list[str] = []
        for (name,) in rows:
            if not name.startswith(prefix):
                return ObjectPage(names, None)
            names.append(name)
        if len(names) > max_entries:
            names = names[:max_entries]
            return ObjectPage(names, names[-1])
        return ObjectPage(names, None)

    def flush(self) -> None:
        self.store.flush()


class LocalStore(ObjectStore):
    """The embedded, on-disk object store rooted at ``root`` (see module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._root_prefix = str(self.root) + os.sep
        (self.root / "pgs").mkdir(parents=True, exist_ok=True)
        self._db_path = self.root / "store.db"
        self._tls = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()
        self._redo_pgs: set[tuple[int, int]] = set()
        self._new_dirs: set[str] = set()
        self._state_lock = threading.Lock()
        self.locks = PgLocks(self.root / "pgs")
        self.fds = FdCache()
        self._init_schema()
        self._remove_dead_pool_dirs()

    # --- plumbing used by LocalIoCtx ----------------------------------------
    def db(self) -> sqlite3.Connection:
        """This thread's SQLite connection (autocommit mode; BEGIN explicitly)."""
        conn: sqlite3.Connection | None = getattr(self._tls, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self._db_path, timeout=60.0, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=OFF")
            self._tls.conn = conn
            with self._conns_lock:
                self._conns.append(conn)
        return conn

    def _init_schema(self) -> None:
        db = self.db()
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("BEGIN IMMEDIATE")
        try:
            for stmt in _SCHEMA.split(";"):
                if stmt.strip():
                    db.execute(stmt)
            version = db.execute("SELECT v FROM meta WHERE k = 'schema'").fetchone()[0]
            if version == 2:  # layered heads: two columns, NULL/0 meaning "plain head"
                db.execute("ALTER TABLE objects ADD COLUMN base INTEGER NOT NULL DEFAULT 0")
                db.execute("ALTER TABLE objects ADD COLUMN own BLOB")
                db.execute("UPDATE meta SET v = ? WHERE k = 'schema'", (_SCHEMA_VERSION,))
                version = _SCHEMA_VERSION
            if version != _SCHEMA_VERSION:
                raise errors.Unavailable(
                    f"{self._db_path} has store schema {version}; this shoal reads"
                    f" schema {_SCHEMA_VERSION} only"
                )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _remove_dead_pool_dirs(self) -> None:
        live = {str(p.id) for p in self.list_pools()}
        next_id = self._meta("next_pool_id")
        for d in (self.root / "pgs").iterdir():
            if d.name.isdigit() and d.name not in live and int(d.name) < next_id:
                shutil.rmtree(d, ignore_errors=True)

    def _meta(self, key: str) -> int:
        row = self.db().execute("SELECT v FROM meta WHERE k = ?", (key,)).fetchone()
        return int(row[0])

    def rel(self, path: str) -> str:
        """``path`` (under root) relative to root."""
        assert path.startswith(self._root_prefix)
        return path[len(self._root_prefix) :]

    def note_new_file(self, path: str) -> None:
        with self._state_lock:
            self._new_dirs.add(os.path.dirname(path))

    def note_redo(self, pool: int, pg: int) -> None:
        with self._state_lock:
            self._redo_pgs.add((pool, pg))

    def clear_applied_redo(self, db: sqlite3.Connection, pool: int, pg: int) -> None:
        """Drop redo rows of a clean PG that this process left (caller holds the PG lock)."""
        with self._state_lock:
            if (pool, pg) not in self._redo_pgs:
                return
            self._redo_pgs.discard((pool, pg))
        db.execute("DELETE FROM redo WHERE pool = ? AND pg = ?", (pool, pg))

    def replay(self, pool: int, pg: int, lock_fd: int) -> None:
        """Re-apply the PG's redo log after a writer died (caller holds it exclusively)."""
        db = self.db()
        rows = db.execute(
            "SELECT path, kind, off, len, data FROM redo WHERE pool = ? AND pg = ? ORDER BY seq",
            (pool, pg),
        ).fetchall()
        for rel, kind, off, length, data in rows:
            action: _Action = (kind, off, length, bytes(data) if data is not None else None)
            _apply_action(self.fds, str(self.root / rel), action)
        self.fds.sync_all()
        PgLocks.set_dirty(lock_fd, False)
        db.execute("DELETE FROM redo WHERE pool = ? AND pg = ?", (pool, pg))

    # --- pools ----------------------------------------------------------------
    @staticmethod
    def _pool_from_row(row: tuple[int, str, int, float, str]) -> PoolInfo:
        return PoolInfo(row[0], row[1], row[2], row[3], json.loads(row[4]))

    def create_pool(self, name: str, pg_num: int = limits.pg_num_default) -> PoolInfo:
        check_pool_name(name)
        check_pg_num(pg_num)
        db = self.db()
        db.execute("BEGIN IMMEDIATE")
        try:
            if db.execute("SELECT 1 FROM pools WHERE name = ?", (name,)).fetchone():
                raise errors.PoolExists(f"pool '{name}' already exists")
            if db.execute("SELECT COUNT(*) FROM pools").fetchone()[0] >= limits.pools_max:
                raise errors.NoSpace(f"at most {limits.pools_max} pools")
            pool_id = db.execute(
                "UPDATE meta SET v = v + 1 WHERE k = 'next_pool_id' RETURNING v - 1"
            ).fetchone()[0]
            now = time.time()
            db.execute(
                "INSERT INTO pools(id, name, pg_num, created) VALUES (?, ?, ?, ?)",
                (pool_id, name, pg_num, now),
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return PoolInfo(pool_id, name, pg_num, now, {})

    def delete_pool(self, name: str) -> None:
        db = self.db()
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute("SELECT id FROM pools WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise errors.PoolNotFound(f"pool '{name}' does not exist")
            pool_id = row[0]
            for table in (
                "objects", "xattrs", "omap", "snapsets", "clone_snaps", "removed_snaps", "redo"
            ):
                db.execute(f"DELETE FROM {table} WHERE pool = ?", (pool_id,))
            db.execute("DELETE FROM pools WHERE id = ?", (pool_id,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self.locks.forget_pool(pool_id)
        shutil.rmtree(self.root / "pgs" / str(pool_id), ignore_errors=True)

    def list_pools(self) -> list[PoolInfo]:
        rows = self.db().execute("SELECT id, name, pg_num, created, apps FROM pools ORDER BY id")
        return [self._pool_from_row(r) for r in rows]

    def get_pool(self, name_or_id: str | int) -> PoolInfo:
        col = "id" if isinstance(name_or_id, int) else "name"
        row = self.db().execute(
            f"SELECT id, name, pg_num, created, apps FROM pools WHERE {col} = ?", (name_or_id,)
        ).fetchone()
        if row is None:
            raise errors.PoolNotFound(f"pool {name_or_id!r} does not exist")
        return self._pool_from_row(row)

    def set_pool_application(
        self, name: str, app: str, enabled: bool = True, key: str | None = None, value: str = ""
    ) -> PoolInfo:
        if not app:
            raise errors.InvalidArgument("application name must not be empty")
        db = self.db()
        db.execute("BEGIN IMMEDIATE")
        try:
            pool = self.get_pool(name)
            apps = {a: dict(m) for a, m in pool.applications.items()}
            if key is None and enabled:
                apps.setdefault(app, {})
            elif key is None:
                apps.pop(app, None)
            elif app not in apps:
                raise errors.NotFound(f"application {app!r} is not enabled on pool {name!r}")
            elif enabled:
                apps[app][key] = value
            else:
                apps[app].pop(key, None)
            db.execute("UPDATE pools SET apps = ? WHERE id = ?", (json.dumps(apps), pool.id))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return PoolInfo(pool.id, pool.name, pool.pg_num, pool.created, apps)

    def pool_stats(self, name: str) -> PoolStats:
        pool = self.get_pool(name)
        row = self.db().execute(
            "SELECT COALESCE(SUM(size), 0), COUNT(*) FROM objects"
            f" WHERE pool = ? AND snap = {SNAP_HEAD}",
            (pool.id,),
        ).fetchone()
        return PoolStats(int(row[0]), int(row[1]))

    def open_ioctx(self, pool: str | int) -> LocalIoCtx:
        return LocalIoCtx(self, self.get_pool(pool))

    # --- durability -----------------------------------------------------------
    def flush(self) -> None:
        self.fds.sync_all()
        with self._state_lock:
            dirs, self._new_dirs = self._new_dirs, set()
        for d in dirs:
            try:
                fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
            except FileNotFoundError:
                continue
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        wal = f"{self._db_path}-wal"
        try:
            fd = os.open(wal, os.O_RDONLY)
        except FileNotFoundError:
            return
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def scrub(self) -> int:
        """Remove data files no object refers to (left by a writer killed mid-way).

        Takes each PG's lock exclusively while it looks. Returns the count removed.
        """
        removed = 0
        db = self.db()
        for pool in self.list_pools():
            io = self.open_ioctx(pool.id)
            pool_dir = self.root / "pgs" / str(pool.id)
            if not pool_dir.is_dir():
                continue
            for pg_dir in pool_dir.iterdir():
                pg = int(pg_dir.name, 16)
                with self.locks.hold(pool.id, pg, exclusive=True) as lock_fd:
                    if PgLocks.is_dirty(lock_fd):
                        self.replay(pool.id, pg, lock_fd)
                    removed += self._scrub_pg(db, io, pg, pg_dir)
        return removed

    def _scrub_pg(self, db: sqlite3.Connection, io: LocalIoCtx, pg: int, pg_dir: Path) -> int:
        """Remove the PG's files that no head or clone row refers to."""
        wanted: set[str] = set()
        rows = db.execute(
            "SELECT ns, name, gen FROM objects WHERE pool = ? AND gen != 0", (io.pool_id,)
        )
        for ns, name, gen in rows:
            if pg_of(name, io._pool.pg_num) == pg:
                wanted.add(f"{file_digest(ns, name)}.{gen:x}")
        removed = 0
        for f in pg_dir.iterdir():
            if f.name != "lock" and f.name not in wanted:
                self.fds.drop(str(f))
                f.unlink(missing_ok=True)
                removed += 1
        return removed

    def close(self) -> None:
        self.fds.close()
        self.locks.close()
        with self._conns_lock:
            for conn in self._conns:
                conn.close()
            self._conns.clear()
        self._tls = threading.local()
