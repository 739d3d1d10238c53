"""Plumbing shared by the driver's parts: I/O contexts, opening images, error
translation, and the flatten throttle.

Every operation opens its own I/O context through :meth:`Backend.pool`, whose
context translates a full cluster, a caps refusal and a missing pool into the
driver's errors (see :mod:`._errors`); errors the driver raises itself pass.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import threading
import time
from collections.abc import Iterator

from shoal import errors
from shoal.cluster import Session
from shoal.objstore import IoCtx
from shoal.rbd import RbdImage, RbdLib
from shoal.rbd.backend import rbd_lib_for
from shoal.services.volume.driver._errors import (
    BackendAccessDenied,
    BackendFull,
    BackendUnavailable,
)
from shoal.services.volume.driver._options import RbdDriverOptions

__all__ = ["Backend", "Pool"]

log = logging.getLogger("shoal.services.volume")


class Pool:
    """An open I/O context on one pool and the RBD implementation for it."""

    def __init__(self, backend: Backend, ioctx: IoCtx) -> None:
        self.backend = backend
        self.ioctx = ioctx
        self.lib: RbdLib = rbd_lib_for(ioctx)
        self.name: str = ioctx.pool_name

    def open(self, name: str, *, snapshot: str | None = None,
             read_only: bool = False) -> RbdImage:
        """Open image ``name`` (at ``snapshot``, read-only if one is given).

        Raises:
            lib.ImageNotFound: no such image or snapshot.
        """
        if snapshot is not None or read_only:
            return self.lib.Image(self.ioctx, name, snapshot=snapshot, read_only=True)
        return self.lib.Image(self.ioctx, name, entity=self.backend.session.entity)

    def open_by_id(self, image_id: str) -> RbdImage:
        """Open image ``image_id`` for writing (also one in the trash)."""
        return self.lib.Image(self.ioctx, image_id=image_id,
                              entity=self.backend.session.entity)

    def exists(self, name: str) -> bool:
        try:
            self.open(name, read_only=True).close()
        except self.lib.ImageNotFound:
            return False
        return True

    def in_use(self, name: str) -> bool:
        """Whether another client has image ``name`` open for writing (it has
        watchers). A read-only open, as here, registers no watch."""
        try:
            with self.open(name, read_only=True) as img:
                return bool(img.watchers_list())
        except self.lib.ImageNotFound:
            return False

    def remove_snap(self, img: RbdImage, snap: str) -> bool:
        """Unprotect (if protected) and remove ``snap`` of open ``img``.

        Returns False, leaving the snapshot, if clones of it exist (ImageBusy);
        True once it is gone (also if it was gone already).
        """
        try:
            img.unprotect_snap(snap)
        except self.lib.ImageBusy:
            return False
        except self.lib.InvalidArgument:
            pass  # not protected
        except self.lib.ImageNotFound:
            return True
        with contextlib.suppress(self.lib.ImageNotFound):
            img.remove_snap(snap)
        return True


class Backend:
    """The session, the options and what is derived from them, for one driver.

    ``service`` names the service in error messages ("volume": "the volume
    driver's user ..."; the compute service's guest disks pass "compute").
    """

    def __init__(self, session: Session, options: RbdDriverOptions, features: int, *,
                 service: str = "volume") -> None:
        self.session = session
        self.service = service
        self.options = options
        self.features = features
        slots = options.rbd_concurrent_flatten_operations
        self._flatten_slots = threading.BoundedSemaphore(slots) if slots > 0 else None
        self._fsid: str | None = None

    @property
    def fsid(self) -> str:
        """The cluster's fsid, lower case (asked once)."""
        if self._fsid is None:
            self._fsid = self.session.get_fsid().lower()
        return self._fsid

    @contextlib.contextmanager
    def pool(self, name: str | None = None) -> Iterator[Pool]:
        """An I/O context on pool ``name`` (default: the backend's pool).

        Raises:
            BackendUnavailable: the backend's own pool does not exist.
            errors.PoolNotFound: another pool does not exist.
            BackendFull, BackendAccessDenied: raised inside, translated.
        """
        pool = name or self.options.rbd_pool
        try:
            ioctx = self.session.open_ioctx(pool)
        except errors.PoolNotFound:
            if pool != self.options.rbd_pool:
                raise
            raise BackendUnavailable(
                f"the {self.service} backend's pool '{pool}' does not exist") from None
        try:
            with self.translated(pool):
                yield Pool(self, ioctx)
        finally:
            ioctx.close()

    @contextlib.contextmanager
    def translated(self, pool: str) -> Iterator[None]:
        """Re-raise a full cluster or quota as :class:`BackendFull` and a caps
        refusal as :class:`BackendAccessDenied`; anything else passes unchanged."""
        try:
            yield
        except (BackendFull, BackendAccessDenied):
            raise
        except errors.NoSpace as exc:
            raise BackendFull(f"the {self.service} backend is full (pool '{pool}'): {exc}"
                              ) from exc
        except errors.PermissionDenied as exc:
            raise BackendAccessDenied(
                f"the {self.service} driver's user {self.session.entity} is not allowed to use "
                f"pool '{pool}' (check its osd caps): {exc}") from exc
        except errors.ShoalError as exc:
            if exc.errno == errno.EDQUOT:
                raise BackendFull(f"pool '{pool}' is over its quota: {exc}") from exc
            raise

    def flatten(self, img: RbdImage) -> None:
        """Flatten open image ``img``, holding one of ``rbd_concurrent_flatten_operations``."""
        if self._flatten_slots is None:
            img.flatten()
            return
        with self._flatten_slots:
            img.flatten()

    @property
    def attempts(self) -> int:
        """Tries at a busy removal or unprotect (``rados_connection_retries``, >= 1)."""
        return max(1, self.options.rados_connection_retries)

    def pause(self) -> None:
        """Wait ``rados_connection_interval`` seconds between two tries."""
        if self.options.rados_connection_interval > 0:
            time.sleep(self.options.rados_connection_interval)
