"""The object layer over a real Ceph cluster (librados through Debian's python ``rados``).

:class:`RadosStore` wraps a connected ``rados.Rados``; :class:`RadosIoCtx` wraps a
``rados.Ioctx`` (``RadosIoCtx(raw_ioctx)``; ``.raw`` gives the binding's handle
back, e.g. to build librbd objects on it). Both implement the same interfaces as
the embedded stores (:mod:`shoal.objstore._base`); errors are translated by one
table (:mod:`._rados_errors`).

What the python binding of Ceph 16 cannot do, and how it is handled:

- ``stat`` gives no version and whole-second mtimes: the version is read with
  ``get_last_version()`` right after the stat on a private, locked handle.
- ``assert_exists``/``cmp_xattr`` in a WriteOp are emulated atomically with an
  ``assert_version`` (see :mod:`._rados_ops`).
- A snap context whose ``seq`` is newer than every snap (``seq`` > max(snaps),
  after snap removals) cannot be passed as such: ``seq`` is added to the snap
  list. The OSD drops removed snap ids from a new clone's snaps once its PGs
  have seen the removal (checked on Ceph 16 a second after the removal); right
  after it, a clone may briefly list the removed id.
- An object's snapset (``list_snaps``) is not exposed: it is read with the
  ``rados listsnaps`` tool (so it needs a :class:`RadosStore`, which knows how to
  connect), and its ``seq`` is not printed: :attr:`SnapSet.seq` is the newest
  clone id (a lower bound).
- Object classes run on the OSD: only Ceph's own (``hello``, ``rbd``, …), never
  the Python-registered embedded ones.
- ``list_objects`` lists the whole namespace (RADOS lists in hash order) and
  sorts client-side: O(objects) per page.
"""

from __future__ import annotations

import errno
import gc
import json
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Literal, TypeVar

from shoal import errors, limits
from shoal.objstore._base import IoCtx, ObjectStore, check_pg_num, check_pool_name
from shoal.objstore._ops import (
    ObjectContext,
    WriteOp,
    check_extent,
    check_list_entries,
    check_name,
    check_omap_max_return,
    check_range,
    check_snap_id,
    check_step,
    check_xattr,
)
from shoal.objstore._rados_errors import translated
from shoal.objstore._rados_ops import Precheck, build_write_op, needs_precheck, precheck_steps
from shoal.objstore._types import (
    SNAP_HEAD,
    CloneInfo,
    ObjectPage,
    ObjectStat,
    OmapPage,
    PoolInfo,
    PoolStats,
    SnapSet,
)

__all__ = ["RadosIoCtx", "RadosStore", "import_rados"]

T = TypeVar("T")

#: How often an op with emulated preconditions is retried when the object keeps changing.
PRECHECK_RETRIES_MAX = 100
#: Class-method output buffer: start size and largest size tried (bytes).
EXEC_OUT_BYTES_START = 64 * 1024
EXEC_OUT_BYTES_MAX = 64 * 1024 * 1024
#: Seconds any mon command or CLI helper may take.
COMMAND_TIMEOUT_S = 30


def import_rados() -> Any:
    """Import Debian's ``rados`` binding (python3-rados); Unavailable if missing."""
    try:
        import rados  # type: ignore[import-not-found]
    except ImportError:
        import sys

        debian = "/usr/lib/python3/dist-packages"
        if debian not in sys.path:
            sys.path.append(debian)
        try:
            import rados
        except ImportError as exc:
            raise errors.Unavailable(f"the python3-rados binding is not installed: {exc}") from exc
    return rados


def _snap_u64(snap_id: int) -> int:
    """The binding takes snap ids as uint64 (SNAP_HEAD is -2 signed)."""
    return snap_id & 0xFFFFFFFFFFFFFFFF


def _mtime(struct: Any) -> float:
    return float(time.mktime(struct) - time.timezone) if struct is not None else 0.0


class RadosIoCtx(IoCtx):
    """An :class:`IoCtx` over a ``rados.Ioctx`` (pool + namespace + snap state).

    ``store`` (optional) lets the handle open other pools, list pools and read
    snapsets; without it those raise NotSupported. ``pool`` overrides the pool
    description (pg_num is 0 when neither is given).
    """

    def __init__(
        self, raw: Any, store: RadosStore | None = None, *, pool: PoolInfo | None = None
    ) -> None:
        if pool is None:
            if store is not None:
                pool = store.get_pool(int(raw.get_pool_id()))
            else:
                pool = PoolInfo(int(raw.get_pool_id()), str(raw.get_pool_name()), 0, 0.0)
        super().__init__(pool)
        self._raw = raw
        self._store = store
        self._rados = import_rados()
        self._meta_lock = threading.Lock()
        self._meta: Any = None  # a private dup for version-consistent reads
        ns = raw.get_namespace()
        self._namespace = str(ns or "")

    @property
    def raw(self) -> Any:
        """The underlying ``rados.Ioctx``."""
        return self._raw

    @property
    def backend(self) -> Literal["embedded", "rados"]:
        return "rados"

    # --- handle state -------------------------------------------------------
    def close(self) -> None:
        with self._meta_lock:
            if self._meta is not None:
                self._meta.close()
                self._meta = None
        self._raw.close()

    def dup(self) -> RadosIoCtx:
        with translated("dup ioctx"):
            raw = self._raw.dup()
            raw.set_read(_snap_u64(SNAP_HEAD))
            raw.set_self_managed_snap_write([])
        return RadosIoCtx(raw, self._store, pool=self._pool)

    def open_pool(self, pool: str | int) -> IoCtx:
        if self._store is None:
            return super().open_pool(pool)
        return self._store.open_ioctx(pool)

    def list_pools(self) -> list[PoolInfo]:
        if self._store is None:
            return super().list_pools()
        return self._store.list_pools()

    def set_namespace(self, namespace: str) -> None:
        super().set_namespace(namespace)
        self._raw.set_namespace(namespace)

    def set_read(self, snap_id: int) -> None:
        super().set_read(snap_id)
        self._raw.set_read(_snap_u64(snap_id))

    def set_self_managed_snap_write(self, snaps: Sequence[int], seq: int | None = None) -> None:
        super().set_self_managed_snap_write(snaps, seq)
        ctx = self.get_snap_context()
        ids = list(ctx.snaps)
        if ctx.seq and (not ids or ctx.seq > ids[0]):
            ids.insert(0, ctx.seq)  # the binding takes seq = max(snaps); see module doc
        with translated("set snap context"):
            self._raw.set_self_managed_snap_write(ids)

    @contextmanager
    def _translated(self, what: str) -> Iterator[None]:
        """Like :func:`translated`, but ENOENT on a pool deleted under this handle
        becomes PoolNotFound (librados says ENOENT for both)."""
        try:
            with translated(what):
                yield
        except errors.ObjectNotFound as exc:
            if self._store is not None and not self._store.pool_id_exists(self.pool_id):
                raise errors.PoolNotFound(f"{what}: pool {self.pool_name!r} was deleted") from exc
            raise

    def _meta_handle(self) -> Any:
        """The private handle, synced with this one's namespace and read snap
        (call with ``_meta_lock`` held)."""
        if self._meta is None:
            self._meta = self._raw.dup()
        self._meta.set_namespace(self._namespace)
        self._meta.set_read(_snap_u64(self._read_snap))
        return self._meta

    # --- snapshots ----------------------------------------------------------
    def create_self_managed_snap(self) -> int:
        with translated(f"create snap in pool {self.pool_name!r}", errors.PoolNotFound):
            return int(self._raw.create_self_managed_snap())

    def remove_self_managed_snap(self, snap_id: int) -> None:
        check_snap_id(snap_id)
        with translated(f"remove snap {snap_id}", errors.PoolNotFound):
            self._raw.remove_self_managed_snap(snap_id)

    def rollback_self_managed_snap(self, oid: str, snap_id: int) -> None:
        check_name(oid)
        check_snap_id(snap_id)
        if self._read_snap != SNAP_HEAD:
            # librados would roll back the head anyway (Ceph 16); shoal's interface
            # promises EROFS for every mutation through a handle reading a snap.
            raise errors.ReadOnly(f"cannot roll back {oid!r} through a handle reading a snap")
        with self._translated(f"rollback {oid!r} to snap {snap_id}"):
            self._raw.rollback_self_managed_snap(oid, snap_id)

    def list_snaps(self, oid: str) -> SnapSet:
        check_name(oid)
        if self._store is None:
            raise errors.NotSupported("list_snaps needs a RadosStore (it runs `rados listsnaps`)")
        doc = self._store.run_rados_tool(
            str(self._raw.get_pool_name()),
            self._namespace,
            "listsnaps",
            oid,
            what=f"list snaps of {oid!r}",
        )
        clones: list[CloneInfo] = []
        head_exists, head_size = False, 0
        for entry in doc.get("clones", []):
            if entry["id"] == "head":
                head_exists, head_size = True, int(entry["size"])
                continue
            snaps = tuple(sorted(int(s["id"]) for s in entry.get("snapshots", [])))
            clones.append(CloneInfo(int(entry["id"]), snaps, int(entry["size"])))
        clones.sort(key=lambda c: c.id)
        seq = clones[-1].id if clones else 0
        return SnapSet(seq, tuple(clones), head_exists, head_size)

    # --- what the base class would do through _transact -----------------------
    def _transact(self, oid: str, mutate: bool, fn: Callable[[ObjectContext], T]) -> T:
        raise errors.NotSupported(
            "Python object classes and transactions run only in the embedded engine"
        )

    def list_objects(
        self, prefix: str = "", cursor: str | None = None, max_entries: int = 1000
    ) -> ObjectPage:
        check_list_entries(max_entries)
        with translated(f"list objects in pool {self.pool_name!r}", errors.PoolNotFound):
            names = sorted(
                str(o.key)
                for o in self._raw.list_objects()
                if str(o.key).startswith(prefix) and (cursor is None or str(o.key) > cursor)
            )
        if self._store is not None and not self._store.pool_id_exists(self.pool_id):
            raise errors.PoolNotFound(f"pool {self.pool_name!r} was deleted")
        if not names:
            self._check_listable()
        page = names[:max_entries]
        more = len(names) > max_entries
        return ObjectPage(page, page[-1] if more else None)

    def _check_listable(self) -> None:
        """python3-rados 16's object iterator ends silently on any error, EPERM
        included; an empty listing is confirmed by a read the same caps govern
        (stat of an object that need not exist: ENOENT if allowed, else EPERM)."""
        with self._translated(f"list objects in pool {self.pool_name!r}"):
            try:
                self._raw.stat("shoal.list-permission-probe")
            except Exception as exc:  # the binding's ObjectNotFound: allowed
                if getattr(exc, "errno", None) != errno.ENOENT:
                    raise

    def flush(self) -> None:
        """Nothing to do: the OSDs acknowledge a write once it is durable."""

    # --- data -----------------------------------------------------------------
    def read(self, oid: str, length: int = 8192, offset: int = 0) -> bytes:
        check_name(oid)
        check_range(offset, length)
        with self._translated(f"read {oid!r}"):
            if length == 0:  # the whole object (the binding cannot pass length 0)
                size = int(self._raw.stat(oid)[0])
                length = max(size - offset, 0) + 1
                while True:
                    data = bytes(self._raw.read(oid, length, offset))
                    if len(data) < length:
                        return data
                    length *= 2
            return bytes(self._raw.read(oid, length, offset))

    def write(self, oid: str, data: bytes, offset: int = 0) -> None:
        check_name(oid)
        check_extent(offset, len(data))
        with self._translated(f"write {oid!r}"):
            self._raw.write(oid, bytes(data), offset)

    def write_full(self, oid: str, data: bytes) -> None:
        check_name(oid)
        check_extent(0, len(data))
        with self._translated(f"write_full {oid!r}"):
            self._raw.write_full(oid, bytes(data))

    def append(self, oid: str, data: bytes) -> None:
        check_name(oid)
        with self._translated(f"append to {oid!r}"):
            self._raw.append(oid, bytes(data))

    def stat(self, oid: str) -> ObjectStat:
        check_name(oid)
        with self._meta_lock, self._translated(f"stat {oid!r}"):
            meta = self._meta_handle()
            size, mtime = meta.stat(oid)
            version = int(meta.get_last_version())
        return ObjectStat(int(size), _mtime(mtime), version)

    def _version_and_xattrs(self, oid: str, names: Iterable[str]) -> Precheck:
        """The object's version (0: absent) and the named xattrs, all from one version."""
        wanted = sorted(set(names))
        with self._meta_lock, self._translated(f"read {oid!r}"):
            meta = self._meta_handle()
            while True:
                try:
                    meta.stat(oid)
                except self._rados.ObjectNotFound:
                    return Precheck(0, {})
                version = int(meta.get_last_version())
                values: dict[str, bytes | None] = {}
                for name in wanted:
                    try:
                        values[name] = bytes(meta.get_xattr(oid, name))
                    except self._rados.NoData:
                        values[name] = None
                    except self._rados.ObjectNotFound:
                        break
                else:
                    meta.stat(oid)  # unchanged since the first stat?
                    if int(meta.get_last_version()) == version:
                        return Precheck(version, values)

    def trunc(self, oid: str, size: int) -> None:
        check_name(oid)
        check_extent(size, 0)
        with self._translated(f"truncate {oid!r}"):
            self._raw.trunc(oid, size)

    def zero(self, oid: str, offset: int, length: int) -> None:
        check_name(oid)
        check_range(offset, length)
        self.operate(oid, WriteOp().zero(offset, length))

    def remove_object(self, oid: str) -> None:
        check_name(oid)
        with self._translated(f"remove {oid!r}"):
            self._raw.remove_object(oid)

    def create(self, oid: str, exclusive: bool = True) -> None:
        check_name(oid)
        self.operate(oid, WriteOp().create(exclusive))

    # --- xattrs ---------------------------------------------------------------
    def get_xattr(self, oid: str, name: str) -> bytes:
        check_name(oid)
        check_xattr(name)
        with self._translated(f"get xattr {name!r} of {oid!r}"):
            return bytes(self._raw.get_xattr(oid, name))

    def get_xattrs(self, oid: str) -> dict[str, bytes]:
        check_name(oid)
        with self._translated(f"get xattrs of {oid!r}"):
            return {str(k): bytes(v) for k, v in self._raw.get_xattrs(oid)}

    def set_xattr(self, oid: str, name: str, value: bytes) -> None:
        check_name(oid)
        check_xattr(name, value)
        with self._translated(f"set xattr {name!r} on {oid!r}"):
            self._raw.set_xattr(oid, name, bytes(value))

    def rm_xattr(self, oid: str, name: str) -> None:
        check_name(oid)
        check_xattr(name)
        with self._translated(f"remove xattr {name!r} of {oid!r}"):
            self._raw.rm_xattr(oid, name)

    # --- omap -------------------------------------------------------------------
    def _read_op(self, oid: str, what: str, fill: Callable[[Any], Any]) -> Any:
        rados = self._rados
        with self._translated(what), rados.ReadOpCtx() as op:
            result = fill(op)
            self._raw.operate_read_op(op, oid)
            return result

    def omap_get_vals(
        self,
        oid: str,
        start_after: str = "",
        filter_prefix: str = "",
        max_return: int = limits.omap_entries_per_request_max,
    ) -> OmapPage:
        check_name(oid)
        check_omap_max_return(max_return)

        items = self._omap_page(oid, start_after, filter_prefix, max_return)
        more = False
        if len(items) == max_return:  # the OSD caps a page: probe for one more entry
            more = bool(self._omap_page(oid, items[-1][0], filter_prefix, 1))
        return OmapPage(items, more)

    def _omap_page(
        self, oid: str, start_after: str, filter_prefix: str, count: int
    ) -> list[tuple[str, bytes]]:
        def fill(op: Any) -> Any:
            it, _ = self._raw.get_omap_vals(op, start_after, filter_prefix, count)
            return it

        it = self._read_op(oid, f"get omap of {oid!r}", fill)
        with self._translated(f"get omap of {oid!r}"):
            return [(str(k), bytes(v or b"")) for k, v in it]

    def omap_iter(self, oid: str, filter_prefix: str = "") -> Iterator[tuple[str, bytes]]:
        return super().omap_iter(oid, filter_prefix)

    def omap_get_vals_by_keys(self, oid: str, keys: Iterable[str]) -> dict[str, bytes]:
        check_name(oid)
        wanted = tuple(keys)
        if not wanted:
            self.stat(oid)  # ObjectNotFound as the OSD would say
            return {}

        def fill(op: Any) -> Any:
            it, _ = self._raw.get_omap_vals_by_keys(op, wanted)
            return it

        it = self._read_op(oid, f"get omap keys of {oid!r}", fill)
        with self._translated(f"get omap keys of {oid!r}"):
            return {str(k): bytes(v or b"") for k, v in it}

    def omap_set(self, oid: str, items: Mapping[str, bytes]) -> None:
        self.operate(oid, WriteOp().omap_set(items))

    def omap_rm_keys(self, oid: str, keys: Iterable[str]) -> None:
        self.operate(oid, WriteOp().omap_rm_keys(keys))

    def omap_clear(self, oid: str) -> None:
        self.operate(oid, WriteOp().omap_clear())

    # --- compound and class ops ---------------------------------------------------
    def operate(self, oid: str, op: WriteOp) -> None:
        """Apply ``op`` as one librados write op (see :mod:`._rados_ops` for the
        preconditions the binding lacks)."""
        check_name(oid)
        steps = list(op.steps)
        for step in steps:
            check_step(step)
        emulate = needs_precheck(steps)
        rados = self._rados
        for _ in range(PRECHECK_RETRIES_MAX):
            seen: Precheck | None = None
            if emulate:
                names = [str(s.args[0]) for s in steps if s.kind == "cmp_xattr"]
                seen = self._version_and_xattrs(oid, names)
                precheck_steps(oid, steps, seen)
            with self._translated(f"operate on {oid!r}"), rados.WriteOpCtx() as wop:
                if not build_write_op(self._raw, wop, steps, seen, rados):
                    return
                try:
                    self._raw.operate_write_op(wop, oid, mtime=int(time.time()))
                    return
                except (rados.OSError, rados.Error) as exc:
                    raced = getattr(exc, "errno", None) in (34, 75)  # ERANGE, EOVERFLOW
                    if not (emulate and raced):
                        raise
        raise errors.Busy(f"object {oid!r} kept changing; gave up after {PRECHECK_RETRIES_MAX}")

    def execute(self, oid: str, cls: str, method: str, data: bytes = b"") -> bytes:
        """Run the OSD's object class method ``cls.method`` (Ceph's own classes)."""
        check_name(oid)
        length = EXEC_OUT_BYTES_START
        rados = self._rados
        while True:
            with self._translated(f"call {cls}.{method} on {oid!r}"):
                try:
                    _, out = self._raw.execute(oid, cls, method, bytes(data), length)
                    return bytes(out)
                except rados.OSError as exc:
                    if getattr(exc, "errno", None) != 34 or length >= EXEC_OUT_BYTES_MAX:
                        raise
            length *= 4


def _parse_time(text: str) -> float:
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()
    except ValueError:
        return 0.0


class RadosStore(ObjectStore):
    """An :class:`ObjectStore` over a connected ``rados.Rados``.

    ``owned``: whether :meth:`close` shuts the connection down. ``tool_args``:
    arguments that point the ``rados`` CLI at the same cluster and user (derived
    from the connection's configuration when omitted).
    """

    def __init__(self, cluster: Any, *, owned: bool = False, tool_args: list[str] | None = None):
        self._cluster = cluster
        self._owned = owned
        self._closed = False
        self._tool_args = tool_args

    @classmethod
    def connect(
        cls,
        conf: str | None = None,
        name: str = "client.admin",
        keyring: str | None = None,
        timeouts: float = COMMAND_TIMEOUT_S,
    ) -> RadosStore:
        """Connect as ``name`` using ``conf`` (a ceph.conf path) and ``keyring``.

        ``timeouts`` (seconds) bounds connecting and every mon/OSD operation.
        Raises Unavailable/TimedOut/AuthenticationFailed.
        """
        rados = import_rados()
        options = {
            "client_mount_timeout": str(timeouts),
            "rados_mon_op_timeout": str(timeouts),
            "rados_osd_op_timeout": str(timeouts),
        }
        if keyring is not None:
            options["keyring"] = keyring
        args: list[str] = []
        if conf is not None:
            args += ["-c", conf]
        if keyring is not None:
            args += ["--keyring", keyring]
        args += ["--name", name]
        with translated(f"connect to Ceph as {name}"):
            cluster = rados.Rados(conffile=conf or "", name=name, conf=options)
            try:
                cluster.connect(timeout=int(timeouts))
            except Exception:
                cluster.shutdown()
                raise
        return cls(cluster, owned=True, tool_args=args)

    @property
    def cluster(self) -> Any:
        """The underlying ``rados.Rados``."""
        return self._cluster

    # --- helpers ------------------------------------------------------------
    def mon_command(self, prefix: str, **args: Any) -> Any:
        """Run ``ceph PREFIX`` through the connection; the parsed JSON output."""
        # ensure_ascii=False: the monitor decodes surrogate-pair escapes as CESU-8
        cmd = json.dumps({"prefix": prefix, "format": "json", **args}, ensure_ascii=False)
        with translated(f"ceph {prefix}"):
            ret, out, status = self._cluster.mon_command(cmd, b"", timeout=COMMAND_TIMEOUT_S)
        if ret != 0:
            raise errors.error_for_errno(ret, f"ceph {prefix}: {status}")
        return json.loads(out) if out.strip() else None

    def _cli_args(self) -> list[str]:
        if self._tool_args is None:
            c = self._cluster
            args = ["--mon_host", str(c.conf_get("mon_host"))]
            keyring = c.conf_get("keyring")
            if keyring:
                args += ["--keyring", str(keyring)]
            args += ["--id", str(c.rados_id or "admin")]
            self._tool_args = args
        return self._tool_args

    def run_rados_tool(self, pool: str, namespace: str, *argv: str, what: str) -> Any:
        """Run ``rados -p POOL [-N NS] ARGV --format json``; its parsed output.

        A non-zero exit becomes the error matching the tool's message (ENOENT ->
        ObjectNotFound).
        """
        cmd = ["rados", *self._cli_args(), "-p", pool]
        if namespace:
            cmd += ["-N", namespace]
        cmd += [*argv, "--format", "json"]
        try:
            proc = subprocess.run(
                cmd,
                capture_output=True,
                text=True,
                timeout=COMMAND_TIMEOUT_S,
                stdin=subprocess.DEVNULL,
                check=False,
            )
        except FileNotFoundError as exc:
            raise errors.Unavailable(f"{what}: the rados tool is not installed") from exc
        except subprocess.TimeoutExpired as exc:
            raise errors.TimedOut(f"{what}: rados tool timed out") from exc
        if proc.returncode != 0:
            text = proc.stderr.strip()
            if "error opening pool" in text:
                raise errors.PoolNotFound(f"{what}: {text}")
            if "No such file or directory" in text or "(2)" in text:
                raise errors.ObjectNotFound(f"{what}: {text}")
            raise errors.ShoalError(f"{what}: {text}")
        return json.loads(proc.stdout) if proc.stdout.strip() else {}

    def _check_open(self) -> None:
        if self._closed:
            raise errors.Unavailable("the store is closed")

    # --- pools ----------------------------------------------------------------
    def create_pool(self, name: str, pg_num: int = limits.pg_num_default) -> PoolInfo:
        self._check_open()
        check_pool_name(name)
        check_pg_num(pg_num)
        if self._pool_exists(name):
            raise errors.PoolExists(f"pool {name!r} exists")
        self.mon_command(
            "osd pool create",
            pool=name,
            pg_num=pg_num,
            pgp_num=pg_num,
            autoscale_mode="off",
        )
        with translated("wait for the new osdmap"):
            self._cluster.wait_for_latest_osdmap()
        return self.get_pool(name)

    def pool_id_exists(self, pool_id: int) -> bool:
        """Whether a pool with this id exists (from the client's cached osdmap)."""
        try:
            return bool(self._cluster.pool_reverse_lookup(pool_id))
        except Exception:
            return False

    def _pool_exists(self, name: str) -> bool:
        with translated(f"look up pool {name!r}"):
            return bool(self._cluster.pool_exists(name))

    def delete_pool(self, name: str) -> None:
        self._check_open()
        with translated(f"delete pool {name!r}", errors.PoolNotFound):
            if not self._cluster.pool_exists(name):
                raise errors.PoolNotFound(f"pool {name!r} does not exist")
            self._cluster.delete_pool(name)

    def list_pools(self) -> list[PoolInfo]:
        self._check_open()
        pools = [
            PoolInfo(
                id=int(p["pool_id"]),
                name=str(p["pool_name"]),
                pg_num=int(p["pg_num"]),
                created=_parse_time(str(p.get("create_time", ""))),
                applications={
                    str(app): {str(k): str(v) for k, v in meta.items()}
                    for app, meta in (p.get("application_metadata") or {}).items()
                },
            )
            for p in self.mon_command("osd pool ls", detail="detail") or []
        ]
        return sorted(pools, key=lambda p: p.id)

    def get_pool(self, name_or_id: str | int) -> PoolInfo:
        for pool in self.list_pools():
            if pool.name == name_or_id or (isinstance(name_or_id, int) and pool.id == name_or_id):
                return pool
        raise errors.PoolNotFound(f"pool {name_or_id!r} does not exist")

    def set_pool_application(
        self, name: str, app: str, enabled: bool = True, key: str | None = None, value: str = ""
    ) -> PoolInfo:
        pool = self.get_pool(name)
        if key is None:
            if enabled:
                self.mon_command(
                    "osd pool application enable", pool=name, app=app, yes_i_really_mean_it=True
                )
            elif app in pool.applications:
                self.mon_command(
                    "osd pool application disable", pool=name, app=app, yes_i_really_mean_it=True
                )
        else:
            if app not in pool.applications:
                raise errors.NotFound(f"application {app!r} is not enabled on pool {name!r}")
            if enabled:
                self.mon_command("osd pool application set", pool=name, app=app, key=key,
                                 value=value)
            else:
                self.mon_command("osd pool application rm", pool=name, app=app, key=key)
        return self.get_pool(name)

    def pool_stats(self, name: str) -> PoolStats:
        """From ``ceph df``: the OSDs report usage every few seconds, so it lags."""
        self.get_pool(name)
        doc = self.mon_command("df", detail="detail")
        for p in doc.get("pools", []):
            if p.get("name") == name:
                stats = p.get("stats", {})
                return PoolStats(int(stats.get("stored", 0)), int(stats.get("objects", 0)))
        return PoolStats(0, 0)  # too new to be in the statistics yet

    def open_ioctx(self, pool: str | int) -> RadosIoCtx:
        self._check_open()
        with translated(f"open pool {pool!r}", errors.PoolNotFound):
            if isinstance(pool, int):
                raw = self._cluster.open_ioctx2(pool)
            else:
                raw = self._cluster.open_ioctx(pool)
        return RadosIoCtx(raw, self)

    def flush(self) -> None:
        """Nothing to do: the OSDs acknowledge a write once it is durable."""

    def close(self) -> None:
        """Shut the connection down (if this store made it). Unreachable ``Ioctx`` and
        ``rbd.Image`` objects of it are collected first: librados/librbd abort the process
        (``std::system_error``, "Invalid argument") when such an object is finalised after
        its cluster is shut down, which a later garbage collection would do."""
        if self._closed:
            return
        self._closed = True
        if self._owned:
            gc.collect()
            self._cluster.shutdown()

