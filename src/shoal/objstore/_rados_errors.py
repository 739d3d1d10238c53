"""One table from librados (python ``rados`` binding) exceptions to :mod:`shoal.errors`.

The binding raises ``rados.Error`` subclasses (``ObjectNotFound``, ``ObjectExists``,
``PermissionError`` …); most carry the OSD's positive ``errno``. We map by errno
(which is what the OSD actually said) and fall back to the exception class for the
few binding errors without one (a shut-down handle, a closed ioctx).
"""

from __future__ import annotations

import errno as _errno
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from shoal import errors

__all__ = ["rados_error", "translated"]

#: Binding exception class name -> shoal error class, for errors that carry no errno.
_BY_CLASS: dict[str, type[errors.ShoalError]] = {
    "ObjectNotFound": errors.ObjectNotFound,
    "NoData": errors.NoData,
    "ObjectExists": errors.AlreadyExists,
    "ObjectBusy": errors.Busy,
    "PermissionError": errors.PermissionDenied,
    "PermissionDeniedError": errors.AuthenticationFailed,
    "InvalidArgumentError": errors.InvalidArgument,
    "NoSpace": errors.NoSpace,
    "TimedOut": errors.TimedOut,
    "InterruptedOrTimeoutError": errors.TimedOut,
    "ConnectionShutdown": errors.Unavailable,
    "NotConnected": errors.Unavailable,
    "RadosStateError": errors.Unavailable,
    "IoctxStateError": errors.Unavailable,
    "ObjectStateError": errors.Unavailable,
}

#: errno -> shoal error class where the object layer means something narrower than
#: :func:`shoal.errors.error_for_errno`'s generic mapping.
_BY_ERRNO: dict[int, type[errors.ShoalError]] = {
    _errno.ENOENT: errors.ObjectNotFound,
    _errno.ENODATA: errors.NoData,
    _errno.EEXIST: errors.AlreadyExists,
    _errno.EFBIG: errors.TooLarge,
    _errno.ENAMETOOLONG: errors.NameTooLong,
    _errno.EDQUOT: errors.NoSpace,
    _errno.ESHUTDOWN: errors.Unavailable,
    _errno.ENOTCONN: errors.Unavailable,
}


def _errno_of(exc: BaseException) -> int | None:
    code = getattr(exc, "errno", None)
    if isinstance(code, int) and code != 0:
        return abs(code)
    return None


def rados_error(exc: BaseException, what: str) -> errors.ShoalError:
    """The shoal error for a binding exception ``exc`` raised while doing ``what``."""
    message = f"{what}: {exc}"
    code = _errno_of(exc)
    if code is not None:
        cls = _BY_ERRNO.get(code)
        if cls is not None:
            return cls(message)
        return errors.error_for_errno(code, message)
    for klass in type(exc).__mro__:
        mapped = _BY_CLASS.get(klass.__name__)
        if mapped is not None:
            return mapped(message)
    return errors.Unavailable(message)


def _is_binding_error(exc: BaseException) -> bool:
    module = type(exc).__module__
    return module == "rados" or module.startswith("rados.")


@contextmanager
def translated(what: str, not_found: type[errors.ShoalError] | None = None) -> Iterator[None]:
    """Re-raise binding exceptions inside the block as shoal errors.

    ``not_found`` replaces the class used for ENOENT (e.g. PoolNotFound).
    """
    try:
        yield
    except errors.ShoalError:
        raise
    except Exception as exc:  # the binding's exceptions share no importable base here
        if not _is_binding_error(exc):
            raise
        err = rados_error(exc, what)
        if not_found is not None and isinstance(err, errors.NotFound):
            err = not_found(err.message)
        raise err from exc


def errno_of(exc: Any) -> int | None:
    """The positive errno a binding exception carries, if any."""
    return _errno_of(exc)
