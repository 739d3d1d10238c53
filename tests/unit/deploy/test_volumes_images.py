"""``GlanceImages.raw_data``: non-raw images converted to raw for new volumes (qemu-img), and
the images Cinder refuses (a qcow2 with a backing file, a vmdk descriptor, a wrong format)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from shoal._time import utcnow
from shoal.deploy._volumes import GlanceImages
from shoal.services.image import ImageRecord
from shoal.services.image._service import ImageServiceOptions
from shoal.services.image.store import InvalidImageData

pytestmark = pytest.mark.skipif(shutil.which("qemu-img") is None, reason="needs qemu-img")

MiB = 1 << 20


class Images:
    """The two reads ``raw_data`` makes of the image service, over one file."""

    def __init__(self, path: Path, disk_format: str, spool: Path) -> None:
        now = utcnow()
        self.record = ImageRecord(id="i1", status="active", created_at=now, updated_at=now,
                                  disk_format=disk_format)
        self.path = path
        self.options = ImageServiceOptions(spool_dir=spool)

    def get(self, image_id: str) -> ImageRecord:
        return self.record

    def open_data(self, record: ImageRecord) -> tuple[Iterator[bytes], int]:
        data = self.path.read_bytes()
        return iter([data[i:i + MiB] for i in range(0, len(data), MiB)]), len(data)


def _source(tmp_path: Path, path: Path, disk_format: str) -> GlanceImages:
    images = Images(path, disk_format, tmp_path)
    return GlanceImages(images, show_locations=False,  # type: ignore[arg-type]
                        conversion_dir=tmp_path / "conversion")


def _payload(tmp_path: Path) -> tuple[Path, bytes]:
    payload = b"\x01" * MiB + bytes(2 * MiB) + b"\x02" * MiB
    raw = tmp_path / "disk.raw"
    raw.write_bytes(payload)
    return raw, payload


@pytest.mark.parametrize(("disk_format", "qemu_format"), [
    ("qcow2", "qcow2"), ("vmdk", "vmdk"), ("vdi", "vdi"), ("vhdx", "vhdx")])
def test_converted_to_raw(tmp_path: Path, disk_format: str, qemu_format: str) -> None:
    raw, payload = _payload(tmp_path)
    image = tmp_path / f"disk.{disk_format}"
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", qemu_format, str(raw),
                    str(image)], check=True)
    got = b"".join(_source(tmp_path, image, disk_format).raw_data("i1"))
    assert got[:len(payload)] == payload and not got[len(payload):].strip(b"\0")
    assert list((tmp_path / "conversion").iterdir()) == []  # the spool files are gone


def test_qcow2_with_a_backing_file_is_refused(tmp_path: Path) -> None:
    raw, _ = _payload(tmp_path)
    top = tmp_path / "top.qcow2"
    subprocess.run(["qemu-img", "create", "-f", "qcow2", "-F", "raw", "-b", str(raw),
                    str(top)], check=True, capture_output=True)
    with pytest.raises(InvalidImageData, match="backing file"):
        b"".join(_source(tmp_path, top, "qcow2").raw_data("i1"))


def test_wrong_format_and_vmdk_descriptor_are_refused(tmp_path: Path) -> None:
    raw, _ = _payload(tmp_path)
    with pytest.raises(InvalidImageData, match="not a valid vdi"):
        b"".join(_source(tmp_path, raw, "vdi").raw_data("i1"))
    descriptor = tmp_path / "d.vmdk"
    descriptor.write_text('# Disk DescriptorFile\nversion=1\nRW 8 FLAT "/etc/passwd" 0\n')
    with pytest.raises(InvalidImageData, match="descriptor"):
        b"".join(_source(tmp_path, descriptor, "vmdk").raw_data("i1"))


def test_raw_passes_unchanged(tmp_path: Path) -> None:
    raw, payload = _payload(tmp_path)
    assert b"".join(_source(tmp_path, raw, "raw").raw_data("i1")) == payload


