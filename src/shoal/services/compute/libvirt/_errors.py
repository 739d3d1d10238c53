"""The libvirt side's errors, as branches of :mod:`shoal.errors`.

Messages read as libvirt's own (``virsh`` prints them after ``error: ``), with
libvirt's error-code prefix: ``Secret not found: ...``, ``XML error: ...``::

    NotFound (404, ENOENT)
    └── SecretNotFound          no secret with that UUID, or it has no value
        └── GuestSecretMissing  a guest's rbd_secret_uuid is not defined (or has no
                                value) on its compute host: the message says how to fix it
    AlreadyExists (409, EEXIST)
    └── SecretConflict          the UUID is defined for another usage, or the usage is
                                held by another UUID, or a private flag would be cleared
    InvalidArgument (400, EINVAL)
    ├── InvalidSecretXML        secret XML that does not parse or says something wrong
    ├── InvalidSecretValue      a value that is not base64, empty or too long
    ├── GuestSecretMismatch     the guest's secret holds another key than rbd_user's
    │                           (or is not a ceph secret): the message says how to fix it
    └── InvalidGuest            a guest description or setting the domain XML cannot
                                hold (bad UUID, target device, connection_info ...)
    PermissionDenied (403, EPERM)
    └── SecretPrivate           the value of a private secret is not handed out
    NotSupported (501)
    └── UnsupportedGuest        what shoal's libvirt side does not write (virt_type lxc,
                                a non-RBD volume)

:class:`GuestSecretError` is the common base of the two guest-secret checks
(:func:`~shoal.services.compute.libvirt.check_guest_secret`): a deployment mistake that
the compute service turns into the server's fault, before any hypervisor is asked.
"""

from __future__ import annotations

from shoal import errors

__all__ = [
    "GuestSecretError",
    "GuestSecretMismatch",
    "GuestSecretMissing",
    "InvalidGuest",
    "InvalidSecretValue",
    "InvalidSecretXML",
    "SecretConflict",
    "SecretNotFound",
    "SecretPrivate",
    "UnsupportedGuest",
]


class SecretNotFound(errors.NotFound):
    """libvirt's ``VIR_ERR_NO_SECRET``: no secret with the UUID, or no value in it."""


class SecretConflict(errors.AlreadyExists):
    """``secret-define`` would give a UUID a second usage, or a usage a second UUID."""


class InvalidSecretXML(errors.InvalidArgument):
    """Secret XML that is not well formed or not a valid ``<secret>``."""


class InvalidSecretValue(errors.InvalidArgument):
    """A secret value that is not base64, is empty or is longer than
    :data:`shoal.limits.secret_value_bytes_max`."""


class SecretPrivate(errors.PermissionDenied):
    """``secret-get-value`` of a ``private='yes'`` secret."""


class GuestSecretError(errors.ShoalError):
    """A guest's ``rbd_secret_uuid`` is not usable on its compute host (base of the two
    cases below; each takes the status of its second base)."""


class GuestSecretMissing(GuestSecretError, SecretNotFound):
    """No secret with the guest's ``rbd_secret_uuid`` on the host, or it holds no value."""


class GuestSecretMismatch(GuestSecretError, errors.InvalidArgument):
    """The guest's secret holds another key than ``rbd_user``'s, or is not a ceph secret."""


class InvalidGuest(errors.InvalidArgument):
    """A guest description, disk, volume connection or setting the domain XML cannot hold."""


class UnsupportedGuest(errors.NotSupported):
    """A guest that shoal's libvirt side does not describe (e.g. ``virt_type = lxc``)."""
