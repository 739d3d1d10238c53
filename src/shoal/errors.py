"""The one error tree of shoal.

Every error raised on purpose by shoal derives from :class:`ShoalError` and
carries the POSIX ``errno`` a Ceph daemon or librados/librbd would return for
the same condition, and the HTTP status the API layer answers with. Lower
layers raise; the edges (CLI, HTTP apps, the Ceph adapters) translate::

    ShoalError                          EIO      500
    ├── NotFound                        ENOENT   404
    │   ├── PoolNotFound
    │   ├── ObjectNotFound
    │   └── EntityNotFound              (cephx entity)
    ├── NoData                          ENODATA  404   (xattr/omap key absent)
    ├── AlreadyExists                   EEXIST   409
    │   └── PoolExists
    ├── Busy                            EBUSY    409
    ├── NotEmpty                        ENOTEMPTY 409
    ├── InvalidArgument                 EINVAL   400
    │   ├── BadCaps                     (cephx capability string)
    │   └── NameTooLong                 ENAMETOOLONG
    ├── OutOfRange                      ERANGE   400
    ├── Overflow                        EOVERFLOW 400
    ├── Canceled                        ECANCELED 409  (a compare precondition failed)
    ├── PermissionDenied                EPERM    403   (caps refuse an operation)
    ├── AuthenticationFailed            EACCES   401   (wrong or unknown key)
    ├── ReadOnly                        EROFS    409
    ├── NoSpace                         ENOSPC   413
    ├── TooLarge                        EFBIG    413   (past osd_max_object_size)
    ├── NotSupported                    EOPNOTSUPP 501
    ├── TimedOut                        ETIMEDOUT 503
    └── Unavailable                     EIO      503   (backend down / misconfigured)

An error's ``message`` says what to fix; ``safe`` tells the HTTP edge whether
the message may be shown to an API client (unsafe errors show a generic text).
"""

from __future__ import annotations

import errno as _errno

__all__ = [
    "AlreadyExists",
    "AuthenticationFailed",
    "BadCaps",
    "Busy",
    "Canceled",
    "EntityNotFound",
    "InvalidArgument",
    "NameTooLong",
    "NoData",
    "NoSpace",
    "NotEmpty",
    "NotFound",
    "NotSupported",
    "ObjectNotFound",
    "OutOfRange",
    "Overflow",
    "PermissionDenied",
    "PoolExists",
    "PoolNotFound",
    "ReadOnly",
    "ShoalError",
    "TimedOut",
    "TooLarge",
    "Unavailable",
    "error_for_errno",
]


class ShoalError(Exception):
    """Base of every error shoal raises on purpose.

    Attributes:
        errno: positive POSIX errno, as Ceph returns it negated.
        http_status: status code the HTTP edge answers with.
        safe: whether ``message`` may be shown to API clients.
    """

    errno: int = _errno.EIO
    http_status: int = 500
    safe: bool = False

    def __init__(self, message: str = "") -> None:
        super().__init__(message or self.__class__.__name__)
        self.message = message or self.__class__.__name__

    def __str__(self) -> str:
        return self.message


class NotFound(ShoalError):
    errno = _errno.ENOENT
    http_status = 404
    safe = True


class PoolNotFound(NotFound):
    pass


class ObjectNotFound(NotFound):
    pass


class EntityNotFound(NotFound):
    pass


class NoData(ShoalError):
    errno = _errno.ENODATA
    http_status = 404
    safe = True


class AlreadyExists(ShoalError):
    errno = _errno.EEXIST
    http_status = 409
    safe = True


class PoolExists(AlreadyExists):
    pass


class Busy(ShoalError):
    errno = _errno.EBUSY
    http_status = 409
    safe = True


class NotEmpty(ShoalError):
    errno = _errno.ENOTEMPTY
    http_status = 409
    safe = True


class InvalidArgument(ShoalError):
    errno = _errno.EINVAL
    http_status = 400
    safe = True


class BadCaps(InvalidArgument):
    pass


class NameTooLong(InvalidArgument):
    errno = _errno.ENAMETOOLONG


class OutOfRange(ShoalError):
    errno = _errno.ERANGE
    http_status = 400
    safe = True


class Overflow(ShoalError):
    errno = _errno.EOVERFLOW
    http_status = 400
    safe = True


class Canceled(ShoalError):
    errno = _errno.ECANCELED
    http_status = 409
    safe = True


class PermissionDenied(ShoalError):
    errno = _errno.EPERM
    http_status = 403
    safe = True


class AuthenticationFailed(ShoalError):
    errno = _errno.EACCES
    http_status = 401
    safe = True


class ReadOnly(ShoalError):
    errno = _errno.EROFS
    http_status = 409
    safe = True


class NoSpace(ShoalError):
    errno = _errno.ENOSPC
    http_status = 413
    safe = True


class TooLarge(ShoalError):
    errno = _errno.EFBIG
    http_status = 413
    safe = True


class NotSupported(ShoalError):
    errno = _errno.EOPNOTSUPP
    http_status = 501
    safe = True


class TimedOut(ShoalError):
    errno = _errno.ETIMEDOUT
    http_status = 503
    safe = True


class Unavailable(ShoalError):
    errno = _errno.EIO
    http_status = 503
    safe = True


#: errno -> the class raised for it: each class's own ``errno`` (EIO, shared by
#: ShoalError and Unavailable, is left to the fallback below).
_BY_ERRNO: dict[int, type[ShoalError]] = {
    cls.errno: cls
    for cls in (
        NotFound,
        NoData,
        AlreadyExists,
        Busy,
        NotEmpty,
        InvalidArgument,
        OutOfRange,
        Overflow,
        Canceled,
        PermissionDenied,
        AuthenticationFailed,
        ReadOnly,
        NoSpace,
        TooLarge,
        NameTooLong,
        NotSupported,
        TimedOut,
    )
}
assert len(_BY_ERRNO) == 17, "two classes claim one errno"


def error_for_errno(err: int, message: str) -> ShoalError:
    """Map a (positive or negative) errno to the matching error instance.

    Unknown errnos map to :class:`ShoalError` with ``errno`` set to ``abs(err)``.
    """
    code = abs(err)
    cls = _BY_ERRNO.get(code)
    if cls is not None:
        return cls(message)
    exc = ShoalError(message)
    exc.errno = code
    return exc
