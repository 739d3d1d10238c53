"""The ``rbd export-diff`` stream (``shoal.rbd._diffstream``).

Golden streams are spelled out byte by byte from ``doc/dev/rbd-diff.rst`` and
what ``rbd export-diff`` / ``rbd export --export-format 2`` write.
"""

from __future__ import annotations

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shoal import errors, limits
from shoal.rbd._diffstream import (
    DiffReader,
    DiffWriter,
    FromSnap,
    ImageHeader,
    Record,
    Size,
    SnapProtected,
    ToSnap,
    Write,
    Zero,
    read_diff,
    read_image_header,
    write_image_header,
)

# f "snap1", t "snap2", s 8192, w 0~4 "abcd", z 4096~4096, e
GOLDEN_V1 = (
    b"rbd diff v1\n"
    b"f" b"\x05\x00\x00\x00" b"snap1"
    b"t" b"\x05\x00\x00\x00" b"snap2"
    b"s" b"\x00\x20\x00\x00\x00\x00\x00\x00"
    b"w" b"\x00\x00\x00\x00\x00\x00\x00\x00" b"\x04\x00\x00\x00\x00\x00\x00\x00" b"abcd"
    b"z" b"\x00\x10\x00\x00\x00\x00\x00\x00" b"\x00\x10\x00\x00\x00\x00\x00\x00"
    b"e"
)  # fmt: skip

# The same diff in format 2, with the end snapshot protected.
GOLDEN_V2 = (
    b"rbd diff v2\n"
    b"f" b"\x09\x00\x00\x00\x00\x00\x00\x00" b"\x05\x00\x00\x00" b"snap1"
    b"t" b"\x09\x00\x00\x00\x00\x00\x00\x00" b"\x05\x00\x00\x00" b"snap2"
    b"p" b"\x01\x00\x00\x00\x00\x00\x00\x00" b"\x01"
    b"s" b"\x08\x00\x00\x00\x00\x00\x00\x00" b"\x00\x20\x00\x00\x00\x00\x00\x00"
    b"w" b"\x14\x00\x00\x00\x00\x00\x00\x00"
    b"\x00\x00\x00\x00\x00\x00\x00\x00" b"\x04\x00\x00\x00\x00\x00\x00\x00" b"abcd"
    b"z" b"\x10\x00\x00\x00\x00\x00\x00\x00"
    b"\x00\x10\x00\x00\x00\x00\x00\x00" b"\x00\x10\x00\x00\x00\x00\x00\x00"
    b"e"
)  # fmt: skip

RECORDS_V1: list[Record] = [
    FromSnap("snap1"),
    ToSnap("snap2"),
    Size(8192),
    Write(0, b"abcd"),
    Zero(4096, 4096),
]
RECORDS_V2: list[Record] = [*RECORDS_V1[:2], SnapProtected(True), *RECORDS_V1[2:]]


def le64(n: int) -> bytes:
    return n.to_bytes(8, "little")


def le32(n: int) -> bytes:
    return n.to_bytes(4, "little")


def write(records: list[Record], version: int) -> bytes:
    out = io.BytesIO()
    writer = DiffWriter(out)
    writer.write_header(version)
    for record in records:
        writer.write_record(record)
    writer.end()
    assert writer.bytes_written == len(out.getvalue())
    return out.getvalue()


def read(raw: bytes, **kwargs: object) -> list[Record]:
    return list(read_diff(io.BytesIO(raw), **kwargs))  # type: ignore[arg-type]


def rejects(raw: bytes, match: str = "", **kwargs: object) -> errors.InvalidArgument:
    with pytest.raises(errors.InvalidArgument, match=match) as info:
        read(raw, **kwargs)
    assert "offset" in str(info.value)
    return info.value


# ---------------------------------------------------------------- golden bytes


def test_writer_produces_golden_v1() -> None:
    assert write(RECORDS_V1, 1) == GOLDEN_V1


def test_writer_produces_golden_v2() -> None:
    assert write(RECORDS_V2, 2) == GOLDEN_V2


def test_reader_parses_golden_v1() -> None:
    assert read(GOLDEN_V1) == RECORDS_V1


def test_reader_parses_golden_v2() -> None:
    assert read(GOLDEN_V2) == RECORDS_V2


def test_minimal_stream_is_size_then_end() -> None:
    raw = b"rbd diff v1\ns" + le64(0) + b"e"
    assert write([Size(0)], 1) == raw
    assert read(raw) == [Size(0)]


def test_head_diff_without_snapshots() -> None:
    # export-diff of the head with no --from-snap: just s, data, e.
    records: list[Record] = [Size(1 << 30), Write(4 << 20, b"\xff" * 512), Zero(0, 4096)]
    assert read(write(records, 1)) == records


def test_write_accepts_bytearray_and_memoryview() -> None:
    out = io.BytesIO()
    writer = DiffWriter(out)
    writer.write_header(2)
    writer.size(100)
    writer.write(0, bytearray(b"xy"))
    writer.write(2, memoryview(b"zw"))
    writer.end()
    assert read(out.getvalue()) == [Size(100), Write(0, b"xy"), Write(2, b"zw")]
    assert Write(0, b"xy").length == 2


def test_reader_stops_after_end_record() -> None:
    stream = io.BytesIO(GOLDEN_V1 + b"trailing garbage")
    reader = DiffReader(stream)
    assert list(reader) == RECORDS_V1
    assert reader.version == 1
    assert reader.offset == len(GOLDEN_V1)
    assert stream.tell() == len(GOLDEN_V1)


def test_two_diffs_back_to_back() -> None:
    stream = io.BytesIO(GOLDEN_V2 + GOLDEN_V2)
    assert read_diff(stream) is not None
    assert list(read_diff(stream)) == RECORDS_V2
    assert list(read_diff(stream)) == RECORDS_V2


def test_metadata_order_is_free_before_data() -> None:
    raw = b"rbd diff v1\ns" + le64(10) + b"t" + le32(1) + b"b" + b"f" + le32(1) + b"a" + b"e"
    assert read(raw) == [Size(10), ToSnap("b"), FromSnap("a")]


def test_stream_without_size_is_accepted() -> None:
    # rbd import-diff does not require 's'; extents are then unchecked.
    raw = b"rbd diff v1\nz" + le64(1 << 40) + le64(4096) + b"e"
    assert read(raw) == [Zero(1 << 40, 4096)]


def test_protected_false_and_v1_protected_record() -> None:
    raw = b"rbd diff v2\nt" + le64(5) + le32(1) + b"x" + b"p" + le64(1) + b"\x00" + b"e"
    assert read(raw) == [ToSnap("x"), SnapProtected(False)]
    # rbd import-diff understands 'p' in either format.
    assert read(b"rbd diff v1\np\x01e") == [SnapProtected(True)]


def test_protected_record_as_ceph_16_writes_it() -> None:
    """Ceph 16's ``rbd export --export-format 2`` declares 8 bytes for the 1-byte
    flag, and its reader ignores the length: so do we."""
    raw = b"rbd diff v2\nt" + le64(5) + le32(1) + b"x" + b"p" + le64(8) + b"\x01"
    raw += b"s" + le64(8) + le64(4096) + b"e"
    assert read(raw) == [ToSnap("x"), SnapProtected(True), Size(4096)]


def test_unicode_snapshot_names() -> None:
    records: list[Record] = [FromSnap("før"), ToSnap("快照"), Size(0)]
    raw = write(records, 1)
    assert b"f\x04\x00\x00\x00f\xc3\xb8r" in raw
    assert read(raw) == records


# ------------------------------------------------------------------ v2 skipping


def test_v2_skips_unknown_tags() -> None:
    raw = GOLDEN_V2[:12] + b"X" + le64(3) + b"abc" + GOLDEN_V2[12:]
    assert read(raw) == RECORDS_V2
    rejects(raw, "unknown record tag", strict=True)


def test_v2_unknown_tag_with_huge_length() -> None:
    raw = GOLDEN_V2[:12] + b"X" + le64(1 << 62)
    rejects(raw, "more than allowed")


def test_v2_unknown_tag_truncated() -> None:
    rejects(GOLDEN_V2[:12] + b"X" + le64(100) + b"abc", "ends inside unknown record")


# ------------------------------------------------------------------ corruption


@pytest.mark.parametrize(
    "raw",
    [b"", b"rbd diff", b"rbd diff v3\ne", b"RBD DIFF V1\ne", b"rbd image v2\n"],
)
def test_bad_banner(raw: bytes) -> None:
    rejects(raw, "banner")


def test_version_restriction() -> None:
    rejects(GOLDEN_V2, "banner", version=1)
    rejects(GOLDEN_V1, "banner", version=2)
    assert read(GOLDEN_V1, version=1) == RECORDS_V1
    with pytest.raises(errors.InvalidArgument):
        DiffReader(io.BytesIO(GOLDEN_V1), version=3)


def test_unknown_tag_in_v1() -> None:
    exc = rejects(GOLDEN_V1[:12] + b"X" + GOLDEN_V1[12:], "unknown record tag b'X'")
    assert "offset 12" in str(exc)


@pytest.mark.parametrize("golden", [GOLDEN_V1, GOLDEN_V2])
def test_every_truncation_is_rejected(golden: bytes) -> None:
    for cut in range(len(golden)):
        with pytest.raises(errors.InvalidArgument, match="offset"):
            read(golden[:cut])


def test_missing_end_record() -> None:
    exc = rejects(GOLDEN_V1[:-1], "without the end record")
    assert f"offset {len(GOLDEN_V1) - 1}" in str(exc)


def test_truncated_write_data_names_offset() -> None:
    raw = b"rbd diff v1\nw" + le64(0) + le64(100) + b"abc"
    exc = rejects(raw, "ends inside write data")
    assert "offset 32" in str(exc)
    assert "3 of 100" in str(exc)


def test_oversized_write() -> None:
    raw = b"rbd diff v1\nw" + le64(0) + le64(1 << 40) + b"e"
    exc = rejects(raw, "exceeds the limit")
    assert "offset 21" in str(exc)
    raw = b"rbd diff v1\nw" + le64(0) + le64(11) + b"x" * 11 + b"e"
    rejects(raw, "exceeds the limit", max_write_bytes=10)
    assert read(raw, max_write_bytes=11) == [Write(0, b"x" * 11)]


def test_default_write_limit_is_the_configured_one() -> None:
    raw = b"rbd diff v1\nw" + le64(0) + le64(limits.diff_record_bytes_max + 1) + b"e"
    rejects(raw, "exceeds the limit")


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b"f" + le32(4097) + b"x" * 4097, "more than 4096"),
        (b"t" + le32(0xFFFFFFFF), "more than 4096"),
        (b"f" + le32(0), "empty"),
        (b"t" + le32(2) + b"\xff\xfe", "UTF-8"),
        (b"p\x02", "expected 0 or 1"),
        (b"s" + le64(1) + b"s" + le64(2), "duplicate"),
        (b"f" + le32(1) + b"a" + b"f" + le32(1) + b"b", "duplicate"),
        (b"s" + le64(10) + b"z" + le64(0) + le64(1) + b"t" + le32(1) + b"a", "after a data"),
        (b"s" + le64(10) + b"z" + le64(8) + le64(3), "past the image size"),
        (b"s" + le64(10) + b"w" + le64(9) + le64(2) + b"ab", "past the image size"),
        (b"z" + le64((1 << 64) - 1) + le64(2), "overflows"),
    ],
)
def test_invalid_records_v1(body: bytes, match: str) -> None:
    rejects(b"rbd diff v1\n" + body + b"e", match)


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b"f" + le64(10) + le32(5) + b"snap1", "declares 10 bytes"),
        (b"t" + le64(4) + le32(5) + b"snap1", "declares 4 bytes"),
        (b"s" + le64(9) + le64(0), "declares 9 bytes"),
        (b"w" + le64(16) + le64(0) + le64(4) + b"abcd", "declares 16 bytes"),
        (b"z" + le64(20) + le64(0) + le64(4), "declares 20 bytes"),
    ],
)
def test_v2_length_mismatch(body: bytes, match: str) -> None:
    rejects(b"rbd diff v2\n" + body + b"e", match)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(
    golden=st.sampled_from([GOLDEN_V1, GOLDEN_V2]),
    edits=st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), min_size=1, max_size=4),
)
def test_mutated_streams_never_raise_other_errors(
    golden: bytes, edits: list[tuple[int, int]]
) -> None:
    raw = bytearray(golden)
    for pos, value in edits:
        raw[pos % len(raw)] = value
    try:
        read(bytes(raw), max_write_bytes=1 << 20)
    except errors.InvalidArgument as exc:
        assert "offset" in str(exc)


@settings(max_examples=300)
@given(banner=st.sampled_from([b"rbd diff v1\n", b"rbd diff v2\n"]), tail=st.binary(max_size=80))
def test_random_bodies_never_raise_other_errors(banner: bytes, tail: bytes) -> None:
    try:
        read(banner + tail, max_write_bytes=1 << 20)
    except errors.InvalidArgument as exc:
        assert "offset" in str(exc)


# ------------------------------------------------------------------ the writer


def started(version: int = 1) -> tuple[io.BytesIO, DiffWriter]:
    out = io.BytesIO()
    writer = DiffWriter(out)
    writer.write_header(version)
    return out, writer


def test_writer_requires_header_first() -> None:
    writer = DiffWriter(io.BytesIO())
    assert writer.version == 0
    with pytest.raises(errors.InvalidArgument, match="after the header"):
        writer.from_snap("a")
    with pytest.raises(errors.InvalidArgument, match="after the header"):
        writer.size(1)
    with pytest.raises(errors.InvalidArgument, match="after size"):
        writer.end()


def test_writer_rejects_bad_version_and_second_header() -> None:
    with pytest.raises(errors.InvalidArgument, match="1 or 2"):
        DiffWriter(io.BytesIO()).write_header(3)
    _, writer = started()
    with pytest.raises(errors.InvalidArgument, match="before the header"):
        writer.write_header(1)


def test_writer_metadata_once_and_before_size() -> None:
    _, writer = started()
    writer.from_snap("a")
    with pytest.raises(errors.InvalidArgument, match="already"):
        writer.from_snap("b")
    writer.size(10)
    with pytest.raises(errors.InvalidArgument, match="before size"):
        writer.to_snap("c")
    with pytest.raises(errors.InvalidArgument, match="before size"):
        writer.size(20)


def test_writer_data_needs_size() -> None:
    _, writer = started()
    with pytest.raises(errors.InvalidArgument, match="after size"):
        writer.write(0, b"x")
    with pytest.raises(errors.InvalidArgument, match="after size"):
        writer.zero(0, 1)


def test_writer_nothing_after_end() -> None:
    out, writer = started()
    writer.size(10)
    writer.end()
    size_before = len(out.getvalue())
    with pytest.raises(errors.InvalidArgument):
        writer.write(0, b"x")
    with pytest.raises(errors.InvalidArgument):
        writer.zero(0, 1)
    with pytest.raises(errors.InvalidArgument):
        writer.end()
    assert len(out.getvalue()) == size_before


def test_writer_protected_rules() -> None:
    _, writer = started(1)
    writer.to_snap("a")
    with pytest.raises(errors.InvalidArgument, match="format 2"):
        writer.snap_protected(True)
    _, writer = started(2)
    with pytest.raises(errors.InvalidArgument, match="follow to_snap"):
        writer.snap_protected(True)


@pytest.mark.parametrize(
    ("offset", "length", "match"),
    [
        (0, 11, "past the image size"),
        (10, 1, "past the image size"),
        (-1, 1, "offset"),
        (0, -1, "length"),
        (1 << 64, 0, "offset"),
    ],
)
def test_writer_extent_checks(offset: int, length: int, match: str) -> None:
    _, writer = started()
    writer.size(10)
    with pytest.raises(errors.InvalidArgument, match=match):
        writer.zero(offset, length)


@pytest.mark.parametrize("size", [-1, 1 << 64, True])
def test_writer_size_checks(size: int) -> None:
    _, writer = started()
    with pytest.raises(errors.InvalidArgument):
        writer.size(size)


@pytest.mark.parametrize("name", ["", "x" * 4097, "é" * 2049])
def test_writer_snapshot_name_checks(name: str) -> None:
    _, writer = started()
    with pytest.raises(errors.InvalidArgument):
        writer.from_snap(name)


def test_writer_rejects_non_records() -> None:
    _, writer = started()
    with pytest.raises(errors.InvalidArgument, match="not a diff record"):
        writer.write_record("w")  # type: ignore[arg-type]


# ----------------------------------------------------------------- round trip

names = st.text(min_size=1, max_size=20).filter(lambda s: len(s.encode()) <= 4096)


@st.composite
def diffs(draw: st.DrawFn) -> tuple[int, list[Record]]:
    version = draw(st.sampled_from([1, 2]))
    size = draw(st.integers(0, 1 << 50))
    records: list[Record] = []
    if draw(st.booleans()):
        records.append(FromSnap(draw(names)))
    if draw(st.booleans()):
        records.append(ToSnap(draw(names)))
        if version == 2:
            records.append(SnapProtected(draw(st.booleans())))
    records.append(Size(size))
    for _ in range(draw(st.integers(0, 6))):
        offset = draw(st.integers(0, size))
        if draw(st.booleans()):
            data = draw(st.binary(max_size=min(64, size - offset)))
            records.append(Write(offset, data))
        else:
            records.append(Zero(offset, draw(st.integers(0, size - offset))))
    return version, records


# Text strategies build Hypothesis's Unicode tables on first use: not "slow data".
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(diffs())
def test_round_trip(diff: tuple[int, list[Record]]) -> None:
    version, records = diff
    raw = write(records, version)
    assert raw.startswith(b"rbd diff v%d\n" % version)
    assert raw.endswith(b"e")
    assert read(raw) == records
    assert read(raw, version=version, strict=True) == records


# ------------------------------------------------------- export-format 2 image

GOLDEN_IMAGE_HEAD = (
    b"rbd image v2\n"
    b"O" b"\x08\x00\x00\x00\x00\x00\x00\x00" b"\x16\x00\x00\x00\x00\x00\x00\x00"
    b"T" b"\x08\x00\x00\x00\x00\x00\x00\x00" b"\x3d\x00\x00\x00\x00\x00\x00\x00"
    b"U" b"\x08\x00\x00\x00\x00\x00\x00\x00" b"\x00\x00\x40\x00\x00\x00\x00\x00"
    b"C" b"\x08\x00\x00\x00\x00\x00\x00\x00" b"\x01\x00\x00\x00\x00\x00\x00\x00"
    b"M" b"\x0a\x00\x00\x00\x00\x00\x00\x00" b"\x01\x00\x00\x00" b"a" b"\x01\x00\x00\x00" b"1"
    b"M" b"\x0b\x00\x00\x00\x00\x00\x00\x00" b"\x01\x00\x00\x00" b"b" b"\x02\x00\x00\x00" b"22"
    b"E"
    b"rbd image diffs v2\n"
    b"\x02\x00\x00\x00\x00\x00\x00\x00"
)  # fmt: skip

IMAGE_HEAD = ImageHeader(22, 61, 4 << 20, 1, {"b": "22", "a": "1"})


def test_image_header_golden() -> None:
    out = io.BytesIO()
    assert write_image_header(out, IMAGE_HEAD, 2) == len(GOLDEN_IMAGE_HEAD)
    assert out.getvalue() == GOLDEN_IMAGE_HEAD


def test_image_stream_composes_with_diffs() -> None:
    first = write([ToSnap("s1"), SnapProtected(False), Size(8192), Write(0, b"x")], 2)
    second = write([FromSnap("s1"), Size(8192), Zero(0, 4096)], 2)
    stream = io.BytesIO(GOLDEN_IMAGE_HEAD + first + second)
    header, count = read_image_header(stream)
    assert header == IMAGE_HEAD
    assert count == 2
    got = [list(read_diff(stream, version=2)) for _ in range(count)]
    assert got[0][0] == ToSnap("s1")
    assert got[1] == [FromSnap("s1"), Size(8192), Zero(0, 4096)]
    assert stream.read() == b""


def test_image_header_optional_fields_and_unknown_tags() -> None:
    raw = (
        b"rbd image v2\n"
        + b"Q" + le64(3) + b"abc"
        + b"O" + le64(8) + le64(20)
        + b"E" + b"rbd image diffs v2\n" + le64(1)
    )  # fmt: skip
    header, count = read_image_header(io.BytesIO(raw))
    assert header == ImageHeader(order=20)
    assert count == 1
    out = io.BytesIO()
    write_image_header(out, ImageHeader(order=20), 1)
    assert out.getvalue() == raw.replace(b"Q" + le64(3) + b"abc", b"")


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        (b"rbd image v1\n", "image banner"),
        (b"rbd image v2\nO" + le64(4) + le32(22), "expected 8"),
        (b"rbd image v2\nO" + le64(8) + le64(22) + b"O" + le64(8) + le64(22), "duplicate"),
        (b"rbd image v2\nM" + le64(9) + le32(1) + b"a" + le32(1) + b"b", "declares 9"),
        (b"rbd image v2\nM" + le64(1 << 40), "exceeds"),
        (b"rbd image v2\nZ" + le64(1 << 40), "too large"),
        (b"rbd image v2\nM" + le64(10) + le32(1) + b"a" + le32(1) + b"\xff", "UTF-8"),
        (b"rbd image v2\nE" + b"rbd diff v2\n", "diffs banner"),
        (b"rbd image v2\nE" + b"rbd image diffs v2\n" + le64(0), "out of range"),
        (b"rbd image v2\nE" + b"rbd image diffs v2\n" + le64(1 << 40), "out of range"),
    ],
)
def test_image_header_rejects(raw: bytes, match: str) -> None:
    with pytest.raises(errors.InvalidArgument, match=match):
        read_image_header(io.BytesIO(raw))


def test_image_header_every_truncation_is_rejected() -> None:
    for cut in range(len(GOLDEN_IMAGE_HEAD)):
        with pytest.raises(errors.InvalidArgument, match="offset"):
            read_image_header(io.BytesIO(GOLDEN_IMAGE_HEAD[:cut]))


def test_image_header_writer_checks() -> None:
    with pytest.raises(errors.InvalidArgument, match="diff count"):
        write_image_header(io.BytesIO(), IMAGE_HEAD, 0)
    with pytest.raises(errors.InvalidArgument, match="order"):
        write_image_header(io.BytesIO(), ImageHeader(order=-1), 1)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(
    order=st.none() | st.integers(0, (1 << 64) - 1),
    features=st.none() | st.integers(0, 1 << 10),
    metadata=st.dictionaries(st.text(max_size=10), st.text(max_size=30), max_size=4),
    count=st.integers(1, 50),
)
def test_image_header_round_trip(
    order: int | None, features: int | None, metadata: dict[str, str], count: int
) -> None:
    header = ImageHeader(order, features, None, 3, metadata)
    out = io.BytesIO()
    write_image_header(out, header, count)
    out.seek(0)
    assert read_image_header(out) == (header, count)
