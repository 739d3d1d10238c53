"""librbd's and librados's exceptions, translated into :mod:`shoal.rbd`'s, through one table.

Ceph's Python bindings raise one class per errno (``rbd.ImageNotFound`` is ENOENT …) and keep
the errno on the exception; :data:`LIBRBD_ERRNO_TO_SHOAL` maps each errno to the class the
embedded engine raises for the same condition, so callers catch the same names on both
backends. The raised error always carries librbd's errno (where one shoal class stands for two
librbd ones, e.g. ENOSYS and EOPNOTSUPP, the instance keeps the errno it came with). An errno
missing from the table becomes a :class:`shoal.errors.ShoalError` carrying that errno. The
bindings are imported lazily: shoal imports without Ceph installed.
"""

from __future__ import annotations

import errno as _errno
import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any, Protocol

from shoal import errors
from shoal.objstore import IoCtx
from shoal.objstore.rados import RadosIoCtx
from shoal.rbd._errors import (
    ArgumentOutOfRange,
    FunctionNotSupported,
    ImageBusy,
    ImageExists,
    ImageHasSnapshots,
    ImageNotFound,
    InvalidArgument,
    NoSpace,
    OperationNotSupported,
    PermissionError,
    ReadOnlyImage,
)

__all__ = [
    "LIBRBD_ERRNO_TO_SHOAL",
    "BindingIoctx",
    "CephIoCtx",
    "bindings",
    "is_binding_ioctx",
    "raw_ioctx",
    "to_shoal",
    "translated",
]

#: Where Debian's ``python3-rados``/``python3-rbd`` live (added after site-packages).
DEBIAN_DIST_PACKAGES = "/usr/lib/python3/dist-packages"

#: errno of a librbd/librados exception -> the shoal.rbd class raised instead. One row per
#: exception class of Ceph's ``rbd`` module (its ``errno_to_exception``), plus librados's.
LIBRBD_ERRNO_TO_SHOAL: dict[int, type[errors.ShoalError]] = {
    _errno.EPERM: PermissionError,  # rbd.PermissionError
    _errno.ENOENT: ImageNotFound,  # rbd.ImageNotFound (also a missing snapshot or parent)
    _errno.EIO: errors.ShoalError,  # rbd.IOError
    _errno.ENOSPC: NoSpace,  # rbd.NoSpace
    _errno.EEXIST: ImageExists,  # rbd.ImageExists
    _errno.EINVAL: InvalidArgument,  # rbd.InvalidArgument
    _errno.EROFS: ReadOnlyImage,  # rbd.ReadOnlyImage
    _errno.EBUSY: ImageBusy,  # rbd.ImageBusy
    _errno.ENOTEMPTY: ImageHasSnapshots,  # rbd.ImageHasSnapshots
    _errno.ENOSYS: FunctionNotSupported,  # rbd.FunctionNotSupported
    _errno.EDOM: ArgumentOutOfRange,  # rbd.ArgumentOutOfRange
    _errno.ESHUTDOWN: errors.Unavailable,  # rbd.ConnectionShutdown
    _errno.ETIMEDOUT: errors.TimedOut,  # rbd.Timeout
    _errno.EOPNOTSUPP: OperationNotSupported,  # rbd.OperationNotSupported
    _errno.ECANCELED: errors.Canceled,  # rbd.OperationCanceled
    _errno.EACCES: errors.AuthenticationFailed,  # rados.PermissionDeniedError (cephx)
    _errno.EFBIG: errors.TooLarge,
    _errno.ERANGE: errors.OutOfRange,
}


def bindings() -> tuple[ModuleType, ModuleType]:
    """Ceph's ``rados`` and ``rbd`` modules.

    Raises:
        errors.Unavailable: the bindings are not installed (python3-rados/python3-rbd).
    """
    try:
        return importlib.import_module("rados"), importlib.import_module("rbd")
    except ImportError:
        if DEBIAN_DIST_PACKAGES not in sys.path:
            sys.path.append(DEBIAN_DIST_PACKAGES)  # after site-packages, as ceph-dev's .pth does
    try:
        return importlib.import_module("rados"), importlib.import_module("rbd")
    except ImportError as exc:
        raise errors.Unavailable(
            f"the Ceph backend needs Ceph's Python bindings (python3-rados, python3-rbd): {exc}"
        ) from exc


def _errno_of(exc: BaseException) -> int:
    code = getattr(exc, "errno", None)
    return abs(code) if isinstance(code, int) and code else _errno.EIO


def to_shoal(exc: BaseException, what: str) -> errors.ShoalError:
    """The shoal.rbd error for a librbd/librados exception; ``what`` names the operation."""
    code = _errno_of(exc)
    message = f"{what}: {exc}" if what else str(exc)
    cls = LIBRBD_ERRNO_TO_SHOAL.get(code)
    if cls is None:
        return errors.error_for_errno(code, message)
    out = cls(message)
    out.errno = code  # librbd's own errno (ENOSYS stays ENOSYS under OperationNotSupported)
    return out


def _ceph_error_types() -> tuple[type[BaseException], ...]:
    rados, rbd = bindings()
    return rbd.Error, rados.Error


@contextmanager
def translated(what: str = "") -> Iterator[None]:
    """Run a librbd call; re-raise its ``rbd.Error``/``rados.Error`` as shoal.rbd's class.

    Exceptions that are not Ceph's (a callback's own, TypeError for a bad argument) pass
    through unchanged.
    """
    ceph_errors = _ceph_error_types()
    try:
        yield
    except ceph_errors as exc:
        raise to_shoal(exc, what) from exc


class BindingIoctx(Protocol):
    """The binding's ``rados.Ioctx``, as far as the adapter calls it itself (Ceph's bindings
    ship no type stubs; librbd takes the handle as it is)."""

    def get_pool_id(self) -> int: ...
    def get_pool_name(self) -> str: ...
    def execute(self, oid: str, cls: str, method: str, data: bytes) -> tuple[int, bytes]: ...


#: What the adapter takes as an I/O context: shoal's :class:`RadosIoCtx` (any
#: :class:`IoCtx` whose ``backend`` is ``"rados"``) or the binding's ``rados.Ioctx``.
CephIoCtx = IoCtx | BindingIoctx


def is_binding_ioctx(ioctx: object) -> bool:
    """Whether ``ioctx`` is the binding's own ``rados.Ioctx`` (checked by its type's name:
    the bindings are imported only on first use)."""
    kind = type(ioctx)
    return kind.__module__ == "rados" and kind.__name__ == "Ioctx"


def raw_ioctx(ioctx: CephIoCtx) -> Any:
    """The ``rados.Ioctx`` behind ``ioctx``: a shoal ``RadosIoCtx``'s ``raw``, or itself.

    Raises:
        errors.InvalidArgument: ``ioctx`` is an I/O context of an embedded store.
    """
    if isinstance(ioctx, RadosIoCtx):
        return ioctx.raw
    if isinstance(ioctx, IoCtx):
        raise errors.InvalidArgument(
            f"the Ceph backend needs a Ceph I/O context, not {type(ioctx).__name__}")
    return ioctx
