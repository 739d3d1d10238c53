"""Inspecting and converting uploaded disk images with ``qemu-img`` (Debian's qemu-utils).

RBD clones need raw images (cinder and nova clone only ``disk_format=raw``), so an
uploaded qcow2 is converted to raw before it is stored::

    with prepare_upload(request_chunks, disk_format="qcow2", spool_dir=tmp) as prepared:
        result = store.add(image_id, prepared.chunks(), prepared.size)
        virtual_size = prepared.virtual_size

Uploaded images are untrusted, and ``qemu-img`` on a crafted image is a known
attack surface (a qcow2 whose backing file or external data file names a host
file leaks or reads it; a crafted header can eat memory or CPU). So:

- the header is checked in Python first: the format must be the declared one,
  a qcow2 must have no backing file, no external data file and no encryption;
  raw data must not carry another format's header;
- ``qemu-img`` never probes a format (``-f`` is always given), opens the image
  through a ``json:`` description with ``"backing": null``, and runs under an
  address-space and CPU-time limit and a wall-clock timeout;
- its answer is checked again (no backing file, no data file, not corrupt).

Any refusal is :class:`~shoal.services.image.store.InvalidImageData` (HTTP 400,
"image data is not a valid qcow2: ..."). Messages never show the server's paths.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from shoal import errors
from shoal.services.image.store._errors import ImageTooLarge, InvalidImageData, StoreUnavailable
from shoal.services.image.store._rbdstore import IMAGE_SIZE_BYTES_MAX_DEFAULT

__all__ = [
    "CONVERT_TIMEOUT_S_DEFAULT",
    "DISK_FORMATS",
    "INFO_ADDRESS_SPACE_BYTES_MAX",
    "INFO_CPU_S_MAX",
    "INFO_TIMEOUT_S",
    "ImageInfo",
    "PreparedImage",
    "convert_to_raw",
    "detect_format",
    "inspect",
    "prepare_upload",
]

MiB = 1 << 20
GiB = 1 << 30
#: Disk formats accepted for upload: raw-like ones are stored as they are, qcow2 converted.
DISK_FORMATS: tuple[str, ...] = ("raw", "iso", "qcow2")
_RAW_LIKE = frozenset({"raw", "iso"})
#: Bounds on one ``qemu-img info`` (as nova and glance bound it: 1 GiB, 30 s of CPU).
INFO_ADDRESS_SPACE_BYTES_MAX = 1 * GiB
INFO_CPU_S_MAX = 30
INFO_TIMEOUT_S = 60.0
#: ``qemu-img convert`` gets more memory and no CPU bound, and a wall-clock timeout.
CONVERT_ADDRESS_SPACE_BYTES_MAX = 2 * GiB
CONVERT_TIMEOUT_S_DEFAULT = 3600.0
_CHUNK_BYTES_DEFAULT = 8 * MiB
_SPOOL_WRITE_BYTES = 1 * MiB

_QCOW2_MAGIC = b"QFI\xfb"
_QCOW2_INCOMPAT_DATA_FILE = 1 << 2
#: Headers of formats that are not raw: magic, offset (where one is found in the first 4 KiB).
_MAGICS: tuple[tuple[str, bytes, int], ...] = (
    ("qcow2", _QCOW2_MAGIC, 0),
    ("qed", b"QED\x00", 0),
    ("vmdk", b"KDMV", 0),
    ("vmdk", b"# Disk DescriptorFile", 0),
    ("vhdx", b"vhdxfile", 0),
    ("vpc", b"conectix", 0),
    ("vdi", struct.pack("<I", 0xBEDA107F), 0x40),
    ("luks", b"LUKS\xba\xbe", 0),
)
_HEADER_BYTES = 4096

# Sets resource limits, then replaces itself with the command (no preexec_fn: unsafe in
# threaded servers). argv: address-space bytes, cpu seconds (0: none), command...
_LIMITED_EXEC = (
    "import os, resource, sys\n"
    "space, cpu = int(sys.argv[1]), int(sys.argv[2])\n"
    "resource.setrlimit(resource.RLIMIT_AS, (space, space))\n"
    "if cpu: resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))\n"
    "os.execvp(sys.argv[3], sys.argv[3:])\n"
)


class ImageInfo(NamedTuple):
    """``(format, virtual_size)`` of a disk image; virtual_size in bytes."""

    format: str
    virtual_size: int


def _invalid(disk_format: str, reason: str) -> InvalidImageData:
    return InvalidImageData(f"image data is not a valid {disk_format}: {reason}")


def detect_format(path: Path | str) -> str:
    """The format a file's header announces (``qcow2``, ``vmdk``, ``vdi``...), else ``raw``.

    Raises:
        errors.Unavailable: the file cannot be read.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(_HEADER_BYTES)
    except OSError as exc:
        raise errors.Unavailable(f"cannot read the spooled image: {exc.strerror}") from exc
    for name, magic, at in _MAGICS:
        if head[at:at + len(magic)] == magic:
            return name
    return "raw"


def _check_qcow2_header(path: Path | str) -> int:
    """The virtual size a qcow2 header states, after refusing what is unsafe to open."""
    with open(path, "rb") as f:
        return check_qcow2_header(f.read(104))


def qcow2_backing_file(head: bytes) -> str | None:
    """The backing file a qcow2 image's first bytes name (``head``: at least the header's
    first 20 bytes, better the whole first cluster, which holds the name in images
    qemu-img writes); None when it names none or ``head`` is not a qcow2 header; ``"?"``
    when the name lies past ``head``."""
    if len(head) < 20 or head[:4] != _QCOW2_MAGIC:
        return None
    backing_offset, backing_bytes = struct.unpack(">QI", head[8:20])
    if backing_offset == 0:
        return None
    name = head[backing_offset:backing_offset + backing_bytes]
    if len(name) < backing_bytes or backing_bytes == 0:
        return "?"
    return name.decode("utf-8", "replace")


def check_qcow2_header(head: bytes) -> int:
    """The virtual size a qcow2 header (its first 104 bytes) states, after refusing what
    is unsafe to open (InvalidImageData: truncated, an unknown version, a backing file,
    encryption, an external data file)."""
    if len(head) < 72 or head[:4] != _QCOW2_MAGIC:
        raise _invalid("qcow2", "the header is truncated")
    version, backing_offset, _backing_bytes, _cluster_bits, size, crypt = struct.unpack(
        ">IQIIQI", head[4:36])
    if version not in (2, 3):
        raise _invalid("qcow2", f"unsupported qcow2 version {version}")
    if backing_offset != 0:
        raise _invalid("qcow2", "it has a backing file (only self-contained images are "
                                "accepted)")
    if crypt != 0:
        raise _invalid("qcow2", "it is encrypted")
    if version == 3:
        if len(head) < 80:
            raise _invalid("qcow2", "the header is truncated")
        (incompatible,) = struct.unpack(">Q", head[72:80])
        if incompatible & _QCOW2_INCOMPAT_DATA_FILE:
            raise _invalid("qcow2", "it has an external data file")
    return int(size)


def _qemu_img() -> str:
    found = shutil.which("qemu-img")
    if found is None:
        raise StoreUnavailable("qemu-img is not installed (Debian package qemu-utils); "
                               "it is needed to convert images to raw")
    return found


def _json_spec(disk_format: str, path: Path | str) -> str:
    """A ``json:`` image description: the file as ``disk_format``, never a backing file."""
    spec: dict[str, object] = {
        "driver": disk_format,
        "file": {"driver": "file", "filename": os.path.abspath(path)},
    }
    if disk_format == "qcow2":
        spec["backing"] = None
    return "json:" + json.dumps(spec)


def _run_limited(args: list[str], *, space_bytes: int, cpu_s: int, timeout_s: float,
                 paths: Iterable[Path | str], what: str, disk_format: str) -> str:
    """Run ``qemu-img args`` under limits; its stdout. Failures: InvalidImageData."""
    cmd = [sys.executable, "-c", _LIMITED_EXEC, str(space_bytes), str(cpu_s), _qemu_img(),
           *args]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"}
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s,
                              stdin=subprocess.DEVNULL, env=env, check=False)
    except subprocess.TimeoutExpired:
        raise _invalid(disk_format, f"{what} did not finish within {timeout_s:.0f} s") from None
    if proc.returncode != 0:
        reason = _scrub(proc.stderr.strip().splitlines()[-1:] or [""], paths)
        if proc.returncode < 0:
            reason = reason or f"{what} was stopped by signal {-proc.returncode} (limits)"
        raise _invalid(disk_format, reason or f"{what} failed (exit {proc.returncode})")
    return proc.stdout


def _scrub(lines: list[str], paths: Iterable[Path | str]) -> str:
    """qemu-img's message without the server's paths (and its ``qemu-img:`` prefix)."""
    text = lines[0].removeprefix("qemu-img: ") if lines else ""
    forms = {str(p) for p in paths} | {os.path.abspath(p) for p in paths}
    for form in sorted(forms, key=len, reverse=True):  # a json: spec holds the path
        text = text.replace(form, "<image>")
    return text


def inspect(path: Path | str, *, expected_format: str | None = None,
            timeout_s: float = INFO_TIMEOUT_S) -> ImageInfo:
    """The format and virtual size (bytes) of the disk image at ``path``.

    ``expected_format`` (the declared ``disk_format``) must match what the
    header says; None accepts any of :data:`DISK_FORMATS`. Raw-like images are
    measured by their length and never given to qemu-img; a qcow2 is checked
    (see the module doc) and then measured by ``qemu-img info``.

    Raises:
        InvalidImageData: another format than declared, an unsupported format,
            an unsafe or broken qcow2, or qemu-img failing or timing out.
        StoreUnavailable: qemu-img is not installed.
        errors.Unavailable: the file cannot be read.
    """
    if expected_format is not None and expected_format not in DISK_FORMATS:
        raise InvalidImageData(f"disk format {expected_format!r} is not accepted "
                               f"(accepted: {', '.join(DISK_FORMATS)})")
    found = detect_format(path)
    declared = expected_format or found
    if declared in _RAW_LIKE:
        if found != "raw":
            raise _invalid(declared, f"the data is a {found} image")
        return ImageInfo(declared, os.path.getsize(path))
    if found != declared:
        reason = f"the data is a {found} image" if found != "raw" else "no qcow2 header"
        raise _invalid(declared, reason)
    if declared != "qcow2":
        raise InvalidImageData(f"disk format {found!r} is not accepted "
                               f"(accepted: {', '.join(DISK_FORMATS)})")
    _check_qcow2_header(path)
    spec = _json_spec("qcow2", path)
    out = _run_limited(["info", "--output=json", spec],
                       space_bytes=INFO_ADDRESS_SPACE_BYTES_MAX, cpu_s=INFO_CPU_S_MAX,
                       timeout_s=timeout_s, paths=[path, spec], what="qemu-img info",
                       disk_format="qcow2")
    return _qcow2_info(out)


def _qcow2_info(out: str) -> ImageInfo:
    try:
        info = json.loads(out)
    except ValueError:
        raise _invalid("qcow2", "qemu-img info gave no JSON") from None
    if not isinstance(info, dict) or info.get("format") != "qcow2":
        raise _invalid("qcow2", "qemu-img does not read it as qcow2")
    if any(key in info for key in ("backing-filename", "full-backing-filename")):
        raise _invalid("qcow2", "it has a backing file")
    specific = info.get("format-specific", {}).get("data", {})
    if not isinstance(specific, dict):
        raise _invalid("qcow2", "qemu-img info gave no qcow2 details")
    if "data-file" in specific:
        raise _invalid("qcow2", "it has an external data file")
    if specific.get("corrupt"):
        raise _invalid("qcow2", "it is marked corrupt")
    if info.get("encrypted"):
        raise _invalid("qcow2", "it is encrypted")
    size = info.get("virtual-size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise _invalid("qcow2", "qemu-img info gave no virtual size")
    return ImageInfo("qcow2", size)


def convert_to_raw(src_path: Path | str, dst_path: Path | str, *, src_format: str = "qcow2",
                   timeout_s: float = CONVERT_TIMEOUT_S_DEFAULT) -> None:
    """Write the raw disk of the image at ``src_path`` (``src_format``) to ``dst_path``
    (created or replaced; sparse where the image has no data). Run :func:`inspect`
    on ``src_path`` first: this does not check the image again.

    Raises:
        InvalidImageData: qemu-img failed or timed out.
        StoreUnavailable: qemu-img is not installed.
    """
    if src_format not in DISK_FORMATS:
        raise InvalidImageData(f"disk format {src_format!r} is not accepted")
    source = _json_spec("raw" if src_format in _RAW_LIKE else src_format, src_path)
    _run_limited(["convert", "-q", "-O", "raw", source, os.path.abspath(dst_path)],
                 space_bytes=CONVERT_ADDRESS_SPACE_BYTES_MAX, cpu_s=0, timeout_s=timeout_s,
                 paths=[src_path, dst_path, source], what="qemu-img convert",
                 disk_format=src_format)


@dataclass(frozen=True)
class PreparedImage:
    """An upload spooled (and converted) to a raw file (see :func:`prepare_upload`).

    Attributes:
        format: the uploaded disk format.
        virtual_size: bytes of the disk (the raw data's length).
        uploaded_bytes: bytes received.
        path: the raw file (deleted when ``prepare_upload``'s block ends).
    """

    format: str
    virtual_size: int
    uploaded_bytes: int
    path: Path

    @property
    def size(self) -> int:
        """Bytes of raw data :meth:`chunks` yields (= ``virtual_size``)."""
        return self.virtual_size

    def chunks(self, chunk_bytes: int = _CHUNK_BYTES_DEFAULT) -> Iterator[bytes]:
        """The raw data, in pieces of ``chunk_bytes`` (the last may be shorter)."""
        if chunk_bytes <= 0:
            raise errors.InvalidArgument(f"chunk_bytes must be > 0, not {chunk_bytes}")
        with open(self.path, "rb") as f:
            while piece := f.read(chunk_bytes):
                yield piece


@contextlib.contextmanager
def prepare_upload(
    data: Iterable[bytes],
    *,
    disk_format: str,
    spool_dir: Path | str,
    size_max: int | None = IMAGE_SIZE_BYTES_MAX_DEFAULT,
    virtual_size_max: int = IMAGE_SIZE_BYTES_MAX_DEFAULT,
    timeout_s: float = CONVERT_TIMEOUT_S_DEFAULT,
) -> Iterator[PreparedImage]:
    """Spool ``data`` to a file in ``spool_dir``, check it is a ``disk_format`` image
    (:func:`inspect`), convert it to raw if it is not raw already, and give the raw
    data. Every temporary file is deleted when the block ends, whatever happens.

    ``size_max`` bounds the bytes received (None: no bound), ``virtual_size_max`` the
    disk size (a small qcow2 may describe a huge disk); both default to glance's
    ``image_size_cap`` (1 TiB).

    Raises:
        ImageTooLarge: the upload passes ``size_max``, or the disk ``virtual_size_max``.
        InvalidImageData: see :func:`inspect` and :func:`convert_to_raw`.
        StoreUnavailable: qemu-img is not installed.
        errors.NoSpace: the spool directory's file system is full.
        errors.Unavailable: the spool directory cannot be written.
    """
    if disk_format not in DISK_FORMATS:
        raise InvalidImageData(f"disk format {disk_format!r} is not accepted "
                               f"(accepted: {', '.join(DISK_FORMATS)})")
    with contextlib.ExitStack() as cleanup:
        upload = _temp_file(spool_dir, ".upload", cleanup)
        received = _spool(data, upload, size_max)
        info = inspect(upload, expected_format=disk_format)
        if info.virtual_size > virtual_size_max:
            raise ImageTooLarge(f"the image's disk is {info.virtual_size} bytes; at most "
                                f"{virtual_size_max} bytes are accepted")
        raw = upload
        if info.format not in _RAW_LIKE:
            raw = _temp_file(spool_dir, ".raw", cleanup)
            convert_to_raw(upload, raw, src_format=info.format, timeout_s=timeout_s)
            upload.unlink()  # free the space early
            if raw.stat().st_size != info.virtual_size:
                raise _invalid(info.format, f"converted to {raw.stat().st_size} bytes, "
                                            f"not its virtual size {info.virtual_size}")
        yield PreparedImage(info.format, info.virtual_size, received, raw)


def _temp_file(directory: Path | str, suffix: str, cleanup: contextlib.ExitStack) -> Path:
    try:
        fd, name = tempfile.mkstemp(prefix="shoal-image-", suffix=suffix, dir=directory)
    except OSError as exc:
        raise errors.Unavailable(f"cannot create a spool file: {exc.strerror}") from exc
    os.close(fd)
    path = Path(name)
    cleanup.callback(lambda: path.unlink(missing_ok=True))
    return path


def _spool(data: Iterable[bytes], path: Path, size_max: int | None) -> int:
    """Write ``data`` to ``path``; the bytes written. The iterator's own exceptions (a client
    gone: ConnectionError, an OSError) pass unchanged; only the file's are translated."""
    received = 0
    with _spool_errors():
        f = open(path, "wb")  # noqa: SIM115 (closed below, errors translated apart)
    try:
        for piece in data:
            received += len(piece)
            if size_max is not None and received > size_max:
                raise ImageTooLarge(f"the upload passes {size_max} bytes")
            with _spool_errors():
                f.write(piece)
    finally:
        with _spool_errors():
            f.close()
    return received


@contextlib.contextmanager
def _spool_errors() -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise errors.NoSpace("no space left to spool the upload") from exc
        raise errors.Unavailable(f"cannot spool the upload: {exc.strerror}") from exc
