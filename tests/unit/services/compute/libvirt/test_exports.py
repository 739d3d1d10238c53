"""shoal.services.compute.libvirt's public names and its errors' place in the tree."""

from __future__ import annotations

import errno

import pytest

import shoal.services.compute.libvirt as libvirt
from shoal import errors


def test_all_matches_the_public_namespace() -> None:
    names = libvirt.__all__
    assert len(names) == len(set(names))
    assert names == sorted(names, key=lambda n: (not n.isupper(), n))
    public = {n for n in vars(libvirt) if not n.startswith("_") and n != "annotations"}
    assert public == set(names)


@pytest.mark.parametrize(("cls", "base", "status", "errno_name"), [
    (libvirt.SecretNotFound, errors.NotFound, 404, "ENOENT"),
    (libvirt.GuestSecretMissing, libvirt.SecretNotFound, 404, "ENOENT"),
    (libvirt.GuestSecretMismatch, errors.InvalidArgument, 400, "EINVAL"),
    (libvirt.SecretConflict, errors.AlreadyExists, 409, "EEXIST"),
    (libvirt.InvalidSecretXML, errors.InvalidArgument, 400, "EINVAL"),
    (libvirt.InvalidSecretValue, errors.InvalidArgument, 400, "EINVAL"),
    (libvirt.SecretPrivate, errors.PermissionDenied, 403, "EPERM"),
    (libvirt.InvalidGuest, errors.InvalidArgument, 400, "EINVAL"),
    (libvirt.UnsupportedGuest, errors.NotSupported, 501, "EOPNOTSUPP"),
])
def test_error_statuses(cls: type[errors.ShoalError], base: type[errors.ShoalError],
                        status: int, errno_name: str) -> None:
    assert issubclass(cls, base)
    assert cls.http_status == status and cls.errno == getattr(errno, errno_name)
    assert cls.safe


def test_both_guest_secret_errors_share_one_base() -> None:
    for cls in (libvirt.GuestSecretMissing, libvirt.GuestSecretMismatch):
        assert issubclass(cls, libvirt.GuestSecretError)
        assert issubclass(cls, errors.ShoalError)
