"""Pick the RBD implementation that matches an I/O context's backend.

Services and the CLI hold an I/O context from whichever object store the configuration chose;
:func:`rbd_lib_for` gives them the module-like object with ``RBD``, ``Image``, the feature bits
and shoal.rbd's exception classes for it, so they never name a backend::

    lib = rbd_lib_for(ioctx)
    lib.RBD().create(ioctx, "volume-1", 1 << 30)
    with lib.Image(ioctx, "volume-1") as img: ...

- a shoal ``RadosIoCtx`` (anything with a ``raw`` ``rados.Ioctx``) or a plain ``rados.Ioctx``
  → :mod:`shoal.rbd.ceph` (real librbd);
- an embedded :class:`shoal.objstore.IoCtx` → :mod:`shoal.rbd` (the embedded engine).

Both raise the same exception classes (``lib.ImageNotFound`` is ``shoal.rbd.ImageNotFound``).
"""

from __future__ import annotations

from typing import Any, Protocol

import shoal.rbd as embedded
import shoal.rbd.ceph as ceph
from shoal import errors
from shoal.objstore import IoCtx
from shoal.rbd import _errors

__all__ = ["RbdLib", "is_ceph_ioctx", "rbd_lib_for"]


class RbdLib(Protocol):
    """What both :mod:`shoal.rbd` and :mod:`shoal.rbd.ceph` provide."""

    @property
    def RBD(self) -> type[embedded.RBD] | type[ceph.RBD]: ...
    @property
    def Image(self) -> type[embedded.Image] | type[ceph.Image]: ...
    @property
    def RbdOptions(self) -> type[embedded.RbdOptions]: ...
    @property
    def FEATURE_LAYERING(self) -> int: ...
    @property
    def FEATURE_STRIPINGV2(self) -> int: ...
    @property
    def FEATURE_EXCLUSIVE_LOCK(self) -> int: ...
    @property
    def FEATURE_OBJECT_MAP(self) -> int: ...
    @property
    def FEATURE_FAST_DIFF(self) -> int: ...
    @property
    def FEATURE_DEEP_FLATTEN(self) -> int: ...
    @property
    def FEATURES_DEFAULT(self) -> int: ...
    @property
    def ImageNotFound(self) -> type[_errors.ImageNotFound]: ...
    @property
    def ImageExists(self) -> type[_errors.ImageExists]: ...
    @property
    def ImageBusy(self) -> type[_errors.ImageBusy]: ...
    @property
    def ImageHasSnapshots(self) -> type[_errors.ImageHasSnapshots]: ...
    @property
    def ReadOnlyImage(self) -> type[_errors.ReadOnlyImage]: ...
    @property
    def InvalidArgument(self) -> type[errors.InvalidArgument]: ...
    @property
    def PermissionError(self) -> type[errors.PermissionDenied]: ...


def is_ceph_ioctx(ioctx: object) -> bool:
    """Whether ``ioctx`` reaches a real Ceph cluster (a ``RadosIoCtx`` or a ``rados.Ioctx``)."""
    if hasattr(ioctx, "raw"):
        return True
    kind = type(ioctx)
    return kind.__module__ == "rados" and kind.__name__ == "Ioctx"


def rbd_lib_for(ioctx: Any) -> RbdLib:
    """The RBD implementation for ``ioctx``'s backend (see the module doc).

    Raises:
        errors.InvalidArgument: ``ioctx`` is neither an embedded nor a Ceph I/O context.
    """
    if is_ceph_ioctx(ioctx):
        return ceph
    if isinstance(ioctx, IoCtx):
        return embedded
    raise errors.InvalidArgument(f"not an I/O context of a known backend: {type(ioctx).__name__}")
