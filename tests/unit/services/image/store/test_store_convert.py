"""Inspecting and converting uploads with the real qemu-img (Debian's qemu-utils)."""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from shoal import errors
from shoal.services.image.store import (
    ImageTooLarge,
    InvalidImageData,
    RbdStore,
    StoreUnavailable,
    convert,
)
from tests._tools import needs_tool
from tests.unit.services.image.store.test_store import Cluster

pytestmark = needs_tool("qemu-img", fix="Debian's qemu-utils: bash scripts/system-packages")

MiB = 1 << 20


def qemu_img(*args: str) -> None:
    subprocess.run(["qemu-img", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture
def raw_bytes() -> bytes:
    """A disk with data, a hole and an unaligned tail (qcow2 rounds it up to 512)."""
    rng = random.Random(7)
    return rng.randbytes(MiB) + bytes(MiB) + rng.randbytes(300_001)


@pytest.fixture
def qcow2(tmp_path: Path, raw_bytes: bytes) -> Path:
    src = tmp_path / "disk.raw"
    src.write_bytes(raw_bytes)
    out = tmp_path / "disk.qcow2"
    qemu_img("convert", "-f", "raw", "-O", "qcow2", str(src), str(out))
    return out


def padded(data: bytes) -> bytes:
    return data + bytes(-len(data) % 512)


@pytest.fixture
def spool(tmp_path: Path) -> Path:
    d = tmp_path / "spool"
    d.mkdir()
    return d


def stream(path: Path, piece: int = 100_000) -> Iterator[bytes]:
    data = path.read_bytes()
    for i in range(0, len(data), piece):
        yield data[i:i + piece]


# --- inspect / convert ---------------------------------------------------------------------
def test_inspect_qcow2_and_raw(qcow2: Path, raw_bytes: bytes, tmp_path: Path) -> None:
    assert convert.inspect(qcow2) == ("qcow2", len(padded(raw_bytes)))
    info = convert.inspect(qcow2, expected_format="qcow2")
    assert (info.format, info.virtual_size) == ("qcow2", len(padded(raw_bytes)))
    assert convert.inspect(tmp_path / "disk.raw") == ("raw", len(raw_bytes))
    assert convert.inspect(tmp_path / "disk.raw", expected_format="iso") == ("iso",
                                                                             len(raw_bytes))


def test_convert_to_raw_gives_the_original_bytes(qcow2: Path, raw_bytes: bytes,
                                                 tmp_path: Path) -> None:
    out = tmp_path / "back.raw"
    convert.convert_to_raw(qcow2, out)
    assert out.read_bytes() == padded(raw_bytes)


def test_declared_format_must_match_the_data(qcow2: Path, tmp_path: Path) -> None:
    with pytest.raises(InvalidImageData, match="not a valid raw: the data is a qcow2 image"):
        convert.inspect(qcow2, expected_format="raw")
    with pytest.raises(InvalidImageData, match="not a valid qcow2: no qcow2 header") as info:
        convert.inspect(tmp_path / "disk.raw", expected_format="qcow2")
    assert info.value.http_status == 400
    vmdk = tmp_path / "disk.vmdk"
    qemu_img("convert", "-f", "qcow2", "-O", "vmdk", str(qcow2), str(vmdk))
    with pytest.raises(InvalidImageData, match="not a valid qcow2: the data is a vmdk image"):
        convert.inspect(vmdk, expected_format="qcow2")
    with pytest.raises(InvalidImageData, match="'vmdk' is not accepted"):
        convert.inspect(vmdk)
    with pytest.raises(InvalidImageData, match="'vhd' is not accepted"):
        convert.inspect(qcow2, expected_format="vhd")


def test_backing_file_is_refused(qcow2: Path, tmp_path: Path) -> None:
    overlay = tmp_path / "overlay.qcow2"
    qemu_img("create", "-f", "qcow2", "-b", "/etc/passwd", "-F", "raw", str(overlay))
    with pytest.raises(InvalidImageData, match="qcow2: it has a backing file") as info:
        convert.inspect(overlay, expected_format="qcow2")
    assert str(tmp_path) not in info.value.message


def test_external_data_file_is_refused(tmp_path: Path) -> None:
    image = tmp_path / "external.qcow2"
    qemu_img("create", "-f", "qcow2", "-o", f"data_file={tmp_path / 'data.bin'}", str(image),
             "1M")
    with pytest.raises(InvalidImageData, match="it has an external data file"):
        convert.inspect(image, expected_format="qcow2")


def test_encrypted_qcow2_is_refused(tmp_path: Path) -> None:
    image = tmp_path / "secret.qcow2"
    # LUKS times its key derivation on the CPU; on a loaded machine qemu-img sometimes
    # cannot ("Unable to get accurate CPU usage"): a short iter-time and a few tries.
    for attempt in range(3):
        try:
            qemu_img("create", "--object", "secret,id=sec0,data=123456", "-f", "qcow2",
                     "-o", "encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10",
                     str(image), "1M")
            break
        except subprocess.CalledProcessError:
            if attempt == 2:
                raise
    with pytest.raises(InvalidImageData, match="it is encrypted"):
        convert.inspect(image, expected_format="qcow2")


def test_qemu_answer_is_checked_again() -> None:
    """The second line of defence, should a header check ever miss one."""
    base = {"format": "qcow2", "virtual-size": 1024,
            "format-specific": {"type": "qcow2", "data": {"corrupt": False}}}
    assert convert._qcow2_info(json.dumps(base)) == ("qcow2", 1024)
    for bad, reason in (
        ({**base, "backing-filename": "/etc/shadow"}, "backing file"),
        ({**base, "format-specific": {"data": {"data-file": "/dev/sda"}}}, "external data"),
        ({**base, "format-specific": {"data": {"corrupt": True}}}, "corrupt"),
        ({**base, "format": "raw"}, "does not read it as qcow2"),
        ({**base, "virtual-size": -1}, "no virtual size"),
    ):
        with pytest.raises(InvalidImageData, match=reason):
            convert._qcow2_info(json.dumps(bad))


def test_broken_qcow2_is_a_clear_400_without_paths(qcow2: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.qcow2"
    broken.write_bytes(qcow2.read_bytes()[:200] + b"\xff" * 4000)
    with pytest.raises(InvalidImageData, match="image data is not a valid qcow2: ") as info:
        convert.inspect(broken, expected_format="qcow2")
    assert str(tmp_path) not in info.value.message
    truncated = tmp_path / "truncated.qcow2"
    truncated.write_bytes(qcow2.read_bytes()[:40])
    with pytest.raises(InvalidImageData, match="the header is truncated"):
        convert.inspect(truncated, expected_format="qcow2")


def test_qemu_img_timeout_is_a_400(qcow2: Path) -> None:
    with pytest.raises(InvalidImageData, match="did not finish within"):
        convert.inspect(qcow2, expected_format="qcow2", timeout_s=0.001)


def test_missing_qemu_img_is_unavailable(qcow2: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(StoreUnavailable, match="qemu-utils") as info:
        convert.inspect(qcow2, expected_format="qcow2")
    assert info.value.http_status == 503


# --- prepare_upload ---------------------------------------------------------------------
def test_prepare_upload_converts_qcow2(qcow2: Path, raw_bytes: bytes, spool: Path) -> None:
    with convert.prepare_upload(stream(qcow2), disk_format="qcow2",
                                spool_dir=spool) as prepared:
        assert prepared.format == "qcow2"
        assert prepared.virtual_size == prepared.size == len(padded(raw_bytes))
        assert prepared.uploaded_bytes == qcow2.stat().st_size
        chunks = list(prepared.chunks(MiB))
        assert all(len(c) == MiB for c in chunks[:-1])
        assert b"".join(chunks) == padded(raw_bytes)
        assert prepared.path.parent == spool
    assert list(spool.iterdir()) == []


def test_prepare_upload_keeps_raw_as_is(raw_bytes: bytes, spool: Path, tmp_path: Path) -> None:
    (tmp_path / "disk.raw").write_bytes(raw_bytes)
    with convert.prepare_upload(stream(tmp_path / "disk.raw"), disk_format="raw",
                                spool_dir=spool) as prepared:
        assert (prepared.format, prepared.size) == ("raw", len(raw_bytes))
        assert b"".join(prepared.chunks()) == raw_bytes
    assert list(spool.iterdir()) == []


class Gone(ConnectionError):
    pass


def test_prepare_upload_cleans_up_on_every_failure(qcow2: Path, spool: Path) -> None:
    def broken() -> Iterator[bytes]:
        yield qcow2.read_bytes()[:1000]
        raise Gone

    with pytest.raises(Gone), convert.prepare_upload(broken(), disk_format="qcow2",
                                                     spool_dir=spool):
        pass
    with pytest.raises(InvalidImageData), convert.prepare_upload(
            [b"not a disk"], disk_format="qcow2", spool_dir=spool):
        pass
    with pytest.raises(RuntimeError), convert.prepare_upload(
            stream(qcow2), disk_format="qcow2", spool_dir=spool):
        raise RuntimeError("the store failed")
    assert list(spool.iterdir()) == []


def test_prepare_upload_limits(qcow2: Path, spool: Path, tmp_path: Path) -> None:
    with pytest.raises(ImageTooLarge, match="passes 1000 bytes") as info, \
            convert.prepare_upload(stream(qcow2), disk_format="qcow2", spool_dir=spool,
                                   size_max=1000):
        pass
    assert info.value.http_status == 413
    huge = tmp_path / "huge.qcow2"
    qemu_img("create", "-f", "qcow2", str(huge), "100G")
    with pytest.raises(ImageTooLarge, match="107374182400 bytes"), convert.prepare_upload(
            stream(huge), disk_format="qcow2", spool_dir=spool, virtual_size_max=1 << 30):
        pass
    qemu_img("create", "-f", "qcow2", str(huge), "2T")  # past glance's 1 TiB image_size_cap
    with pytest.raises(ImageTooLarge, match="2199023255552 bytes"), convert.prepare_upload(
            stream(huge), disk_format="qcow2", spool_dir=spool):
        pass
    with pytest.raises(InvalidImageData, match="'ami' is not accepted"), \
            convert.prepare_upload([b"x"], disk_format="ami", spool_dir=spool):
        pass
    assert list(spool.iterdir()) == []


def test_prepare_upload_missing_spool_dir(spool: Path) -> None:
    with pytest.raises(errors.Unavailable, match="spool file"), convert.prepare_upload(
            [b"x"], disk_format="raw", spool_dir=spool / "nope"):
        pass


def test_uploaded_qcow2_is_stored_as_raw(qcow2: Path, raw_bytes: bytes, spool: Path,
                                         tmp_path: Path) -> None:
    cluster = Cluster(tmp_path / "cluster")
    try:
        store = RbdStore(cluster.session("client.glance"), chunk_size_mib=1)
        with convert.prepare_upload(stream(qcow2), disk_format="qcow2",
                                    spool_dir=spool) as prepared:
            result = store.add("converted", prepared.chunks(), prepared.size)
        assert result.size == len(padded(raw_bytes))
        assert result.checksum == hashlib.md5(padded(raw_bytes)).hexdigest()
        reader, size = store.get(result.location)
        assert b"".join(reader) == padded(raw_bytes)
        assert size == result.size
    finally:
        cluster.close()
