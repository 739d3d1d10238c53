"""shoal.services.backup.driver's public names, and the HTTP status of each of its errors."""

from __future__ import annotations

import pytest

import shoal.services.backup.driver as driver
from shoal import errors


def test_all_matches_the_public_namespace() -> None:
    names = driver.__all__
    assert len(names) == len(set(names))
    assert names == sorted(names, key=lambda n: (not n.isupper(), n))
    public = {n for n in vars(driver) if not n.startswith("_") and n != "annotations"}
    assert public == set(names)


@pytest.mark.parametrize(("cls", "base", "status"), [
    (driver.BackupRBDOperationFailed, errors.InvalidArgument, 400),
    (driver.InvalidBackupRecord, errors.InvalidArgument, 400),
    (driver.RestoreTargetTooSmall, errors.InvalidArgument, 400),
    (driver.VolumeSizeMismatch, errors.InvalidArgument, 400),
    (driver.BackupNotFound, errors.NotFound, 404),
    (driver.VolumeNotFound, errors.NotFound, 404),
    (driver.BackupExists, errors.AlreadyExists, 409),
    (driver.BackupInUse, errors.Busy, 409),
    (driver.BackupStorageFull, errors.NoSpace, 413),
    (driver.BackupAccessDenied, errors.PermissionDenied, 503),
    (driver.BackupUnavailable, errors.Unavailable, 503),
    (driver.BackupOperationError, errors.ShoalError, 500),
])
def test_error_statuses(cls: type[errors.ShoalError], base: type[errors.ShoalError],
                        status: int) -> None:
    assert issubclass(cls, base)
    assert cls.http_status == status
    assert cls.safe
