"""Garbage left in a pool by RBD operations a crash interrupted.

What can be left, and why nothing else ever removes it:

- a hidden ``REMOVING`` trash record whose image is no longer listed: a remove
  killed after its commit (the image is gone for users, its objects are not);
- ``rbd_header.<id>`` (with its object map and a ``rbd_children`` entry for a
  clone) that neither the directory nor the trash names: a create or clone
  killed before its directory entry committed;
- ``rbd_data.<id>.*`` or ``rbd_object_map.<id>*`` with no header at all;
- ``rbd_object_map.<id>.<snap>`` of a snapshot the header does not list (a
  snapshot creation killed before its header step, or a removal after it);
- ``rbd_id.<name>`` for a name the directory does not map to that id.

Each object is removed only once it has not changed for ``min_age`` seconds,
so an operation still in flight in another process keeps its objects.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

from shoal import errors
from shoal.objstore import IoCtx
from shoal.rbd import _cls

__all__ = ["purge_leftovers"]

_HEADER = "rbd_header."
_MAP = "rbd_object_map."
_DATA = "rbd_data."
_ID = "rbd_id."


def _names(ioctx: IoCtx, prefix: str) -> Iterator[str]:
    cursor: str | None = None
    while True:
        page = ioctx.list_objects(prefix, cursor, 1000)
        yield from page.names
        cursor = page.cursor
        if cursor is None:
            return


def _old(ioctx: IoCtx, oid: str, cutoff: float) -> bool:
    try:
        return ioctx.stat(oid).mtime <= cutoff
    except errors.ObjectNotFound:
        return False


def _remove(ioctx: IoCtx, oid: str, removed: list[str]) -> None:
    with contextlib.suppress(errors.ObjectNotFound):
        ioctx.remove_object(oid)
        removed.append(oid)


def _purge_image(
    ioctx: IoCtx, image_id: str, purge_image: Callable[[IoCtx, str], None], removed: list[str]
) -> None:
    """Purge one unlisted image; add the objects that went to ``removed``."""
    mine = [
        *_names(ioctx, _DATA + image_id + "."),
        *_names(ioctx, _MAP + image_id),
        *_names(ioctx, _HEADER + image_id),
    ]
    purge_image(ioctx, image_id)
    for oid in mine:
        try:
            ioctx.stat(oid)
        except errors.ObjectNotFound:
            removed.append(oid)


def _snapshot_ids(ioctx: IoCtx, image_id: str) -> set[int] | None:
    try:
        hdr: dict[str, Any] = _cls.call(ioctx, _HEADER + image_id, "get_header")
    except errors.NotFound:
        return None
    return {int(s["id"]) for s in hdr["snapshots"]}


def purge_leftovers(
    ioctx: IoCtx,
    min_age: float,
    directory: dict[str, str],
    records: dict[str, dict[str, Any]],
    purge_image: Callable[[IoCtx, str], None],
) -> list[str]:
    """See :meth:`shoal.rbd.RBD.purge_leftovers`.

    ``directory``: name → id of the listed images; ``records``: every trash
    record by id; ``purge_image(ioctx, id)`` removes an unlisted image's objects.
    """
    cutoff = time.time() - max(0.0, min_age)
    removed: list[str] = []
    listed = set(directory.values())

    # 1. removals killed after their commit
    for image_id, spec in records.items():
        if spec["source"] == "REMOVING" and image_id not in listed:
            hdr_oid = _HEADER + image_id
            if not _old(ioctx, hdr_oid, cutoff) and _snapshot_ids(ioctx, image_id) is not None:
                continue  # a remove in flight elsewhere
            _purge_image(ioctx, image_id, purge_image, removed)
    known = listed | set(records)

    # 2. headers nobody names: creates and clones killed before their commit
    for oid in list(_names(ioctx, _HEADER)):
        image_id = oid[len(_HEADER):]
        if image_id not in known and _old(ioctx, oid, cutoff):
            _purge_image(ioctx, image_id, purge_image, removed)

    # 3. object maps of missing images or snapshots
    snaps: dict[str, set[int] | None] = {}
    for oid in list(_names(ioctx, _MAP)):
        image_id, _, snap = oid[len(_MAP):].partition(".")
        if image_id not in snaps:
            snaps[image_id] = _snapshot_ids(ioctx, image_id)
        ids = snaps[image_id]
        stale = ids is None or (snap != "" and int(snap, 16) not in ids)
        if stale and _old(ioctx, oid, cutoff):
            _remove(ioctx, oid, removed)

    # 4. data objects of images without a header
    for oid in list(_names(ioctx, _DATA)):
        image_id = oid[len(_DATA):].rsplit(".", 1)[0]
        if image_id not in snaps:
            snaps[image_id] = _snapshot_ids(ioctx, image_id)
        if snaps[image_id] is None and image_id not in known and _old(ioctx, oid, cutoff):
            _remove(ioctx, oid, removed)

    # 5. id objects the directory disagrees with
    for oid in list(_names(ioctx, _ID)):
        name = oid[len(_ID):]
        if name in directory:
            continue
        if _old(ioctx, oid, cutoff):
            _remove(ioctx, oid, removed)
    return sorted(set(removed))
