"""Pools, images and error translation shared by the backup driver's operations."""

from __future__ import annotations

import contextlib
import errno
import logging
from collections.abc import Callable, Iterator
from types import TracebackType

from shoal import errors
from shoal.cluster import Session
from shoal.objstore import IoCtx
from shoal.rbd import RbdImage, RbdLib
from shoal.rbd.backend import rbd_lib_for
from shoal.services.backup.driver._errors import (
    BackupAccessDenied,
    BackupStorageFull,
    BackupUnavailable,
)

__all__ = [
    "Pool",
    "Translated",
    "image_exists",
    "log",
    "open_image",
    "open_pool",
    "remove_image_quietly",
    "remove_snap_quietly",
]

log = logging.getLogger("shoal.services.backup")


class Pool:
    """An open I/O context on one pool, its RBD implementation and who opened it."""

    def __init__(self, ioctx: IoCtx, entity: str, name: str) -> None:
        self.ioctx = ioctx
        self.lib: RbdLib = rbd_lib_for(ioctx)
        self.entity = entity
        self.name = name

    def describe(self) -> str:
        return f"{self.entity} on pool '{self.name}'"


@contextlib.contextmanager
def open_pool(session: Session, pool: str, role: str) -> Iterator[Pool]:
    """``pool`` opened by ``session``; ``role`` names it in errors ("backup", "volume").

    Raises:
        BackupUnavailable: the pool does not exist.
    """
    try:
        ioctx = session.open_ioctx(pool)
    except errors.PoolNotFound:
        raise BackupUnavailable(f"the {role} pool '{pool}' does not exist") from None
    try:
        yield Pool(ioctx, session.entity, pool)
    finally:
        ioctx.close()


def open_image(pool: Pool, name: str, *, snapshot: str | None = None, read_only: bool = False,
               missing: Callable[[], errors.ShoalError] | None = None) -> RbdImage:
    """Open image ``name`` (at ``snapshot``); raise ``missing()`` if it (or the snapshot)
    does not exist (ImageNotFound when ``missing`` is None)."""
    try:
        return pool.lib.Image(pool.ioctx, name, snapshot=snapshot, read_only=read_only,
                              entity=pool.entity)
    except pool.lib.ImageNotFound:
        if missing is None:
            raise
        raise missing() from None


def image_exists(pool: Pool, name: str) -> bool:
    try:
        open_image(pool, name, read_only=True).close()
    except pool.lib.ImageNotFound:
        return False
    return True


def remove_image_quietly(pool: Pool, name: str) -> None:
    """Remove a half-made image and its snapshots. Never raises a ShoalError: the error
    that made it half-made is the one to report."""
    try:
        with open_image(pool, name) as img:
            for snap in list(img.list_snaps()):
                if snap["protected"]:
                    img.unprotect_snap(str(snap["name"]))
                img.remove_snap(str(snap["name"]))
        pool.lib.RBD().remove(pool.ioctx, name)
    except pool.lib.ImageNotFound:
        pass
    except errors.ShoalError as exc:
        log.warning("could not remove the half-made image %s/%s: %s", pool.name, name, exc)


def remove_snap_quietly(pool: Pool, image: str, snap: str) -> None:
    """Remove snapshot ``snap`` of ``image`` if both exist; failures are logged."""
    try:
        with open_image(pool, image) as img:
            img.remove_snap(snap)
    except pool.lib.ImageNotFound:
        pass
    except errors.ShoalError as exc:
        log.warning("could not remove snapshot %s/%s@%s: %s", pool.name, image, snap, exc)


class Translated:
    """Re-raise a full cluster as :class:`BackupStorageFull` and a caps refusal as
    :class:`BackupAccessDenied`, naming the users and pools in play (``where``); every
    other error passes unchanged."""

    def __init__(self, where: str) -> None:
        self._where = where

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc is None or isinstance(exc, BackupStorageFull | BackupAccessDenied):
            return
        if isinstance(exc, errors.NoSpace) or (
                isinstance(exc, errors.ShoalError) and exc.errno == errno.EDQUOT):
            raise BackupStorageFull(f"no space left ({self._where}): {exc}") from exc
        if isinstance(exc, errors.PermissionDenied):
            raise BackupAccessDenied(
                f"the backup driver's cephx users are not allowed to do this ({self._where}; "
                f"check their osd caps): {exc}") from exc
