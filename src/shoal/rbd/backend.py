"""Pick the RBD implementation that matches an I/O context's backend.

Services and the CLI hold an I/O context from whichever object store the configuration chose;
:func:`rbd_lib_for` gives them the module-like object with ``RBD``, ``Image``, the feature bits
and shoal.rbd's exception classes for it (:class:`RbdLib`), so they never name a backend::

    lib = rbd_lib_for(ioctx)
    lib.RBD().create(ioctx, "volume-1", 1 << 30)
    with lib.Image(ioctx, "volume-1") as img: ...

- an I/O context whose ``backend`` is ``"rados"`` (shoal's ``RadosIoCtx``) or a plain
  ``rados.Ioctx`` → :mod:`shoal.rbd.ceph` (real librbd);
- any other :class:`shoal.objstore.IoCtx` (``backend`` ``"embedded"``) → :mod:`shoal.rbd`
  (the embedded engine).

Both raise the same exception classes (``lib.ImageNotFound`` is ``shoal.rbd.ImageNotFound``).
"""

from __future__ import annotations

import shoal.rbd as embedded
import shoal.rbd.ceph as ceph
from shoal import errors
from shoal.objstore import IoCtx
from shoal.rbd._ceph_errors import is_binding_ioctx
from shoal.rbd._interface import RbdLib

__all__ = ["RbdLib", "is_ceph_ioctx", "rbd_lib_for"]


def is_ceph_ioctx(ioctx: object) -> bool:
    """Whether ``ioctx`` reaches a real Ceph cluster: an :class:`IoCtx` that says so
    (``backend == "rados"``), or the binding's ``rados.Ioctx``."""
    if isinstance(ioctx, IoCtx):
        return ioctx.backend == "rados"
    return is_binding_ioctx(ioctx)


def rbd_lib_for(ioctx: object) -> RbdLib:
    """The RBD implementation for ``ioctx``'s backend (see the module doc).

    Raises:
        errors.InvalidArgument: ``ioctx`` is neither an embedded nor a Ceph I/O context.
    """
    if is_ceph_ioctx(ioctx):
        return ceph
    if isinstance(ioctx, IoCtx):
        return embedded
    raise errors.InvalidArgument(f"not an I/O context of a known backend: {type(ioctx).__name__}")
