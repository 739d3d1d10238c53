"""``RBD``: pool-level image operations (librbd's ``rbd.RBD``).

Every multi-object operation is ordered so that one atomic step commits it and
a crash before that step leaves nothing visible:

- create / clone: header (and for a clone its ``rbd_children`` entry) first;
  the ``rbd_directory`` entry commits. Leftovers are invisible and ignored.
- remove: as librbd does, the image first goes to the trash under the hidden
  source ``REMOVING``, then leaves the directory (commit); data, maps, header
  follow and the trash record goes last. A remove killed after its commit
  leaves that record, which :meth:`RBD.purge_leftovers` finishes.
- trash move/restore: one directory step and one trash step, each atomic.

Leftovers of a create or clone killed before its commit (a header, object map,
children link, never listed) are found by :meth:`RBD.purge_leftovers` once they
are older than an in-flight operation could be.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from shoal import errors
from shoal.objstore import IoCtx
from shoal.rbd import _cls
from shoal.rbd._create import (
    CHILDREN,
    DIRECTORY,
    check_image_name,
    create_image,
    lookup_id,
    write_id_object,
)
from shoal.rbd._errors import (
    FunctionNotSupported,
    ImageBusy,
    ImageExists,
    ImageHasSnapshots,
    ImageNotFound,
)
from shoal.rbd._features import FEATURE_LAYERING
from shoal.rbd._image import Image
from shoal.rbd._interface import ProgressCallback, RbdManager
from shoal.rbd._leftovers import purge_leftovers
from shoal.rbd._lock import is_alive
from shoal.rbd._meta import ParentSpec, header_oid, id_oid, object_map_oid, resolve_image_id
from shoal.rbd._options import RbdOptions

__all__ = ["RBD", "RbdOptions"]

TRASH = "rbd_trash"
#: Trash source of an image being removed (librbd's RBD_TRASH_IMAGE_SOURCE_REMOVING).
SOURCE_REMOVING = "REMOVING"
#: purge_leftovers leaves objects younger than this alone (seconds).
LEFTOVER_MIN_AGE_S = 600.0


# Aliases: inside class RBD the method ``list`` shadows the builtin in annotations.
_Entries = list[dict[str, Any]]
_Pairs = list[tuple[str, str]]
_Names = list[str]


class RBD:
    """Stateless pool-level operations; ``options`` supplies librbd's defaults."""

    def __init__(self, options: RbdOptions | None = None) -> None:
        self.options = options or RbdOptions()

    # --- create / clone ----------------------------------------------------------
    def create(
        self,
        ioctx: IoCtx,
        name: str,
        size: int,
        order: int | None = None,
        old_format: bool = False,
        features: int | None = None,
        stripe_unit: int | None = None,
        stripe_count: int | None = None,
        data_pool: str | None = None,
    ) -> None:
        """Create an empty format-2 image of ``size`` bytes.

        Raises ImageExists, InvalidArgument (name, size, order, striping),
        NotSupported (old_format, data_pool, unsupported features).
        """
        create_image(ioctx, self.options, name, size, order=order, old_format=old_format,
                     features=features, stripe_unit=stripe_unit, stripe_count=stripe_count,
                     data_pool=data_pool)

    def clone(
        self,
        p_ioctx: IoCtx,
        p_name: str,
        p_snapname: str,
        c_ioctx: IoCtx,
        c_name: str,
        features: int | None = None,
        order: int | None = None,
        stripe_unit: int | None = None,
        stripe_count: int | None = None,
        data_pool: str | None = None,
    ) -> None:
        """Clone a protected parent snapshot into a copy-on-write child (O(1)).

        As librbd does, what is not given comes from the parent: its features,
        order, stripe unit and stripe count (so a clone with a larger order than
        its parent keeps the parent's stripe unit, and gets fancy striping).

        Raises ImageNotFound (parent or snapshot), InvalidArgument (snapshot not
        protected), FunctionNotSupported (ENOSYS: parent or clone without
        layering), ImageExists.
        """
        with Image(p_ioctx, p_name, snapshot=p_snapname, read_only=True,
                   options=self.options) as parent:
            if not parent.features() & FEATURE_LAYERING:
                raise FunctionNotSupported(f"parent image {p_name!r} has no layering feature")
            if not parent.is_protected_snap(p_snapname):
                raise errors.InvalidArgument(
                    f"parent snapshot {p_name}@{p_snapname} must be protected before cloning"
                )
            feats = parent.features() if features is None else features
            if not feats & FEATURE_LAYERING:
                raise FunctionNotSupported("a clone needs the layering feature")
            spec = ParentSpec(p_ioctx.pool_id, p_ioctx.get_namespace(), parent.id(),
                              parent.snapshot_id(), parent.size())
            create_image(
                c_ioctx, self.options, c_name, parent.size(),
                order=order if order is not None else parent.order(), features=feats,
                stripe_unit=parent.stripe_unit() if stripe_unit is None else stripe_unit,
                stripe_count=parent.stripe_count() if stripe_count is None else stripe_count,
                data_pool=data_pool, parent=spec,
            )

    # --- list / rename / remove -------------------------------------------------------
    def list(self, ioctx: IoCtx) -> _Names:
        """Image names in the pool, sorted."""
        return [name for name, _id in self._directory(ioctx)]

    def list2(self, ioctx: IoCtx) -> _Entries:
        return [{"id": i, "name": n} for n, i in self._directory(ioctx)]

    @staticmethod
    def _directory(ioctx: IoCtx) -> _Pairs:
        out: _Pairs = []
        after = ""
        while True:
            try:
                page = _cls.call(ioctx, DIRECTORY, "dir_list", {"start_after": after, "max": 1024})
            except errors.NotFound:
                return out
            out.extend((str(n), str(i)) for n, i in page["images"])
            if not page["more"] or not page["images"]:
                return out
            after = out[-1][0]

    def rename(self, ioctx: IoCtx, src: str, dest: str) -> None:
        check_image_name(dest)
        image_id = lookup_id(ioctx, src)
        if image_id is None:
            raise ImageNotFound(f"image {src!r} does not exist")
        if lookup_id(ioctx, dest) is not None:
            raise ImageExists(f"image {dest!r} already exists")
        _cls.call(ioctx, DIRECTORY, "dir_rename_image", {"src": src, "dest": dest, "id": image_id})
        write_id_object(ioctx, dest, image_id)
        with contextlib.suppress(errors.ObjectNotFound):
            ioctx.remove_object(id_oid(src))

    def remove(self, ioctx: IoCtx, name: str,
               on_progress: ProgressCallback | None = None) -> None:
        """Delete an image and its data.

        Raises ImageNotFound, ImageHasSnapshots, ImageBusy (locked by a live owner).
        """
        image_id = lookup_id(ioctx, name)
        if image_id is None:
            raise ImageNotFound(f"image {name!r} does not exist")
        self._check_removable(ioctx, image_id, name)
        self._trash_add(ioctx, image_id, {"name": name, "source": SOURCE_REMOVING,
                                          "deletion_time": time.time(),
                                          "deferment_end_time": time.time()})
        _cls.call(ioctx, DIRECTORY, "dir_remove_image", {"name": name, "id": image_id})
        with contextlib.suppress(errors.ObjectNotFound):
            ioctx.remove_object(id_oid(name))
        self._purge(ioctx, image_id)

    @staticmethod
    def _trash_add(ioctx: IoCtx, image_id: str, spec: dict[str, Any]) -> None:
        """Add (or replace: a record left by an interrupted move or remove) a trash record."""
        try:
            _cls.call(ioctx, TRASH, "trash_add", {"id": image_id, "spec": spec})
        except ImageExists:
            _cls.call(ioctx, TRASH, "trash_remove", {"id": image_id})
            _cls.call(ioctx, TRASH, "trash_add", {"id": image_id, "spec": spec})

    def purge_leftovers(self, ioctx: IoCtx, min_age: float = LEFTOVER_MIN_AGE_S) -> _Names:
        """Finish removals a crash interrupted and delete what crashed creates left.

        Not in librbd (which leaves such objects for an administrator): removes
        images whose remove was interrupted (hidden ``REMOVING`` trash records),
        headers, object maps, ids and data objects that no directory entry or
        trash record names, and snapshot object maps of snapshots that do not
        exist. Anything modified less than ``min_age`` seconds ago is left
        alone, as it may belong to an operation still running.

        Returns the names of the objects removed, sorted.
        """
        return purge_leftovers(ioctx, min_age, dict(self._directory(ioctx)),
                               self.trash_records(ioctx), self._purge)

    def _check_removable(self, ioctx: IoCtx, image_id: str, name: str) -> dict[str, Any]:
        try:
            hdr: dict[str, Any] = _cls.call(ioctx, header_oid(image_id), "get_header")
        except errors.NotFound:
            return {}
        if hdr["snapshots"]:
            raise ImageHasSnapshots(f"image {name!r} has snapshots; remove them first")
        held = _cls.call(ioctx, header_oid(image_id), "get_info", cls="lock")
        if held is not None and is_alive(held):
            raise ImageBusy(f"image {name!r} is in use by {held.get('entity')}")
        watchers = _cls.call(ioctx, header_oid(image_id), "list_watchers", cls="lock")
        if any(is_alive(w) for w in watchers.values()):
            raise ImageBusy(f"image {name!r} still has watchers (it is open for writing)")
        return hdr

    def _purge(self, ioctx: IoCtx, image_id: str) -> None:
        """Remove data objects, maps, header and the children link of a dead image."""
        try:
            hdr = _cls.call(ioctx, header_oid(image_id), "get_header")
        except errors.NotFound:
            with contextlib.suppress(errors.NotFound):
                _cls.call(ioctx, TRASH, "trash_remove", {"id": image_id})
            return
        prefix = str(hdr["object_prefix"]) + "."
        doomed: list[str] = []
        cursor: str | None = None
        while True:
            page = ioctx.list_objects(prefix, cursor, 1000)
            doomed.extend(page.names)
            cursor = page.cursor
            if cursor is None:
                break
        for oid in doomed:
            with contextlib.suppress(errors.ObjectNotFound):
                ioctx.remove_object(oid)
        parent = ParentSpec.from_doc(hdr.get("parent"))
        if parent is not None:
            with contextlib.suppress(errors.NotFound):
                _cls.call(ioctx, CHILDREN, "remove_child",
                          {"parent": parent.child_key(), "child": image_id})
        for oid in (object_map_oid(image_id), header_oid(image_id)):
            with contextlib.suppress(errors.ObjectNotFound):
                ioctx.remove_object(oid)
        with contextlib.suppress(errors.NotFound):
            # last: until it goes, purge_leftovers can finish an interrupted purge
            _cls.call(ioctx, TRASH, "trash_remove", {"id": image_id})

    # --- trash -------------------------------------------------------------------------
    def trash_move(self, ioctx: IoCtx, name: str, delay: int = 0) -> None:
        """Move an image to the trash; it can be restored until removed.

        ``delay`` (seconds) defers its removal (trash_remove needs force before).
        """
        image_id = lookup_id(ioctx, name)
        if image_id is None:
            raise ImageNotFound(f"image {name!r} does not exist")
        held = _cls.call(ioctx, header_oid(image_id), "get_info", cls="lock")
        if held is not None and is_alive(held):
            raise ImageBusy(f"image {name!r} is in use by {held.get('entity')}")
        now = time.time()
        spec = {"name": name, "source": "USER", "deletion_time": now,
                "deferment_end_time": now + max(0, int(delay))}
        self._trash_add(ioctx, image_id, spec)
        _cls.call(ioctx, DIRECTORY, "dir_remove_image", {"name": name, "id": image_id})
        with contextlib.suppress(errors.ObjectNotFound):
            ioctx.remove_object(id_oid(name))

    @staticmethod
    def _listed(ioctx: IoCtx, image_id: str) -> bool:
        try:
            _cls.call(ioctx, DIRECTORY, "dir_get_name", {"id": image_id})
        except errors.NotFound:
            return False
        return True

    def trash_list(self, ioctx: IoCtx) -> _Entries:
        try:
            items = _cls.call(ioctx, TRASH, "trash_list")
        except errors.NotFound:
            return []
        return [
            self._trash_entry(i, s)
            for i, s in sorted(items.items())
            # REMOVING: an image being removed, hidden as librbd hides it; listed in
            # the directory: a half-done move/restore, the image is live
            if s["source"] != SOURCE_REMOVING and not self._listed(ioctx, i)
        ]

    @staticmethod
    def trash_records(ioctx: IoCtx) -> dict[str, dict[str, Any]]:
        """Every trash record by image id, hidden ones (``REMOVING``) included."""
        try:
            return dict(_cls.call(ioctx, TRASH, "trash_list"))
        except errors.NotFound:
            return {}

    @staticmethod
    def _trash_entry(image_id: str, spec: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": image_id,
            "name": spec["name"],
            "source": spec["source"],
            "deletion_time": spec["deletion_time"],
            "deferment_end_time": spec["deferment_end_time"],
        }

    def trash_get(self, ioctx: IoCtx, image_id: str) -> dict[str, Any]:
        for entry in self.trash_list(ioctx):
            if entry["id"] == image_id:
                return dict(entry)
        raise ImageNotFound(f"no image with id {image_id} in the trash")

    def trash_restore(self, ioctx: IoCtx, image_id: str, name: str | None = None) -> None:
        entry = self.trash_get(ioctx, image_id)
        name = name or str(entry["name"])
        check_image_name(name)
        if lookup_id(ioctx, name) is not None:
            raise ImageExists(f"image {name!r} already exists")
        _cls.call(ioctx, DIRECTORY, "dir_add_image", {"name": name, "id": image_id})
        _cls.call(ioctx, TRASH, "trash_remove", {"id": image_id})
        write_id_object(ioctx, name, image_id)

    def trash_remove(self, ioctx: IoCtx, image_id: str, force: bool = False) -> None:
        """Delete a trashed image. PermissionDenied (EPERM) before its deferment
        ends unless ``force``; ImageHasSnapshots if it still has snapshots."""
        entry = self.trash_get(ioctx, image_id)
        if self._listed(ioctx, image_id):
            # A move or restore interrupted between its two steps: the image is
            # live, so only the stale trash record goes.
            _cls.call(ioctx, TRASH, "trash_remove", {"id": image_id})
            return
        if not force and time.time() < float(entry["deferment_end_time"]):
            raise errors.PermissionDenied(
                f"image {image_id} is deferred until {entry['deferment_end_time']:.0f}; "
                "use force to remove it now"
            )
        self._check_removable(ioctx, image_id, str(entry["name"]))
        self._purge(ioctx, image_id)

    def trash_purge(self, ioctx: IoCtx, expire_ts: float | None = None) -> int:
        """Remove every trashed image whose deferment has ended; returns the count."""
        now = time.time() if expire_ts is None else expire_ts
        removed = 0
        for entry in self.trash_list(ioctx):
            if float(entry["deferment_end_time"]) <= now:
                try:
                    self.trash_remove(ioctx, entry["id"], force=True)
                    removed += 1
                except (ImageHasSnapshots, ImageBusy):
                    continue
        return removed

    # --- helpers ------------------------------------------------------------------------
    def image_id(self, ioctx: IoCtx, name: str) -> str:
        return resolve_image_id(ioctx, name)


def _conforms(rbd: RBD) -> RbdManager:
    """mypy checks here that the engine's ``RBD`` is an :class:`RbdManager`."""
    return rbd
