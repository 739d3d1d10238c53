"""``Image`` over real librbd: the embedded :class:`shoal.rbd.Image`'s interface, Ceph's engine.

Every call goes to Ceph's ``rbd.Image`` and every librbd error comes back as shoal.rbd's class
(:mod:`._ceph_errors`). Where the bindings answer in another shape than the embedded engine
(``stat()``'s parent fields, snapshot dicts without ``protected``, UTC-naive timestamps,
iterators), this class answers in the embedded engine's shape, so the CLI and the services
read both the same.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from shoal import errors
from shoal.objstore import SNAP_HEAD
from shoal.rbd._ceph_errors import CephIoCtx, bindings, raw_ioctx, translated
from shoal.rbd._errors import ImageNotFound
from shoal.rbd._interface import DiffCallback, ImageOpener, ProgressCallback, RbdImage
from shoal.rbd._meta import ParentSpec
from shoal.rbd._options import RbdOptions
from shoal.rbd._striping import Layout

__all__ = ["CephImage", "check_size", "local_time"]
#: librbd's ``stat()`` says "no parent" with pool id ``(uint64)-1``.
_NO_POOL = (1 << 64) - 1
#: ``CEPH_NOSNAP``: the head, as the object classes spell it.
_CEPH_NOSNAP = (1 << 64) - 2


def check_size(size: int) -> None:
    """Sizes are unsigned in librbd; the binding would raise OverflowError for a negative one."""
    if not isinstance(size, int) or size < 0:
        raise errors.InvalidArgument(f"size must be a non-negative number of bytes, got {size!r}")


def local_time(value: datetime) -> datetime:
    """A UTC-naive datetime from the bindings as the embedded engine's local-naive one."""
    return datetime.fromtimestamp(value.replace(tzinfo=UTC).timestamp())


class CephImage:
    """An open librbd image. Use as a context manager; ``close()`` is idempotent.

    ``ioctx``: a shoal ``RadosIoCtx`` or a ``rados.Ioctx``. Give exactly one of ``name`` and
    ``image_id``. ``snapshot``: open at that snapshot (read-only). ``entity`` and ``options``
    are accepted for the embedded signature; librbd takes both from the rados connection's
    configuration. Offsets and lengths are bytes.

    Raises (from the constructor): ImageNotFound (image or snapshot), InvalidArgument.
    """

    def __init__(
        self,
        ioctx: CephIoCtx,
        name: str | None = None,
        snapshot: str | None = None,
        read_only: bool = False,
        image_id: str | None = None,
        entity: str | None = None,
        options: RbdOptions | None = None,
    ) -> None:
        if (name is None) == (image_id is None):
            raise errors.InvalidArgument("give exactly one of name or image_id")
        _rados, rbd = bindings()
        self._io = ioctx
        self._raw = raw_ioctx(ioctx)
        self._options = options or RbdOptions()
        self._closed = False
        with translated(f"error opening image {name or image_id}"):
            self._img: Any = rbd.Image(self._raw, name, snapshot=snapshot,
                                       read_only=read_only or snapshot is not None,
                                       image_id=image_id)
        self._read_only = read_only or snapshot is not None
        self._snap_name: str | None = None
        self._snap_id = SNAP_HEAD
        if snapshot is not None:
            with translated(f"snapshot {snapshot}"):
                self._snap_id = int(self._img.snap_get_id(snapshot))
            self._snap_name = snapshot

    # --- lifecycle ----------------------------------------------------------------
    def __enter__(self) -> CephImage:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Flush, release the exclusive lock (if held) and close. Idempotent."""
        if self._closed:
            return
        self._closed = True
        with translated("close"):
            self._img.close()

    def refresh(self) -> None:
        """librbd refreshes the header itself when it changes (watch/notify): nothing to do."""
        self._check_open()

    def _check_open(self) -> None:
        if self._closed:
            raise errors.InvalidArgument("image is closed")

    def _call(self, what: str, method: str, *args: Any, **kwargs: Any) -> Any:
        self._check_open()
        with translated(what):
            return getattr(self._img, method)(*args, **kwargs)

    # --- plain properties ---------------------------------------------------------
    def id(self) -> str:
        return str(self._call("id", "id"))

    def get_name(self) -> str:
        return str(self._call("get_name", "get_name"))

    def size(self) -> int:
        """Bytes, at the open snapshot if one is set."""
        return int(self._call("size", "size"))

    def features(self) -> int:
        return int(self._call("features", "features"))

    def flags(self) -> int:
        return int(self._call("flags", "flags"))

    def order(self) -> int:
        return int(self.stat()["order"])

    def block_name_prefix(self) -> str:
        return str(self._call("block_name_prefix", "block_name_prefix"))

    def stripe_unit(self) -> int:
        return int(self._call("stripe_unit", "stripe_unit"))

    def stripe_count(self) -> int:
        return int(self._call("stripe_count", "stripe_count"))

    def old_format(self) -> bool:
        return bool(self._call("old_format", "old_format"))

    def create_timestamp(self) -> datetime:
        return local_time(self._call("create_timestamp", "create_timestamp"))

    def access_timestamp(self) -> datetime:
        return local_time(self._call("access_timestamp", "access_timestamp"))

    def modify_timestamp(self) -> datetime:
        return local_time(self._call("modify_timestamp", "modify_timestamp"))

    @property
    def layout(self) -> Layout:
        """Order and striping (stripe unit/count as librbd reports them)."""
        return Layout.make(self.order(), self.stripe_unit(), self.stripe_count())

    @property
    def ioctx(self) -> CephIoCtx:
        """The I/O context the image was opened with (as given)."""
        return self._io

    def stat(self) -> dict[str, Any]:
        """size, obj_size, num_objs, order, block_name_prefix, parent_pool (-1), parent_name."""
        raw = self._call("stat", "stat")
        parent_pool = int(raw.get("parent_pool", _NO_POOL))
        parent_name = raw.get("parent_name", b"")
        return {
            "size": int(raw["size"]),
            "obj_size": int(raw["obj_size"]),
            "num_objs": int(raw["num_objs"]),
            "order": int(raw["order"]),
            "block_name_prefix": str(raw["block_name_prefix"]),
            "parent_pool": -1 if parent_pool == _NO_POOL else parent_pool,
            "parent_name": parent_name.decode() if isinstance(parent_name, bytes) else parent_name,
        }

    def snapshot_id(self) -> int:
        """The open snapshot's id, or SNAP_HEAD."""
        return self._snap_id

    # --- parent -------------------------------------------------------------------
    def _parent_image_spec(self) -> dict[str, Any] | None:
        self._check_open()
        try:
            with translated("parent"):
                return dict(self._img.get_parent_image_spec())
        except ImageNotFound:
            return None

    def parent_spec(self) -> ParentSpec | None:
        """The parent link at the open snapshot (or head), None if not a clone.

        Read with the ``rbd.get_parent`` object-class method on the header (the bindings give
        no pool or snapshot ids): le64 pool id (-1: no parent), le32-prefixed image id, le64
        snapshot id, le64 overlap.
        """
        spec = self._parent_image_spec()
        if spec is None:
            return None
        snap = _CEPH_NOSNAP if self._snap_id == SNAP_HEAD else self._snap_id
        with translated("parent"):
            _ret, out = self._raw.execute(f"rbd_header.{self.id()}", "rbd", "get_parent",
                                          struct.pack("<Q", snap))
        pool_id, length = struct.unpack_from("<qI", out, 0)
        if pool_id < 0:
            return None
        image_id = out[12 : 12 + length].decode()
        snap_id, overlap = struct.unpack_from("<QQ", out, 12 + length)
        return ParentSpec(pool_id, str(spec["pool_namespace"]), image_id, snap_id, overlap)

    def overlap(self) -> int:
        """Bytes of the parent the clone still sees (at the open snapshot); 0 if not a clone."""
        return int(self._call("overlap", "overlap"))

    def parent_info(self) -> tuple[str, str, str]:
        """(pool name, image name, snapshot name); ImageNotFound if not a clone."""
        pool, image, snap = self._call("parent_info", "parent_info")
        return str(pool), str(image), str(snap)

    def get_parent_image_spec(self) -> dict[str, Any]:
        """pool_name, pool_namespace, image_name, image_id, snap_name, snap_id, trash."""
        spec = self.parent_spec()
        names = self._parent_image_spec()
        if spec is None or names is None:
            raise ImageNotFound("image has no parent")
        return {
            "pool_name": str(names["pool_name"]),
            "pool_namespace": str(names["pool_namespace"]),
            "image_name": str(names["image_name"]),
            "image_id": spec.image_id,
            "snap_name": str(names["snap_name"]),
            "snap_id": spec.snap_id,
            "trash": bool(names.get("trash", False)),
        }

    # --- snapshots ----------------------------------------------------------------
    def set_snap(self, name: str | None) -> None:
        """Read at snapshot ``name`` from now on (None: back to the head)."""
        self._call(f"snapshot {name}", "set_snap", name)
        if name is None:
            self._snap_id, self._snap_name = SNAP_HEAD, None
        else:
            self._snap_id = int(self._call(f"snapshot {name}", "snap_get_id", name))
            self._snap_name = name

    def set_snap_by_id(self, snap_id: int) -> None:
        self._call(f"snapshot id {snap_id}", "set_snap_by_id", snap_id)
        self._snap_id = snap_id
        self._snap_name = str(self._call(f"snapshot id {snap_id}", "snap_get_name", snap_id))

    def list_snaps(self) -> Iterator[dict[str, Any]]:
        """Snapshots in id order: {id, size, name, namespace, protected, timestamp}."""
        snaps = list(self._call("list_snaps", "list_snaps"))
        for snap in sorted(snaps, key=lambda s: int(s["id"])):
            name = str(snap["name"])
            yield {
                "id": int(snap["id"]),
                "size": int(snap["size"]),
                "name": name,
                "namespace": int(snap.get("namespace", 0)),
                "protected": self.is_protected_snap(name),
                "timestamp": self.snap_get_timestamp(int(snap["id"])),
            }

    def is_protected_snap(self, name: str) -> bool:
        return bool(self._call(f"snapshot {name}", "is_protected_snap", name))

    def snap_get_timestamp(self, snap_id: int) -> datetime:
        return local_time(self._call(f"snapshot id {snap_id}", "get_snap_timestamp", snap_id))

    def create_snap(self, name: str, flags: int = 0) -> None:
        self._call(f"snap create {name}", "create_snap", name, flags)

    def remove_snap(self, name: str) -> None:
        self._call(f"snap remove {name}", "remove_snap", name)

    def remove_snap2(self, name: str, flags: int = 0) -> None:
        self._call(f"snap remove {name}", "remove_snap2", name, flags)

    def remove_snap_by_id(self, snap_id: int) -> None:
        self._call(f"snap remove id {snap_id}", "remove_snap_by_id", snap_id)

    def rename_snap(self, src: str, dest: str) -> None:
        self._call(f"snap rename {src}", "rename_snap", src, dest)

    def protect_snap(self, name: str) -> None:
        self._call(f"snap protect {name}", "protect_snap", name)

    def unprotect_snap(self, name: str) -> None:
        self._call(f"snap unprotect {name}", "unprotect_snap", name)

    def rollback_to_snap(self, name: str) -> None:
        self._call(f"snap rollback {name}", "rollback_to_snap", name)

    # --- locks --------------------------------------------------------------------
    def is_exclusive_lock_owner(self) -> bool:
        return bool(self._call("lock", "is_exclusive_lock_owner"))

    def lock_acquire(self, mode: int = 0) -> None:
        """Take the managed lock (``RBD_LOCK_MODE_EXCLUSIVE`` = 0)."""
        self._call("lock acquire", "lock_acquire", mode)

    def lock_release(self) -> None:
        self._call("lock release", "lock_release")

    def lock_get_owners(self) -> list[dict[str, Any]]:
        """[{mode, owner}] of the exclusive lock's holders (empty if none).

        A read-only handle has no managed lock to ask (librbd: EINVAL); then the
        header's lockers say it, as ``rbd ls -l`` reads them.
        """
        if self._read_only:
            found = self._call("lockers", "list_lockers")
            if not found or not found.get("exclusive"):
                return []
            return [{"mode": 0, "owner": str(client)} for client, _c, _a in found["lockers"]]
        owners = self._call("lock owners", "lock_get_owners")
        return [{"mode": int(o["mode"]), "owner": str(o["owner"])} for o in owners]

    def watchers_list(self) -> list[dict[str, Any]]:
        """The clients watching the image header: ``addr``, ``id``, ``cookie``."""
        watchers = self._call("watchers", "watchers_list")
        return [{"addr": str(w["addr"]), "id": int(w["id"]), "cookie": str(w["cookie"])}
                for w in watchers]

    # --- I/O ------------------------------------------------------------------------
    def read(self, offset: int, length: int, fadvise_flags: int = 0) -> bytes:
        """Bytes at ``offset``; short at the end; InvalidArgument past the end."""
        return bytes(self._call("read", "read", offset, length, fadvise_flags))

    def write(self, data: bytes, offset: int, fadvise_flags: int = 0) -> int:
        """Write ``data`` at ``offset``; returns the bytes written, clipped at the end of the
        image as librbd's C call does (Ceph's Python binding would raise IncompleteWriteError
        after writing them). InvalidArgument if ``offset`` is at or past the end."""
        size = self.size()
        if 0 <= offset < size < offset + len(data):
            data = bytes(memoryview(data)[: size - offset])
        return int(self._call("write", "write", data, offset, fadvise_flags))

    def discard(self, offset: int, length: int) -> None:
        """Deallocate whole discard granules of the range (librbd skips smaller pieces)."""
        self._call("discard", "discard", offset, length)

    def write_zeroes(self, offset: int, length: int, zero_flags: int = 0,
                     fadvise_flags: int = 0) -> None:
        """Zero every byte of the range."""
        # (the Ceph 16 binding takes no fadvise flags)
        self._call("write_zeroes", "write_zeroes", offset, length, zero_flags)

    def flush(self) -> None:
        self._call("flush", "flush")

    def resize(self, size: int, allow_shrink: bool = True) -> None:
        """Grow or shrink to ``size`` bytes (InvalidArgument if negative, or a shrink
        without ``allow_shrink``)."""
        check_size(size)
        self._call("resize", "resize", size, allow_shrink)

    # --- features, metadata ------------------------------------------------------------
    def update_features(self, features: int, enabled: bool) -> None:
        self._call("update_features", "update_features", features, enabled)

    def metadata_set(self, key: str, value: str) -> None:
        self._call("metadata_set", "metadata_set", key, value)

    def metadata_get(self, key: str) -> str:
        """Raises errors.NotFound for a missing key."""
        try:
            return str(self._call("metadata_get", "metadata_get", key))
        except KeyError:
            raise errors.NotFound(f"no image metadata key {key!r}") from None

    def metadata_remove(self, key: str) -> None:
        try:
            self._call("metadata_remove", "metadata_remove", key)
        except KeyError:
            raise errors.NotFound(f"no image metadata key {key!r}") from None

    def metadata_list(self) -> list[tuple[str, str]]:
        return sorted((str(k), str(v)) for k, v in self._call("metadata_list", "metadata_list"))

    # --- children, flatten, diff, copy --------------------------------------------------
    def list_children(self) -> list[tuple[str, str]]:
        """(pool, image) of the clones (of the open snapshot; at the head, of every one)."""
        return [(str(p), str(i)) for p, i in self._call("list_children", "list_children")]

    def list_children2(self) -> list[dict[str, Any]]:
        """{pool, pool_namespace, image, id, trash} of each clone."""
        return [
            {"pool": str(c["pool"]), "pool_namespace": str(c["pool_namespace"]),
             "image": str(c["image"]), "id": str(c["id"]), "trash": bool(c["trash"])}
            for c in self._call("list_children", "list_children2")
        ]

    def flatten(self, on_progress: ProgressCallback | None = None) -> None:
        self._call("flatten", "flatten", on_progress=on_progress)

    def diff_iterate(
        self,
        offset: int,
        length: int,
        from_snapshot: str | None,
        iterate_cb: DiffCallback,
        include_parent: bool = True,
        whole_object: bool = False,
    ) -> None:
        """Call ``iterate_cb(offset, length, exists)`` for extents changed since
        ``from_snapshot`` (None: the beginning of time) up to the open snapshot or head."""
        self._call("diff_iterate", "diff_iterate", offset, length, from_snapshot, iterate_cb,
                   include_parent=include_parent, whole_object=whole_object)

    def copy(self, dest_ioctx: CephIoCtx, dest_name: str, features: int | None = None,
             order: int | None = None, stripe_unit: int | None = None,
             stripe_count: int | None = None, data_pool: str | None = None) -> None:
        """Copy the data at the open snapshot (or head) into a new image."""
        self._call(f"copy to {dest_name}", "copy", raw_ioctx(dest_ioctx), dest_name,
                   features=features, order=order, stripe_unit=stripe_unit,
                   stripe_count=stripe_count, data_pool=data_pool)


def _conforms(img: CephImage) -> RbdImage:
    """mypy checks here that the adapter's image is an :class:`RbdImage`."""
    return img


def _opens(cls: type[CephImage]) -> ImageOpener:
    """... and that its class opens images as :class:`ImageOpener` says."""
    return cls
