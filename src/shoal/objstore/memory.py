"""An in-memory :class:`~shoal.objstore.ObjectStore`, for fast unit tests.

Nothing is persisted: the data lives as long as the store object. Semantics are
those of the interface (see :mod:`shoal.objstore._base`), following librados:

- One lock serialises every pool operation and every object transaction, so
  each ``IoCtx`` call (and each ``operate``/``execute``) is atomic and
  isolated. Class methods run under that lock: they must not call back into
  the store.
- A transaction works on a copy-on-write view of the object (data, xattrs and
  omap are copied separately, on first change) and is committed only if its
  function returns; an exception leaves the object exactly as it was.
- A read-only transaction (``mutate`` False: reads, RD class methods) on a
  missing object fails with ObjectNotFound before anything runs, as the OSD
  answers ENOENT to a read op on a missing object.
- A committed transaction that changed anything (including a no-op ``zero``
  inside an existing object or a non-exclusive ``create`` of an existing one,
  which Ceph also logs as modifications) gives the object the next value of a
  store-wide counter as its version and ``time.time()`` as its mtime. Versions
  therefore strictly grow and are never reused, even after remove + recreate.
- Inside a transaction ``stat().version`` is the version the object had when
  the transaction started (0 for an object created by it), as in Ceph where the
  new version is assigned when the op completes.
- Pools get ids 1, 2, ... never reused. Deleting a pool drops its objects; a
  handle opened on it raises PoolNotFound from then on, even if a pool of the
  same name is created again (handles are bound to the pool id).
- After :meth:`MemoryStore.close` every call raises Unavailable.

Self-managed snapshots (RADOS semantics, see :class:`~shoal.objstore.IoCtx`):

- Each pool counts its snap ids (1, 2, ...) and remembers the removed ones.
- Each object with snapshot history has a snapset: ``seq`` and its clones, each
  an immutable committed :class:`_Object` plus the snap ids it covers. Making a
  clone costs nothing: committed objects are never changed, so the clone simply
  keeps the head object the transaction started from.
- A committed, dirty transaction whose snap context ``seq`` is newer than the
  snapset's first preserves the old head as clone ``snapc.seq`` (covering the
  context's snaps newer than the old ``seq`` that were not removed), then sets
  the snapset ``seq`` and commits the new head.
- Removing a snap trims it from every clone of the pool at once, dropping clones
  left covering nothing, and snapsets left with neither head nor clone.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TypeVar

from shoal import errors, limits
from shoal.objstore._base import (
    EmbeddedIoCtx,
    IoCtx,
    ObjectStore,
    check_pg_num,
    check_pool_name,
)
from shoal.objstore._ops import (
    ObjectContext,
    check_extent,
    check_list_entries,
    check_name,
    check_omap_items,
    check_range,
    check_xattr,
    object_not_found,
)
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

__all__ = ["MemoryStore"]

T = TypeVar("T")

#: Objects are keyed by (namespace, name) inside a pool.
_Key = tuple[str, str]


@dataclass
class _Object:
    """The committed state of one object (never mutated once committed)."""

    data: bytearray = field(default_factory=bytearray)
    xattrs: dict[str, bytes] = field(default_factory=dict)
    omap: dict[str, bytes] = field(default_factory=dict)
    version: int = 0
    mtime: float = 0.0


@dataclass
class _Clone:
    """A preserved state of an object: the committed head it was, and the
    snap ids it answers for (ascending, never empty)."""

    obj: _Object
    snaps: list[int]


@dataclass
class _SnapSet:
    """Snapshot state of one object; exists while the head or a clone does."""

    seq: int = 0
    clones: dict[int, _Clone] = field(default_factory=dict)  # by clone id


@dataclass
class _Pool:
    id: int
    name: str
    pg_num: int
    created: float
    applications: dict[str, dict[str, str]] = field(default_factory=dict)
    objects: dict[_Key, _Object] = field(default_factory=dict)  # heads
    snapsets: dict[_Key, _SnapSet] = field(default_factory=dict)
    snap_seq: int = 0  # last allocated snap id
    removed_snaps: set[int] = field(default_factory=set)

    def info(self) -> PoolInfo:
        """A snapshot (the caller may keep it; later changes do not show)."""
        apps = {app: dict(meta) for app, meta in self.applications.items()}
        return PoolInfo(self.id, self.name, self.pg_num, self.created, apps)


class _MemoryContext(ObjectContext):
    """A copy-on-write view of one object for one transaction.

    ``result`` is the state to commit (None: the object is absent) and
    ``dirty`` tells whether anything was changed. The committed object passed
    in is never modified: the first change shallow-copies it, and each of
    data, xattrs and omap is copied before its own first change.
    """

    def __init__(self, oid: str, committed: _Object | None, writable: bool) -> None:
        self.oid = oid
        self._writable = writable
        self._obj = committed
        self._shared = committed is not None  # self._obj is the committed object
        self._owned: set[str] = set()  # components already copied
        self.dirty = False

    @property
    def result(self) -> _Object | None:
        return self._obj

    # --- copy-on-write plumbing ----------------------------------------------
    def _begin_change(self) -> None:
        if not self._writable:
            # Ceph answers EIO when a method not flagged WR tries to write.
            raise errors.ShoalError(f"read-only access to {self.oid!r} tried to modify it")
        self.dirty = True

    def _mutable(self) -> _Object:
        """The private, changeable object (created empty if absent)."""
        self._begin_change()
        if self._obj is None:
            self._obj = _Object()
            self._owned = {"data", "xattrs", "omap"}
        elif self._shared:
            self._obj = replace(self._obj)
            self._shared = False
        return self._obj

    def _own(self, part: str) -> _Object:
        obj = self._mutable()
        if part not in self._owned:
            self._owned.add(part)
            if part == "data":
                obj.data = bytearray(obj.data)
            elif part == "xattrs":
                obj.xattrs = dict(obj.xattrs)
            else:
                obj.omap = dict(obj.omap)
        return obj

    def _existing(self) -> _Object:
        if self._obj is None:
            raise object_not_found(self.oid)
        return self._obj

    # --- state ---------------------------------------------------------------
    def exists(self) -> bool:
        return self._obj is not None

    def stat(self) -> ObjectStat:
        obj = self._existing()
        return ObjectStat(size=len(obj.data), mtime=obj.mtime, version=obj.version)

    def create(self, exclusive: bool) -> None:
        """EEXIST if ``exclusive`` and present; otherwise create or touch."""
        if exclusive and self._obj is not None:
            raise errors.AlreadyExists(f"object {self.oid!r} exists")
        self._mutable()

    def remove(self) -> None:
        self._existing()
        self._begin_change()
        self._obj = None
        self._shared = False
        self._owned = set()

    # --- data ----------------------------------------------------------------
    def read(self, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes at ``offset``; b"" at or past the end."""
        check_range(offset, length)
        obj = self._existing()
        return bytes(obj.data[offset : offset + length])

    def write(self, data: bytes, offset: int) -> None:
        """Write ``data`` at ``offset``, zero-filling any gap past the end.

        An empty write creates the object and, as in Ceph, extends it to
        ``offset`` if that lies past the end.
        """
        check_extent(offset, len(data))
        buf = self._own("data").data
        if offset > len(buf):
            buf.extend(bytes(offset - len(buf)))
        buf[offset : offset + len(data)] = data

    def write_full(self, data: bytes) -> None:
        """Replace the data (xattrs and omap stay); creates the object."""
        check_extent(0, len(data))
        obj = self._mutable()
        obj.data = bytearray(data)
        self._owned.add("data")

    def truncate(self, size: int) -> None:
        """Cut or zero-extend to ``size``; a no-op on a missing object."""
        check_extent(size, 0)
        if self._obj is None:
            return
        buf = self._own("data").data
        if size < len(buf):
            del buf[size:]
        else:
            buf.extend(bytes(size - len(buf)))

    def zero(self, offset: int, length: int) -> None:
        """Zero ``[offset, offset+length)``; no-op if absent or at/past the end.

        As the OSD does, a range reaching the end (``offset < size <= offset+length``)
        truncates the object to ``offset`` instead of writing zeros.
        """
        check_range(offset, length)
        if self._obj is None:
            return
        size = len(self._obj.data)
        if offset < size <= offset + length:
            self.truncate(offset)
            return
        end = min(offset + length, size)
        buf = self._own("data").data
        if offset < end:
            buf[offset:end] = bytes(end - offset)

    # --- xattrs --------------------------------------------------------------
    def get_xattr(self, name: str) -> bytes:
        obj = self._existing()
        try:
            return obj.xattrs[name]
        except KeyError:
            raise errors.NoData(f"object {self.oid!r} has no xattr {name!r}") from None

    def get_xattrs(self) -> dict[str, bytes]:
        return dict(self._existing().xattrs)

    def set_xattr(self, name: str, value: bytes) -> None:
        check_xattr(name, value)
        self._own("xattrs").xattrs[name] = bytes(value)

    def rm_xattr(self, name: str) -> None:
        """Removing an absent xattr succeeds (the OSD only checks the object exists)."""
        if name in self._existing().xattrs:
            del self._own("xattrs").xattrs[name]

    # --- omap ----------------------------------------------------------------
    def omap_get_vals(self, start_after: str, filter_prefix: str, max_return: int) -> OmapPage:
        """Keys > ``start_after`` with ``filter_prefix``, in order, at most ``max_return``.

        ``more`` is True only when a further matching key exists.
        """
        omap = self._existing().omap
        keys = sorted(k for k in omap if k > start_after and k.startswith(filter_prefix))
        count = max(0, min(max_return, limits.omap_entries_per_request_max))
        return OmapPage(items=[(k, omap[k]) for k in keys[:count]], more=len(keys) > count)

    def omap_get_vals_by_keys(self, keys: Iterable[str]) -> dict[str, bytes]:
        omap = self._existing().omap
        return {k: omap[k] for k in keys if k in omap}

    def omap_set(self, items: Mapping[str, bytes]) -> None:
        """Set entries; creates the object."""
        check_omap_items(items)
        self._own("omap").omap.update({k: bytes(v) for k, v in items.items()})

    def omap_rm_keys(self, keys: Iterable[str]) -> None:
        """Remove keys (absent ones are ignored). ENOENT on a missing object."""
        self._existing()
        omap = self._own("omap").omap
        for k in keys:
            omap.pop(k, None)

    def omap_clear(self) -> None:
        """Drop every entry. ENOENT on a missing object."""
        self._existing()
        self._mutable().omap = {}
        self._owned.add("omap")


class _MemoryIoCtx(EmbeddedIoCtx["MemoryStore"]):
    """A handle on one pool of a :class:`MemoryStore`, bound to the pool id."""

    def _transact(self, oid: str, mutate: bool, fn: Callable[[ObjectContext], T]) -> T:
        if mutate:
            self._check_head_write(oid)
        return self.store._transact(
            self.pool_id, (self._namespace, oid), mutate, fn, self._read_snap, self._snapc
        )

    # --- self-managed snapshots ---------------------------------------------------
    def create_self_managed_snap(self) -> int:
        return self.store._create_snap(self.pool_id)

    def remove_self_managed_snap(self, snap_id: int) -> None:
        self.store._remove_snap(self.pool_id, snap_id)

    def rollback_self_managed_snap(self, oid: str, snap_id: int) -> None:
        self._check_rollback(oid, snap_id)
        self.store._rollback(self.pool_id, (self._namespace, oid), snap_id, self._snapc)

    def list_snaps(self, oid: str) -> SnapSet:
        check_name(oid)
        return self.store._list_snaps(self.pool_id, (self._namespace, oid))

    def list_objects(
        self, prefix: str = "", cursor: str | None = None, max_entries: int = 1000
    ) -> ObjectPage:
        """Sorted names in this namespace starting with ``prefix`` and > ``cursor``.

        The returned cursor is the last name of the page, or None when no
        further name matches. ``max_entries`` must be 1..list_page_entries_max.
        """
        return self.store._list_objects(self.pool_id, self._namespace, prefix, cursor, max_entries)

    def flush(self) -> None:
        """Nothing to do: every acknowledged mutation is already visible."""


class MemoryStore(ObjectStore):
    """Pools of objects held in memory; thread-safe (one lock). See the module doc."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pools: dict[int, _Pool] = {}
        self._last_pool_id = 0
        self._last_version = 0
        self._closed = False

    # --- helpers (caller holds the lock) -------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise errors.Unavailable("the object store is closed")

    def _pool_by_id(self, pool_id: int) -> _Pool:
        self._check_open()
        try:
            return self._pools[pool_id]
        except KeyError:
            raise errors.PoolNotFound(f"pool id {pool_id} does not exist") from None

    def _pool_by_name(self, name: str) -> _Pool:
        self._check_open()
        for pool in self._pools.values():
            if pool.name == name:
                return pool
        raise errors.PoolNotFound(f"pool {name!r} does not exist")

    def _lookup(self, name_or_id: str | int) -> _Pool:
        if isinstance(name_or_id, int):
            return self._pool_by_id(name_or_id)
        return self._pool_by_name(name_or_id)

    def _commit(
        self, pool: _Pool, key: _Key, obj: _Object | None, snapc: SnapContext
    ) -> None:
        """Make ``obj`` the head (None: remove it), preserving the old head first
        as a clone if ``snapc`` asks for one."""
        _make_writeable(pool, key, snapc)
        if obj is None:
            pool.objects.pop(key, None)
            ss = pool.snapsets.get(key)
            if ss is not None and not ss.clones:
                del pool.snapsets[key]
            return
        self._last_version += 1
        obj.version = self._last_version
        obj.mtime = time.time()
        pool.objects[key] = obj

    # --- used by _MemoryIoCtx ------------------------------------------------
    def _transact(
        self,
        pool_id: int,
        key: _Key,
        mutate: bool,
        fn: Callable[[ObjectContext], T],
        read_snap: int,
        snapc: SnapContext,
    ) -> T:
        """Run ``fn`` on a view of the object; commit its changes iff it returns.

        Reads see the object as it was at ``read_snap``; mutations (only at the
        head) honour ``snapc``.
        """
        with self._lock:
            pool = self._pool_by_id(pool_id)
            if read_snap == SNAP_HEAD:
                committed = pool.objects.get(key)
            else:
                committed = _at_snap(pool, key, read_snap)
            if committed is None and not mutate:
                raise object_not_found(key[1])
            ctx = _MemoryContext(key[1], committed, writable=mutate)
            result = fn(ctx)
            if ctx.dirty:
                self._commit(pool, key, ctx.result, snapc)
            return result

    def _create_snap(self, pool_id: int) -> int:
        with self._lock:
            pool = self._pool_by_id(pool_id)
            pool.snap_seq += 1
            return pool.snap_seq

    def _remove_snap(self, pool_id: int, snap_id: int) -> None:
        """Forget ``snap_id``: trim it from every clone of the pool, now."""
        with self._lock:
            pool = self._pool_by_id(pool_id)
            if not 0 < snap_id <= pool.snap_seq:
                raise errors.InvalidArgument(
                    f"snap id {snap_id} was never allocated in pool {pool.name!r}"
                )
            if snap_id in pool.removed_snaps:
                return
            pool.removed_snaps.add(snap_id)
            for key, ss in list(pool.snapsets.items()):
                for clone_id, clone in list(ss.clones.items()):
                    if snap_id in clone.snaps:
                        clone.snaps.remove(snap_id)
                        if not clone.snaps:
                            del ss.clones[clone_id]
                if not ss.clones and key not in pool.objects:
                    del pool.snapsets[key]

    def _rollback(self, pool_id: int, key: _Key, snap_id: int, snapc: SnapContext) -> None:
        """Make the head what it was at ``snap_id`` (a write under ``snapc``)."""
        with self._lock:
            pool = self._pool_by_id(pool_id)
            head = pool.objects.get(key)
            ss = pool.snapsets.get(key)
            if snap_id > (ss.seq if ss is not None else 0):
                # Unchanged since the snap: only the write itself happens.
                if head is not None:
                    self._commit(pool, key, replace(head), snapc)
                return
            target = _at_snap(pool, key, snap_id)
            if target is None:
                if head is not None:
                    self._commit(pool, key, None, snapc)
                return
            # ``target`` is committed (never changed); the new head shares its
            # parts until a later transaction copies them on change.
            self._commit(pool, key, replace(target), snapc)

    def _list_snaps(self, pool_id: int, key: _Key) -> SnapSet:
        with self._lock:
            pool = self._pool_by_id(pool_id)
            head = pool.objects.get(key)
            ss = pool.snapsets.get(key)
            if head is None and (ss is None or not ss.clones):
                raise object_not_found(key[1])
            clones: tuple[CloneInfo, ...] = ()
            if ss is not None:
                clones = tuple(
                    CloneInfo(cid, tuple(ss.clones[cid].snaps), len(ss.clones[cid].obj.data))
                    for cid in sorted(ss.clones)
                )
            return SnapSet(
                ss.seq if ss is not None else 0,
                clones,
                head is not None,
                len(head.data) if head is not None else 0,
            )

    def _list_objects(
        self, pool_id: int, namespace: str, prefix: str, cursor: str | None, max_entries: int
    ) -> ObjectPage:
        check_list_entries(max_entries)
        with self._lock:
            pool = self._pool_by_id(pool_id)
            names = sorted(
                name
                for ns, name in pool.objects
                if ns == namespace and name.startswith(prefix) and (cursor is None or name > cursor)
            )
        page = names[:max_entries]
        return ObjectPage(page, page[-1] if len(names) > max_entries else None)

    # --- pools ---------------------------------------------------------------
    def create_pool(self, name: str, pg_num: int = limits.pg_num_default) -> PoolInfo:
        """Create an empty pool with the next id.

        Raises InvalidArgument (bad name or pg_num), PoolExists, and OutOfRange
        when ``limits.pools_max`` pools exist (Ceph answers ERANGE when a pool
        would exceed its PG limits).
        """
        check_pool_name(name)
        check_pg_num(pg_num)
        with self._lock:
            self._check_open()
            if any(p.name == name for p in self._pools.values()):
                raise errors.PoolExists(f"pool {name!r} already exists")
            if len(self._pools) >= limits.pools_max:
                raise errors.OutOfRange(f"at most {limits.pools_max} pools")
            self._last_pool_id += 1
            pool = _Pool(self._last_pool_id, name, pg_num, time.time())
            self._pools[pool.id] = pool
            return pool.info()

    def delete_pool(self, name: str) -> None:
        """Delete the pool and its objects. Raises PoolNotFound."""
        with self._lock:
            del self._pools[self._pool_by_name(name).id]

    def list_pools(self) -> list[PoolInfo]:
        with self._lock:
            self._check_open()
            return [self._pools[i].info() for i in sorted(self._pools)]

    def get_pool(self, name_or_id: str | int) -> PoolInfo:
        """Look a pool up by name (str) or id (int). Raises PoolNotFound."""
        with self._lock:
            return self._lookup(name_or_id).info()

    def set_pool_application(
        self, name: str, app: str, enabled: bool = True, key: str | None = None, value: str = ""
    ) -> PoolInfo:
        """Maintain ``PoolInfo.applications``, like ``ceph osd pool application``.

        - ``key`` None, ``enabled``: enable ``app`` (idempotent, metadata kept).
        - ``key`` None, not ``enabled``: disable ``app`` and drop its metadata
          (no-op when not enabled).
        - ``key`` given, ``enabled``: set ``key=value``; ``enabled`` False removes
          ``key`` (no-op when absent). Both raise NotFound when ``app`` is not
          enabled (Ceph: ENOENT).

        Raises PoolNotFound, InvalidArgument (empty ``app`` or ``key``).
        """
        if not app or key == "":
            raise errors.InvalidArgument("application and key names must not be empty")
        with self._lock:
            pool = self._pool_by_name(name)
            if key is None:
                _toggle_application(pool, app, enabled)
            else:
                _set_application_key(pool, app, key, value if enabled else None)
            return pool.info()

    def pool_stats(self, name: str) -> PoolStats:
        """Sum of object sizes and object count, over every namespace."""
        with self._lock:
            objects = self._pool_by_name(name).objects.values()
            return PoolStats(sum(len(o.data) for o in objects), len(objects))

    def open_ioctx(self, pool: str | int) -> IoCtx:
        """A handle on ``pool`` (name or id), default namespace. Raises PoolNotFound."""
        with self._lock:
            info = self._lookup(pool).info()
        return _MemoryIoCtx(self, info)

    def flush(self) -> None:
        """Nothing to do: nothing is ever persisted."""

    def close(self) -> None:
        """Drop every pool; later calls raise Unavailable. Idempotent."""
        with self._lock:
            self._closed = True
            self._pools.clear()


def _at_snap(pool: _Pool, key: _Key, snap_id: int) -> _Object | None:
    """The object as readers at ``snap_id`` see it (None: it did not exist then)."""
    ss = pool.snapsets.get(key)
    if ss is None or snap_id > ss.seq:
        return pool.objects.get(key)
    for clone_id in sorted(ss.clones):
        if clone_id >= snap_id:
            clone = ss.clones[clone_id]
            return clone.obj if snap_id in clone.snaps else None
    return None


def _make_writeable(pool: _Pool, key: _Key, snapc: SnapContext) -> None:
    """Before a write under ``snapc``: preserve the head as a clone if the
    context holds snaps the object has not seen yet, and advance its ``seq``."""
    ss = pool.snapsets.get(key)
    seq = ss.seq if ss is not None else 0
    if snapc.seq <= seq:
        return
    if ss is None:
        ss = pool.snapsets[key] = _SnapSet()
    head = pool.objects.get(key)
    snaps = sorted(s for s in snapc.snaps if s > seq and s not in pool.removed_snaps)
    if head is not None and snaps:
        ss.clones[snapc.seq] = _Clone(head, snaps)
    ss.seq = snapc.seq


def _toggle_application(pool: _Pool, app: str, enabled: bool) -> None:
    if enabled:
        pool.applications.setdefault(app, {})
    else:
        pool.applications.pop(app, None)


def _set_application_key(pool: _Pool, app: str, key: str, value: str | None) -> None:
    """Set ``key`` to ``value``, or remove it when ``value`` is None."""
    meta = pool.applications.get(app)
    if meta is None:
        raise errors.NotFound(f"application {app!r} is not enabled on pool {pool.name!r}")
    if value is None:
        meta.pop(key, None)
    else:
        meta[key] = value
