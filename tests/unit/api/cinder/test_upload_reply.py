"""The reply to ``os-volume_upload_image``: Cinder's fields, the volume type as an object
(extra specs for admins only), ``visibility``/``protected`` as Glance shows them."""

from __future__ import annotations

from datetime import UTC, datetime

from shoal.api.cinder.actions import upload_image_body
from shoal.services.volume._upload import UploadStarted
from shoal.services.volume.records import VolumeRecord, VolumeTypeRecord

NOW = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)
VOLUME = VolumeRecord(id="v1", project_id="p1", user_id="u1", status="uploading", size=2,
                      created_at=NOW, description="d")
TYPE = VolumeTypeRecord(id="t1", name="ceph", extra_specs={"volume_backend_name": "ceph"})


def _started(vtype: VolumeTypeRecord | None) -> UploadStarted:
    return UploadStarted(volume=VOLUME, volume_type=vtype, image_id="i1", image_name="img",
                         disk_format="qcow2", container_format="bare", visibility="private",
                         protected=False, updated_at=NOW)


def test_reply_fields() -> None:
    body = upload_image_body(_started(TYPE), is_admin=True)["os-volume_upload_image"]
    assert body == {
        "id": "v1", "updated_at": "2026-12-07T14:00:00.000000", "status": "uploading",
        "display_description": "d", "size": 2, "image_id": "i1", "image_name": "img",
        "disk_format": "qcow2", "container_format": "bare", "visibility": "private",
        "protected": False, "volume_type": {
            "id": "t1", "name": "ceph", "description": None, "is_public": True,
            "extra_specs": {"volume_backend_name": "ceph"}, "qos_specs_id": None,
            "deleted": False, "deleted_at": None, "created_at": None, "updated_at": None}}


def test_extra_specs_only_for_admins_and_no_type() -> None:
    body = upload_image_body(_started(TYPE), is_admin=False)["os-volume_upload_image"]
    assert body["volume_type"]["extra_specs"] == {}
    assert upload_image_body(_started(None), is_admin=False)[
        "os-volume_upload_image"]["volume_type"] is None
