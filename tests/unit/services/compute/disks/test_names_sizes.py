"""Guest disk names and flavor size rules."""

from __future__ import annotations

import pytest

from shoal import errors
from shoal.services.compute import disks

SID = "5a1e6c8e-0b7c-4a1f-9d2e-0c3b4a5d6e7f"


def test_names() -> None:
    assert disks.root_name(SID) == f"{SID}_disk"
    assert disks.ephemeral_name(SID) == f"{SID}_disk.local"
    assert disks.swap_name(SID) == f"{SID}_disk.swap"
    names = [disks.swap_name(SID), "other_disk", disks.root_name(SID), "x"]
    assert disks.disk_names(SID, names) == [f"{SID}_disk", f"{SID}_disk.swap"]
    assert not disks.is_server_disk("", "_disk")


def test_root_never_shrinks() -> None:
    assert disks.root_bytes(0, 12345) == 12345
    assert disks.root_bytes(2, 1 << 30) == 2 << 30
    with pytest.raises(disks.FlavorTooSmall) as ei:
        disks.root_bytes(1, (1 << 30) + 1)
    assert str(1 << 30) in str(ei.value) and str((1 << 30) + 1) in str(ei.value)
    assert ei.value.http_status == 400
    with pytest.raises(errors.InvalidArgument):
        disks.root_bytes(-1, 0)


def test_ephemeral_swap() -> None:
    assert disks.ephemeral_bytes(0) == 0
    assert disks.ephemeral_bytes(3) == 3 << 30
    assert disks.swap_bytes(512) == 512 << 20
    with pytest.raises(errors.InvalidArgument):
        disks.swap_bytes(-1)
