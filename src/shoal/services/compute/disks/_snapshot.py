"""Snapshots of a server's root disk into images, as Nova's Rbd image backend takes them.

**Direct** (``direct_snapshot``, when the disks' user may write the images' pool): a
snapshot of ``<uuid>_disk`` (protected), cloned into ``<images pool>/<image id>``,
flattened, given its own protected snapshot ``snap``; the disk's snapshot is then removed.
The location is ``rbd://<fsid>/<pool>/<image id>/snap``: the new image clones like any
Glance image. **Otherwise** (the guide's caps: ``client.cinder`` only reads ``images``)
the caller streams the disk's snapshot through the image service (:meth:`read_snapshot`),
as Nova falls back to a generic snapshot.

Every step finds what an earlier, interrupted run did: a snapshot already there is used,
a half-made image (no ``snap``) is removed and made again.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import Final

from shoal import errors
from shoal.rbd import RbdImage
from shoal.services.compute.disks._names import root_name
from shoal.services.volume.driver import Backend, BackendAccessDenied, Pool

__all__ = ["CHUNK_BYTES", "DiskSnapshots"]

log = logging.getLogger("shoal.services.compute")

#: Bytes read at a time when the snapshot is streamed.
CHUNK_BYTES: Final = 8 << 20
#: The snapshot Glance's RBD store clones from.
GLANCE_SNAP: Final = "snap"


def _has_snap(img: RbdImage, name: str) -> bool:
    return any(s["name"] == name for s in img.list_snaps())


class DiskSnapshots:
    """Snapshots of root disks of ``backend``'s pool (the guest disks' ``Backend``)."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend

    def take(self, server_id: str, snap: str) -> int:
        """Snapshot (protected) ``snap`` of the server's root disk; its size in bytes.

        Raises:
            errors.NotFound: the server has no root disk (boot from volume).
        """
        with self._backend.pool() as pool:
            try:
                img = pool.open(root_name(server_id))
            except pool.lib.ImageNotFound:
                raise errors.NotFound(f"server {server_id} has no root disk "
                                      f"{pool.name}/{root_name(server_id)}") from None
            with img:
                if not _has_snap(img, snap):
                    img.create_snap(snap)
                with contextlib.suppress(pool.lib.InvalidArgument):  # protected already
                    img.protect_snap(snap)
                return int(img.size())

    def drop(self, server_id: str, snap: str) -> None:
        """Remove snapshot ``snap`` of the root disk (gone already: nothing to do)."""
        with self._backend.pool() as pool:
            try:
                with pool.open(root_name(server_id)) as img:
                    if _has_snap(img, snap) and not pool.remove_snap(img, snap):
                        log.warning("snapshot %s/%s@%s still has clones: kept", pool.name,
                                    root_name(server_id), snap)
            except pool.lib.ImageNotFound:
                pass

    def rollback(self, server_id: str, snap: str) -> None:
        """Put the root disk back as it was at ``snap`` (its size too), then remove
        ``snap`` (a resize reverted). No such snapshot: nothing to do (done already)."""
        with self._backend.pool() as pool, pool.open(root_name(server_id)) as img:
            if not _has_snap(img, snap):
                return
            size = next(int(s["size"]) for s in img.list_snaps() if s["name"] == snap)
            if int(img.size()) != size:
                img.resize(size, allow_shrink=True)
            img.rollback_to_snap(snap)
            pool.remove_snap(img, snap)

    def grow(self, server_id: str, size: int) -> int:
        """Grow the root disk to ``size`` bytes if smaller (never shrinks); its size."""
        with self._backend.pool() as pool, pool.open(root_name(server_id)) as img:
            if int(img.size()) < size:
                img.resize(size)
            return int(img.size())

    def clone_into(self, server_id: str, snap: str, images_pool: str, image_id: str,
                   heartbeat: Callable[[], None]) -> str | None:
        """The direct snapshot: ``images_pool/image_id`` made from the disk's ``snap``
        (flattened, with a protected ``snap``); its location, or None when the disks'
        user may not write ``images_pool`` (then nothing is left there).

        Raises:
            errors.ShoalError: any other failure (what was made in ``images_pool`` is
                removed first).
        """
        try:
            with self._backend.pool(images_pool) as dest:
                try:
                    return self._clone(dest, server_id, snap, image_id, heartbeat)
                except BaseException:
                    _remove_quietly(dest, image_id)
                    raise
        except BackendAccessDenied as exc:
            log.info("direct snapshot of server %s refused (%s): streaming it through the "
                     "image service", server_id, exc)
            return None

    def _clone(self, dest: Pool, server_id: str, snap: str, image_id: str,
               heartbeat: Callable[[], None]) -> str:
        with contextlib.suppress(dest.lib.ImageNotFound), dest.open(image_id) as img:
            if _has_snap(img, GLANCE_SNAP):
                return self._location(dest, image_id)  # an earlier run finished it
        _remove_quietly(dest, image_id)
        with self._backend.pool() as src:
            dest.lib.RBD().clone(src.ioctx, root_name(server_id), snap, dest.ioctx, image_id,
                                 features=self._backend.features)
        heartbeat()
        with dest.open(image_id) as img:
            self._backend.flatten(img)
            heartbeat()
            img.create_snap(GLANCE_SNAP)
            img.protect_snap(GLANCE_SNAP)
        return self._location(dest, image_id)

    def _location(self, dest: Pool, image_id: str) -> str:
        return f"rbd://{self._backend.fsid}/{dest.name}/{image_id}/{GLANCE_SNAP}"

    def read_snapshot(self, server_id: str, snap: str, heartbeat: Callable[[], None]
                      ) -> Iterator[bytes]:
        """The bytes of the disk at ``snap``, :data:`CHUNK_BYTES` at a time."""
        with self._backend.pool() as pool, pool.open(root_name(server_id), snapshot=snap) as img:
            size = int(img.size())
            for offset in range(0, size, CHUNK_BYTES):
                yield bytes(img.read(offset, min(CHUNK_BYTES, size - offset)))
                heartbeat()


def _remove_quietly(pool: Pool, name: str) -> None:
    """Remove ``pool/name`` and its snapshots (absent: fine; failures logged)."""
    try:
        with pool.open(name) as img:
            for s in list(img.list_snaps()):
                pool.remove_snap(img, s["name"])
        pool.lib.RBD().remove(pool.ioctx, name)
    except pool.lib.ImageNotFound:
        pass
    except errors.ShoalError as exc:
        log.warning("could not remove %s/%s of a failed snapshot: %s", pool.name, name, exc)
