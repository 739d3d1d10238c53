"""Clone v1 bookkeeping: which images are clones of a parent snapshot.

Each child is registered in the ``rbd_children`` object of the *child's* pool
under the parent spec (pool id, namespace, image id, snap id). Finding the
children of a snapshot therefore scans ``rbd_children`` in every pool — which
is why the guide's caps grant ``class-read object_prefix rbd_children`` on all
pools. A registration whose child no longer points at the parent (left by a
crash between two steps of clone, flatten or remove) is ignored.
"""

from __future__ import annotations

from typing import Any

from shoal import errors
from shoal.objstore import IoCtx
from shoal.rbd import _cls

__all__ = ["children_of", "list_children"]

CHILDREN_OID = "rbd_children"


def _registered(io: IoCtx, key: list[Any]) -> list[str]:
    try:
        return [str(c) for c in _cls.call(io, CHILDREN_OID, "get_children", {"parent": key})]
    except errors.NotFound:
        return []


def _still_child(io: IoCtx, child_id: str, key: list[Any]) -> bool:
    """Whether child ``child_id`` (head or a snapshot) still links to the parent spec."""
    try:
        hdr = _cls.call(io, f"rbd_header.{child_id}", "get_header")
    except errors.NotFound:
        return False
    except errors.PermissionDenied:
        return True  # cannot look: assume it is real
    links = [hdr.get("parent")] + [s.get("parent") for s in hdr["snapshots"]]
    linked = any(
        link and [link["pool_id"], link.get("pool_namespace", ""), link["image_id"],
                  link["snap_id"]] == key
        for link in links
    )
    return linked and _committed(io, child_id)


def _committed(io: IoCtx, image_id: str) -> bool:
    """Whether the image is complete and not removed: listed in the directory or
    in the user's trash (a clone killed before its directory entry has a header
    but neither; one whose remove was interrupted has a hidden REMOVING record)."""
    try:
        _cls.call(io, "rbd_directory", "dir_get_name", {"id": image_id})
        return True
    except errors.NotFound:
        pass
    except errors.PermissionDenied:
        return True
    try:
        spec = _cls.call(io, "rbd_trash", "trash_list").get(image_id)
    except errors.NotFound:
        return False
    except errors.PermissionDenied:
        return True
    # a REMOVING record: a remove that committed, its purge pending; not a child
    return spec is not None and spec["source"] != "REMOVING"


def children_of(
    io: IoCtx, pool_id: int, namespace: str, image_id: str, snap_id: int
) -> list[tuple[IoCtx, str]]:
    """(child pool handle, child image id) for every live clone of the snapshot."""
    key: list[Any] = [pool_id, namespace, image_id, snap_id]
    found: list[tuple[IoCtx, str]] = []
    for pool in io.list_pools():
        try:
            child_io = io.open_pool(pool.id)
        except errors.NotFound:
            continue
        for child_id in _registered(child_io, key):
            if _still_child(child_io, child_id, key):
                found.append((child_io, child_id))
    return found


def _trash_name(io: IoCtx, image_id: str) -> str:
    """The name a trashed image had (its id if the trash has no record)."""
    try:
        spec = _cls.call(io, "rbd_trash", "trash_list").get(image_id)
    except errors.NotFound:
        return image_id
    return str(spec["name"]) if spec else image_id


def list_children(io: IoCtx, image_id: str, snap_id: int) -> list[dict[str, Any]]:
    """librbd ``list_children2`` entries: pool, pool_namespace, image, id, trash."""
    out = []
    for child_io, child_id in children_of(io, io.pool_id, io.get_namespace(), image_id, snap_id):
        try:
            name = _cls.call(child_io, "rbd_directory", "dir_get_name", {"id": child_id})
            trash = False
        except errors.NotFound:
            name, trash = _trash_name(child_io, child_id), True
        out.append(
            {
                "pool": child_io.pool_name,
                "pool_namespace": child_io.get_namespace(),
                "image": str(name),
                "id": child_id,
                "trash": trash,
            }
        )
    return sorted(out, key=lambda c: (c["pool"], c["image"]))
