"""shoal.services.image.store's public names, and the HTTP status of each of its errors."""

from __future__ import annotations

import pytest

import shoal.services.image.store as store
from shoal import errors


def test_all_matches_the_public_namespace() -> None:
    names = store.__all__
    assert len(names) == len(set(names))
    assert names == sorted(names, key=lambda n: (not n.isupper(), n))
    for name in names:
        assert hasattr(store, name), name
    # ``convert`` is a public submodule, present once imported
    public = {n for n in vars(store) if not n.startswith("_") and n not in ("annotations",
                                                                             "convert")}
    assert public == set(names)


@pytest.mark.parametrize(("cls", "base", "status"), [
    (store.BadStoreUri, errors.InvalidArgument, 400),
    (store.SizeMismatch, errors.InvalidArgument, 400),
    (store.InvalidImageData, errors.InvalidArgument, 400),
    (store.RangeNotSatisfiable, errors.OutOfRange, 416),
    (store.StoreNotFound, errors.NotFound, 404),
    (store.Duplicate, errors.AlreadyExists, 409),
    (store.InUseByStore, errors.Busy, 409),
    (store.StorageFull, errors.NoSpace, 413),
    (store.ImageTooLarge, errors.TooLarge, 413),
    (store.StoreAccessDenied, errors.PermissionDenied, 503),
    (store.StoreUnavailable, errors.Unavailable, 503),
])
def test_error_statuses(cls: type[errors.ShoalError], base: type[errors.ShoalError],
                        status: int) -> None:
    assert issubclass(cls, base)
    assert cls.http_status == status
    assert cls.safe
