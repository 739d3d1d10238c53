"""``rbd pool init``: what librbd's ``Pool<I>::init`` does, over a :class:`Session`.

1. Enable the ``rbd`` application on the pool (``osd pool application enable``,
   with ``yes_i_really_mean_it`` when ``force``); another application already
   enabled is EPERM unless ``force``.
2. Validate the pool as ``image::ValidatePoolRequest`` does, through the
   session's (caps-checked) I/O context: read ``rbd_info``; if it holds
   ``overwrite validated`` the pool is done; if it holds ``validate`` only the
   overwrite is left; otherwise allocate a self-managed snapshot id (which puts
   a Ceph pool in self-managed snapshot mode), create ``rbd_info`` exclusively
   with ``validate`` (an existing object is fine), release the snapshot id
   (failure to do so is ignored, as in librbd) and overwrite the object with
   ``overwrite validated``.

Idempotent: running it again on an initialised pool changes nothing.
"""

from __future__ import annotations

import contextlib

from shoal import errors
from shoal.cluster._base import Session
from shoal.objstore import IoCtx, WriteOp

__all__ = ["RBD_INFO", "enable_rbd_application", "pool_init", "rbd_pool_init"]

RBD_INFO = "rbd_info"
_VALIDATE = b"validate"
_OVERWRITE_VALIDATED = b"overwrite validated"


def rbd_pool_init(session: Session, pool: str, force: bool = False) -> None:
    """``rbd pool init POOL [--force]`` on any backend: :meth:`Session.rbd_pool_init`
    (librbd's own ``RBD.pool_init`` on Ceph, :func:`pool_init` embedded).

    Raises: as :func:`pool_init`.
    """
    session.rbd_pool_init(pool, force)


def enable_rbd_application(session: Session, pool: str, force: bool = False) -> None:
    """``osd pool application enable POOL rbd`` (``--yes-i-really-mean-it`` when ``force``).

    Raises:
        errors.PermissionDenied: another application is enabled and not ``force``.
        errors.ShoalError: whatever else the monitor refused the command with.
    """
    cmd: dict[str, object] = {
        "prefix": "osd pool application enable", "pool": pool, "app": "rbd",
    }
    if force:
        cmd["yes_i_really_mean_it"] = True
    session.mon_command(cmd).check()


def pool_init(session: Session, pool: str, force: bool = False) -> None:
    """Initialise ``pool`` for RBD use, over the session's generic interface.

    Raises:
        errors.PoolNotFound: no such pool.
        errors.PermissionDenied: another application is enabled (and not
            ``force``), or the caps refuse the writes.
        errors.ShoalError: whatever the monitor or the store refused with.
    """
    with session.open_ioctx(pool) as io:
        enable_rbd_application(session, pool, force)
        _validate(io)


def _validate(io: IoCtx) -> None:
    io.set_namespace("")
    try:
        current: bytes | None = io.read(RBD_INFO, len(_OVERWRITE_VALIDATED) + 1)
    except errors.ObjectNotFound:
        current = None
    if current == _OVERWRITE_VALIDATED:
        return
    if current != _VALIDATE:
        snap_id = io.create_self_managed_snap()
        try:
            with contextlib.suppress(errors.AlreadyExists):
                io.operate(RBD_INFO, WriteOp().create(exclusive=True).write(_VALIDATE, 0))
        finally:
            with contextlib.suppress(errors.ShoalError):
                io.remove_self_managed_snap(snap_id)
    io.write(RBD_INFO, _OVERWRITE_VALIDATED, 0)
