"""``Image``: one open RBD image of the embedded engine (librbd's ``rbd.Image``).

Data lives in objects ``rbd_data.<id>.<016x objectno>`` written through a
handle carrying the image's snap context, so the object store preserves a
clone of an object at its first write after a snapshot (RADOS self-managed
snapshots). Reading at a snapshot reads those clones. A clone image reads
objects it does not have from its parent (at the parent snapshot, inside the
overlap) and copies an object up from the parent on its first write to it.

Metadata goes through the ``rbd`` object class (:mod:`._cls`), one atomic
call per change. The object map (feature ``object-map``) is kept by the
exclusive-lock owner only; other handles never trust the head map.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from types import TracebackType
from typing import Any

from shoal import errors, limits
from shoal.objstore import SNAP_HEAD, IoCtx, WriteOp
from shoal.rbd import _cls
from shoal.rbd._blocks import is_zero, nonzero_length
from shoal.rbd._cache import WriteCache
from shoal.rbd._children import children_of, list_children
from shoal.rbd._create import create_image
from shoal.rbd._diff import diff_iterate
from shoal.rbd._engine import EngineImage
from shoal.rbd._errors import (
    FunctionNotSupported,
    ImageBusy,
    ImageExists,
    ImageNotFound,
    ReadOnlyImage,
)
from shoal.rbd._features import (
    FEATURE_DEEP_FLATTEN,
    FEATURE_EXCLUSIVE_LOCK,
    FEATURE_FAST_DIFF,
    FEATURE_LAYERING,
    FEATURE_OBJECT_MAP,
    FEATURES_MUTABLE,
    RBD_FLAG_FAST_DIFF_INVALID,
    RBD_FLAG_OBJECT_MAP_INVALID,
    RBD_LOCK_MODE_EXCLUSIVE,
    check_features,
)
from shoal.rbd._flatten import flatten
from shoal.rbd._interface import DiffCallback, ImageOpener, ProgressCallback, RbdImage
from shoal.rbd._lock import LockOwner, is_alive, new_owner
from shoal.rbd._meta import (
    ParentSpec,
    check_snap_name,
    data_oid,
    header_oid,
    object_map_oid,
    resolve_image_id,
)
from shoal.rbd._objectmap import ObjectMap, ObjectState
from shoal.rbd._options import RbdOptions
from shoal.rbd._striping import Layout, map_extent, object_count, object_to_image

__all__ = ["Image"]

#: Pauses between tries while another handle holds the exclusive lock (seconds).
_LOCK_POLL_S_MIN = 0.001
_LOCK_POLL_S_MAX = 0.05


class Image:
    """An open image. Use as a context manager; ``close()`` releases the lock.

    ``snapshot``: open at that snapshot (read-only). Offsets and lengths are bytes.
    Thread-safe for concurrent reads; writes are serialised per handle.
    """

    def __init__(
        self,
        ioctx: IoCtx,
        name: str | None = None,
        snapshot: str | None = None,
        read_only: bool = False,
        image_id: str | None = None,
        entity: str | None = None,
        options: RbdOptions | None = None,
    ) -> None:
        if (name is None) == (image_id is None):
            raise errors.InvalidArgument("give exactly one of name or image_id")
        self._io = ioctx
        self._md = ioctx.dup()
        self._data = ioctx.dup()
        self._id = image_id if image_id is not None else resolve_image_id(ioctx, str(name))
        self._name = name if name is not None else self._name_from_directory()
        self._read_only = read_only or snapshot is not None
        self._options = options or RbdOptions()
        self._entity = entity or self._options.entity
        cached = self._options.cache and self._options.cache_max_dirty > 0
        self._cache = WriteCache(self._options.cache_max_dirty) if cached else None
        self._writeback = cached and not self._options.cache_writethrough_until_flush
        self._owner: LockOwner | None = None
        self._omap: ObjectMap | None = None
        self._parents: dict[tuple[int, str, str, int], Image] = {}
        self._mutex = threading.RLock()
        self._closed = False
        self._snap_id = SNAP_HEAD
        self._snap_name: str | None = None
        self._watch: LockOwner | None = None
        self.refresh()
        if snapshot is not None:
            self.set_snap(snapshot)
        elif not self._read_only:
            self._register_watch()

    # --- lifecycle ----------------------------------------------------------------
    def __enter__(self) -> Image:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the exclusive lock (if held) and parent handles. Idempotent."""
        if self._closed:
            return
        if self._cache:
            self._flush_cache()
        self._closed = True
        for parent in self._parents.values():
            parent.close()
        if self._owner is not None:
            with contextlib.suppress(errors.NotFound):
                _cls.call(self._md, header_oid(self._id), "unlock",
                          {"cookie": self._owner.cookie}, cls="lock")
            self._owner = None
        if self._watch is not None:
            with contextlib.suppress(errors.NotFound):
                _cls.call(self._md, header_oid(self._id), "unwatch",
                          {"cookie": self._watch.cookie}, cls="lock")
            self._watch = None

    def _register_watch(self) -> None:
        """Record this read-write handle on the header (librbd's header watch),
        dropping watchers whose process died; removal refuses while any live."""
        owner = new_owner(self._entity)
        stale = [c for c, w in self._watchers().items() if not is_alive(w)]
        _cls.call(self._md, header_oid(self._id), "watch",
                  {"cookie": owner.cookie, "owner": owner.as_doc(), "stale": stale}, cls="lock")
        self._watch = owner

    def _watchers(self) -> dict[str, dict[str, Any]]:
        return dict(_cls.call(self._md, header_oid(self._id), "list_watchers", cls="lock"))

    def watchers_list(self) -> list[dict[str, Any]]:
        """Live read-write handles of the image: ``addr``, ``id`` (pid), ``cookie``."""
        return [
            {"addr": w["address"], "id": int(w["pid"]), "cookie": cookie}
            for cookie, w in sorted(self._watchers().items())
            if is_alive(w)
        ]

    def _name_from_directory(self) -> str:
        try:
            name = _cls.call(self._io, "rbd_directory", "dir_get_name", {"id": self._id})
        except errors.NotFound:
            return self._id
        return str(name)

    def refresh(self) -> None:
        """Re-read the header (size, snapshots, parent, features)."""
        try:
            hdr = _cls.call(self._md, header_oid(self._id), "get_header")
        except errors.NotFound:
            raise ImageNotFound(f"image {self._name or self._id!r} does not exist") from None
        self._hdr: dict[str, Any] = hdr
        self._snaps: dict[int, dict[str, Any]] = {int(s["id"]): s for s in hdr["snapshots"]}
        self._layout = Layout.make(
            int(hdr["order"]), int(hdr["stripe_unit"]), int(hdr["stripe_count"])
        )
        snap_ids = sorted(self._snaps)
        self._data.set_self_managed_snap_write(snap_ids, int(hdr["snap_seq"]))
        if self._snap_id != SNAP_HEAD and self._snap_id not in self._snaps:
            raise ImageNotFound(f"snapshot {self._snap_name!r} no longer exists")

    def _check_open(self) -> None:
        if self._closed:
            raise errors.InvalidArgument("image is closed")

    # --- plain properties (librbd names) -----------------------------------------
    def id(self) -> str:
        return self._id

    def get_name(self) -> str:
        return self._name

    def size(self) -> int:
        """Bytes, at the snapshot if one is set."""
        if self._snap_id != SNAP_HEAD:
            return int(self._snaps[self._snap_id]["size"])
        return int(self._hdr["size"])

    def features(self) -> int:
        return int(self._hdr["features"])

    def flags(self) -> int:
        return int(self._hdr.get("flags", 0))

    def order(self) -> int:
        return int(self._hdr["order"])

    def block_name_prefix(self) -> str:
        return str(self._hdr["object_prefix"])

    def stripe_unit(self) -> int:
        return self._layout.stripe_unit

    def stripe_count(self) -> int:
        return self._layout.stripe_count

    def old_format(self) -> bool:
        return False

    def create_timestamp(self) -> datetime:
        return datetime.fromtimestamp(float(self._hdr["create_timestamp"]))

    def access_timestamp(self) -> datetime:
        return datetime.fromtimestamp(float(self._hdr["access_timestamp"]))

    def modify_timestamp(self) -> datetime:
        return datetime.fromtimestamp(float(self._hdr["modify_timestamp"]))

    @property
    def layout(self) -> Layout:
        return self._layout

    @property
    def ioctx(self) -> IoCtx:
        return self._io

    def stat(self) -> dict[str, Any]:
        """librbd ``stat()``: size, obj_size, num_objs, order, block_name_prefix, parent."""
        size = self.size()
        return {
            "size": size,
            "obj_size": self._layout.object_size,
            "num_objs": object_count(self._layout, size),
            "order": self.order(),
            "block_name_prefix": self.block_name_prefix(),
            "parent_pool": -1,
            "parent_name": "",
        }

    def snapshot_id(self) -> int:
        """The open snapshot's id, or SNAP_HEAD."""
        return self._snap_id

    # --- parent ----------------------------------------------------------------
    def parent_spec(self) -> ParentSpec | None:
        """The parent link at the open snapshot (or head), None if not a clone."""
        if self._snap_id != SNAP_HEAD:
            return ParentSpec.from_doc(self._snaps[self._snap_id].get("parent"))
        return ParentSpec.from_doc(self._hdr.get("parent"))

    def overlap(self) -> int:
        """Bytes of the parent the clone reads through (0 for an image without parent)."""
        spec = self.parent_spec()
        return 0 if spec is None else spec.overlap

    def _parent_image(self, spec: ParentSpec) -> Image:
        key = (spec.pool_id, spec.pool_namespace, spec.image_id, spec.snap_id)
        with self._mutex:
            parent = self._parents.get(key)
            if parent is None:
                pio = self._io.open_pool(spec.pool_id)
                pio.set_namespace(spec.pool_namespace)
                parent = Image(pio, image_id=spec.image_id, read_only=True,
                               options=self._options)
                parent.set_snap_by_id(spec.snap_id)
                self._parents[key] = parent
            return parent

    def parent_info(self) -> tuple[str, str, str]:
        """(pool name, image name, snapshot name); ImageNotFound if not a clone."""
        spec = self.parent_spec()
        if spec is None:
            raise ImageNotFound("image has no parent")
        parent = self._parent_image(spec)
        return parent.ioctx.pool_name, parent.get_name(), str(parent._snap_name)

    def get_parent_image_spec(self) -> dict[str, Any]:
        spec = self.parent_spec()
        if spec is None:
            raise ImageNotFound("image has no parent")
        parent = self._parent_image(spec)
        return {
            "pool_name": parent.ioctx.pool_name,
            "pool_namespace": spec.pool_namespace,
            "image_name": parent.get_name(),
            "image_id": spec.image_id,
            "snap_name": parent._snap_name,
            "snap_id": spec.snap_id,
            "trash": False,
        }

    # --- snapshots: open at ------------------------------------------------------
    def _snap_by_name(self, name: str) -> dict[str, Any]:
        for snap in self._snaps.values():
            if snap["name"] == name:
                return snap
        raise ImageNotFound(f"snapshot {name!r} does not exist on image {self._name!r}")

    def set_snap(self, name: str | None) -> None:
        """Read at snapshot ``name`` from now on (None: back to the head)."""
        if name is None:
            self._snap_id, self._snap_name = SNAP_HEAD, None
            self._data.set_read(SNAP_HEAD)
            return
        snap = self._snap_by_name(name)
        self.set_snap_by_id(int(snap["id"]))

    def set_snap_by_id(self, snap_id: int) -> None:
        if snap_id not in self._snaps:
            raise ImageNotFound(f"snapshot id {snap_id} does not exist")
        self._snap_id, self._snap_name = snap_id, str(self._snaps[snap_id]["name"])
        self._data.set_read(snap_id)

    def list_snaps(self) -> Iterator[dict[str, Any]]:
        """Snapshots in id order: {id, size, name, namespace, protected, timestamp}."""
        for snap_id in sorted(self._snaps):
            s = self._snaps[snap_id]
            yield {
                "id": snap_id,
                "size": int(s["size"]),
                "name": s["name"],
                "namespace": 0,
                "protected": bool(s["protected"]),
                "timestamp": datetime.fromtimestamp(float(s["timestamp"])),
            }

    def is_protected_snap(self, name: str) -> bool:
        return bool(self._snap_by_name(name)["protected"])

    def snap_get_timestamp(self, snap_id: int) -> datetime:
        if snap_id not in self._snaps:
            raise ImageNotFound(f"snapshot id {snap_id} does not exist")
        return datetime.fromtimestamp(float(self._snaps[snap_id]["timestamp"]))

    # --- write access and the exclusive lock ------------------------------------------
    def _writable(self) -> None:
        self._check_open()
        if self._read_only:
            raise ReadOnlyImage(f"image {self._name!r} is open read-only")

    def _at_head(self) -> None:
        """Data changes need the head: EROFS on a handle set to a snapshot (as librbd)."""
        if self._snap_id != SNAP_HEAD:
            raise ReadOnlyImage(
                f"image {self._name!r} is set to snapshot {self._snap_name!r}: "
                "set_snap(None) to change the head"
            )

    def _acquire(self, *, explicit: bool = False) -> None:
        """Take the exclusive lock before the first change (feature exclusive-lock).

        Another live handle holding it *automatically* (its own first change took it) is
        waited for, up to :data:`shoal.limits.exclusive_lock_wait_s_max`: it lets go when
        it closes, as a librbd owner releases the lock when another client asks for it.
        One that took it *explicitly* (:meth:`lock_acquire`) keeps it: ImageBusy at once.
        A dead owner's lock is broken.
        """
        self._writable()
        if self._owner is not None or not self.features() & FEATURE_EXCLUSIVE_LOCK:
            return
        owner = new_owner(self._entity)
        doc = owner.as_doc()
        if explicit:
            doc["explicit"] = True
        req: dict[str, Any] = {"cookie": owner.cookie, "owner": doc}
        hdr = header_oid(self._id)
        deadline = time.monotonic() + limits.exclusive_lock_wait_s_max
        pause = _LOCK_POLL_S_MIN
        while True:
            try:
                _cls.call(self._md, hdr, "lock", req, cls="lock")
                break
            except errors.Busy:
                held = _cls.call(self._md, hdr, "get_info", cls="lock")
            if held is not None and is_alive(held):
                if held.get("explicit") or time.monotonic() + pause > deadline:
                    raise ImageBusy(
                        f"image {self._name!r} is locked by {held.get('entity')} "
                        f"(pid {held.get('pid')} on {held.get('host')})"
                    ) from None
                time.sleep(pause)
                pause = min(pause * 2, _LOCK_POLL_S_MAX)
                continue
            req["break_cookie"] = held["cookie"] if held else None
        self._owner = owner
        self.refresh()
        self._load_object_map()

    def is_exclusive_lock_owner(self) -> bool:
        return self._owner is not None

    def lock_acquire(self, mode: int = RBD_LOCK_MODE_EXCLUSIVE) -> None:
        if mode != RBD_LOCK_MODE_EXCLUSIVE:
            raise errors.NotSupported("only exclusive lock mode is supported")
        if not self.features() & FEATURE_EXCLUSIVE_LOCK:
            raise errors.InvalidArgument("image has no exclusive-lock feature")
        self._acquire(explicit=True)

    def lock_release(self) -> None:
        if self._owner is None:
            raise errors.InvalidArgument("lock not held by this handle")
        self._flush_cache()
        _cls.call(self._md, header_oid(self._id), "unlock",
                  {"cookie": self._owner.cookie}, cls="lock")
        self._owner = None
        self._omap = None

    def lock_get_owners(self) -> list[dict[str, Any]]:
        held = _cls.call(self._md, header_oid(self._id), "get_info", cls="lock")
        if held is None:
            return []
        return [{"mode": RBD_LOCK_MODE_EXCLUSIVE, "owner": held.get("address", "")}]

    # --- object map ---------------------------------------------------------------
    def _map_valid(self) -> bool:
        return bool(self.features() & FEATURE_OBJECT_MAP) and not (
            self.flags() & RBD_FLAG_OBJECT_MAP_INVALID
        )

    def _load_object_map(self) -> None:
        """Load the head map (lock owner only); a missing/garbled map is rebuilt."""
        self._omap = None
        if not self._map_valid():
            return
        count = object_count(self._layout, int(self._hdr["size"]))
        try:
            omap = ObjectMap.decode(self._md.read(object_map_oid(self._id), 0))
        except (errors.ObjectNotFound, errors.InvalidArgument):
            omap = self._rebuild_object_map(count)
        if omap.count != count:
            omap.resize(count)
        self._omap = omap

    def _rebuild_object_map(self, count: int) -> ObjectMap:
        omap = ObjectMap(count)
        prefix = self.block_name_prefix() + "."
        cursor: str | None = None
        while True:
            page = self._data.list_objects(prefix, cursor, 1000)
            for oid in page.names:
                objectno = int(oid[len(prefix) :], 16)
                if objectno < count:
                    omap[objectno] = ObjectState.EXISTS
            cursor = page.cursor
            if cursor is None:
                break
        self._md.write_full(object_map_oid(self._id), omap.encode())
        return omap

    def _save_object_map(self) -> None:
        assert self._omap is not None
        self._md.write_full(object_map_oid(self._id), self._omap.encode())

    def _mark(self, objectno: int, state: ObjectState) -> None:
        """Record ``state`` for an object (before a write, after a removal)."""
        if self._omap is None or objectno >= self._omap.count:
            return
        if self._omap[objectno] != state:
            self._omap[objectno] = state
            op = WriteOp()
            for at, piece in self._omap.patch(objectno):
                op.write(piece, at)
            self._md.operate(object_map_oid(self._id), op)

    def _mark_in_snapshots(self, objectnos: range | list[int]) -> None:
        """Record that these objects now exist at every snapshot too.

        A copy-up written with an empty snap context (deep-flatten) becomes what
        every snapshot reads for the object, so the snapshots' maps must say so
        (rollback and diff pick objects from them). Marking more is always safe.
        """
        if not self._map_valid():
            return
        for snap_id in sorted(self._snaps):
            m = self._snap_object_map(snap_id)
            if m is None:
                continue
            changed = False
            for objectno in objectnos:
                if objectno < m.count and m[objectno] == ObjectState.NONEXISTENT:
                    m[objectno] = ObjectState.EXISTS
                    changed = True
            if changed:
                self._md.write_full(object_map_oid(self._id, snap_id), m.encode())

    def _snap_object_map(self, snap_id: int) -> ObjectMap | None:
        """The map saved at ``snap_id`` (SNAP_HEAD: the live one if we own it)."""
        if not self._map_valid():
            return None
        if snap_id == SNAP_HEAD:
            if self._omap is not None:
                return self._omap
            try:
                return ObjectMap.decode(self._md.read(object_map_oid(self._id), 0))
            except (errors.ObjectNotFound, errors.InvalidArgument):
                return None
        try:
            return ObjectMap.decode(self._md.read(object_map_oid(self._id, snap_id), 0))
        except (errors.ObjectNotFound, errors.InvalidArgument):
            return None

    # --- I/O ----------------------------------------------------------------------
    def _clip(self, offset: int, length: int) -> int:
        size = self.size()
        if offset < 0 or length < 0:
            raise errors.InvalidArgument("offset and length must be >= 0")
        if length == 0:
            return 0  # as librbd: an empty request is always valid
        if offset >= size:
            raise errors.InvalidArgument(
                f"offset {offset} is at or past the end of the image ({size} bytes)"
            )
        return min(length, size - offset)

    def _oid(self, objectno: int) -> str:
        return data_oid(self.block_name_prefix(), objectno)

    def read(self, offset: int, length: int, fadvise_flags: int = 0) -> bytes:
        """Bytes at ``offset``; short at the end of the image; holes read as zeros."""
        self._check_open()
        length = self._clip(offset, length)
        spec = self.parent_spec()
        skip = self._omap if (self._owner is not None and self._snap_id == SNAP_HEAD) else None
        parts: list[bytes] = []
        pos = 0
        for ext in map_extent(self._layout, offset, length):
            # map_extent yields pieces in buffer order, so the parts concatenate.
            assert ext.buffer_offset == pos, "extents out of buffer order"
            pos += ext.length
            data: bytes | None = None
            if skip is None or skip[ext.objectno] != ObjectState.NONEXISTENT:
                try:
                    data = self._data.read(self._oid(ext.objectno), ext.length, ext.offset)
                except errors.ObjectNotFound:
                    data = None
            if data is None and spec is not None:
                piece = bytearray(ext.length)
                self._read_parent(spec, offset + ext.buffer_offset, ext.length, piece, 0)
                data = bytes(piece)
            if data is None:
                data = bytes(ext.length)
            elif len(data) < ext.length:
                data += bytes(ext.length - len(data))
            if self._cache and self._snap_id == SNAP_HEAD:
                data = self._cache.overlay(ext.objectno, ext.offset, data)
            parts.append(data)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _read_parent(
        self, spec: ParentSpec, image_offset: int, length: int, buf: bytearray, at: int
    ) -> None:
        end = min(image_offset + length, spec.overlap)
        if end <= image_offset:
            return
        data = self._parent_image(spec).read(image_offset, end - image_offset)
        buf[at : at + len(data)] = data

    def write(self, data: bytes, offset: int, fadvise_flags: int = 0) -> int:
        """Write ``data`` at ``offset``; returns the bytes written (clipped at the end)."""
        with self._mutex:
            self._at_head()
            self._acquire()
            length = self._clip(offset, len(data))
            view = memoryview(data)
            for ext in map_extent(self._layout, offset, length):
                if ext.length == len(data) and isinstance(data, bytes):
                    piece = data  # one piece: no copy
                else:
                    piece = bytes(view[ext.buffer_offset : ext.buffer_offset + ext.length])
                if self._cache is not None and self._writeback:
                    self._cache.add(ext.objectno, ext.offset, piece)
                else:
                    self._write_object(ext.objectno, ext.offset, piece)
            if self._cache is not None and self._cache.over_limit():
                self._flush_cache()
            return length

    def _write_object(self, objectno: int, obj_offset: int, piece: bytes | None,
                      zero_length: int = 0) -> None:
        """Write ``piece`` (or zero ``zero_length`` bytes) in one object, copying up first."""
        oid = self._oid(objectno)
        self._mark(objectno, ObjectState.EXISTS)
        self._copyup_if_needed(objectno, oid)
        if piece is not None:
            self._data.write(oid, piece, obj_offset)
        else:
            self._data.zero(oid, obj_offset, zero_length)

    def _object_exists(self, objectno: int, oid: str) -> bool:
        try:
            self._data.stat(oid)
        except errors.ObjectNotFound:
            return False
        return True

    def _copyup_if_needed(self, objectno: int, oid: str) -> bool:
        """Copy the object's parent data into the clone before its first write.

        As librbd does, when the clone has snapshots the copy is written with an
        empty snap context: it lies beneath them, so each snapshot physically
        holds the parent data it reads here, and keeps it through a flatten
        (deep or not), a shrink or a rollback.
        """
        spec = ParentSpec.from_doc(self._hdr.get("parent"))
        if spec is None:
            return False
        pieces = self._object_image_ranges(objectno, spec.overlap)
        if not pieces:
            return False
        if self._object_exists(objectno, oid):
            return False
        blob = bytearray(self._layout.object_size)
        for obj_off, img_off, length in pieces:
            self._read_parent(spec, img_off, length, blob, obj_off)
        end = nonzero_length(blob)
        io = self._data
        if self._snaps:
            io = self._md.dup()
            self._mark_in_snapshots([objectno])
        op = WriteOp().create(exclusive=True)
        if end:
            op.write(bytes(blob[:end]), 0)
        try:
            io.operate(oid, op)
        except errors.AlreadyExists:
            return False
        return True

    def _object_image_ranges(self, objectno: int, limit: int) -> list[tuple[int, int, int]]:
        """(object offset, image offset, length) pieces of an object below ``limit``."""
        out = []
        obj_off = 0
        for img_off, length in object_to_image(self._layout, objectno, 0,
                                               self._layout.object_size):
            end = min(img_off + length, limit)
            if end > img_off:
                out.append((obj_off, img_off, end - img_off))
            obj_off += length
        return out

    def discard(self, offset: int, length: int) -> None:
        """Deallocate a range, in whole granules (as librbd does).

        ``rbd_discard_granularity_bytes`` (64 KiB, capped at the object size):
        each object's piece of the range shrinks to granule boundaries and is
        skipped if nothing is left, so a small discard may leave data readable;
        with objects no larger than a granule, a piece running to its object's
        end is cut from any offset. What is discarded reads as zeros (never as
        parent data). Use :meth:`write_zeroes` to zero exact bytes.
        """
        with self._mutex:
            self._at_head()
            self._acquire()
            self._flush_cache()
            length = self._clip(offset, length)
            obj = self._layout.object_size
            granule = min(self._options.discard_granularity_bytes, obj)
            for ext in map_extent(self._layout, offset, length):
                lo, hi = ext.offset, ext.offset + ext.length
                if granule < obj or hi < obj:
                    lo = -(-lo // granule) * granule
                    hi = hi // granule * granule
                if lo < hi:
                    self._deallocate(ext.objectno, lo, hi - lo)

    def write_zeroes(self, offset: int, length: int, zero_flags: int = 0,
                     fadvise_flags: int = 0) -> None:
        """Make exactly ``length`` bytes at ``offset`` read as zeros."""
        with self._mutex:
            self._at_head()
            self._acquire()
            self._flush_cache()
            length = self._clip(offset, length)
            for ext in map_extent(self._layout, offset, length):
                self._deallocate(ext.objectno, ext.offset, ext.length)

    def _deallocate(self, objectno: int, obj_offset: int, length: int) -> None:
        """Zero one object's bytes [obj_offset, +length), removing or truncating
        it where that frees space."""
        whole = obj_offset == 0 and length == self._layout.object_size
        if whole and self.parent_spec() is None:
            self._remove_object(objectno)
        elif whole:
            oid = self._oid(objectno)
            self._mark(objectno, ObjectState.EXISTS)
            if self._snaps:
                # the snapshots keep the parent's data here (also after a
                # flatten or a rollback): copy it up beneath them first
                self._copyup_if_needed(objectno, oid)
            self._data.operate(oid, WriteOp().create(exclusive=False).truncate(0))
        else:
            self._write_object(objectno, obj_offset, None, length)

    def _remove_object(self, objectno: int) -> None:
        oid = self._oid(objectno)
        omap = self._omap
        if omap is not None and objectno < omap.count and omap[objectno] == ObjectState.NONEXISTENT:
            return
        self._mark(objectno, ObjectState.PENDING)
        with contextlib.suppress(errors.ObjectNotFound):
            self._data.remove_object(oid)
        self._mark(objectno, ObjectState.NONEXISTENT)

    def flush(self) -> None:
        """Make every completed write durable (also against power loss).

        With ``rbd cache writethrough until flush`` the first flush also
        switches this handle to write-back caching.
        """
        self._check_open()
        with self._mutex:
            self._flush_cache()
            if self._cache is not None:
                self._writeback = True
        self._data.flush()

    def _flush_cache(self) -> None:
        """Write every cached extent out, one transaction per object (the object
        map says EXISTS first). Serial: the local store commits one transaction
        at a time, so writes in flight measured no faster."""
        if not self._cache:
            return
        for objectno, extents in self._cache.take_all():
            oid = self._oid(objectno)
            self._mark(objectno, ObjectState.EXISTS)
            self._copyup_if_needed(objectno, oid)
            op = WriteOp()
            for offset, data in extents:
                op.write(data, offset)
            self._data.operate(oid, op)

    # --- size ---------------------------------------------------------------------
    def resize(self, size: int, allow_shrink: bool = True) -> None:
        """Grow or shrink to ``size`` bytes; the parent overlap never grows."""
        with self._mutex:
            self._at_head()
            self._acquire()
            self._flush_cache()
            if size < 0 or size > limits.image_size_bytes_max:
                raise errors.InvalidArgument(f"size must be 0..{limits.image_size_bytes_max}")
            if size < self.size() and not allow_shrink:
                raise errors.InvalidArgument("shrinking is not allowed")
            self._set_size(size)

    def _set_size(self, size: int) -> None:
        """Resize the head (lock held, cache flushed).

        Crash order: a grow first removes objects past the old end (leftovers of
        an interrupted shrink) and zeros the old tail, then commits the size; a
        shrink commits the size, then trims. Either way no byte past the
        committed size is ever visible, and data that was past it reads as zeros
        after a later grow.
        """
        old = self.size()
        old_count = object_count(self._layout, old)
        new_count = object_count(self._layout, size)
        if size < old:
            self._copyup_for_snapshots(size)
        if size > old:
            self._trim_objects(old_count, None)  # leftovers of a crashed shrink
            self._zero_tail(old, min(size, self._object_end(old)))
        _cls.call(self._md, header_oid(self._id), "set_size", {"size": size})
        if size < old:
            self._trim_objects(new_count, None)  # also leftovers past the old end
            self._zero_tail(size, self._object_end(size))
        self.refresh()
        if self._omap is not None:
            self._omap.resize(new_count)
            self._save_object_map()

    def _copyup_for_snapshots(self, size: int) -> None:
        """Before a clone with snapshots shrinks to ``size``: copy up, beneath the
        snapshots, the parent data of every object the shrink cuts into (librbd's
        trim copy-up), so that the snapshots keep it once the head's overlap
        shrinks, through a later rollback or flatten too."""
        spec = self.parent_spec()
        if spec is None or not self._snaps or size >= spec.overlap:
            return
        for objectno in range(object_count(self._layout, spec.overlap)):
            if any(img_off + length > size
                   for _, img_off, length in self._object_image_ranges(objectno, spec.overlap)):
                self._mark(objectno, ObjectState.EXISTS)
                self._copyup_if_needed(objectno, self._oid(objectno))

    def _object_end(self, offset: int) -> int:
        """The end of the object set holding byte ``offset`` (with the default
        layout: of its object), rounded up: the bytes past ``offset`` that share
        objects with the bytes before it."""
        span = self._layout.object_size * max(1, self._layout.stripe_count)
        return -(-offset // span) * span

    def _zero_tail(self, start: int, end: int) -> None:
        """Clear image bytes [start, end) in objects that also hold bytes before
        ``start`` (``end`` at most :meth:`_object_end` of ``start``), so data
        once past the end never shows again; objects that do not exist stay so."""
        if end <= start:
            return
        if self._layout.is_default:
            objectno = start // self._layout.object_size
            oid = self._oid(objectno)
            if self._object_exists(objectno, oid):
                self._data.trunc(oid, start - objectno * self._layout.object_size)
            return
        for ext in map_extent(self._layout, start, end - start):
            oid = self._oid(ext.objectno)
            if self._object_exists(ext.objectno, oid):
                self._data.zero(oid, ext.offset, ext.length)

    def _trim_objects(self, first: int, end: int | None) -> None:
        """Remove data objects numbered >= first (and < end if given)."""
        prefix = self.block_name_prefix() + "."
        cursor: str | None = None
        doomed: list[int] = []
        while True:
            page = self._data.list_objects(prefix, cursor, 1000)
            for oid in page.names:
                objectno = int(oid[len(prefix) :], 16)
                if objectno >= first and (end is None or objectno < end):
                    doomed.append(objectno)
            cursor = page.cursor
            if cursor is None:
                break
        for objectno in doomed:
            self._remove_object(objectno)

    # --- snapshots ------------------------------------------------------------------
    def create_snap(self, name: str, flags: int = 0) -> None:
        """Snapshot the head, O(1): data objects are preserved on their next write."""
        check_snap_name(name)
        with self._mutex:
            self._acquire()
            self.refresh()
            self._flush_cache()
            if any(s["name"] == name for s in self._snaps.values()):
                raise ImageExists(f"snapshot {name!r} already exists")
            if len(self._snaps) >= limits.snaps_per_image_max:
                raise errors.NoSpace(f"at most {limits.snaps_per_image_max} snapshots")
            snap_id = self._md.create_self_managed_snap()
            if self._omap is not None:
                self._md.write_full(object_map_oid(self._id, snap_id), self._omap.encode())
            _cls.call(self._md, header_oid(self._id), "snapshot_add",
                      {"id": snap_id, "name": name})
            if self._omap is not None:
                self._omap.mark_clean()
                self._save_object_map()
            self.refresh()

    def remove_snap(self, name: str) -> None:
        """Remove a snapshot; ImageBusy if it is protected."""
        with self._mutex:
            self._writable()
            snap = self._snap_by_name(name)
            self._remove_snap_id(int(snap["id"]))

    def remove_snap2(self, name: str, flags: int = 0) -> None:
        self.remove_snap(name)

    def remove_snap_by_id(self, snap_id: int) -> None:
        with self._mutex:
            self._writable()
            if snap_id not in self._snaps:
                raise ImageNotFound(f"snapshot id {snap_id} does not exist")
            self._remove_snap_id(snap_id)

    def _remove_snap_id(self, snap_id: int) -> None:
        self._acquire()
        if self._snaps[snap_id]["protected"]:
            raise ImageBusy(f"snapshot {self._snaps[snap_id]['name']!r} is protected")
        newer = [s for s in sorted(self._snaps) if s > snap_id]
        self._merge_snap_map_forward(snap_id, newer[0] if newer else SNAP_HEAD)
        _cls.call(self._md, header_oid(self._id), "snapshot_remove", {"id": snap_id})
        self._md.remove_self_managed_snap(snap_id)
        with contextlib.suppress(errors.ObjectNotFound):
            self._md.remove_object(object_map_oid(self._id, snap_id))
        self.refresh()

    def _merge_snap_map_forward(self, snap_id: int, next_id: int) -> None:
        """Changes recorded in the removed snapshot's interval belong to the next one."""
        removed = self._snap_object_map(snap_id)
        target = self._snap_object_map(next_id)
        if removed is None or target is None:
            return
        changed = False
        for objectno, state in removed.iter_present():
            if (
                state == ObjectState.EXISTS
                and objectno < target.count
                and target[objectno] == ObjectState.EXISTS_CLEAN
            ):
                target[objectno] = ObjectState.EXISTS
                changed = True
        if not changed:
            return
        if next_id == SNAP_HEAD:
            self._save_object_map()
        else:
            self._md.write_full(object_map_oid(self._id, next_id), target.encode())

    def rename_snap(self, src: str, dest: str) -> None:
        check_snap_name(dest)
        with self._mutex:
            self._writable()
            snap = self._snap_by_name(src)
            _cls.call(self._md, header_oid(self._id), "snapshot_rename",
                      {"id": snap["id"], "name": dest})
            self.refresh()

    def protect_snap(self, name: str) -> None:
        """Protect a snapshot so it can be cloned; ImageBusy if already protected."""
        with self._mutex:
            self._writable()
            if not self.features() & FEATURE_LAYERING:
                raise FunctionNotSupported("image has no layering feature")
            snap = self._snap_by_name(name)
            if snap["protected"]:
                raise ImageBusy(f"snapshot {name!r} is already protected")
            _cls.call(self._md, header_oid(self._id), "set_protection_status",
                      {"id": snap["id"], "protected": True})
            self.refresh()

    def unprotect_snap(self, name: str) -> None:
        """InvalidArgument if not protected; ImageBusy while clones of it exist."""
        with self._mutex:
            self._writable()
            snap = self._snap_by_name(name)
            if not snap["protected"]:
                raise errors.InvalidArgument(f"snapshot {name!r} is not protected")
            if children_of(self._io, self._io.pool_id, self._io.get_namespace(), self._id,
                           int(snap["id"])):
                raise ImageBusy(f"snapshot {name!r} has clones")
            _cls.call(self._md, header_oid(self._id), "set_protection_status",
                      {"id": snap["id"], "protected": False})
            self.refresh()

    def rollback_to_snap(self, name: str) -> None:
        """Make the head what it was at snapshot ``name`` (size and data).

        As librbd does, the head first takes the snapshot's size (a clone's
        parent overlap shrinks with it and does not grow back), then each object
        is rolled back. Interrupted, the image has the snapshot's size and each
        object is either rolled back or not; running the rollback again ends it.
        """
        with self._mutex:
            self._at_head()
            self._acquire()
            snap = self._snap_by_name(name)
            self._flush_cache()
            snap_id, snap_size = int(snap["id"]), int(snap["size"])
            count = object_count(self._layout, snap_size)
            if self.size() != snap_size:
                self._set_size(snap_size)
            # Objects past the end: leftovers of an interrupted shrink, whose
            # snapshot clones may hold data from before it. Never roll them back.
            self._trim_objects(count, None)
            snap_map = self._snap_object_map(snap_id)
            candidates = self._rollback_candidates(count, snap_map)
            if self._omap is not None:
                # The map must never say NONEXISTENT for an object that exists, also
                # if this rollback is interrupted: mark what it may bring back first.
                for objectno in candidates:
                    self._omap[objectno] = ObjectState.EXISTS
                self._save_object_map()
            present: set[int] = set()
            for objectno in candidates:
                self._data.rollback_self_managed_snap(self._oid(objectno), snap_id)
                if self._object_exists(objectno, self._oid(objectno)):
                    present.add(objectno)
            self.refresh()
            if self._omap is not None:
                # What exists now, as the store says (a snapshot's map can be stale
                # for objects a deep flatten copied up "since forever").
                fresh = ObjectMap(count)
                for objectno in present:
                    fresh[objectno] = ObjectState.EXISTS
                self._omap = fresh
                self._save_object_map()

    def _rollback_candidates(self, count: int, snap_map: ObjectMap | None) -> list[int]:
        if snap_map is None or self._omap is None:
            return list(range(count))
        wanted = {n for n, _ in snap_map.iter_present()}
        wanted |= {n for n, _ in self._omap.iter_present()}
        return sorted(n for n in wanted if n < count)

    # --- features -------------------------------------------------------------------
    def update_features(self, features: int, enabled: bool) -> None:
        """Toggle exclusive-lock / object-map / fast-diff, or disable deep-flatten."""
        with self._mutex:
            self._writable()
            allowed = FEATURES_MUTABLE | (0 if enabled else FEATURE_DEEP_FLATTEN)
            if features & ~allowed:
                raise errors.InvalidArgument("cannot change those features on a live image")
            if features & FEATURE_OBJECT_MAP:
                features |= FEATURE_FAST_DIFF  # as librbd: fast-diff comes and goes with it
            current = self.features()
            new = current | features if enabled else current & ~features
            check_features(new)
            _cls.call(self._md, header_oid(self._id), "set_features",
                      {"features": new, "mask": features})
            if enabled and features & FEATURE_OBJECT_MAP:
                _cls.call(self._md, header_oid(self._id), "set_flags",
                          {"flags": 0, "mask": RBD_FLAG_OBJECT_MAP_INVALID
                           | RBD_FLAG_FAST_DIFF_INVALID})
                self.refresh()
                self._rebuild_object_map(object_count(self._layout, self.size()))
            self.refresh()
            if self._owner is not None:
                self._load_object_map()

    # --- metadata -------------------------------------------------------------------
    def metadata_set(self, key: str, value: str) -> None:
        self._writable()
        _cls.call(self._md, header_oid(self._id), "metadata_set", {key: value})
        self.refresh()

    def metadata_get(self, key: str) -> str:
        try:
            return str(self._hdr["metadata"][key])
        except KeyError:
            raise errors.NotFound(f"no image metadata key {key!r}") from None

    def metadata_remove(self, key: str) -> None:
        self._writable()
        _cls.call(self._md, header_oid(self._id), "metadata_remove", {"key": key})
        self.refresh()

    def metadata_list(self) -> list[tuple[str, str]]:
        return sorted((k, str(v)) for k, v in self._hdr["metadata"].items())

    # --- children, flatten, diff, copy (see _ops) ---------------------------------------
    def list_children(self) -> list[tuple[str, str]]:
        """(pool, image) of clones of the open snapshot."""
        return [(c["pool"], c["image"]) for c in self.list_children2()]

    def list_children2(self) -> list[dict[str, Any]]:
        if self._snap_id != SNAP_HEAD:
            return list_children(self._io, self._id, self._snap_id)
        # at the head: the clones of every snapshot, as librbd lists them
        found = [c for snap_id in sorted(self._snaps)
                 for c in list_children(self._io, self._id, snap_id)]
        return sorted(found, key=lambda c: (c["pool"], c["image"]))

    def flatten(self, on_progress: ProgressCallback | None = None) -> None:
        with self._mutex:
            self._at_head()
            self._acquire()
            flatten(self, on_progress)
            self._flush_cache()

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
        ``from_snapshot`` (None: since the beginning of time) up to the open
        snapshot or head. ``exists`` False means the extent was discarded (zeros)."""
        self._check_open()
        with self._mutex:
            self._flush_cache()
        diff_iterate(self, offset, length, from_snapshot, iterate_cb, include_parent,
                     whole_object)

    def copy(self, dest_ioctx: IoCtx, dest_name: str, features: int | None = None,
             order: int | None = None, stripe_unit: int | None = None,
             stripe_count: int | None = None, data_pool: str | None = None) -> None:
        """Copy the data at the open snapshot (or head) into a new image."""
        create_image(dest_ioctx, RbdOptions(), dest_name, self.size(),
                     order=order if order is not None else self.order(),
                     features=features, stripe_unit=stripe_unit, stripe_count=stripe_count)
        with Image(dest_ioctx, dest_name, options=self._options) as dest:
            def copy_extent(off: int, length: int, exists: bool) -> None:
                if not exists:
                    return
                step = self._layout.object_size
                for o in range(off, off + length, step):
                    chunk = self.read(o, min(step, off + length - o))
                    if not is_zero(chunk):
                        dest.write(chunk, o)

            self.diff_iterate(0, self.size(), None, copy_extent)

    # --- internal accessors for the helpers in _flatten/_diff ------------------------------
    def _header(self) -> dict[str, Any]:
        return self._hdr

    def _snapshots(self) -> dict[int, dict[str, Any]]:
        return self._snaps



def _conforms(img: Image) -> RbdImage:
    """mypy checks here that the engine's ``Image`` is an :class:`RbdImage`."""
    return img


def _conforms_internally(img: Image) -> EngineImage:
    """... and that it offers its helpers (:mod:`._flatten`, :mod:`._diff`) what they use."""
    return img


def _opens(cls: type[Image]) -> ImageOpener:
    """... and that the class opens images as :class:`ImageOpener` says."""
    return cls
