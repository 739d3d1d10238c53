"""What every RBD backend must do, written to librbd's behaviour (not shoal's).

Subclasses provide three fixtures:

- ``lib``: a module-like object with ``RBD``, ``Image``, ``FEATURE_*`` and librbd's exception
  classes (``shoal.rbd`` for the embedded engine, ``shoal.rbd.ceph`` for shoal's librbd
  adapter, Ceph's own ``rbd`` module for the real thing);
- ``ioctx`` and ``ioctx2``: handles on two empty pools of one cluster.

``tests/ceph/test_rbd_contract_ceph.py`` runs this suite on Ceph's own ``rbd`` module: every
expectation here is proven on real librbd (Ceph 16). Where the embedded engine does not yet
behave so, ``tests/contract/test_rbd_embedded.py`` lists the test as a strict xfail with
librbd's exact behaviour. Errors that Ceph's binding raises as classes shoal.rbd has no name
for (ENOSYS: ``rbd.FunctionNotSupported``) are checked by errno.

``EmbeddedRbdContract`` pins behaviour shoal chose where librbd differs (librbd asks the
owner to hand the exclusive lock over at once; the embedded engine's second writer waits
until the owner's handle closes).
"""

from __future__ import annotations

import errno
import threading
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

MiB = 1 << 20
SIZE = 32 * MiB
#: ``rbd_discard_granularity_bytes`` default.
GRANULE = 64 * 1024


def pattern(seed: int, length: int) -> bytes:
    block = bytes((seed * 31 + i) % 251 for i in range(4096))
    return (block * (length // 4096 + 1))[:length]


_SMALL = 64 * 1024
#: The model's images use order 12.
_MODEL_OBJECT_BYTES = 4096
_OPS = st.one_of(
    st.tuples(st.just("write"), st.integers(0, 2), st.integers(0, _SMALL), st.integers(1, 9000)),
    st.tuples(st.just("discard"), st.integers(0, 2), st.integers(0, _SMALL), st.integers(1, 20000)),
    st.tuples(st.just("resize"), st.integers(0, 2), st.integers(0, 2 * _SMALL), st.just(0)),
    st.tuples(st.just("snap"), st.integers(0, 2), st.just(0), st.just(0)),
    st.tuples(st.just("rollback"), st.integers(0, 2), st.integers(0, 5), st.just(0)),
    st.tuples(st.just("rmsnap"), st.integers(0, 2), st.integers(0, 5), st.just(0)),
    st.tuples(st.just("clone"), st.integers(0, 2), st.integers(0, 5), st.just(0)),
    st.tuples(st.just("flatten"), st.integers(0, 2), st.just(0), st.just(0)),
    st.tuples(st.just("flush"), st.integers(0, 2), st.just(0), st.just(0)),
    st.tuples(st.just("reopen"), st.integers(0, 2), st.just(0), st.just(0)),
)


class RbdContract:
    lib: Any

    # --- helpers ---------------------------------------------------------------------
    def create(self, lib: Any, io: Any, name: str = "img", size: int = SIZE, **kw: Any) -> None:
        lib.RBD().create(io, name, size, **kw)

    def open(self, lib: Any, io: Any, name: str = "img", **kw: Any) -> Any:
        return lib.Image(io, name, **kw)

    def parent_with_snap(self, lib: Any, io: Any, data: bytes = b"") -> None:
        self.create(lib, io, "parent")
        with self.open(lib, io, "parent") as img:
            img.write(data or pattern(1, 8 * MiB), 0)
            img.create_snap("snap")
            img.protect_snap("snap")

    # --- create, list, remove --------------------------------------------------------
    def test_create_list_remove(self, lib: Any, ioctx: Any) -> None:
        rbd = lib.RBD()
        assert rbd.list(ioctx) == []
        rbd.create(ioctx, "b", SIZE)
        rbd.create(ioctx, "a", MiB)
        assert sorted(rbd.list(ioctx)) == ["a", "b"]
        rbd.remove(ioctx, "a")
        assert rbd.list(ioctx) == ["b"]

    def test_create_existing_fails(self, lib: Any, ioctx: Any) -> None:
        self.create(lib, ioctx)
        with pytest.raises(lib.ImageExists):
            self.create(lib, ioctx)

    def test_remove_and_open_missing(self, lib: Any, ioctx: Any) -> None:
        with pytest.raises(lib.ImageNotFound):
            lib.RBD().remove(ioctx, "nope")
        with pytest.raises(lib.ImageNotFound):
            lib.Image(ioctx, "nope")

    def test_stat_and_defaults(self, lib: Any, ioctx: Any) -> None:
        self.create(lib, ioctx, size=10 * MiB)
        with self.open(lib, ioctx) as img:
            st = img.stat()
            assert st["size"] == 10 * MiB
            assert st["order"] == 22
            assert st["obj_size"] == 4 * MiB
            assert st["num_objs"] == 3
            assert st["block_name_prefix"].startswith("rbd_data.")
            assert img.size() == 10 * MiB
            assert img.features() == 61
            assert img.old_format() is False

    def test_order_and_features(self, lib: Any, ioctx: Any) -> None:
        self.create(lib, ioctx, "o20", order=20, features=lib.FEATURE_LAYERING)
        with self.open(lib, ioctx, "o20") as img:
            assert img.stat()["obj_size"] == MiB
            assert img.features() == lib.FEATURE_LAYERING
        with pytest.raises((lib.InvalidArgument, lib.ArgumentOutOfRange)):
            self.create(lib, ioctx, "o11", order=11)

    # --- I/O ---------------------------------------------------------------------------
    def test_write_read_across_objects(self, lib: Any, ioctx: Any) -> None:
        self.create(lib, ioctx)
        data = pattern(2, 9 * MiB + 123)
        with self.open(lib, ioctx) as img:
            assert img.write(data, 3 * MiB - 7) == len(data)
            assert img.read(3 * MiB - 7, len(data)) == data
            assert img.read(0, 4096) == bytes(4096)

    def test_read_clipped_at_end(self, lib: Any, ioctx: Any) -> None:
        self.create(lib, ioctx, size=MiB)
        with self.open(lib, ioctx) as img:
            img.write(b"x" * 10, MiB - 10)
            assert img.read(MiB - 10, 100) == b"x" * 10
            with pytest.raises(lib.InvalidArgument):
                img.read(MiB + 1, 10)

    def test_discard_reads_zeros(self, lib: Any, ioctx: Any) -> None:
        """librbd discards whole granules only: ``rbd_discard_granularity_bytes`` (64 KiB by
        default, capped at the object size). Each object piece of the range is shrunk to granule
        boundaries and skipped if nothing is left (``ImageDiscardRequest::prune_object_extents``);
        so a small discard inside a granule leaves the data as it was."""
        self.create(lib, ioctx)
        with self.open(lib, ioctx) as img:
            img.write(pattern(3, 12 * MiB), 0)
            img.discard(4 * MiB, 4 * MiB)  # one whole object
            img.discard(100, 1000)  # inside the first granule: nothing happens
            img.discard(GRANULE - 100, 2 * GRANULE + 200)  # granules 1 and 2 only
            got = img.read(0, 12 * MiB)
            assert got[4 * MiB : 8 * MiB] == bytes(4 * MiB)
            assert got[GRANULE : 3 * GRANULE] == bytes(2 * GRANULE)
            assert got[:GRANULE] == pattern(3, GRANULE)
            rest = pattern(3, 12 * MiB)
            assert got[3 * GRANULE : 4 * MiB] == rest[3 * GRANULE : 4 * MiB]
            assert got[8 * MiB :] == rest[8 * MiB :]

    def test_discard_of_a_small_object_tail_truncates(self, lib: Any, ioctx: Any) -> None:
        """With objects no larger than a granule, a piece that runs to the end of its object is
        discarded from any offset (the object is truncated); a piece ending inside its object is
        skipped."""
        self.create(lib, ioctx, size=64 * 1024, order=12)
        with self.open(lib, ioctx) as img:
            img.write(b"\x01" * 65536, 0)
            img.discard(4096 + 100, 4096 - 100)  # tail of object 1
            img.discard(3 * 4096, 1000)  # head of object 3: skipped
            img.discard(5 * 4096 + 10, 4096)  # tail of object 5 (kept), head of object 6 (skipped)
            got = img.read(0, 65536)
            expect = bytearray(b"\x01" * 65536)
            expect[4096 + 100 : 2 * 4096] = bytes(4096 - 100)
            expect[5 * 4096 + 10 : 6 * 4096] = bytes(4096 - 10)
            assert got == bytes(expect)

    def test_write_zeroes_zeroes_exactly(self, lib: Any, ioctx: Any) -> None:
        """Unlike discard, write_zeroes zeroes every byte of the range."""
        self.create(lib, ioctx)
        with self.open(lib, ioctx) as img:
            img.write(pattern(3, 5 * MiB), 0)
            img.write_zeroes(100, 1000)
            img.write_zeroes(4 * MiB - 10, 20)
            expect = bytearray(pattern(3, 5 * MiB))
            expect[100:1100] = bytes(1000)
            expect[4 * MiB - 10 : 4 * MiB + 10] = bytes(20)
            assert img.read(0, 5 * MiB) == bytes(expect)

    def test_read_only_handles_refuse_writes(self, lib: Any, ioctx: Any) -> None:
        self.parent_with_snap(lib, ioctx)
        lib.RBD().clone(ioctx, "parent", "snap", ioctx, "img")
        with self.open(lib, ioctx, "img") as img:
            img.create_snap("s")
        with self.open(lib, ioctx, read_only=True) as img:
            assert img.read(0, 10) == pattern(1, 10)
            for call in (
                lambda: img.write(b"x", 0),
                lambda: img.create_snap("t"),
                lambda: img.resize(MiB),
                lambda: img.discard(0, 10),
                lambda: img.write_zeroes(0, 10),
                lambda: img.flatten(),
                lambda: img.protect_snap("s"),
                lambda: img.remove_snap("s"),
                lambda: img.rename_snap("s", "t"),
                lambda: img.rollback_to_snap("s"),
                lambda: img.update_features(lib.FEATURE_FAST_DIFF, False),
                lambda: img.metadata_set("k", "v"),
            ):
                with pytest.raises(lib.ReadOnlyImage):
                    call()
        with self.open(lib, ioctx, "parent", read_only=True) as parent, pytest.raises(
            lib.ReadOnlyImage
        ):
            parent.unprotect_snap("snap")

    def test_io_at_the_end_of_the_image(self, lib: Any, ioctx: Any) -> None:
        """I/O running past the end is clipped; I/O starting at or past the end is EINVAL.

        A clipped write writes the bytes that fit: librbd's C call returns their count; Ceph's
        Python binding then raises ``IncompleteWriteError`` (shoal returns the count)."""
        self.create(lib, ioctx, size=MiB)
        incomplete = getattr(lib, "IncompleteWriteError", None)
        with self.open(lib, ioctx) as img:
            try:
                written = img.write(b"y" * 10, MiB - 5)
            except Exception as exc:
                if incomplete is None or not isinstance(exc, incomplete):
                    raise
                written = 5
            assert written == 5
            assert img.read(MiB - 6, 100) == b"\0" + b"y" * 5
            assert img.size() == MiB
            for call in (
                lambda: img.write(b"z", MiB),
                lambda: img.read(MiB, 10),
                lambda: img.discard(MiB + 5, 100),
            ):
                with pytest.raises(lib.InvalidArgument):
                    call()
            img.discard(MiB - 5, 100)  # clipped, no error
            img.resize(0)
            with pytest.raises(lib.InvalidArgument):
                img.read(0, 10)

    def test_concurrent_snapshots_through_their_own_handles(self, lib: Any,
                                                            ioctx: Any) -> None:
        """Four threads each open the image, take a snapshot and close it, at once: all
        four succeed (the exclusive lock passes from one handle to the next), as the volume
        service's concurrent snapshot requests need."""
        self.create(lib, ioctx)
        failures: list[BaseException] = []

        def snap(name: str) -> None:
            try:
                with self.open(lib, ioctx) as img:
                    img.create_snap(name)
            except BaseException as exc:  # reported below, with the thread's name
                failures.append(exc)

        threads = [threading.Thread(target=snap, args=(f"s{i}",)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not failures
        with self.open(lib, ioctx) as img:
            assert sorted(s["name"] for s in img.list_snaps()) == ["s0", "s1", "s2", "s3"]

    def test_remove_while_open_for_writing_is_busy(self, lib: Any, ioctx: Any) -> None:
        """A read-write handle (even before its first write) keeps the image from removal."""
        self.create(lib, ioctx)
        with self.open(lib, ioctx), pytest.raises(lib.ImageBusy):
            lib.RBD().remove(ioctx, "img")
        lib.RBD().remove(ioctx, "img")

    def test_image_names_librbd_accepts(self, lib: Any, ioctx: Any) -> None:
        """librbd itself takes any non-empty name ('/' and '@' included: only the rbd CLI's
        spec parser gives them meaning)."""
        rbd = lib.RBD()
        rbd.create(ioctx, "a/b", MiB)
        rbd.create(ioctx, "c@d", MiB)
        assert sorted(rbd.list(ioctx)) == ["a/b", "c@d"]
        with pytest.raises(lib.InvalidArgument):
            rbd.create(ioctx, "", MiB)

    def test_resize(self, lib: Any, ioctx: Any) -> None:
        self.create(lib, ioctx, size=8 * MiB)
        with self.open(lib, ioctx) as img:
            img.write(pattern(4, 8 * MiB), 0)
            img.resize(5 * MiB)
            assert img.size() == 5 * MiB
            img.resize(12 * MiB)
            assert img.read(0, 5 * MiB) == pattern(4, 5 * MiB)
            assert img.read(5 * MiB, 7 * MiB) == bytes(7 * MiB)

    # --- snapshots -----------------------------------------------------------------------
    def test_snapshot_keeps_old_data(self, lib: Any, ioctx: Any) -> None:
        self.create(lib, ioctx)
        with self.open(lib, ioctx) as img:
            img.write(b"A" * 8192, 0)
            img.create_snap("s1")
            img.write(b"B" * 4096, 4096)
            img.write(b"C" * 100, 5 * MiB)
            assert img.read(0, 8192) == b"A" * 4096 + b"B" * 4096
            snaps = list(img.list_snaps())
            assert [s["name"] for s in snaps] == ["s1"]
            assert snaps[0]["size"] == SIZE
        with self.open(lib, ioctx, snapshot="s1") as snap:
            assert snap.read(0, 8192) == b"A" * 8192
            assert snap.read(5 * MiB, 100) == bytes(100)
            with pytest.raises(lib.ReadOnlyImage):
                snap.write(b"x", 0)

    def test_set_snap_makes_the_handle_read_only(self, lib: Any, ioctx: Any) -> None:
        """A read-write handle moved to a snapshot refuses data changes (ReadOnlyImage) until
        it is moved back to the head; create_snap still works and snapshots the head."""
        self.create(lib, ioctx)
        with self.open(lib, ioctx) as img:
            img.write(b"old", 0)
            img.create_snap("s")
            img.write(b"new", 0)
            img.set_snap("s")
            assert img.read(0, 3) == b"old"
            for call in (lambda: img.write(b"x", 0), lambda: img.discard(0, 4 * MiB),
                         lambda: img.resize(MiB)):
                with pytest.raises(lib.ReadOnlyImage):
                    call()
            img.create_snap("t")
            img.set_snap(None)
            assert img.size() == SIZE  # the refused resize changed nothing
            assert img.read(0, 3) == b"new"
            img.write(b"now", 0)
            assert img.read(0, 3) == b"now"
        with self.open(lib, ioctx, snapshot="t") as at:
            assert at.read(0, 3) == b"new"

    def test_snapshot_errors(self, lib: Any, ioctx: Any) -> None:
        self.create(lib, ioctx)
        with self.open(lib, ioctx) as img:
            img.create_snap("s")
            with pytest.raises(lib.ImageExists):
                img.create_snap("s")
            with pytest.raises(lib.ImageNotFound):
                img.remove_snap("nope")
        with pytest.raises(lib.ImageNotFound):
            lib.Image(ioctx, "img", snapshot="nope")
        with pytest.raises(lib.ImageHasSnapshots):
            lib.RBD().remove(ioctx, "img")

    def test_rollback(self, lib: Any, ioctx: Any) -> None:
        self.create(lib, ioctx, size=8 * MiB)
        with self.open(lib, ioctx) as img:
            img.write(pattern(5, 6 * MiB), 0)
            img.create_snap("s")
            img.write(b"z" * MiB, MiB)
            img.resize(16 * MiB)
            img.write(b"y" * 100, 10 * MiB)
            img.rollback_to_snap("s")
            assert img.size() == 8 * MiB
            assert img.read(0, 8 * MiB) == pattern(5, 6 * MiB) + bytes(2 * MiB)

    def test_remove_snap_keeps_others(self, lib: Any, ioctx: Any) -> None:
        self.create(lib, ioctx)
        with self.open(lib, ioctx) as img:
            img.write(b"1" * 4096, 0)
            img.create_snap("a")
            img.write(b"2" * 4096, 0)
            img.create_snap("b")
            img.write(b"3" * 4096, 0)
            img.remove_snap("a")
            assert [s["name"] for s in img.list_snaps()] == ["b"]
        with self.open(lib, ioctx, snapshot="b") as snap:
            assert snap.read(0, 4096) == b"2" * 4096

    def test_protect_unprotect(self, lib: Any, ioctx: Any) -> None:
        self.create(lib, ioctx)
        with self.open(lib, ioctx) as img:
            img.create_snap("s")
            assert img.is_protected_snap("s") is False
            with pytest.raises(lib.InvalidArgument):
                img.unprotect_snap("s")
            img.protect_snap("s")
            assert img.is_protected_snap("s") is True
            with pytest.raises(lib.ImageBusy):
                img.protect_snap("s")
            with pytest.raises(lib.ImageBusy):
                img.remove_snap("s")
            img.unprotect_snap("s")
            img.remove_snap("s")

    # --- clones -----------------------------------------------------------------------
    def test_clone_needs_protected_snapshot(self, lib: Any, ioctx: Any) -> None:
        self.create(lib, ioctx, "parent")
        with self.open(lib, ioctx, "parent") as img:
            img.create_snap("snap")
        with pytest.raises(lib.InvalidArgument):
            lib.RBD().clone(ioctx, "parent", "snap", ioctx, "child")
        with pytest.raises(lib.ImageNotFound):
            lib.RBD().clone(ioctx, "parent", "nope", ioctx, "child")
        assert "child" not in lib.RBD().list(ioctx)

    def test_clone_reads_parent_and_copies_up(self, lib: Any, ioctx: Any, ioctx2: Any) -> None:
        parent_data = pattern(6, 8 * MiB)
        self.parent_with_snap(lib, ioctx, parent_data)
        lib.RBD().clone(ioctx, "parent", "snap", ioctx2, "child")
        with self.open(lib, ioctx2, "child") as child:
            assert child.read(0, 8 * MiB) == parent_data
            assert child.parent_info() == (ioctx.get_pool_name(), "parent", "snap")
            assert child.overlap() == SIZE
            child.write(b"X" * 4096, 4096)
            expect = parent_data[:4096] + b"X" * 4096 + parent_data[8192:]
            assert child.read(0, 8 * MiB) == expect
        with self.open(lib, ioctx, "parent") as parent:
            assert parent.read(0, 8 * MiB) == parent_data

    def test_clone_overlap_shrinks_and_never_grows(self, lib: Any, ioctx: Any) -> None:
        self.parent_with_snap(lib, ioctx)
        lib.RBD().clone(ioctx, "parent", "snap", ioctx, "child")
        with self.open(lib, ioctx, "child") as child:
            child.resize(2 * MiB)
            assert child.overlap() == 2 * MiB
            child.resize(8 * MiB)
            assert child.overlap() == 2 * MiB
            assert child.read(2 * MiB, MiB) == bytes(MiB)
            assert child.read(0, 2 * MiB) == pattern(1, 2 * MiB)

    def test_rollback_of_a_shrunk_clone_brings_the_parent_data_back(
        self, lib: Any, ioctx: Any
    ) -> None:
        """A clone snapshotted, shrunk (overlap shrinks) and rolled back reads what the
        snapshot saw, parent data included, with or without deep-flatten, and even when it
        was flattened between the shrink and the rollback; overlap() keeps the shrunk value."""
        self.parent_with_snap(lib, ioctx, pattern(13, 8 * MiB))
        deep = (lib.FEATURE_LAYERING | lib.FEATURE_EXCLUSIVE_LOCK | lib.FEATURE_OBJECT_MAP
                | lib.FEATURE_FAST_DIFF | lib.FEATURE_DEEP_FLATTEN)
        for name, feats, flatten in (
            ("deep", deep, False),
            ("shallow", deep & ~lib.FEATURE_DEEP_FLATTEN, False),
            ("flattened", deep, True),
        ):
            lib.RBD().clone(ioctx, "parent", "snap", ioctx, name, features=feats)
            with self.open(lib, ioctx, name) as child:
                child.create_snap("full")
                child.resize(2 * MiB)
                if flatten:
                    child.flatten()
                child.rollback_to_snap("full")
                assert child.size() == SIZE
                if not flatten:
                    assert child.overlap() == 2 * MiB
                assert child.read(0, 8 * MiB) == pattern(13, 8 * MiB), name

    def test_clone_snapshot_survives_a_shrink_and_a_copy_up(self, lib: Any, ioctx: Any) -> None:
        """A clone's snapshot taken before a shrink still reads the parent's data past the new
        size after the clone copies up the object straddling it (by a write, or by a deep
        flatten)."""
        parent_data = pattern(15, 8 * MiB)
        self.parent_with_snap(lib, ioctx, parent_data)
        for name in ("written", "flattened"):
            lib.RBD().clone(ioctx, "parent", "snap", ioctx, name)
            with self.open(lib, ioctx, name) as child:
                child.create_snap("k")
                child.resize(6 * MiB + 100)
                expect = bytearray(parent_data[: 6 * MiB + 100])
                if name == "written":
                    child.write(b"W" * MiB, 5 * MiB)  # copies object 1 up, clipped
                    expect[5 * MiB : 6 * MiB] = b"W" * MiB
                else:
                    child.flatten()
                assert child.read(0, 6 * MiB + 100) == bytes(expect)
            with self.open(lib, ioctx, name, snapshot="k") as at:
                assert at.size() == SIZE
                assert at.read(0, 8 * MiB) == parent_data, name

    def test_discard_on_clone_reads_zeros(self, lib: Any, ioctx: Any) -> None:
        self.parent_with_snap(lib, ioctx)
        lib.RBD().clone(ioctx, "parent", "snap", ioctx, "child")
        with self.open(lib, ioctx, "child") as child:
            child.discard(0, 4 * MiB)
            assert child.read(0, 4 * MiB) == bytes(4 * MiB)
            assert child.read(4 * MiB, 4 * MiB) == pattern(1, 8 * MiB)[4 * MiB :]

    def test_children_and_unprotect_busy(self, lib: Any, ioctx: Any, ioctx2: Any) -> None:
        self.parent_with_snap(lib, ioctx)
        rbd = lib.RBD()
        rbd.clone(ioctx, "parent", "snap", ioctx2, "c1")
        rbd.clone(ioctx, "parent", "snap", ioctx, "c2")
        with self.open(lib, ioctx, "parent", snapshot="snap") as snap:
            assert sorted(snap.list_children()) == sorted(
                [(ioctx2.get_pool_name(), "c1"), (ioctx.get_pool_name(), "c2")]
            )
        with self.open(lib, ioctx, "parent") as parent:
            with pytest.raises(lib.ImageBusy):
                parent.unprotect_snap("snap")
            rbd.remove(ioctx2, "c1")
            rbd.remove(ioctx, "c2")
            parent.unprotect_snap("snap")

    def test_flatten(self, lib: Any, ioctx: Any) -> None:
        parent_data = pattern(7, 8 * MiB)
        self.parent_with_snap(lib, ioctx, parent_data)
        lib.RBD().clone(ioctx, "parent", "snap", ioctx, "child")
        with self.open(lib, ioctx, "child") as child:
            child.write(b"W" * 10, 5 * MiB)
            child.flatten()
            with pytest.raises(lib.ImageNotFound):
                child.parent_info()
            expect = bytearray(parent_data)
            expect[5 * MiB : 5 * MiB + 10] = b"W" * 10
            assert child.read(0, 8 * MiB) == bytes(expect)
        with self.open(lib, ioctx, "parent") as parent:
            parent.unprotect_snap("snap")  # no children left
            parent.remove_snap("snap")
        lib.RBD().remove(ioctx, "parent")
        with self.open(lib, ioctx, "child") as child:
            assert child.read(0, MiB) == parent_data[:MiB]

    def test_clone_of_clone(self, lib: Any, ioctx: Any) -> None:
        self.parent_with_snap(lib, ioctx, pattern(8, 4 * MiB))
        rbd = lib.RBD()
        rbd.clone(ioctx, "parent", "snap", ioctx, "mid")
        with self.open(lib, ioctx, "mid") as mid:
            mid.write(b"M" * 100, 0)
            mid.create_snap("s")
            mid.protect_snap("s")
        rbd.clone(ioctx, "mid", "s", ioctx, "leaf")
        with self.open(lib, ioctx, "leaf") as leaf:
            assert leaf.read(0, 200) == b"M" * 100 + pattern(8, 200)[100:]

    def test_clone_errors_leave_nothing_behind(self, lib: Any, ioctx: Any) -> None:
        self.parent_with_snap(lib, ioctx)
        rbd = lib.RBD()
        rbd.clone(ioctx, "parent", "snap", ioctx, "child")
        with pytest.raises(lib.ImageExists):
            rbd.clone(ioctx, "parent", "snap", ioctx, "child")
        with pytest.raises(lib.ImageNotFound):
            rbd.clone(ioctx, "nope", "snap", ioctx, "c2")
        # A clone without layering: librbd answers ENOSYS (rbd.FunctionNotSupported).
        with pytest.raises(Exception) as info:
            rbd.clone(ioctx, "parent", "snap", ioctx, "c3", features=lib.FEATURE_EXCLUSIVE_LOCK)
        assert info.value.errno == errno.ENOSYS
        assert sorted(rbd.list(ioctx)) == ["child", "parent"]

    def test_protect_needs_layering(self, lib: Any, ioctx: Any) -> None:
        """librbd refuses to protect a snapshot of an image without layering: ENOSYS."""
        self.create(lib, ioctx, features=lib.FEATURE_EXCLUSIVE_LOCK)
        with self.open(lib, ioctx) as img:
            img.create_snap("s")
            with pytest.raises(Exception) as info:
                img.protect_snap("s")
            assert info.value.errno == errno.ENOSYS
            assert img.is_protected_snap("s") is False

    def test_clone_inherits_order_features_and_striping(self, lib: Any, ioctx: Any) -> None:
        """Without ``features``/``order``, a clone gets its parent's (not rbd_default_*). The
        stripe unit is inherited too: a clone with a larger order than its parent keeps the
        parent's stripe unit, so it gets fancy striping (STRIPINGV2) added to its features."""
        feats = lib.FEATURE_LAYERING | lib.FEATURE_EXCLUSIVE_LOCK
        self.create(lib, ioctx, "parent", order=20, features=feats)
        with self.open(lib, ioctx, "parent") as img:
            img.write(pattern(12, 3 * MiB), 0)
            img.create_snap("snap")
            img.protect_snap("snap")
        rbd = lib.RBD()
        rbd.clone(ioctx, "parent", "snap", ioctx, "same")
        rbd.clone(ioctx, "parent", "snap", ioctx, "own", features=lib.FEATURE_LAYERING)
        rbd.clone(ioctx, "parent", "snap", ioctx, "bigger", order=22)
        with self.open(lib, ioctx, "same") as child:
            assert child.features() == feats
            assert child.stat()["order"] == 20
        with self.open(lib, ioctx, "own") as child:
            assert child.features() == lib.FEATURE_LAYERING
            assert child.stat()["order"] == 20
        with self.open(lib, ioctx, "bigger") as child:
            assert child.features() == feats | lib.FEATURE_STRIPINGV2
            assert child.stat()["order"] == 22
            assert (child.stripe_unit(), child.stripe_count()) == (MiB, 1)
            assert child.read(0, 3 * MiB) == pattern(12, 3 * MiB)
        self.create(lib, ioctx, "striped", size=MiB, stripe_unit=64 * 1024, stripe_count=4)
        with self.open(lib, ioctx, "striped") as img:
            img.write(pattern(14, MiB), 0)
            img.create_snap("snap")
            img.protect_snap("snap")
        rbd.clone(ioctx, "striped", "snap", ioctx, "striped-child")
        with self.open(lib, ioctx, "striped-child") as child:
            assert (child.stripe_unit(), child.stripe_count()) == (64 * 1024, 4)
            assert child.features() & lib.FEATURE_STRIPINGV2
            assert child.read(0, MiB) == pattern(14, MiB)

    def test_object_map_brings_fast_diff(self, lib: Any, ioctx: Any) -> None:
        """librbd turns fast-diff on with object-map (at create and at update_features), and
        off with it."""
        locked_map = lib.FEATURE_LAYERING | lib.FEATURE_EXCLUSIVE_LOCK | lib.FEATURE_OBJECT_MAP
        self.create(lib, ioctx, "a", features=locked_map)
        with self.open(lib, ioctx, "a") as img:
            assert img.features() == locked_map | lib.FEATURE_FAST_DIFF
        self.create(lib, ioctx, "b", features=lib.FEATURE_LAYERING | lib.FEATURE_EXCLUSIVE_LOCK)
        with self.open(lib, ioctx, "b") as img:
            img.update_features(lib.FEATURE_OBJECT_MAP, True)
            assert img.features() == locked_map | lib.FEATURE_FAST_DIFF
            img.update_features(lib.FEATURE_OBJECT_MAP, False)
            assert img.features() == lib.FEATURE_LAYERING | lib.FEATURE_EXCLUSIVE_LOCK
        with pytest.raises(lib.InvalidArgument):
            self.create(lib, ioctx, "c", features=lib.FEATURE_LAYERING | lib.FEATURE_OBJECT_MAP)

    def test_clone_chain(self, lib: Any, ioctx: Any, ioctx2: Any) -> None:
        """Four generations across two pools: reads merge every level; flattening a middle
        clone keeps its descendants' data and frees its parent's snapshot."""
        self.create(lib, ioctx, "g0", size=4 * MiB)
        rbd = lib.RBD()
        chain = [(ioctx, "g0"), (ioctx2, "g1"), (ioctx, "g2"), (ioctx2, "g3")]
        for level, (io, name) in enumerate(chain):
            with self.open(lib, io, name) as img:
                img.write(bytes([65 + level]) * 4096, level * 4096)
                if level < len(chain) - 1:
                    img.create_snap("s")
                    img.protect_snap("s")
            if level < len(chain) - 1:
                rbd.clone(io, name, "s", *chain[level + 1])
        expect = b"".join(bytes([65 + level]) * 4096 for level in range(4))
        with self.open(lib, ioctx2, "g3") as leaf:
            assert leaf.read(0, 4 * 4096) == expect
            assert leaf.parent_info() == (ioctx.get_pool_name(), "g2", "s")
        with self.open(lib, ioctx, "g2") as mid:
            mid.flatten()
        with self.open(lib, ioctx2, "g1") as g1:
            g1.unprotect_snap("s")  # g2 no longer depends on it
        with self.open(lib, ioctx2, "g3") as leaf:
            assert leaf.read(0, 4 * 4096) == expect

    def test_deep_flatten_detaches_snapshots(self, lib: Any, ioctx: Any) -> None:
        """With deep-flatten, flatten also detaches the clone's snapshots from the parent;
        without it they keep the link (the clone stays a child of the parent snapshot)."""
        self.parent_with_snap(lib, ioctx, pattern(11, 4 * MiB))
        rbd = lib.RBD()
        deep = (lib.FEATURE_LAYERING | lib.FEATURE_EXCLUSIVE_LOCK | lib.FEATURE_OBJECT_MAP
                | lib.FEATURE_FAST_DIFF | lib.FEATURE_DEEP_FLATTEN)
        rbd.clone(ioctx, "parent", "snap", ioctx, "deep", features=deep)
        shallow = deep & ~lib.FEATURE_DEEP_FLATTEN
        rbd.clone(ioctx, "parent", "snap", ioctx, "shallow", features=shallow)
        for name in ("deep", "shallow"):
            with self.open(lib, ioctx, name) as child:
                child.create_snap("k")
                child.flatten()
                with pytest.raises(lib.ImageNotFound):
                    child.parent_info()
        with self.open(lib, ioctx, "deep", snapshot="k") as at:
            with pytest.raises(lib.ImageNotFound):
                at.parent_info()
            assert at.read(0, 4 * MiB) == pattern(11, 4 * MiB)
        with self.open(lib, ioctx, "shallow", snapshot="k") as at:
            assert at.parent_info() == (ioctx.get_pool_name(), "parent", "snap")
            assert at.read(0, 4 * MiB) == pattern(11, 4 * MiB)
        with self.open(lib, ioctx, "parent", snapshot="snap") as snap:
            assert snap.list_children() == [(ioctx.get_pool_name(), "shallow")]

    def test_list_children_at_head_lists_every_snapshot(self, lib: Any, ioctx: Any) -> None:
        """At the head (no snapshot set), librbd lists the clones of every snapshot."""
        self.parent_with_snap(lib, ioctx)
        with self.open(lib, ioctx, "parent") as img:
            img.create_snap("two")
            img.protect_snap("two")
        rbd = lib.RBD()
        rbd.clone(ioctx, "parent", "snap", ioctx, "c1")
        rbd.clone(ioctx, "parent", "two", ioctx, "c2")
        pool = ioctx.get_pool_name()
        with self.open(lib, ioctx, "parent") as head:
            assert sorted(head.list_children()) == [(pool, "c1"), (pool, "c2")]
        with self.open(lib, ioctx, "parent", snapshot="two") as two:
            assert two.list_children() == [(pool, "c2")]

    def test_overlap_of_a_plain_image_is_zero(self, lib: Any, ioctx: Any) -> None:
        """librbd's overlap() answers 0 for an image without parent (parent_info raises)."""
        self.create(lib, ioctx)
        with self.open(lib, ioctx) as img:
            assert img.overlap() == 0
            with pytest.raises(lib.ImageNotFound):
                img.parent_info()

    def test_diff_iterate_on_a_clone(self, lib: Any, ioctx: Any) -> None:
        """include_parent decides whether the parent's data counts; a snapshot of the clone
        bounds the diff to what the clone changed since."""
        self.create(lib, ioctx, "parent", size=16 * MiB, order=20)
        with self.open(lib, ioctx, "parent") as img:
            img.write(b"P" * 4096, 0)
            img.write(b"Q" * 4096, MiB)
            img.create_snap("snap")
            img.protect_snap("snap")
        lib.RBD().clone(ioctx, "parent", "snap", ioctx, "child")
        block = MiB // 4096
        with self.open(lib, ioctx, "child") as child:
            child.write(b"C" * 4096, 2 * MiB)
            child.create_snap("cs")
            child.write(b"D" * 4096, 3 * MiB)
            child.write(b"E" * 10, MiB + 8192)  # copies object 1 up
            with_parent = self.covered(self.collect_diff(child, None))
            assert {0, block, 2 * block, 3 * block, block + 2} <= with_parent
            own = self.covered(self.collect_diff(child, None, include_parent=False))
            assert {2 * block, 3 * block, block + 2} <= own
            assert 0 not in own
            since = self.covered(self.collect_diff(child, "cs"))
            assert {3 * block, block + 2} <= since
            assert not {0, 2 * block} & since
            whole = self.collect_diff(child, "cs", whole_object=True)
            assert (3 * MiB, MiB, True) in whole
            assert (2 * MiB, MiB, True) not in whole

    def test_image_and_snapshot_name_errors(self, lib: Any, ioctx: Any) -> None:
        self.create(lib, ioctx, "a")
        self.create(lib, ioctx, "b")
        rbd = lib.RBD()
        with pytest.raises(lib.ImageExists):
            rbd.rename(ioctx, "a", "b")
        with pytest.raises(lib.ImageNotFound):
            rbd.rename(ioctx, "nope", "c")
        with self.open(lib, ioctx, "a") as img:
            img.create_snap("s")
            img.create_snap("t")
            with pytest.raises(lib.ImageExists):
                img.rename_snap("t", "s")
            for call in (
                lambda: img.rename_snap("nope", "u"),
                lambda: img.rollback_to_snap("nope"),
                lambda: img.protect_snap("nope"),
                lambda: img.is_protected_snap("nope"),
                lambda: img.set_snap("nope"),
            ):
                with pytest.raises(lib.ImageNotFound):
                    call()
            img.rename_snap("t", "u")
            assert [s["name"] for s in img.list_snaps()] == ["s", "u"]

    # --- diff ----------------------------------------------------------------------------
    def collect_diff(
        self, img: Any, from_snap: str | None, **kw: Any
    ) -> list[tuple[int, int, bool]]:
        out: list[tuple[int, int, bool]] = []
        img.diff_iterate(0, img.size(), from_snap, lambda o, n, e: out.append((o, n, e)), **kw)
        return out

    @staticmethod
    def covered(extents: list[tuple[int, int, bool]], exists: bool = True) -> set[int]:
        """4 KiB block numbers covered by the extents with that ``exists``."""
        blocks: set[int] = set()
        for o, n, e in extents:
            if e == exists:
                blocks.update(range(o // 4096, (o + n - 1) // 4096 + 1))
        return blocks

    def test_diff_iterate_from_snapshot(self, lib: Any, ioctx: Any) -> None:
        self.create(lib, ioctx)
        with self.open(lib, ioctx) as img:
            img.write(b"a" * 4096, 0)
            img.create_snap("s")
            img.write(b"b" * 4096, 8 * MiB)
            img.write(b"c" * 4096, 20 * MiB + 4096)
            extents = self.collect_diff(img, "s")
            blocks = self.covered(extents)
            assert {8 * MiB // 4096, (20 * MiB + 4096) // 4096} <= blocks
            assert 0 not in blocks
            whole = self.collect_diff(img, "s", whole_object=True)
            assert (8 * MiB, 4 * MiB, True) in whole
            assert (20 * MiB, 4 * MiB, True) in whole

    def test_diff_iterate_from_start_covers_data(self, lib: Any, ioctx: Any) -> None:
        self.create(lib, ioctx)
        with self.open(lib, ioctx) as img:
            img.write(b"q" * 4096, 12 * MiB)
            blocks = self.covered(self.collect_diff(img, None))
            assert 12 * MiB // 4096 in blocks
            assert all(12 * MiB // 4096 <= b < 16 * MiB // 4096 for b in blocks)

    @pytest.mark.parametrize("fast_diff", [True, False])
    def test_diff_extents_are_rados_snapshot_extents(
        self, lib: Any, ioctx: Any, fast_diff: bool
    ) -> None:
        """The exact extents librbd reports (with or without fast-diff), as RADOS tracks them:

        - since the beginning of time: per object, [object start, start + the object's length)
          (holes inside an object included: object 0 below is 4 MiB long);
        - since a snapshot: the bytes written since, exactly, plus any growth of the object
          (object 1 grew from 8192 to 10100 bytes: [8192, 10100) is reported);
        - ``whole_object``: one full object-size extent per changed object, never merged.
        """
        feats = lib.FEATURE_LAYERING
        if fast_diff:
            feats |= lib.FEATURE_EXCLUSIVE_LOCK | lib.FEATURE_OBJECT_MAP | lib.FEATURE_FAST_DIFF
        self.create(lib, ioctx, size=16 * MiB, features=feats)
        obj = 4 * MiB
        with self.open(lib, ioctx) as img:
            img.write(b"a" * 4096, 3 * obj)
            img.write(b"b" * 4096, obj - 4096)
            img.write(b"c" * 8192, obj)
            assert self.collect_diff(img, None) == [
                (0, obj, True), (obj, 8192, True), (3 * obj, 4096, True)
            ]
            assert self.collect_diff(img, None, whole_object=True) == [
                (0, obj, True), (obj, obj, True), (3 * obj, obj, True)
            ]
            img.create_snap("s")
            img.write(b"d" * 100, 100)
            img.write(b"e" * 100, obj + 10000)
            assert self.collect_diff(img, "s") == [(100, 100, True), (obj + 8192, 1908, True)]
            assert self.collect_diff(img, "s", whole_object=True) == [
                (0, obj, True), (obj, obj, True)
            ]

    def test_diff_of_a_discarded_object_in_a_clone(self, lib: Any, ioctx: Any) -> None:
        """A whole-object discard in a clone (the object stays, empty, to hide the parent) is
        reported as not existing since the clone's snapshot, but as an existing object in
        ``whole_object`` mode; a granule discard is reported as written."""
        self.parent_with_snap(lib, ioctx, b"P" * (12 * MiB))
        lib.RBD().clone(ioctx, "parent", "snap", ioctx, "child")
        with self.open(lib, ioctx, "child") as child:
            child.create_snap("cs")
            child.discard(4 * MiB, 4 * MiB)
            child.discard(GRANULE, GRANULE)
            assert child.read(4 * MiB, 4 * MiB) == bytes(4 * MiB)
            assert self.collect_diff(child, "cs") == [
                (GRANULE, GRANULE, True), (4 * MiB, 4 * MiB, False)
            ]
            assert self.collect_diff(child, "cs", whole_object=True) == [
                (0, 4 * MiB, True), (4 * MiB, 4 * MiB, True)
            ]

    def test_diff_reports_discard(self, lib: Any, ioctx: Any) -> None:
        self.create(lib, ioctx)
        with self.open(lib, ioctx) as img:
            img.write(b"d" * 4 * MiB, 4 * MiB)
            img.create_snap("s")
            img.discard(4 * MiB, 4 * MiB)
            extents = self.collect_diff(img, "s")
            assert self.covered(extents, exists=False) >= set(range(1024, 2048))

    def test_fancy_striping(self, lib: Any, ioctx: Any) -> None:
        self.create(lib, ioctx, "striped", stripe_unit=64 * 1024, stripe_count=4)
        data = pattern(10, 3 * MiB + 5000)
        with self.open(lib, ioctx, "striped") as img:
            assert img.stripe_unit() == 64 * 1024
            assert img.stripe_count() == 4
            assert img.features() & lib.FEATURE_STRIPINGV2
            img.write(data, 12345)
            assert img.read(12345, len(data)) == data
            img.create_snap("s")
            img.write(b"n" * 100, 12345)
        with self.open(lib, ioctx, "striped", snapshot="s") as snap:
            assert snap.read(12345, len(data)) == data

    def test_update_features(self, lib: Any, ioctx: Any) -> None:
        self.create(lib, ioctx)
        with self.open(lib, ioctx) as img:
            img.update_features(lib.FEATURE_FAST_DIFF | lib.FEATURE_OBJECT_MAP, False)
            assert not img.features() & lib.FEATURE_OBJECT_MAP
            img.write(b"x" * 4096, 4 * MiB)
            img.update_features(lib.FEATURE_OBJECT_MAP | lib.FEATURE_FAST_DIFF, True)
            assert img.features() & lib.FEATURE_FAST_DIFF
            img.create_snap("s")
            img.write(b"y" * 4096, 8 * MiB)
            blocks = self.covered(self.collect_diff(img, "s"))
            assert blocks == set(range(8 * MiB // 4096, 8 * MiB // 4096 + 1))
            with pytest.raises(lib.InvalidArgument):
                img.update_features(lib.FEATURE_LAYERING, False)

    # --- rename, trash, copy --------------------------------------------------------
    def test_rename(self, lib: Any, ioctx: Any) -> None:
        self.create(lib, ioctx, "old")
        with self.open(lib, ioctx, "old") as img:
            img.write(b"keep", 0)
        lib.RBD().rename(ioctx, "old", "new")
        assert lib.RBD().list(ioctx) == ["new"]
        with self.open(lib, ioctx, "new") as img:
            assert img.read(0, 4) == b"keep"

    def test_trash_move_restore_remove(self, lib: Any, ioctx: Any) -> None:
        rbd = lib.RBD()
        self.create(lib, ioctx, "t")
        with self.open(lib, ioctx, "t") as img:
            img.write(b"trash", 0)
            image_id = img.id()
        rbd.trash_move(ioctx, "t", 0)
        assert rbd.list(ioctx) == []
        assert [e["id"] for e in rbd.trash_list(ioctx)] == [image_id]
        rbd.trash_restore(ioctx, image_id, "t2")
        with self.open(lib, ioctx, "t2") as img:
            assert img.read(0, 5) == b"trash"
        rbd.trash_move(ioctx, "t2", 3600)
        with pytest.raises(lib.PermissionError):
            rbd.trash_remove(ioctx, image_id)
        rbd.trash_remove(ioctx, image_id, force=True)
        assert list(rbd.trash_list(ioctx)) == []

    def test_trash_hides_the_image(self, lib: Any, ioctx: Any) -> None:
        rbd = lib.RBD()
        self.create(lib, ioctx, "t")
        self.create(lib, ioctx, "other")
        with self.open(lib, ioctx, "t") as img:
            image_id = img.id()
        rbd.trash_move(ioctx, "t", 0)
        assert rbd.list(ioctx) == ["other"]
        with pytest.raises(lib.ImageNotFound):
            lib.Image(ioctx, "t")
        entry = rbd.trash_get(ioctx, image_id)
        assert (entry["id"], entry["name"], entry["source"]) == (image_id, "t", "USER")
        with lib.Image(ioctx, image_id=image_id, read_only=True) as img:
            assert img.size() == SIZE
        with pytest.raises(lib.ImageExists):
            rbd.trash_restore(ioctx, image_id, "other")
        for call in (
            lambda: rbd.trash_get(ioctx, "0123456789ab"),
            lambda: rbd.trash_remove(ioctx, "0123456789ab"),
            lambda: rbd.trash_restore(ioctx, "0123456789ab", "x"),
            lambda: rbd.trash_move(ioctx, "nope", 0),
        ):
            with pytest.raises(lib.ImageNotFound):
                call()
        rbd.trash_restore(ioctx, image_id, "t")
        assert sorted(rbd.list(ioctx)) == ["other", "t"]

    def test_trash_keeps_snapshots_and_children(self, lib: Any, ioctx: Any) -> None:
        """An image with snapshots can be trashed but not removed from the trash; a trashed
        clone still holds its parent snapshot (listed with ``trash`` True)."""
        rbd = lib.RBD()
        self.parent_with_snap(lib, ioctx)
        rbd.clone(ioctx, "parent", "snap", ioctx, "child")
        with self.open(lib, ioctx, "child") as img:
            child_id = img.id()
        rbd.trash_move(ioctx, "child", 0)
        with self.open(lib, ioctx, "parent", snapshot="snap") as snap:
            kids = snap.list_children2()
            assert [(c["image"], c["id"], c["trash"]) for c in kids] == [
                ("child", child_id, True)
            ]
        with self.open(lib, ioctx, "parent") as img:
            with pytest.raises(lib.ImageBusy):
                img.unprotect_snap("snap")
            parent_id = img.id()
        rbd.trash_move(ioctx, "parent", 0)
        with pytest.raises(lib.ImageHasSnapshots):
            rbd.trash_remove(ioctx, parent_id)
        rbd.trash_remove(ioctx, child_id)
        rbd.trash_restore(ioctx, parent_id, "parent")
        with self.open(lib, ioctx, "parent") as img:
            img.unprotect_snap("snap")

    def test_trash_purge_removes_only_expired(self, lib: Any, ioctx: Any) -> None:
        rbd = lib.RBD()
        for name, delay in (("now", 0), ("later", 3600)):
            self.create(lib, ioctx, name, size=MiB)
            rbd.trash_move(ioctx, name, delay)
        rbd.trash_purge(ioctx)
        assert [e["name"] for e in rbd.trash_list(ioctx)] == ["later"]

    def test_copy(self, lib: Any, ioctx: Any, ioctx2: Any) -> None:
        self.create(lib, ioctx, size=8 * MiB)
        with self.open(lib, ioctx) as img:
            img.write(pattern(9, 5 * MiB), MiB)
            img.copy(ioctx2, "copy")
        with self.open(lib, ioctx2, "copy") as dst:
            assert dst.size() == 8 * MiB
            assert dst.read(0, 8 * MiB) == bytes(MiB) + pattern(9, 5 * MiB) + bytes(2 * MiB)

    # --- a property: random operations against a plain bytes model --------------------
    @settings(
        max_examples=100,
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.differing_executors,
            HealthCheck.too_slow,
        ],
    )
    @given(ops=st.lists(_OPS, min_size=1, max_size=40))
    @example(ops=[("write", 0, 0, 5000), ("discard", 0, 10, 100), ("discard", 0, 4095, 2)])
    def test_random_ops_match_model(self, lib: Any, ioctx: Any, ops: list[Any]) -> None:
        tag = uuid.uuid4().hex[:8]
        run_model(lib, ioctx, tag, ops)


def discarded_ranges(
    offset: int, length: int, object_bytes: int, granule: int = GRANULE
) -> list[tuple[int, int]]:
    """The byte ranges librbd really zeroes for ``discard(offset, length)`` (already clipped
    to the image) on an image without fancy striping.

    Each object piece is shrunk inward to granule boundaries (granule = min(``granule``,
    object size)) and dropped if empty; only when the granule is the whole object and the
    piece runs to the object's end is the piece kept as it is (a truncation).
    """
    grain = min(granule, object_bytes)
    out: list[tuple[int, int]] = []
    pos, end = offset, offset + length
    while pos < end:
        base = pos - pos % object_bytes
        start, stop = pos - base, min(end, base + object_bytes) - base
        pos = base + stop
        if grain < object_bytes or stop < object_bytes:
            start = -(-start // grain) * grain
            stop -= stop % grain
        if start < stop:
            out.append((base + start, base + stop))
    return out


def run_model(lib: Any, io: Any, tag: str, ops: list[Any]) -> None:
    """Apply ``ops`` to real images (order 12: 4 KiB objects) and to bytearrays.

    Image handles stay open across operations (so write-back caching, once a
    ``flush`` switched it on, carries data between them) until a ``reopen``.
    """
    rbd = lib.RBD()
    names = [f"{tag}-0"]
    model: dict[str, bytearray] = {names[0]: bytearray(_SMALL)}
    snaps: dict[str, list[tuple[str, bytes]]] = {names[0]: []}
    rbd.create(io, names[0], _SMALL, order=_MODEL_OBJECT_BYTES.bit_length() - 1)
    handles: dict[str, Any] = {}
    try:
        for counter, (kind, which, a, b) in enumerate(ops):
            name = names[which % len(names)]
            if name not in handles:
                handles[name] = lib.Image(io, name)
            img = handles[name]
            _apply(lib, io, rbd, img, kind, counter, a, b, name, names, model, snaps, tag)
            data = model[name]
            assert img.size() == len(data)
            assert img.read(0, len(data)) == bytes(data), f"after {kind} on {name}"
            if kind == "reopen":
                handles.pop(name).close()
    finally:
        for handle in handles.values():
            handle.close()
    for name in names:
        with lib.Image(io, name, read_only=True) as img:
            assert img.read(0, len(model[name])) == bytes(model[name]), f"{name} after close"
        for snap, content in snaps[name]:
            with lib.Image(io, name, snapshot=snap) as at:
                assert at.read(0, len(content)) == content, f"{name}@{snap}"


def _apply(
    lib: Any,
    io: Any,
    rbd: Any,
    img: Any,
    kind: str,
    counter: int,
    a: int,
    b: int,
    name: str,
    names: list[str],
    model: dict[str, bytearray],
    snaps: dict[str, list[tuple[str, bytes]]],
    tag: str,
) -> None:
    data = model[name]
    if kind == "write" and a < len(data):
        payload = bytes([(counter % 250) + 1]) * min(b, len(data) - a)
        img.write(payload, a)
        data[a : a + len(payload)] = payload
    elif kind == "discard" and a < len(data):
        n = min(b, len(data) - a)
        img.discard(a, n)
        for start, end in discarded_ranges(a, n, _MODEL_OBJECT_BYTES):
            data[start:end] = bytes(end - start)
    elif kind == "resize":
        img.resize(a)
        del data[a:]
        data.extend(bytes(a - len(data)))
    elif kind == "snap":
        snap = f"s{counter}"
        img.create_snap(snap)
        snaps[name].append((snap, bytes(data)))
    elif kind == "rollback" and snaps[name]:
        snap, content = snaps[name][a % len(snaps[name])]
        img.rollback_to_snap(snap)
        model[name] = bytearray(content)
    elif kind == "rmsnap" and snaps[name]:
        snap, _content = snaps[name][a % len(snaps[name])]
        if not img.is_protected_snap(snap):
            img.remove_snap(snap)
            snaps[name] = [s for s in snaps[name] if s[0] != snap]
    elif kind == "clone" and snaps[name] and len(names) < 3:
        snap, content = snaps[name][a % len(snaps[name])]
        if not img.is_protected_snap(snap):
            img.protect_snap(snap)
        child = f"{tag}-{len(names)}"
        rbd.clone(io, name, snap, io, child)
        names.append(child)
        model[child] = bytearray(content)
        snaps[child] = []
    elif kind == "flatten":
        try:
            img.parent_info()
        except lib.ImageNotFound:
            return
        img.flatten()
    elif kind == "flush":
        img.flush()


class EmbeddedRbdContract(RbdContract):
    """Behaviour of shoal's engine where librbd has no equivalent to compare."""

    def test_second_writer_waits_for_the_first(self, lib: Any, ioctx: Any) -> None:
        """A writer waits while another live handle holds the lock it took automatically,
        and goes on once that handle closes (librbd asks the owner instead)."""
        self.create(lib, ioctx)
        first = self.open(lib, ioctx)
        first.write(b"mine", 0)
        done: list[bytes] = []
        with self.open(lib, ioctx) as second:
            writer = threading.Thread(target=lambda: (second.write(b"yours", 0),
                                                      done.append(second.read(0, 5))))
            writer.start()
            writer.join(0.3)
            assert writer.is_alive() and not done  # still waiting for the lock
            first.close()
            writer.join(30)
            assert done == [b"yours"]

    def test_explicit_lock_owner_keeps_it(self, lib: Any, ioctx: Any) -> None:
        """A handle that took the lock with lock_acquire keeps it: other writers fail."""
        self.create(lib, ioctx)
        with self.open(lib, ioctx) as first, self.open(lib, ioctx) as second:
            first.lock_acquire(lib.RBD_LOCK_MODE_EXCLUSIVE)
            first.write(b"mine", 0)
            with pytest.raises(lib.ImageBusy):
                second.write(b"yours", 0)
            assert second.read(0, 4) == b"mine"
        with self.open(lib, ioctx) as third:
            third.write(b"free", 0)

    def test_writeback_cache_after_first_flush(self, lib: Any, ioctx: Any) -> None:
        """rbd cache + writethrough until flush: write-through until the first flush,
        then writes stay in the handle until the next flush (or close)."""
        self.create(lib, ioctx)
        with self.open(lib, ioctx) as img:
            img.write(b"through", 0)
            with self.open(lib, ioctx, read_only=True) as other:
                assert other.read(0, 7) == b"through"
            img.flush()
            img.write(b"cached!", 0)
            assert img.read(0, 7) == b"cached!"
            with self.open(lib, ioctx, read_only=True) as other:
                assert other.read(0, 7) == b"through"
            img.flush()
            with self.open(lib, ioctx, read_only=True) as other:
                assert other.read(0, 7) == b"cached!"
            img.write(b"closing", 0)
        with self.open(lib, ioctx, read_only=True) as other:
            assert other.read(0, 7) == b"closing"

    def test_cache_options_from_conf(self, lib: Any, ioctx: Any) -> None:
        conf = {"rbd_cache": "false", "rbd_default_features": "layering,exclusive-lock"}
        opts = lib.RbdOptions.from_conf(conf.get)
        assert opts.cache is False
        lib.RBD(opts).create(ioctx, "plain", SIZE)
        with lib.Image(ioctx, "plain", options=opts) as img:
            assert img.features() == lib.FEATURE_LAYERING | lib.FEATURE_EXCLUSIVE_LOCK
            img.flush()
            img.write(b"direct", 0)
            with self.open(lib, ioctx, "plain", read_only=True) as other:
                assert other.read(0, 6) == b"direct"
        with pytest.raises(lib.InvalidArgument):
            lib.RbdOptions.from_conf({"rbd_cache": "maybe"}.get)

    def test_lock_of_a_dead_owner_is_broken(self, lib: Any, ioctx: Any, tmp_path: Any,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
        """A writer killed with SIGKILL leaves the lock behind; the next writer takes it.
        (While it lives, the embedded engine waits for it up to the lock-wait bound: 1 s
        here instead of 30.)"""
        from shoal import limits

        monkeypatch.setattr(limits, "exclusive_lock_wait_s_max", 1.0)
        import os
        import signal
        import subprocess
        import sys

        store = getattr(ioctx, "store", None)
        if store is None:
            pytest.skip("needs an on-disk store another process can open")
        self.create(lib, ioctx)
        code = (
            "import sys, time\n"
            "from pathlib import Path\n"
            "from shoal.objstore.local import LocalStore\n"
            "import shoal.rbd as rbd\n"
            "io = LocalStore(Path(sys.argv[1])).open_ioctx(sys.argv[2])\n"
            "img = rbd.Image(io, 'img')\n"
            "img.write(b'dead', 0)\n"
            "print('locked', flush=True)\n"
            "time.sleep(60)\n"
        )
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
        with subprocess.Popen(
            [sys.executable, "-c", code, str(store.root), ioctx.pool_name],
            stdout=subprocess.PIPE,
            env=env,
        ) as child:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == b"locked"
            with self.open(lib, ioctx) as img, pytest.raises(lib.ImageBusy):
                img.write(b"live", 0)
            child.send_signal(signal.SIGKILL)
            child.wait()
        with self.open(lib, ioctx) as img:
            assert img.read(0, 4) == b"dead"
            img.write(b"mine", 0)
            assert img.is_exclusive_lock_owner()

    def test_remove_while_locked_is_busy(self, lib: Any, ioctx: Any) -> None:
        self.create(lib, ioctx)
        with self.open(lib, ioctx) as img:
            img.write(b"x", 0)
            with pytest.raises(lib.ImageBusy):
                lib.RBD().remove(ioctx, "img")
