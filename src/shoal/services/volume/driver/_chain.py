"""Clone chains: which volume a volume was cloned from, how deep, and its clones.

``create_cloned_volume`` makes volume B from volume A by cloning the snapshot
``A@<B's name>.clone_snap``; only such links count as a chain (a volume made
from a user snapshot or from an image is not "a clone of a volume" for
``rbd_max_clone_depth``), as Cinder's ``_get_clone_info`` decides.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from shoal import errors, limits
from shoal.rbd import RbdImage
from shoal.services.volume.driver._backend import Pool
from shoal.services.volume.driver._names import clone_snap_name

__all__ = ["ParentRef", "clone_depth", "clone_parent", "flatten_children"]

log = logging.getLogger("shoal.services.volume")


@dataclass(frozen=True)
class ParentRef:
    """A parent snapshot: ``pool/image@snap``."""

    pool: str
    image: str
    snap: str


def _parent_at(pool: Pool, img: RbdImage) -> ParentRef | None:
    try:
        parent_pool, image, snap = img.parent_info()
    except pool.lib.ImageNotFound:
        return None
    return ParentRef(str(parent_pool), str(image), str(snap))


def clone_parent(pool: Pool, img: RbdImage, name: str) -> ParentRef | None:
    """The volume image ``name`` (open as ``img``, at its head) was cloned from by
    ``create_cloned_volume``, or None.

    The head's parent counts; if the head has none (flattened), a snapshot's
    parent does: without deep-flatten a flattened clone's snapshots still hang
    on the parent's ``.clone_snap``, which must then stay until they go.
    """
    wanted = clone_snap_name(name)
    ref = _parent_at(pool, img)
    if ref is None:
        for snap in list(img.list_snaps()):
            try:
                with pool.open(name, snapshot=str(snap["name"])) as at_snap:
                    ref = _parent_at(pool, at_snap)
            except pool.lib.ImageNotFound:
                continue
            if ref is not None:
                break
    if ref is None or ref.pool != pool.name or ref.snap != wanted:
        return None
    return ref


def clone_depth(pool: Pool, name: str) -> int:
    """How many ``create_cloned_volume`` ancestors volume image ``name`` has (0: none).

    The walk stops after :data:`shoal.limits.clone_depth_max` + 1 steps.

    Raises:
        lib.ImageNotFound: ``name`` does not exist.
    """
    depth = 0
    while depth <= limits.clone_depth_max:
        with pool.open(name, read_only=True) as img:
            ref = clone_parent(pool, img, name)
        if ref is None:
            return depth
        depth += 1
        name = ref.image
    return depth


def children(pool: Pool, name: str, snaps: list[str]) -> list[dict[str, Any]]:
    """``list_children2`` entries (pool, pool_namespace, image, id, trash) of the
    snapshots ``snaps`` of image ``name``.

    Raises:
        errors.ShoalError: a listing failed (e.g. the user may not read a child's pool).
    """
    found: list[dict[str, Any]] = []
    for snap in snaps:
        try:
            with pool.open(name, snapshot=snap) as img:
                found.extend(img.list_children2())
        except pool.lib.ImageNotFound:
            continue
    return found


def flatten_children(pool: Pool, name: str, snaps: list[str]) -> bool:
    """Flatten every clone of the snapshots ``snaps`` of image ``name`` (clones in
    the trash too, by id), each through the backend's flatten throttle.

    Returns whether every clone was flattened; failures (a child in a pool the
    user may not write, a child in use) are logged, and the rest still go on.
    """
    backend = pool.backend
    try:
        dependents = children(pool, name, snaps)
    except errors.ShoalError as exc:
        log.warning("cannot list the clones of %s/%s: %s", pool.name, name, exc)
        return False
    done = True
    for child in dependents:
        where = f"{child['pool']}/{child['image']}"
        try:
            with backend.pool(str(child["pool"])) as child_pool:
                namespace = str(child.get("pool_namespace") or "")
                if namespace:
                    child_pool.ioctx.set_namespace(namespace)
                with child_pool.open_by_id(str(child["id"])) as img:
                    log.info("flattening %s, a clone of %s/%s", where, pool.name, name)
                    backend.flatten(img)
        except errors.ShoalError as exc:
            log.warning("cannot flatten %s (a clone of %s/%s): %s", where, pool.name, name, exc)
            done = False
    return done
