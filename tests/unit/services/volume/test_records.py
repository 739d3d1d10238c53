"""Volume service records: what they accept and refuse; factories for the Cinder tests."""

from __future__ import annotations

import dataclasses
import pickle
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from shoal.services.volume.records import (
    AttachmentRecord,
    BackupRecord,
    FrozenMap,
    ServiceRecord,
    SnapshotRecord,
    VolumeRecord,
    VolumeTypeRecord,
)

BASE_TIME = datetime(2026, 11, 23, 18, 0, 0, tzinfo=UTC)
P1 = "6f8b0c4c2a1e4f0f9c3e2b1a0d9e8f7a"  # Keystone-style ids (32 hex digits)
P2 = "0a1b2c3d4e5f40718293a4b5c6d7e8f9"
U1 = "5e6f7a8b9c0d41e2a3b4c5d6e7f80912"
TYPE_ID = "d6b0a1b2-0c3d-4e5f-8a9b-0c1d2e3f4a5b"


def rid(kind: str, n: int) -> str:
    """A fixed UUID per resource kind (v, s, b, a, i) and number."""
    prefix = {"v": "1", "s": "2", "b": "3", "a": "4", "i": "5"}[kind]
    return f"{prefix}{n:07x}-0000-4000-8000-000000000000"


def make_volume(n: int = 1, **fields: Any) -> VolumeRecord:
    """Volume ``n`` of project P1: 1 GiB, available, created ``n`` minutes after
    :data:`BASE_TIME`, of type ``__DEFAULT__``."""
    values: dict[str, Any] = {
        "id": rid("v", n), "project_id": P1, "user_id": U1, "status": "available",
        "size": 1, "created_at": BASE_TIME + timedelta(minutes=n),
        "updated_at": BASE_TIME + timedelta(minutes=n, seconds=5),
        "name": f"vol-{n}", "volume_type_id": TYPE_ID, "volume_type_name": "__DEFAULT__",
        "host": "shoal@ceph#ceph",
    }
    values.update(fields)
    return VolumeRecord(**values)


def make_attachment(n: int = 1, volume_id: str | None = None, **fields: Any
                    ) -> AttachmentRecord:
    values: dict[str, Any] = {
        "id": rid("a", n), "volume_id": volume_id or rid("v", 1), "status": "attached",
        "instance_uuid": rid("i", n), "attached_host": "compute-1", "mountpoint": "/dev/vdb",
        "attach_mode": "rw", "attach_time": BASE_TIME + timedelta(hours=1),
    }
    values.update(fields)
    return AttachmentRecord(**values)


def make_snapshot(n: int = 1, **fields: Any) -> SnapshotRecord:
    values: dict[str, Any] = {
        "id": rid("s", n), "volume_id": rid("v", 1), "project_id": P1, "user_id": U1,
        "status": "available", "volume_size": 1,
        "created_at": BASE_TIME + timedelta(minutes=n), "name": f"snap-{n}",
        "progress": "100%", "availability_zone": "nova",
    }
    values.update(fields)
    return SnapshotRecord(**values)


def make_backup(n: int = 1, **fields: Any) -> BackupRecord:
    values: dict[str, Any] = {
        "id": rid("b", n), "volume_id": rid("v", 1), "project_id": P1, "user_id": U1,
        "status": "available", "size": 1, "created_at": BASE_TIME + timedelta(minutes=n),
        "updated_at": BASE_TIME + timedelta(minutes=n + 1), "name": f"backup-{n}",
        "container": "backups", "object_count": 0, "availability_zone": "nova",
        "data_timestamp": BASE_TIME + timedelta(minutes=n),
    }
    values.update(fields)
    return BackupRecord(**values)


# --- the records' own rules -------------------------------------------------------------


def test_a_volume_keeps_its_fields_and_freezes_its_maps() -> None:
    volume = make_volume(metadata={"k": "v"}, attachments=[make_attachment()])
    assert isinstance(volume.metadata, FrozenMap)
    assert volume.attachments == (make_attachment(),)
    with pytest.raises(TypeError):
        volume.metadata["x"] = "y"  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        volume.size = 2  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(volume)) == volume
    assert dataclasses.replace(volume, size=2).size == 2


def test_timestamps_become_utc() -> None:
    naive = make_volume(created_at=datetime(2026, 1, 1, 12, 0), updated_at=None)
    assert naive.created_at == datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert naive.updated_at is None
    plus_two = timezone(timedelta(hours=2))
    shifted = make_snapshot(created_at=datetime(2026, 1, 1, 14, 0, tzinfo=plus_two))
    assert shifted.created_at == datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert shifted.created_at.tzinfo is UTC


@pytest.mark.parametrize(("fields", "problem"), [
    ({"status": "deleted"}, "unknown volume status"),
    ({"status": "AVAILABLE"}, "unknown volume status"),
    ({"size": 0}, "size must be in"),
    ({"size": 2**31}, "size must be in"),
    ({"size": True}, "size must be an int"),
    ({"size": 1.0}, "size must be an int"),
    ({"metadata": {"k": 1}}, "metadata must map strings"),
    ({"admin_metadata": {1: "x"}}, "admin_metadata must map strings"),
    ({"attachments": [make_attachment(volume_id="other")]}, "names another volume"),
])
def test_a_volume_refuses_what_no_volume_can_hold(fields: dict[str, Any], problem: str
                                                  ) -> None:
    with pytest.raises(ValueError, match=problem):
        make_volume(**fields)


def test_other_records_check_their_fields() -> None:
    with pytest.raises(ValueError, match="attach status"):
        make_attachment(status="bogus")
    with pytest.raises(ValueError, match="attach_mode"):
        make_attachment(attach_mode="rx")
    with pytest.raises(ValueError, match="snapshot status"):
        make_snapshot(status="in-use")
    with pytest.raises(ValueError, match="volume_size"):
        make_snapshot(volume_size=-1)
    with pytest.raises(ValueError, match="backup status"):
        make_backup(status="in-use")
    with pytest.raises(ValueError, match="object_count"):
        make_backup(object_count=-1)
    with pytest.raises(ValueError, match="extra_specs"):
        VolumeTypeRecord(id=TYPE_ID, name="t", extra_specs={"k": 1})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="backend_state"):
        ServiceRecord(binary="cinder-volume", host="h@b", availability_zone="nova",
                      created_at=BASE_TIME, backend_state="sideways")


def test_backup_derived_flags() -> None:
    full = make_backup()
    assert (full.is_incremental, full.has_dependent_backups) == (False, False)
    incremental = make_backup(2, parent_id=full.id)
    assert incremental.is_incremental
    assert make_backup(num_dependent_backups=1).has_dependent_backups


def test_attachment_connection_info_is_frozen() -> None:
    attachment = make_attachment(connection_info={"driver_volume_type": "rbd"})
    assert attachment.connection_info == {"driver_volume_type": "rbd"}
    assert isinstance(attachment.connection_info, FrozenMap)
