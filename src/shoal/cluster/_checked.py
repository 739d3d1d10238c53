"""An I/O context that enforces the session entity's OSD caps on every operation.

What each operation needs (Ceph's ``op_may_read``/``op_may_write``/class flags):

- read: ``read``, ``stat``, ``get_xattr(s)``, ``omap_get_*``, ``omap_iter``;
  ``list_objects`` needs read on the pool with object name ``""`` (so an
  ``object_prefix`` grant never allows listing);
- write: ``write``, ``write_full``, ``append``, ``trunc``, ``zero``,
  ``remove_object``, ``create``, ``set_xattr``, ``rm_xattr``, ``omap_set``,
  ``omap_rm_keys``, ``omap_clear``;
- ``operate``: read if any step reads (``WriteOp.needs_read``) and write if any
  step writes, from one grant;
- snapshots: ``list_snaps`` needs read; ``rollback_self_managed_snap`` needs read
  and write on the object; allocating or removing a self-managed snap id
  (``create_self_managed_snap``/``remove_self_managed_snap``) needs mon caps for
  ``osd pool op unmanaged-snap`` on the pool or OSD write on the pool (Ceph's
  ``is_unmanaged_snap_op_permitted``; shoal checks OSD write with object name
  ``""``, so a grant restricted by ``object_prefix`` does not count);
- ``execute``: class-read / class-write from the method's RD / WR flags, plus the
  class and method names (for ``class NAME [METHOD]`` grants); no ``r``/``w``.
  An unknown method is ``NotSupported`` before any caps check, as on an OSD.

A refused operation raises :class:`~shoal.errors.PermissionDenied` (EPERM) before
touching the object, so it reveals nothing about whether the object exists.
``flush``/``close`` need nothing. Any other operation a future ``IoCtx`` routes
through ``_transact`` is checked as read or write by its ``mutate`` flag.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TypeVar

from shoal import errors, limits
from shoal.cluster._auth import EntityCaps
from shoal.cluster.caps import OsdAccess
from shoal.objstore import (
    IoCtx,
    MethodFlags,
    ObjectContext,
    ObjectPage,
    ObjectStat,
    OmapPage,
    PoolInfo,
    SnapContext,
    SnapSet,
    WriteOp,
    lookup_method,
)

__all__ = ["CheckedIoCtx"]

T = TypeVar("T")

_READ = OsdAccess(read=True)
_WRITE = OsdAccess(write=True)
_READ_WRITE = OsdAccess(read=True, write=True)


class CheckedIoCtx(IoCtx):
    """Wraps a store's ``IoCtx``; checks caps, then delegates. Thread-safe."""

    def __init__(self, inner: IoCtx, caps: EntityCaps, pool: PoolInfo,
                 on_snap_op: Callable[[int], None] | None = None) -> None:
        """``on_snap_op(pool_id)`` is called after a self-managed snap id was allocated
        or removed (the embedded monitor records the pool's snapshot mode)."""
        super().__init__(pool)
        self._inner = inner
        self._caps = caps
        self._on_snap_op = on_snap_op

    # --- namespace and lifecycle --------------------------------------------
    def get_namespace(self) -> str:
        return self._inner.get_namespace()

    def set_namespace(self, namespace: str) -> None:
        super().set_namespace(namespace)
        self._inner.set_namespace(namespace)

    def close(self) -> None:
        self._inner.close()

    def dup(self) -> IoCtx:
        return CheckedIoCtx(self._inner.dup(), self._caps, self._pool, self._on_snap_op)

    def open_pool(self, pool: str | int) -> IoCtx:
        """Another pool with this handle's credentials (as librados does per client)."""
        inner = self._inner.open_pool(pool)
        return CheckedIoCtx(inner, self._caps, inner._pool, self._on_snap_op)

    def list_pools(self) -> list[PoolInfo]:
        """Every pool (any authenticated client sees the OSD map's pool list)."""
        return self._inner.list_pools()

    # --- snapshot state lives in the inner handle ---------------------------------
    def set_read(self, snap_id: int) -> None:
        self._inner.set_read(snap_id)

    def get_read(self) -> int:
        return self._inner.get_read()

    def set_self_managed_snap_write(self, snaps: Sequence[int], seq: int | None = None) -> None:
        self._inner.set_self_managed_snap_write(snaps, seq)

    def get_snap_context(self) -> SnapContext:
        return self._inner.get_snap_context()

    def flush(self) -> None:
        self._inner.flush()

    # --- the checks -------------------------------------------------------------
    def _require(self, oid: str, action: str, access: OsdAccess) -> None:
        """PermissionDenied unless the caps allow ``access`` to ``oid``; ``action``
        words the refusal ("may not <action> object ...")."""
        allowed = self._caps.osd_allows(
            self.pool_name, self.get_namespace(), oid, access, self._pool.applications
        )
        if not allowed:
            where = f"pool '{self.pool_name}'"
            if self.get_namespace():
                where += f" namespace '{self.get_namespace()}'"
            raise errors.PermissionDenied(
                f"{self._caps.entity} may not {action} object {oid!r} in {where} (osd caps)"
            )

    def _reading(self, oid: str) -> None:
        self._require(oid, "read", _READ)

    def _writing(self, oid: str) -> None:
        self._require(oid, "write", _WRITE)

    def _transact(self, oid: str, mutate: bool, fn: Callable[[ObjectContext], T]) -> T:
        if mutate:
            self._writing(oid)
        else:
            self._reading(oid)
        return self._inner._transact(oid, mutate, fn)

    # --- reads ----------------------------------------------------------------------
    def read(self, oid: str, length: int = 8192, offset: int = 0) -> bytes:
        self._reading(oid)
        return self._inner.read(oid, length, offset)

    def stat(self, oid: str) -> ObjectStat:
        self._reading(oid)
        return self._inner.stat(oid)

    def get_xattr(self, oid: str, name: str) -> bytes:
        self._reading(oid)
        return self._inner.get_xattr(oid, name)

    def get_xattrs(self, oid: str) -> dict[str, bytes]:
        self._reading(oid)
        return self._inner.get_xattrs(oid)

    def omap_get_vals(
        self, oid: str, start_after: str = "", filter_prefix: str = "",
        max_return: int = limits.omap_entries_per_request_max,
    ) -> OmapPage:
        self._reading(oid)
        return self._inner.omap_get_vals(oid, start_after, filter_prefix, max_return)

    def omap_get_vals_by_keys(self, oid: str, keys: Iterable[str]) -> dict[str, bytes]:
        self._reading(oid)
        return self._inner.omap_get_vals_by_keys(oid, keys)

    def list_objects(
        self, prefix: str = "", cursor: str | None = None, max_entries: int = 1000
    ) -> ObjectPage:
        self._require("", "list", _READ)
        return self._inner.list_objects(prefix, cursor, max_entries)

    # --- writes -------------------------------------------------------------------
    def write(self, oid: str, data: bytes, offset: int = 0) -> None:
        self._writing(oid)
        self._inner.write(oid, data, offset)

    def write_full(self, oid: str, data: bytes) -> None:
        self._writing(oid)
        self._inner.write_full(oid, data)

    def append(self, oid: str, data: bytes) -> None:
        self._writing(oid)
        self._inner.append(oid, data)

    def trunc(self, oid: str, size: int) -> None:
        self._writing(oid)
        self._inner.trunc(oid, size)

    def zero(self, oid: str, offset: int, length: int) -> None:
        self._writing(oid)
        self._inner.zero(oid, offset, length)

    def remove_object(self, oid: str) -> None:
        self._writing(oid)
        self._inner.remove_object(oid)

    def create(self, oid: str, exclusive: bool = True) -> None:
        self._writing(oid)
        self._inner.create(oid, exclusive)

    def set_xattr(self, oid: str, name: str, value: bytes) -> None:
        self._writing(oid)
        self._inner.set_xattr(oid, name, value)

    def rm_xattr(self, oid: str, name: str) -> None:
        self._writing(oid)
        self._inner.rm_xattr(oid, name)

    def omap_set(self, oid: str, items: Mapping[str, bytes]) -> None:
        self._writing(oid)
        self._inner.omap_set(oid, items)

    def omap_rm_keys(self, oid: str, keys: Iterable[str]) -> None:
        self._writing(oid)
        self._inner.omap_rm_keys(oid, keys)

    def omap_clear(self, oid: str) -> None:
        self._writing(oid)
        self._inner.omap_clear(oid)

    # --- snapshots -------------------------------------------------------------------
    def _snap_op(self, action: str) -> None:
        mon_ok = self._caps.mon_allows(
            "osd pool op unmanaged-snap", ("osd", "w"), {"poolname": self.pool_name}
        )
        if not mon_ok:
            self._require("", action, _WRITE)

    def create_self_managed_snap(self) -> int:
        self._snap_op("allocate a snapshot id for")
        snap_id = self._inner.create_self_managed_snap()
        self._snap_op_done()
        return snap_id

    def remove_self_managed_snap(self, snap_id: int) -> None:
        self._snap_op("remove a snapshot id for")
        self._inner.remove_self_managed_snap(snap_id)
        self._snap_op_done()

    def _snap_op_done(self) -> None:
        if self._on_snap_op is not None:
            self._on_snap_op(self.pool_id)

    def rollback_self_managed_snap(self, oid: str, snap_id: int) -> None:
        self._require(oid, "roll back", _READ_WRITE)
        self._inner.rollback_self_managed_snap(oid, snap_id)

    def list_snaps(self, oid: str) -> SnapSet:
        self._reading(oid)
        return self._inner.list_snaps(oid)

    # --- compound and class operations ------------------------------------------
    def operate(self, oid: str, op: WriteOp) -> None:
        action = "read and write" if op.needs_read and op.needs_write else (
            "read" if op.needs_read else "write"
        )
        self._require(oid, action, OsdAccess(read=op.needs_read, write=op.needs_write))
        self._inner.operate(oid, op)

    def execute(self, oid: str, cls: str, method: str, data: bytes = b"") -> bytes:
        flags = lookup_method(cls, method).flags
        access = OsdAccess(
            class_read=bool(flags & MethodFlags.RD), class_write=bool(flags & MethodFlags.WR),
            cls=cls, method=method,
        )
        self._require(oid, f"call {cls}.{method} on", access)
        return self._inner.execute(oid, cls, method, data)
