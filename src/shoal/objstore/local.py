"""The embedded object store: a data directory on local disk.

Layout under ``root``::

    store.db                      SQLite (WAL): pools, object metadata, xattrs, omap, redo log
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
from shoal.objstore._base import IoCtx, ObjectStore, check_pg_num, check_pool_name
from shoal.objstore._localfs import FdCache, PgLocks, punch_hole
from shoal.objstore._ops import ObjectContext, check_extent
from shoal.objstore._placement import file_digest, pg_of
from shoal.objstore._types import ObjectPage, ObjectStat, OmapPage, PoolInfo, PoolStats

__all__ = ["LocalStore"]

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v INTEGER NOT NULL);
INSERT OR IGNORE INTO meta VALUES ('seq', 0), ('next_pool_id', 1), ('schema', 1);
CREATE TABLE IF NOT EXISTS pools(
    id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, pg_num INTEGER NOT NULL,
    created REAL NOT NULL, apps TEXT NOT NULL DEFAULT '{}');
CREATE TABLE IF NOT EXISTS objects(
    pool INTEGER NOT NULL, ns TEXT NOT NULL, name TEXT NOT NULL, size INTEGER NOT NULL,
    mtime REAL NOT NULL, version INTEGER NOT NULL, gen INTEGER NOT NULL,
    PRIMARY KEY(pool, ns, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS xattrs(
    pool INTEGER NOT NULL, ns TEXT NOT NULL, name TEXT NOT NULL, key TEXT NOT NULL,
    value BLOB NOT NULL, PRIMARY KEY(pool, ns, name, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS omap(
    pool INTEGER NOT NULL, ns TEXT NOT NULL, name TEXT NOT NULL, key TEXT NOT NULL,
    value BLOB NOT NULL, PRIMARY KEY(pool, ns, name, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS redo(
    seq INTEGER PRIMARY KEY, pool INTEGER NOT NULL, pg INTEGER NOT NULL, path TEXT NOT NULL,
    kind TEXT NOT NULL, off INTEGER NOT NULL, len INTEGER NOT NULL, data BLOB);
CREATE INDEX IF NOT EXISTS redo_pg ON redo(pool, pg);
"""

# A file action: (kind, offset, length, data). kinds: w(rite) t(runcate) z(ero) u(nlink)
_Action = tuple[str, int, int, bytes | None]


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
                os.pwrite(fd, data, off)
            elif kind == "t":
                os.ftruncate(fd, off)
            elif kind == "z":
                punch_hole(fd, off, length)
            else:
                raise AssertionError(f"unknown redo action {kind!r}")
    except FileNotFoundError:
        return
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
    """One object inside one transaction of the local store."""

    def __init__(self, io: LocalIoCtx, db: sqlite3.Connection, oid: str, mutate: bool) -> None:
        self.oid = oid
        self._io = io
        self._db = db
        self._mutate = mutate
        self._key = (io.pool_id, io.get_namespace(), oid)
        row = db.execute(
            "SELECT p.id, o.size, o.mtime, o.version, o.gen FROM pools p LEFT JOIN objects o"
            " ON o.pool = p.id AND o.ns = ? AND o.name = ? WHERE p.id = ?",
            (self._key[1], oid, io.pool_id),
        ).fetchone()
        if row is None:
            raise errors.PoolNotFound(f"pool {io.pool_name!r} does not exist")
        self._orig_exists = row[1] is not None
        self._orig_size: int = row[1] or 0
        self._orig_gen: int = row[4] or 0
        self._exists = self._orig_exists
        self._size = self._orig_size
        self._mtime: float = row[2] or 0.0
        self._version: int = row[3] or 0
        self._actions: list[_Action] = []
        self._replace = False
        self._touched = False

    # --- helpers ------------------------------------------------------------
    def _path(self, gen: int) -> str:
        return self._io.data_path(self.oid, gen)

    def _need(self) -> None:
        if not self._exists:
            raise errors.ObjectNotFound(f"object {self.oid!r} does not exist")

    def _change(self, create: bool = True) -> None:
        if not self._mutate:
            raise errors.PermissionDenied("a read-only operation tried to modify the object")
        if create and not self._exists:
            self._exists = True
            self._size = 0
        self._touched = True

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
        base_end = 0 if (self._replace or self._orig_gen == 0) else min(end, self._orig_size)
        raw = b""
        if base_end > offset:
            try:
                with self._io.store.fds.open(self._path(self._orig_gen)) as fd:
                    raw = os.pread(fd, base_end - offset, offset)
            except FileNotFoundError:
                raw = b""
        if not self._actions and len(raw) == end - offset:
            return raw
        buf = bytearray(raw)
        buf.extend(bytes(end - offset - len(buf)))
        _overlay(buf, offset, self._actions)
        return bytes(buf)

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
        self._replace = True
        self._actions = [("w", 0, len(data), data)] if data else []
        self._size = len(data)

    def truncate(self, size: int) -> None:
        check_extent(size, 0)
        if not self._exists:
            return
        self._change()
        self._actions.append(("t", size, 0, None))
        self._size = size

    def zero(self, offset: int, length: int) -> None:
        if not self._exists:
            return
        self._change()
        end = min(offset + length, self._size)
        if end > offset:
            self._actions.append(("z", offset, end - offset, None))

    def remove(self) -> None:
        self._need()
        self._change(create=False)
        self._db.execute("DELETE FROM xattrs WHERE pool=? AND ns=? AND name=?", self._key)
        self._db.execute("DELETE FROM omap WHERE pool=? AND ns=? AND name=?", self._key)
        self._exists = False
        self._replace = True
        self._actions = []
        self._size = 0

    # --- xattrs -------------------------------------------------------------
    def get_xattr(self, name: str) -> bytes:
        self._need()
        row = self._db.execute(
            "SELECT value FROM xattrs WHERE pool=? AND ns=? AND name=? AND key=?",
            (*self._key, name),
        ).fetchone()
        if row is None:
            raise errors.NoData(f"object {self.oid!r} has no xattr {name!r}")
        return bytes(row[0])

    def get_xattrs(self) -> dict[str, bytes]:
        self._need()
        rows = self._db.execute(
            "SELECT key, value FROM xattrs WHERE pool=? AND ns=? AND name=? ORDER BY key",
            self._key,
        )
        return {k: bytes(v) for k, v in rows}

    def set_xattr(self, name: str, value: bytes) -> None:
        self._change()
        self._db.execute(
            "INSERT OR REPLACE INTO xattrs VALUES (?, ?, ?, ?, ?)", (*self._key, name, value)
        )

    def rm_xattr(self, name: str) -> None:
        self._need()
        self._change()
        self._db.execute(
            "DELETE FROM xattrs WHERE pool=? AND ns=? AND name=? AND key=?", (*self._key, name)
        )

    # --- omap ---------------------------------------------------------------
    def omap_get_vals(self, start_after: str, filter_prefix: str, max_return: int) -> OmapPage:
        self._need()
        rows = self._db.execute(
            "SELECT key, value FROM omap WHERE pool=? AND ns=? AND name=? AND key > ?"
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
                "SELECT value FROM omap WHERE pool=? AND ns=? AND name=? AND key=?",
                (*self._key, k),
            ).fetchone()
            if row is not None:
                out[k] = bytes(row[0])
        return out

    def omap_set(self, items: Mapping[str, bytes]) -> None:
        self._change()
        self._db.executemany(
            "INSERT OR REPLACE INTO omap VALUES (?, ?, ?, ?, ?)",
            [(*self._key, k, v) for k, v in items.items()],
        )

    def omap_rm_keys(self, keys: Iterable[str]) -> None:
        self._need()
        self._change()
        self._db.executemany(
            "DELETE FROM omap WHERE pool=? AND ns=? AND name=? AND key=?",
            [(*self._key, k) for k in keys],
        )

    def omap_clear(self) -> None:
        self._need()
        self._change()
        self._db.execute("DELETE FROM omap WHERE pool=? AND ns=? AND name=?", self._key)

    # --- commit -------------------------------------------------------------
    def commit(self, seq: int) -> list[tuple[str, _Action]]:
        """Write this object's metadata in the open SQLite transaction.

        Data that replaces the object is written to a new file now; other file
        actions are logged (redo) and returned for the caller to apply after
        the commit. ``seq`` is this transaction's unique sequence number.
        """
        if not self._touched:
            return []
        post: list[tuple[str, _Action]] = []
        old_path = self._path(self._orig_gen) if self._orig_gen else None
        if not self._exists:
            if self._orig_exists:
                self._db.execute("DELETE FROM objects WHERE pool=? AND ns=? AND name=?", self._key)
            if old_path:
                post.append((old_path, ("u", 0, 0, None)))
            return post
        gen = self._orig_gen
        if self._replace or (gen == 0 and self._actions):
            gen = self._write_new_generation(seq)
            if old_path:
                post.append((old_path, ("u", 0, 0, None)))
        elif self._actions:
            assert old_path is not None
            post.extend((old_path, a) for a in self._actions)
        self._db.execute(
            "INSERT OR REPLACE INTO objects VALUES (?, ?, ?, ?, ?, ?, ?)",
            (*self._key, self._size, time.time(), seq, gen),
        )
        return post

    def _write_new_generation(self, seq: int) -> int:
        if self._size == 0 and not self._actions:
            return 0
        path = self._path(seq)
        fds = self._io.store.fds
        with fds.open(path, create=True, truncate=True):
            pass
        for action in self._actions:
            _apply_action(fds, path, action)
        _apply_action(fds, path, ("t", self._size, 0, None))
        self._io.store.note_new_file(path)
        return seq


class LocalIoCtx(IoCtx):
    """An IoCtx of :class:`LocalStore`."""

    def __init__(self, store: LocalStore, pool: PoolInfo) -> None:
        super().__init__(pool)
        self.store = store

    def data_path(self, oid: str, gen: int) -> str:
        pg = pg_of(oid, self._pool.pg_num)
        d = self.store.locks.pg_dir_str(self._pool.id, pg)
        return f"{d}/{file_digest(self._namespace, oid)}.{gen:x}"

    def _transact(self, oid: str, mutate: bool, fn: Callable[[ObjectContext], T]) -> T:
        pg = pg_of(oid, self._pool.pg_num)
        locks = self.store.locks
        if mutate:
            with locks.hold(self._pool.id, pg, exclusive=True) as lock_fd:
                if PgLocks.is_dirty(lock_fd):
                    self.store.replay(self._pool.id, pg, lock_fd)
                return self._write(oid, pg, lock_fd, fn)
        while True:
            with locks.hold(self._pool.id, pg, exclusive=False) as lock_fd:
                if not PgLocks.is_dirty(lock_fd):
                    return fn(_LocalContext(self, self.store.db(), oid, False))
            with locks.hold(self._pool.id, pg, exclusive=True) as lock_fd:
                if PgLocks.is_dirty(lock_fd):
                    self.store.replay(self._pool.id, pg, lock_fd)

    def _write(self, oid: str, pg: int, lock_fd: int, fn: Callable[[ObjectContext], T]) -> T:
        store = self.store
        db = store.db()
        db.execute("BEGIN IMMEDIATE")
        post: list[tuple[str, _Action]] = []
        try:
            ctx = _LocalContext(self, db, oid, True)
            result = fn(ctx)
            seq = db.execute("UPDATE meta SET v = v + 1 WHERE k = 'seq' RETURNING v").fetchone()[0]
            store.clear_applied_redo(db, self._pool.id, pg)
            post = ctx.commit(seq)
            if post:
                db.executemany(
                    "INSERT INTO redo(pool, pg, path, kind, off, len, data)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [(self._pool.id, pg, store.rel(p), *a) for p, a in post],
                )
                PgLocks.set_dirty(lock_fd, True)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        if post:
            for path, action in post:
                _apply_action(store.fds, path, action)
            PgLocks.set_dirty(lock_fd, False)
            store.note_redo(self._pool.id, pg)
        return result

    def list_objects(
        self, prefix: str = "", cursor: str | None = None, max_entries: int = 1000
    ) -> ObjectPage:
        if not 0 < max_entries <= limits.list_page_entries_max:
            raise errors.InvalidArgument(f"max_entries must be 1..{limits.list_page_entries_max}")
        db = self.store.db()
        self.store.get_pool(self._pool.id)
        rows = db.execute(
            "SELECT name FROM objects WHERE pool=? AND ns=? AND name >= ? AND name > ?"
            " ORDER BY name LIMIT ?",
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
                "INSERT INTO pools VALUES (?, ?, ?, ?, '{}')", (pool_id, name, pg_num, now)
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
            for table in ("objects", "xattrs", "omap", "redo"):
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
            "SELECT COALESCE(SUM(size), 0), COUNT(*) FROM objects WHERE pool = ?", (pool.id,)
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
