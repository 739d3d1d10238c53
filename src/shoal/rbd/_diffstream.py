"""The ``rbd export-diff`` / ``import-diff`` stream, byte-compatible with ``rbd``.

A diff stream is a banner followed by tagged records; integers are
little-endian, strings are a ``le32`` byte length then UTF-8 bytes::

    v1: b"rbd diff v1\\n"                    v2: b"rbd diff v2\\n"
    tag  v1 body                            v2 body (after the tag)
    'f'  str from-snap name                 le64 len=4+n, then as v1
    't'  str to-snap name                   le64 len=4+n, then as v1
    'p'  (not written in v1)                le64 len=1, u8 to-snap protected (0/1)
    's'  le64 image size at the end point   le64 len=8, then as v1
    'w'  le64 offset, le64 length, data     le64 len=16+length, then as v1
    'z'  le64 offset, le64 length           le64 len=16, then as v1
    'e'  end of stream (no body)            end of stream (no length either)

Metadata records (``f t p s``) come before data records (``w z``), ``e`` is
last. ``rbd export-diff`` writes ``f`` (if any), ``t`` (if any), ``p`` (v2,
with ``t``), ``s``, the data records in increasing offset order, then ``e``;
``rbd import-diff`` reads only v1 streams. v2 streams appear inside the
``rbd export --export-format 2`` image stream::

    b"rbd image v2\\n"
    'O' le64 len=8, le64 order      'T' le64 len=8, le64 features
    'U' le64 len=8, le64 stripe unit 'C' le64 len=8, le64 stripe count
    'M' le64 len=8+k+v, str key, str value   (one per image-meta pair, sorted)
    'E' (no length)
    b"rbd image diffs v2\\n"  le64 number of diffs, then that many v2 diff
    streams: first diff from nothing to the oldest snapshot, ..., the last one
    from the newest snapshot to the image head (no 't').

In v2, a reader skips records with an unknown tag using their length.

Readers here reject anything malformed with :class:`errors.InvalidArgument`
whose message gives the byte offset (from where reading started) and what was
wrong; they never raise other exceptions for bad input (I/O errors of the
underlying stream propagate).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import BinaryIO

from shoal import errors, limits

__all__ = [
    "DIFF_BANNER_V1",
    "DIFF_BANNER_V2",
    "IMAGE_BANNER_V2",
    "IMAGE_DIFFS_BANNER_V2",
    "DiffReader",
    "DiffWriter",
    "FromSnap",
    "ImageHeader",
    "Record",
    "Size",
    "SnapProtected",
    "ToSnap",
    "Write",
    "Zero",
    "read_diff",
    "read_image_header",
    "write_image_header",
]

DIFF_BANNER_V1 = b"rbd diff v1\n"
DIFF_BANNER_V2 = b"rbd diff v2\n"
IMAGE_BANNER_V2 = b"rbd image v2\n"
IMAGE_DIFFS_BANNER_V2 = b"rbd image diffs v2\n"
_DIFF_BANNERS = {1: DIFF_BANNER_V1, 2: DIFF_BANNER_V2}

_FROM, _TO, _PROTECTED, _SIZE = b"f", b"t", b"p", b"s"
_WRITE, _ZERO, _END = b"w", b"z", b"e"
_ORDER, _FEATURES, _UNIT, _COUNT, _META, _IMAGE_END = b"O", b"T", b"U", b"C", b"M", b"E"

_U64_MAX = (1 << 64) - 1
_LE32 = struct.Struct("<I")
_LE64 = struct.Struct("<Q")
_EXTENT = struct.Struct("<QQ")
#: Largest chunk read from the stream at once, so that a lying length costs
#: memory only for the bytes actually present.
_READ_CHUNK = 8 << 20
#: Default bound on one image-meta record (key + value + their lengths).
_META_RECORD_BYTES_MAX = limits.omap_key_bytes_max + limits.omap_value_bytes_max + 8


# --------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class FromSnap:
    """``f``: the snapshot the diff starts from (must exist on the target)."""

    name: str


@dataclass(frozen=True, slots=True)
class ToSnap:
    """``t``: the snapshot the diff ends at (created by import-diff)."""

    name: str


@dataclass(frozen=True, slots=True)
class SnapProtected:
    """``p`` (v2 only): whether the end snapshot is protected."""

    protected: bool


@dataclass(frozen=True, slots=True)
class Size:
    """``s``: image size in bytes at the end point of the diff."""

    size: int


@dataclass(frozen=True, slots=True)
class Write:
    """``w``: ``data`` replaces the image bytes at ``offset``."""

    offset: int
    data: bytes

    @property
    def length(self) -> int:
        """Bytes written."""
        return len(self.data)


@dataclass(frozen=True, slots=True)
class Zero:
    """``z``: ``length`` bytes at ``offset`` read as zeros (discarded or zeroed)."""

    offset: int
    length: int


Record = FromSnap | ToSnap | Size | Write | Zero | SnapProtected


@dataclass(frozen=True)
class ImageHeader:
    """Image properties at the head of an ``--export-format 2`` image stream.

    Each field is ``None`` when the stream did not carry it (``rbd import``
    then uses its own defaults). ``metadata`` holds the image-meta pairs.
    """

    order: int | None = None
    features: int | None = None
    stripe_unit: int | None = None
    stripe_count: int | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)


# ---------------------------------------------------------------------- writer

_NEW, _META_PHASE, _DATA_PHASE, _DONE = range(4)


class DiffWriter:
    """Writes one diff stream to a binary stream, in the order ``rbd`` writes it.

    Call :meth:`write_header`, then optionally :meth:`from_snap`,
    :meth:`to_snap` and (v2, after ``to_snap``) :meth:`snap_protected`, each at
    most once, then :meth:`size`, then any number of :meth:`write` /
    :meth:`zero`, then :meth:`end`. Data records must lie inside the size
    given to :meth:`size`. A call out of order raises
    :class:`errors.InvalidArgument` and writes nothing.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._version = 0
        self._phase = _NEW
        self._seen: set[bytes] = set()
        self._size = 0
        self._written = 0

    @property
    def version(self) -> int:
        """Format version written (1 or 2), 0 before :meth:`write_header`."""
        return self._version

    @property
    def bytes_written(self) -> int:
        """Bytes handed to the stream so far."""
        return self._written

    def write_header(self, version: int = 1) -> None:
        """Write the banner of format ``version`` (1 or 2)."""
        self._require(_NEW, "the header")
        if version not in _DIFF_BANNERS:
            raise errors.InvalidArgument(f"diff format version must be 1 or 2, got {version!r}")
        self._version = version
        self._emit(_DIFF_BANNERS[version])
        self._phase = _META_PHASE

    def from_snap(self, name: str) -> None:
        """Write ``f``: the start snapshot's name (1..4096 UTF-8 bytes)."""
        self._meta_once(_FROM, "from_snap")
        self._record(_FROM, _encode_str(_check_snap_name(name)))
        self._seen.add(_FROM)

    def to_snap(self, name: str) -> None:
        """Write ``t``: the end snapshot's name (1..4096 UTF-8 bytes)."""
        self._meta_once(_TO, "to_snap")
        self._record(_TO, _encode_str(_check_snap_name(name)))
        self._seen.add(_TO)

    def snap_protected(self, protected: bool) -> None:
        """Write ``p`` (format 2 only, after :meth:`to_snap`)."""
        self._meta_once(_PROTECTED, "snap_protected")
        if self._version != 2:
            raise errors.InvalidArgument("the snap-protected record exists only in format 2")
        if _TO not in self._seen:
            raise errors.InvalidArgument("snap_protected must follow to_snap")
        self._record(_PROTECTED, b"\x01" if protected else b"\x00")
        self._seen.add(_PROTECTED)

    def size(self, size: int) -> None:
        """Write ``s``: the image size at the end point (bytes); ends the metadata."""
        self._meta_once(_SIZE, "size")
        _check_u64("image size", size)
        self._record(_SIZE, _LE64.pack(size))
        self._size = size
        self._phase = _DATA_PHASE

    def write(self, offset: int, data: bytes | bytearray | memoryview) -> None:
        """Write ``w``: ``data`` at image ``offset`` (must fit inside the size)."""
        self._require(_DATA_PHASE, "a write record")
        length = len(data) if not isinstance(data, memoryview) else data.nbytes
        self._check_extent(offset, length)
        self._record(_WRITE, _EXTENT.pack(offset, length), length)
        self._emit(data)

    def zero(self, offset: int, length: int) -> None:
        """Write ``z``: ``length`` zero bytes at image ``offset`` (inside the size)."""
        self._require(_DATA_PHASE, "a zero record")
        self._check_extent(offset, length)
        self._record(_ZERO, _EXTENT.pack(offset, length))

    def end(self) -> None:
        """Write ``e``; the writer accepts nothing afterwards."""
        self._require(_DATA_PHASE, "the end record")
        self._emit(_END)
        self._phase = _DONE

    def write_record(self, record: Record) -> None:
        """Write any record object (dispatches to the methods above)."""
        match record:
            case FromSnap(name):
                self.from_snap(name)
            case ToSnap(name):
                self.to_snap(name)
            case SnapProtected(protected):
                self.snap_protected(protected)
            case Size(size):
                self.size(size)
            case Write(offset, data):
                self.write(offset, data)
            case Zero(offset, length):
                self.zero(offset, length)
            case _:
                raise errors.InvalidArgument(f"not a diff record: {record!r}")

    def _require(self, phase: int, what: str) -> None:
        if self._phase != phase:
            expected = {
                _NEW: "before the header",
                _META_PHASE: "after the header and before size",
                _DATA_PHASE: "after size and before end",
                _DONE: "after end",
            }
            raise errors.InvalidArgument(f"{what} can only be written {expected[phase]}")

    def _meta_once(self, tag: bytes, what: str) -> None:
        self._require(_META_PHASE, what)
        if tag in self._seen:
            raise errors.InvalidArgument(f"{what} was already written")

    def _check_extent(self, offset: int, length: int) -> None:
        _check_u64("offset", offset)
        _check_u64("length", length)
        if offset + length > self._size:
            raise errors.InvalidArgument(
                f"extent {offset}~{length} extends past the image size {self._size}"
            )

    def _record(self, tag: bytes, body: bytes, extra: int = 0) -> None:
        """Emit ``tag``, the v2 length (``len(body) + extra``), and ``body``."""
        if self._version == 2:
            self._emit(tag + _LE64.pack(len(body) + extra) + body)
        else:
            self._emit(tag + body)

    def _emit(self, data: bytes | bytearray | memoryview) -> None:
        self._stream.write(data)
        self._written += len(data) if not isinstance(data, memoryview) else data.nbytes


def write_image_header(stream: BinaryIO, header: ImageHeader, diff_count: int) -> int:
    """Write the head of an ``--export-format 2`` image stream; returns bytes written.

    Writes the image banner, the ``O T U C`` records for the fields that are
    not ``None`` (``rbd export`` writes all four), one ``M`` record per
    metadata pair in byte order of the key, ``E``, the diffs banner and
    ``diff_count``. The caller then writes ``diff_count`` format-2 diffs.

    Raises:
        errors.InvalidArgument: a field outside 0..2**64-1, or ``diff_count < 1``.
    """
    if not 1 <= diff_count <= _U64_MAX:
        raise errors.InvalidArgument(f"diff count must be at least 1, got {diff_count}")
    parts = [IMAGE_BANNER_V2]
    for tag, name, number in _image_fields(header):
        if number is not None:
            _check_u64(name, number)
            parts.append(tag + _LE64.pack(8) + _LE64.pack(number))
    for key, text in sorted(header.metadata.items(), key=lambda kv: kv[0].encode()):
        body = _encode_str(key) + _encode_str(text)
        parts.append(_META + _LE64.pack(len(body)) + body)
    parts += [_IMAGE_END, IMAGE_DIFFS_BANNER_V2, _LE64.pack(diff_count)]
    blob = b"".join(parts)
    stream.write(blob)
    return len(blob)


def _image_fields(header: ImageHeader) -> tuple[tuple[bytes, str, int | None], ...]:
    return (
        (_ORDER, "order", header.order),
        (_FEATURES, "features", header.features),
        (_UNIT, "stripe unit", header.stripe_unit),
        (_COUNT, "stripe count", header.stripe_count),
    )


# ---------------------------------------------------------------------- reader


class _Source:
    """Exact reads from a binary stream, counting the bytes consumed."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self.pos = 0

    def read(self, n: int, what: str) -> bytes:
        """Exactly ``n`` bytes, or InvalidArgument naming ``what`` was cut short."""
        chunks: list[bytes] = []
        got = 0
        while got < n:
            chunk = self._stream.read(min(n - got, _READ_CHUNK))
            if not chunk:
                raise errors.InvalidArgument(
                    f"diff stream offset {self.pos + got}: stream ends inside {what} "
                    f"({got} of {n} bytes present)"
                )
            chunks.append(chunk)
            got += len(chunk)
        self.pos += n
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        return data if type(data) is bytes else bytes(data)

    def tag(self) -> bytes | None:
        """The next tag byte, or None at a clean end of stream."""
        chunk = self._stream.read(1)
        if not chunk:
            return None
        self.pos += 1
        return bytes(chunk)

    def u64(self, what: str) -> int:
        value: int = _LE64.unpack(self.read(8, what))[0]
        return value

    def string(self, max_bytes: int, what: str) -> str:
        """A ``le32`` length-prefixed UTF-8 string of at most ``max_bytes``."""
        at = self.pos
        (n,) = _LE32.unpack(self.read(4, f"the length of {what}"))
        if n > max_bytes:
            raise errors.InvalidArgument(
                f"diff stream offset {at}: {what} is {n} bytes, more than {max_bytes}"
            )
        raw = self.read(n, what)
        try:
            return raw.decode()
        except UnicodeDecodeError:
            raise errors.InvalidArgument(
                f"diff stream offset {at + 4}: {what} is not valid UTF-8"
            ) from None

    def skip(self, n: int, what: str) -> None:
        while n > 0:
            step = min(n, _READ_CHUNK)
            self.read(step, what)
            n -= step

    def fail(self, at: int, message: str) -> errors.InvalidArgument:
        return errors.InvalidArgument(f"diff stream offset {at}: {message}")


class DiffReader:
    """Parses one diff stream (see the module docstring) record by record.

    Args:
        stream: binary stream positioned at the banner; nothing past the
            ``e`` record is read, so several diffs can follow each other.
        max_write_bytes: largest data payload of one ``w`` record accepted
            (bytes); also bounds skipped unknown records.
        version: 1 or 2 to accept only that format, None for either.
        strict: reject unknown tags in v2 instead of skipping them.

    Checks: banner, known tags (v1), v2 record lengths matching their
    payloads, snapshot names of 1..4096 UTF-8 bytes, metadata records at most
    once each and before any data record, ``p`` being 0 or 1, data extents
    within 2**64 and within the ``s`` size when one was given, the data
    length limit, and the stream ending with ``e`` rather than mid-way.
    """

    def __init__(
        self,
        stream: BinaryIO,
        max_write_bytes: int = limits.diff_record_bytes_max,
        *,
        version: int | None = None,
        strict: bool = False,
    ) -> None:
        if version is not None and version not in _DIFF_BANNERS:
            raise errors.InvalidArgument(f"diff format version must be 1 or 2, got {version!r}")
        self._src = _Source(stream)
        self._max_write = max_write_bytes
        self._want_version = version
        self._strict = strict
        self.version = 0
        self._seen: set[bytes] = set()
        self._size: int | None = None
        self._in_data = False

    @property
    def offset(self) -> int:
        """Bytes consumed from the stream so far."""
        return self._src.pos

    def __iter__(self) -> Iterator[Record]:
        return self.records()

    def records(self) -> Iterator[Record]:
        """Yield the records after checking the banner; stop after ``e``."""
        self._read_banner()
        while True:
            at = self._src.pos
            tag = self._src.tag()
            if tag is None:
                raise self._src.fail(at, "stream ends without the end record 'e'")
            if tag == _END:
                return
            record = self._read_record(tag, at)
            if record is not None:
                yield record

    def _read_banner(self) -> None:
        banner = self._src.read(len(DIFF_BANNER_V1), "the diff banner")
        for version, expected in _DIFF_BANNERS.items():
            if banner == expected and self._want_version in (None, version):
                self.version = version
                return
        wanted = [b for v, b in _DIFF_BANNERS.items() if self._want_version in (None, v)]
        raise self._src.fail(
            0, f"bad diff banner {banner!r}, expected {' or '.join(map(repr, wanted))}"
        )

    def _read_record(self, tag: bytes, at: int) -> Record | None:
        length = self._src.u64(f"the length of record {tag!r}") if self.version == 2 else None
        body_at = self._src.pos
        record = self._dispatch(tag, at, length)
        if length is not None and tag != _PROTECTED and self._src.pos - body_at != length:
            raise self._src.fail(
                at + 1,
                f"record {tag!r} declares {length} bytes but its body is "
                f"{self._src.pos - body_at} bytes",
            )
        return record

    def _dispatch(self, tag: bytes, at: int, length: int | None) -> Record | None:
        if tag in (_FROM, _TO, _PROTECTED, _SIZE):
            self._check_meta(tag, at)
        if tag == _FROM:
            return FromSnap(self._snap_name(at, "the from-snap name"))
        if tag == _TO:
            return ToSnap(self._snap_name(at, "the to-snap name"))
        if tag == _PROTECTED:
            return SnapProtected(self._protected(at, length))
        if tag == _SIZE:
            self._expect_length(tag, at, length, 8)
            self._size = self._src.u64("the image size")
            return Size(self._size)
        if tag in (_WRITE, _ZERO):
            return self._data_record(tag, at, length)
        self._skip_unknown(tag, at, length)
        return None

    def _check_meta(self, tag: bytes, at: int) -> None:
        if self._in_data:
            raise self._src.fail(at, f"metadata record {tag!r} after a data record")
        if tag in self._seen:
            raise self._src.fail(at, f"duplicate record {tag!r}")
        self._seen.add(tag)

    def _expect_length(self, tag: bytes, at: int, length: int | None, expected: int) -> None:
        if length is not None and length != expected:
            raise self._src.fail(
                at + 1, f"record {tag!r} declares {length} bytes, expected {expected}"
            )

    def _snap_name(self, at: int, what: str) -> str:
        name = self._src.string(limits.snap_name_bytes_max, what)
        if not name:
            raise self._src.fail(at, f"{what} is empty")
        return name

    def _protected(self, at: int, length: int | None) -> bool:
        # The declared length is not checked: Ceph 16's `rbd export` declares 8
        # for this 1-byte flag, and its own reader reads the flag and ignores
        # the length. We do the same (and write the true length, 1).
        flag = self._src.read(1, "the snap-protected flag")[0]
        if flag > 1:
            raise self._src.fail(at, f"snap-protected flag is {flag}, expected 0 or 1")
        return flag == 1

    def _data_record(self, tag: bytes, at: int, length: int | None) -> Record:
        self._in_data = True
        field_at = self._src.pos
        offset, count = _EXTENT.unpack(self._src.read(16, f"record {tag!r} offset and length"))
        self._check_extent(tag, field_at, offset, count)
        if tag == _ZERO:
            self._expect_length(tag, at, length, 16)
            return Zero(offset, count)
        if count > self._max_write:
            raise self._src.fail(
                field_at + 8, f"write of {count} bytes exceeds the limit of {self._max_write}"
            )
        self._expect_length(tag, at, length, 16 + count)
        return Write(offset, self._src.read(count, "write data"))

    def _check_extent(self, tag: bytes, at: int, offset: int, count: int) -> None:
        if offset + count > _U64_MAX:
            raise self._src.fail(at, f"record {tag!r} extent {offset}~{count} overflows 64 bits")
        if self._size is not None and offset + count > self._size:
            raise self._src.fail(
                at,
                f"record {tag!r} extent {offset}~{count} extends past the image size {self._size}",
            )

    def _skip_unknown(self, tag: bytes, at: int, length: int | None) -> None:
        if length is None or self._strict:
            raise self._src.fail(at, f"unknown record tag {tag!r}")
        if length > self._max_write + 16:
            raise self._src.fail(
                at + 1, f"unknown record {tag!r} declares {length} bytes, more than allowed"
            )
        self._src.skip(length, f"unknown record {tag!r}")


def read_diff(
    stream: BinaryIO,
    max_write_bytes: int = limits.diff_record_bytes_max,
    *,
    version: int | None = None,
    strict: bool = False,
) -> Iterator[Record]:
    """Yield the records of one diff stream; see :class:`DiffReader`.

    Errors surface while iterating, as :class:`errors.InvalidArgument`.
    """
    return DiffReader(stream, max_write_bytes, version=version, strict=strict).records()


def read_image_header(
    stream: BinaryIO, max_meta_bytes: int = _META_RECORD_BYTES_MAX
) -> tuple[ImageHeader, int]:
    """Read the head of an ``--export-format 2`` image stream.

    Returns the image properties and the number of format-2 diffs that follow
    (read each with ``read_diff(stream, version=2)``). Unknown tags are
    skipped by their length, as ``rbd import`` does.

    Raises:
        errors.InvalidArgument: bad banners, a property record whose length is
            not 8 or that appears twice, a metadata record over
            ``max_meta_bytes`` or whose strings do not fill it exactly, a
            diff count of 0 or above ``limits.snaps_per_image_max + 1``, or a
            truncated stream.
    """
    src = _Source(stream)
    _expect_banner(src, IMAGE_BANNER_V2, "image banner")
    values: dict[bytes, int] = {}
    metadata: dict[str, str] = {}
    while True:
        at = src.pos
        tag = src.tag()
        if tag is None:
            raise src.fail(at, "stream ends without the image end record 'E'")
        if tag == _IMAGE_END:
            break
        length = src.u64(f"the length of record {tag!r}")
        _read_image_record(src, tag, at, length, max_meta_bytes, values, metadata)
    _expect_banner(src, IMAGE_DIFFS_BANNER_V2, "image diffs banner")
    at = src.pos
    count = src.u64("the diff count")
    if not 1 <= count <= limits.snaps_per_image_max + 1:
        raise src.fail(at, f"diff count {count} out of range")
    header = ImageHeader(
        values.get(_ORDER), values.get(_FEATURES), values.get(_UNIT), values.get(_COUNT), metadata
    )
    return header, count


def _read_image_record(
    src: _Source,
    tag: bytes,
    at: int,
    length: int,
    max_meta_bytes: int,
    values: dict[bytes, int],
    metadata: dict[str, str],
) -> None:
    if tag in (_ORDER, _FEATURES, _UNIT, _COUNT):
        if length != 8:
            raise src.fail(at + 1, f"record {tag!r} declares {length} bytes, expected 8")
        if tag in values:
            raise src.fail(at, f"duplicate record {tag!r}")
        values[tag] = src.u64(f"record {tag!r} value")
    elif tag == _META:
        if length > max_meta_bytes:
            raise src.fail(at + 1, f"metadata record of {length} bytes exceeds {max_meta_bytes}")
        body_at = src.pos
        key = src.string(length, "a metadata key")
        metadata[key] = src.string(length, "a metadata value")
        if src.pos - body_at != length:
            raise src.fail(
                at + 1, f"metadata record declares {length} bytes but holds {src.pos - body_at}"
            )
    else:
        if length > max_meta_bytes:
            raise src.fail(at + 1, f"unknown record {tag!r} of {length} bytes is too large")
        src.skip(length, f"unknown record {tag!r}")


def _expect_banner(src: _Source, banner: bytes, what: str) -> None:
    at = src.pos
    got = src.read(len(banner), f"the {what}")
    if got != banner:
        raise src.fail(at, f"bad {what} {got!r}, expected {banner!r}")


# --------------------------------------------------------------------- helpers


def _check_snap_name(name: str) -> str:
    if not isinstance(name, str) or not name:
        raise errors.InvalidArgument(f"snapshot name must be a non-empty string, got {name!r}")
    if len(name.encode()) > limits.snap_name_bytes_max:
        raise errors.InvalidArgument(
            f"snapshot name longer than {limits.snap_name_bytes_max} bytes"
        )
    return name


def _encode_str(text: str) -> bytes:
    raw = text.encode()
    if len(raw) > 0xFFFFFFFF:
        raise errors.InvalidArgument("string longer than 2**32-1 bytes")
    return _LE32.pack(len(raw)) + raw


def _check_u64(what: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _U64_MAX:
        raise errors.InvalidArgument(f"{what} must be an integer in 0..2**64-1, got {value!r}")
