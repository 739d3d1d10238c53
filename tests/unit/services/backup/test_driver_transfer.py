"""The backup driver's in-process data movers (export-diff/import-diff, chunked copies,
zeroing) on the embedded engine, and their byte compatibility with ``shoal rbd``'s."""

from __future__ import annotations

import io
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

import shoal.rbd as rbd
import shoal.services.backup.driver._transfer as transfer
from shoal import errors
from shoal.cli.rbd.stream import apply_diff, write_diff
from shoal.cluster import connect
from shoal.objstore import IoCtx
from shoal.objstore.memory import MemoryStore
from shoal.rbd._diffstream import DiffReader, FromSnap, Size, ToSnap, Write, Zero
from shoal.services.backup.driver import BackupRBDOperationFailed

MiB = 1 << 20


@pytest.fixture
def ioctx(tmp_path: Path) -> Iterator[IoCtx]:
    memory = MemoryStore()
    session = connect(tmp_path / "data", store=memory)
    session.create_pool("rbd")
    yield session.open_ioctx("rbd")
    session.shutdown()
    memory.close()


def payload(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def image(ioctx: IoCtx, name: str, size: int, writes: list[tuple[int, bytes]],
          order: int = 22) -> None:
    rbd.RBD().create(ioctx, name, size, order=order)
    with rbd.Image(ioctx, name) as img:
        for offset, data in writes:
            img.write(data, offset)


def read(ioctx: IoCtx, name: str, snap: str | None = None) -> bytes:
    with rbd.Image(ioctx, name, snapshot=snap, read_only=True) as img:
        return img.read(0, img.size())


def test_records_are_bounded_and_zero_pieces_become_zero_records(ioctx: IoCtx) -> None:
    data = payload(10 * MiB, 1)
    image(ioctx, "src", 16 * MiB, [(0, data), (10 * MiB, bytes(MiB))])
    with rbd.Image(ioctx, "src") as img:
        img.write(b"x", 12 * MiB + 5)
        records = list(transfer.diff_records(img, from_snap=None, end_snap=None,
                                             piece_bytes=3 * MiB))
    assert records[0] == Size(16 * MiB)
    writes = [r for r in records if isinstance(r, Write)]
    assert all(w.length <= 3 * MiB for w in writes)
    assert b"".join(w.data for w in writes if w.offset < 10 * MiB) == data
    assert not any(isinstance(r, Zero) for r in records)  # zeros written are not data
    assert writes[-1].offset == 12 * MiB and writes[-1].data[5:6] == b"x"


def test_the_stream_is_what_rbd_export_diff_writes(ioctx: IoCtx) -> None:
    image(ioctx, "src", 20 * MiB, [(MiB, payload(5 * MiB, 1)), (17 * MiB + 3, b"tail")])
    with rbd.Image(ioctx, "src") as img:
        img.create_snap("one")
        img.write(payload(4096, 2), 2 * MiB)
        img.discard(16 * MiB, 4 * MiB)
        img.create_snap("two")
    with rbd.Image(ioctx, "src", snapshot="two", read_only=True) as img:
        ours = transfer.diff_stream(transfer.diff_records(img, from_snap="one",
                                                          end_snap="two")).read()
        theirs = io.BytesIO()
        write_diff(img, theirs, from_snap="one", end_snap="two")
    assert ours == theirs.getvalue()
    records = list(DiffReader(io.BytesIO(ours)))
    assert records[:3] == [FromSnap("one"), ToSnap("two"), Size(20 * MiB)]
    # and `rbd import-diff` applies it
    image(ioctx, "dst", 20 * MiB, [])
    with rbd.Image(ioctx, "src", snapshot="one", read_only=True) as src, \
            rbd.Image(ioctx, "dst") as dst:
        transfer.pipe_diff(src, dst, from_snap=None, end_snap="one")
        apply_diff(dst, io.BytesIO(ours))
    assert read(ioctx, "dst", "two") == read(ioctx, "src", "two")


def test_import_checks_the_snapshots(ioctx: IoCtx) -> None:
    image(ioctx, "src", 4 * MiB, [(0, b"data")])
    image(ioctx, "dst", 4 * MiB, [])
    with rbd.Image(ioctx, "src") as img:
        img.create_snap("s1")
        img.create_snap("s2")
    with rbd.Image(ioctx, "src", snapshot="s2", read_only=True) as src, \
            rbd.Image(ioctx, "dst") as dst:
        with pytest.raises(BackupRBDOperationFailed, match="start snapshot 's1'"):
            transfer.pipe_diff(src, dst, from_snap="s1", end_snap="s2")
        assert transfer.pipe_diff(src, dst, from_snap=None, end_snap="s1") == "s1"
        with pytest.raises(BackupRBDOperationFailed, match="'s1' already exists"):
            transfer.pipe_diff(src, dst, from_snap=None, end_snap="s1")
        assert transfer.pipe_diff(src, dst, from_snap="s1", end_snap="s2") == "s2"
        assert [s["name"] for s in dst.list_snaps()] == ["s1", "s2"]
        with pytest.raises(errors.InvalidArgument, match="bad diff banner"):
            transfer.import_diff(dst, io.BytesIO(b"rbd diff v9\nxxxxx"))


def test_import_resizes_unless_told_not_to_shrink(ioctx: IoCtx) -> None:
    image(ioctx, "src", 4 * MiB, [(MiB, b"abc")])
    image(ioctx, "big", 12 * MiB, [])
    image(ioctx, "big2", 12 * MiB, [])
    image(ioctx, "small", MiB, [])
    with rbd.Image(ioctx, "src", read_only=True) as src:
        for name, shrink, size in (("big", True, 4 * MiB), ("big2", False, 12 * MiB),
                                   ("small", False, 4 * MiB)):
            with rbd.Image(ioctx, name) as dst:
                assert transfer.pipe_diff(src, dst, from_snap=None, end_snap=None,
                                          shrink=shrink) is None
                assert dst.size() == size
                assert dst.read(MiB, 3) == b"abc"


def test_an_error_while_reading_the_source_reaches_the_importer(
        ioctx: IoCtx, monkeypatch: pytest.MonkeyPatch) -> None:
    image(ioctx, "src", 8 * MiB, [(0, payload(8 * MiB, 1))])
    image(ioctx, "dst", 8 * MiB, [])
    real = rbd.Image.read

    def read_fails_late(self: rbd.Image, offset: int, length: int, flags: int = 0) -> bytes:
        if offset >= 4 * MiB:
            raise errors.ShoalError("I/O error (injected)")
        return real(self, offset, length, flags)

    monkeypatch.setattr(rbd.Image, "read", read_fails_late)
    with rbd.Image(ioctx, "src") as src, rbd.Image(ioctx, "dst") as dst:
        src.create_snap("s")
        with pytest.raises(errors.ShoalError, match="injected"):
            transfer.pipe_diff(src, dst, from_snap=None, end_snap="s")
        assert list(dst.list_snaps()) == []  # the end snapshot comes last


def test_copy_chunks_skips_or_zeroes_zero_chunks(ioctx: IoCtx) -> None:
    chunk = 256 * 1024
    writes = [(0, payload(chunk, 1)), (chunk, bytes(chunk)), (5 * chunk + 1, b"z")]
    image(ioctx, "src", 8 * chunk, writes)
    image(ioctx, "new", 8 * chunk, [])
    image(ioctx, "old", 8 * chunk, [(0, b"\xff" * 8 * chunk)])
    with rbd.Image(ioctx, "src", read_only=True) as src:
        with rbd.Image(ioctx, "new") as dst:
            stats = transfer.copy_chunks(src, dst, length=8 * chunk, chunk_bytes=chunk,
                                         skip_zero_chunks=True)
        assert stats == transfer.CopyStats(2 * chunk, 0, 6 * chunk)
        with rbd.Image(ioctx, "old") as dst:
            stats = transfer.copy_chunks(src, dst, length=6 * chunk, chunk_bytes=chunk,
                                         skip_zero_chunks=False)
        assert stats == transfer.CopyStats(2 * chunk, 4 * chunk, 0)
    want = read(ioctx, "src")
    assert read(ioctx, "new") == want
    assert read(ioctx, "old") == want[:6 * chunk] + b"\xff" * 2 * chunk  # past length: kept


@pytest.mark.parametrize(("offset", "length"), [
    (0, 40 * 65536), (65536 * 3, 65536 * 20), (1000, 2_000_000), (65536 * 7 + 5, 100),
    (0, 65536 * 64),
])
def test_zero_range_is_exact(ioctx: IoCtx, monkeypatch: pytest.MonkeyPatch, offset: int,
                             length: int) -> None:
    monkeypatch.setattr(transfer, "DISCARD_BYTES_MAX", 5 * 65536 - 1)  # small pieces
    size = 64 * 65536
    image(ioctx, "img", size, [(0, b"\xab" * size)], order=16)
    with rbd.Image(ioctx, "img") as img:
        transfer.zero_range(img, offset, length)
    assert read(ioctx, "img") == (b"\xab" * offset + bytes(length)
                                  + b"\xab" * (size - offset - length))


def test_pieces_of_exactly_the_discard_limit_would_leave_old_bytes(ioctx: IoCtx) -> None:
    """Why zero_range cuts its pieces at object boundaries: a discard skips the partial
    granules at its ends, so back-to-back pieces of 2 GiB - 1 (scaled down here) leave
    old data at every piece edge."""
    size, limit = 64 * 65536, 5 * 65536 - 1
    image(ioctx, "img", size, [(0, b"\xab" * size)], order=16)
    with rbd.Image(ioctx, "img") as img:
        for start in range(0, size, limit):
            img.discard(start, min(limit, size - start))
    assert read(ioctx, "img") != bytes(size)


def test_has_extents_sees_a_clones_parent(ioctx: IoCtx) -> None:
    image(ioctx, "parent", 4 * MiB, [(MiB, b"p")])
    image(ioctx, "empty", 4 * MiB, [])
    with rbd.Image(ioctx, "parent") as img:
        img.create_snap("s")
        img.protect_snap("s")
    rbd.RBD().clone(ioctx, "parent", "s", ioctx, "child")
    with rbd.Image(ioctx, "child", read_only=True) as child, \
            rbd.Image(ioctx, "empty", read_only=True) as empty:
        assert transfer.has_extents(child)
        assert not transfer.has_extents(empty)


def test_reset_head(ioctx: IoCtx) -> None:
    image(ioctx, "img", 4 * MiB, [(0, b"old")])
    with rbd.Image(ioctx, "img") as img:
        img.create_snap("s")
        assert not transfer.reset_head(img, "s")
        img.write(b"new", 0)
        assert transfer.reset_head(img, "s")
        assert img.read(0, 3) == b"old"
        img.resize(8 * MiB)
        assert transfer.reset_head(img, "s")
        assert img.size() == 4 * MiB
