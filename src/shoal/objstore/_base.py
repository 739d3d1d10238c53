"""The object-store interface: pools of named objects with data, xattrs and omap.

Modelled on librados (``Rados``/``Ioctx``). Two embedded implementations live
beside it (:mod:`.memory`, :mod:`.local`); the Ceph adapter implements the same
interface over librados.

Semantics shared by every implementation (the contract suite checks them):

- Object names are opaque strings of 1..``limits.object_name_bytes_max`` UTF-8 bytes.
- Reading or stat-ing a missing object raises :class:`~shoal.errors.ObjectNotFound`;
  reads past the end are short (``b""`` at or past the end).
- ``write``, ``write_full``, ``append``, ``set_xattr``, ``omap_set`` create the
  object; ``truncate`` and ``zero`` never create it, ``zero`` never extends it; a
  write past the end extends the object with zeros in between.
- ``read`` with ``length == 0`` reads the whole object (as the OSD does).
- Reading a missing xattr raises :class:`~shoal.errors.NoData`; removing one succeeds.
- A read-only call (including a class method without the WR flag) on a missing
  object raises ObjectNotFound before anything runs.
- Every mutation bumps the object's version; one ``operate`` is all-or-nothing.
- Self-managed snapshots (see the section in :class:`IoCtx`): a handle reads at
  its read snap and writes with its snap context; any mutation through a handle
  reading a snap raises ReadOnly (EROFS) before touching anything;
  ``list_objects`` lists objects that have a head only; rolling back an object
  that has neither head nor clones is a no-op.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Generic, Literal, Self, TypeVar

from shoal import errors, limits
from shoal.objstore._ops import (
    MethodFlags,
    ObjectContext,
    WriteOp,
    apply_steps,
    check_extent,
    check_name,
    check_omap_items,
    check_omap_max_return,
    check_range,
    check_snap_id,
    check_step,
    check_xattr,
    lookup_method,
    object_not_found,
    utf8_len,
)
from shoal.objstore._types import (
    SNAP_HEAD,
    ObjectPage,
    ObjectStat,
    OmapPage,
    PoolInfo,
    PoolStats,
    SnapContext,
    SnapSet,
)

__all__ = ["EmbeddedIoCtx", "IoCtx", "ObjectStore", "check_pool_name"]

T = TypeVar("T")


def check_pool_name(name: str) -> None:
    """Refuse empty, over-long or control-character pool names (EINVAL)."""
    if not name or utf8_len(name, "pool name") > limits.pool_name_bytes_max:
        raise errors.InvalidArgument(
            f"pool name must be 1..{limits.pool_name_bytes_max} bytes"
        )
    if any(ord(c) < 32 for c in name) or "/" in name:
        raise errors.InvalidArgument(f"pool name {name!r} contains '/' or a control character")


class _ClosedOnExit:
    """``with x:`` gives ``x`` and calls ``x.close()`` when the block ends, however it ends."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class IoCtx(_ClosedOnExit, ABC):
    """A handle on one pool (and one namespace, default ``""``).

    All data offsets and lengths are in bytes. Thread-safe.
    """

    def __init__(self, pool: PoolInfo) -> None:
        self._pool = pool
        self._namespace = ""
        self._read_snap = SNAP_HEAD
        self._snapc = SnapContext(0, ())

    # --- identity ---------------------------------------------------------
    @property
    def pool_name(self) -> str:
        return self._pool.name

    @property
    def pool_id(self) -> int:
        return self._pool.id

    def get_pool_name(self) -> str:
        """librados ``Ioctx.get_pool_name()``."""
        return self._pool.name

    def get_pool_id(self) -> int:
        return self._pool.id

    @property
    def backend(self) -> Literal["embedded", "rados"]:
        """What serves this handle: ``"embedded"`` (shoal's own stores) or ``"rados"`` (a
        Ceph cluster through librados, :class:`~shoal.objstore.rados.RadosIoCtx`)."""
        return "embedded"

    def open_pool(self, pool: str | int) -> IoCtx:
        """A handle on another pool of the same cluster, with the same credentials.

        Raises PoolNotFound. (RBD needs it for parents in other pools.)
        """
        raise errors.NotSupported(f"{type(self).__name__} cannot open other pools")

    def list_pools(self) -> list[PoolInfo]:
        """Every pool of the cluster this handle belongs to, in id order."""
        raise errors.NotSupported(f"{type(self).__name__} cannot list pools")

    def get_namespace(self) -> str:
        return self._namespace

    def set_namespace(self, namespace: str) -> None:
        if utf8_len(namespace, "namespace") > limits.namespace_bytes_max:
            raise errors.InvalidArgument("namespace too long")
        self._namespace = namespace

    def close(self) -> None:  # an optional hook
        """Release the handle. Further calls are undefined."""

    @abstractmethod
    def dup(self) -> IoCtx:
        """A new handle on the same pool and namespace, with snap state reset."""

    # --- self-managed snapshots (librados names) ----------------------------
    #
    # RADOS semantics: a write carrying a snap context whose ``seq`` is newer
    # than the object's snapset ``seq`` first preserves the current head as a
    # clone (clone id = snapc.seq, covering the snaps in snapc newer than the
    # old snapset seq), then applies the write. A read at snap S returns the
    # head when S > snapset.seq, else the oldest clone with id >= S if that
    # clone covers S, else ObjectNotFound (the object did not exist at S).

    def set_read(self, snap_id: int) -> None:
        """Read at ``snap_id`` from now on (``SNAP_HEAD`` for the live head).

        While a snap is set, mutations through this handle raise ReadOnly (EROFS).
        """
        if snap_id != SNAP_HEAD and snap_id <= 0:
            raise errors.InvalidArgument(f"bad snap id {snap_id}")
        self._read_snap = snap_id

    def get_read(self) -> int:
        return self._read_snap

    def set_self_managed_snap_write(self, snaps: Sequence[int], seq: int | None = None) -> None:
        """Use snap context (``seq``, ``snaps``) for writes through this handle.

        ``snaps`` are the existing snap ids of whatever the objects belong to
        (an RBD image); ``seq`` defaults to the largest of them (0 if none) and
        must not be smaller than any of them.
        """
        ordered = tuple(sorted(set(snaps), reverse=True))
        seq_value = ordered[0] if seq is None and ordered else (seq or 0)
        if seq_value < 0 or (ordered and (ordered[-1] <= 0 or seq_value < ordered[0])):
            raise errors.InvalidArgument(f"bad snap context seq={seq_value} snaps={ordered}")
        self._snapc = SnapContext(seq_value, ordered)

    def get_snap_context(self) -> SnapContext:
        return self._snapc

    @abstractmethod
    def create_self_managed_snap(self) -> int:
        """Allocate a new snap id in this pool (ids grow, start at 1, never reused)."""

    @abstractmethod
    def remove_self_managed_snap(self, snap_id: int) -> None:
        """Forget ``snap_id`` in this pool: drop it from every clone, delete clones
        left covering no snap. Idempotent for a removed id; a never-allocated id
        is InvalidArgument."""

    @abstractmethod
    def rollback_self_managed_snap(self, oid: str, snap_id: int) -> None:
        """Make the head of ``oid`` what it was at ``snap_id`` (removing it if it
        did not exist then), honouring this handle's write snap context."""

    @abstractmethod
    def list_snaps(self, oid: str) -> SnapSet:
        """The object's snapset (head and clones). ObjectNotFound if it has neither."""

    # --- what an implementation provides --------------------------------
    @abstractmethod
    def _transact(self, oid: str, mutate: bool, fn: Callable[[ObjectContext], T]) -> T:
        """Run ``fn`` against a view of ``oid`` atomically; commit iff it returns.

        With ``mutate`` False the view must not be changed.
        """

    @abstractmethod
    def list_objects(
        self, prefix: str = "", cursor: str | None = None, max_entries: int = 1000
    ) -> ObjectPage:
        """Names in this namespace starting with ``prefix``, sorted, after ``cursor``."""

    @abstractmethod
    def flush(self) -> None:
        """Make every acknowledged mutation durable (survives power loss)."""

    # --- data ---------------------------------------------------------------
    def read(self, oid: str, length: int = 8192, offset: int = 0) -> bytes:
        check_name(oid)
        check_range(offset, length)
        want = length or limits.object_size_bytes_max
        return self._transact(oid, False, lambda c: c.read(offset, want))

    def write(self, oid: str, data: bytes, offset: int = 0) -> None:
        check_name(oid)
        check_extent(offset, len(data))
        self._transact(oid, True, lambda c: c.write(bytes(data), offset))

    def write_full(self, oid: str, data: bytes) -> None:
        check_name(oid)
        check_extent(0, len(data))
        self._transact(oid, True, lambda c: c.write_full(bytes(data)))

    def append(self, oid: str, data: bytes) -> None:
        check_name(oid)
        self._transact(oid, True, lambda c: c.append(bytes(data)))

    def stat(self, oid: str) -> ObjectStat:
        check_name(oid)
        return self._transact(oid, False, lambda c: c.stat())

    def trunc(self, oid: str, size: int) -> None:
        check_name(oid)
        check_extent(size, 0)
        self._transact(oid, True, lambda c: c.truncate(size))

    def zero(self, oid: str, offset: int, length: int) -> None:
        check_name(oid)
        check_range(offset, length)
        self._transact(oid, True, lambda c: c.zero(offset, length))

    def remove_object(self, oid: str) -> None:
        check_name(oid)
        self._transact(oid, True, lambda c: c.remove())

    def create(self, oid: str, exclusive: bool = True) -> None:
        check_name(oid)
        self._transact(oid, True, lambda c: c.create(exclusive))

    # --- xattrs -----------------------------------------------------------
    def get_xattr(self, oid: str, name: str) -> bytes:
        check_name(oid)
        check_xattr(name)
        return self._transact(oid, False, lambda c: c.get_xattr(name))

    def get_xattrs(self, oid: str) -> dict[str, bytes]:
        check_name(oid)
        return self._transact(oid, False, lambda c: c.get_xattrs())

    def set_xattr(self, oid: str, name: str, value: bytes) -> None:
        check_name(oid)
        check_xattr(name, value)
        self._transact(oid, True, lambda c: c.set_xattr(name, bytes(value)))

    def rm_xattr(self, oid: str, name: str) -> None:
        check_name(oid)
        check_xattr(name)
        self._transact(oid, True, lambda c: c.rm_xattr(name))

    # --- omap ---------------------------------------------------------------
    def omap_set(self, oid: str, items: Mapping[str, bytes]) -> None:
        check_name(oid)
        check_omap_items(items)
        copy = {k: bytes(v) for k, v in items.items()}
        self._transact(oid, True, lambda c: c.omap_set(copy))

    def omap_get_vals(
        self,
        oid: str,
        start_after: str = "",
        filter_prefix: str = "",
        max_return: int = limits.omap_entries_per_request_max,
    ) -> OmapPage:
        """Entries with keys > ``start_after`` and starting with ``filter_prefix``."""
        check_name(oid)
        check_omap_max_return(max_return)
        return self._transact(
            oid, False, lambda c: c.omap_get_vals(start_after, filter_prefix, max_return)
        )

    def omap_iter(self, oid: str, filter_prefix: str = "") -> Iterator[tuple[str, bytes]]:
        """Every entry (paged underneath); not one atomic snapshot."""
        after = ""
        while True:
            page = self.omap_get_vals(oid, after, filter_prefix)
            yield from page.items
            if not page.more or not page.items:
                return
            after = page.items[-1][0]

    def omap_get_vals_by_keys(self, oid: str, keys: Iterable[str]) -> dict[str, bytes]:
        """Present keys only; missing keys are left out."""
        check_name(oid)
        wanted = list(keys)
        return self._transact(oid, False, lambda c: c.omap_get_vals_by_keys(wanted))

    def omap_rm_keys(self, oid: str, keys: Iterable[str]) -> None:
        check_name(oid)
        doomed = list(keys)
        self._transact(oid, True, lambda c: c.omap_rm_keys(doomed))

    def omap_clear(self, oid: str) -> None:
        check_name(oid)
        self._transact(oid, True, lambda c: c.omap_clear())

    # --- compound and class ops -------------------------------------------
    def operate(self, oid: str, op: WriteOp) -> None:
        """Apply every step of ``op`` to ``oid`` or none of them."""
        check_name(oid)
        for step in op.steps:
            check_step(step)
        self._transact(oid, True, lambda c: apply_steps(c, op.steps))

    def execute(self, oid: str, cls: str, method: str, data: bytes = b"") -> bytes:
        """Run object class method ``cls.method`` on ``oid`` atomically.

        Raises NotSupported for an unknown method; the method's own errors pass through.
        """
        check_name(oid)
        m = lookup_method(cls, method)
        mutate = bool(m.flags & MethodFlags.WR)
        payload = bytes(data)

        def run(c: ObjectContext) -> bytes:
            if not mutate and not c.exists():
                raise object_not_found(oid)
            return m.fn(c, payload)

        return self._transact(oid, mutate, run)


class ObjectStore(_ClosedOnExit, ABC):
    """A set of pools (the RADOS cluster as the object layer sees it). Thread-safe."""

    @abstractmethod
    def create_pool(self, name: str, pg_num: int = limits.pg_num_default) -> PoolInfo:
        """Raises PoolExists, InvalidArgument (bad name or pg_num)."""

    @abstractmethod
    def delete_pool(self, name: str) -> None:
        """Delete the pool and every object in it. Raises PoolNotFound."""

    @abstractmethod
    def list_pools(self) -> list[PoolInfo]:
        """Pools in id order."""

    @abstractmethod
    def get_pool(self, name_or_id: str | int) -> PoolInfo:
        """Raises PoolNotFound."""

    @abstractmethod
    def set_pool_application(
        self, name: str, app: str, enabled: bool = True, key: str | None = None, value: str = ""
    ) -> PoolInfo:
        """Enable or disable an application on a pool, or edit its key/value metadata.

        Without ``key``: enable (idempotent) or drop the application (no-op if
        absent). With ``key``: set ``key=value`` (``enabled``) or remove the key;
        NotFound if the application is not enabled on the pool.
        """

    @abstractmethod
    def pool_stats(self, name: str) -> PoolStats: ...

    @abstractmethod
    def open_ioctx(self, pool: str | int) -> IoCtx:
        """Raises PoolNotFound."""

    @abstractmethod
    def flush(self) -> None:
        """Make every acknowledged mutation in any pool durable."""

    @abstractmethod
    def close(self) -> None: ...


_StoreT = TypeVar("_StoreT", bound=ObjectStore)


class EmbeddedIoCtx(IoCtx, Generic[_StoreT]):
    """The part of an embedded store's handle that does not depend on the store:
    bound to ``store`` and to one pool (by id), other pools opened through it."""

    def __init__(self, store: _StoreT, pool: PoolInfo) -> None:
        super().__init__(pool)
        self.store = store

    def dup(self) -> Self:
        twin = type(self)(self.store, self._pool)
        twin.set_namespace(self._namespace)
        return twin

    def open_pool(self, pool: str | int) -> IoCtx:
        return self.store.open_ioctx(pool)

    def list_pools(self) -> list[PoolInfo]:
        return self.store.list_pools()

    def _check_head_write(self, oid: str, verb: str = "modify") -> None:
        """ReadOnly (EROFS) when this handle reads a snapshot: it may not ``verb`` ``oid``."""
        if self._read_snap != SNAP_HEAD:
            raise errors.ReadOnly(f"cannot {verb} {oid!r} through a handle reading a snapshot")

    def _check_rollback(self, oid: str, snap_id: int) -> None:
        """What ``rollback_self_managed_snap`` refuses before touching anything:
        a bad name, a handle reading a snapshot (EROFS), a bad snap id (EINVAL)."""
        check_name(oid)
        self._check_head_write(oid, "roll back")
        check_snap_id(snap_id)


def check_pg_num(pg_num: int) -> None:
    """EINVAL for a non-positive pg_num, ERANGE above ``mon_max_pool_pg_num``."""
    if not isinstance(pg_num, int) or pg_num < 1:
        raise errors.InvalidArgument(f"pg_num must be a positive integer, got {pg_num!r}")
    if pg_num > limits.pg_num_max:
        raise errors.OutOfRange(f"pg_num {pg_num} > mon_max_pool_pg_num {limits.pg_num_max}")
