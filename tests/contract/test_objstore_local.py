"""The object-store contract, run against :class:`shoal.objstore.local.LocalStore`."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shoal import errors
from shoal.objstore import CloneInfo, ObjectStore
from shoal.objstore.local import LocalStore

from . import snapshot_contract as sc
from .objstore_contract import ObjectStoreContract
from .snapshot_contract import SnapshotContract

#: Histories for layered heads (``shoal.objstore._layers``): two objects of ~1 MB, then
#: snaps and writes across 64 KiB copy-on-write chunks (in part, whole, past the end),
#: truncates, zeros, rollbacks and snap removals.
_OBJ = st.integers(0, 1)
_DATA = st.tuples(st.binary(min_size=1, max_size=8), st.sampled_from([1, 3_001, 70_001])
                  ).map(lambda t: t[0] * t[1])
_WRITE = st.tuples(st.just("write"), _OBJ, st.integers(0, 1_100_000), st.just(0), _DATA)
_CHUNKY_STEPS = st.lists(
    st.one_of(
        _WRITE, _WRITE, _WRITE,
        st.tuples(st.just("snap"), _OBJ, st.just(0), st.just(0), st.just(b"")),
        st.tuples(st.just("snap"), _OBJ, st.just(0), st.just(0), st.just(b"")),
        st.tuples(st.just("rmsnap"), _OBJ, st.integers(0, 3), st.integers(0, 1), st.just(b"")),
        st.tuples(st.just("rollback"), _OBJ, st.integers(0, 5), st.just(0), st.just(b"")),
        st.tuples(st.just("trunc"), _OBJ, st.integers(0, 1_200_000), st.just(0), st.just(b"")),
        st.tuples(st.just("zero"), _OBJ, st.integers(0, 1_100_000), st.integers(0, 300_000),
                  st.just(b"")),
        st.tuples(st.just("xattr"), _OBJ, st.integers(0, 2), st.just(0), st.binary(max_size=4)),
    ),
    min_size=3, max_size=25,
)
_FIRST = [("write_full", k, 0, 0, bytes(range(k, 251 + k)) * 4_000) for k in (0, 1)]


class TestLocalStore(ObjectStoreContract, SnapshotContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[ObjectStore]:
        with LocalStore(tmp_path / "osd") as store:
            yield store

    @settings(max_examples=60, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture,
                                     HealthCheck.differing_executors])
    @given(steps=_CHUNKY_STEPS)
    def test_layered_heads_match_model(self, snap_io: sc.IoCtx, steps: list[sc.SnapStep]
                                       ) -> None:
        """Local-specific: snapshot histories across copy-on-write chunks, checked
        against the model after every step: heads get layered over clones, copy chunks
        up, flatten on truncate/zero, fill in for a newer clone, unlayer when the snap
        under them is trimmed."""
        inner = SnapshotContract.test_snapshot_histories_match_model.hypothesis.inner_test
        inner(self, snap_io, [*_FIRST, *steps])

    def test_state_survives_reopen(self, tmp_path: Path) -> None:
        """Local-specific: a second open of the same root sees everything."""
        root = tmp_path / "osd2"
        with LocalStore(root) as first:
            first.create_pool("p", 4)
            io = first.open_ioctx("p")
            io.write("o", b"data", 3)
            io.set_xattr("o", "k", b"v")
            io.omap_set("o", {"a": b"1"})
        with LocalStore(root) as second:
            io = second.open_ioctx("p")
            assert io.read("o") == b"\0\0\0data"
            assert io.get_xattr("o", "k") == b"v"
            assert io.omap_get_vals_by_keys("o", ["a"]) == {"a": b"1"}
            assert second.get_pool("p").pg_num == 4

    def test_snapshots_survive_reopen(self, tmp_path: Path) -> None:
        """Local-specific: snap ids, clones and removed snaps are persistent."""
        root = tmp_path / "osd3"
        with LocalStore(root) as first:
            first.create_pool("p", 4)
            io = first.open_ioctx("p")
            io.write_full("o", b"one")
            io.set_xattr("o", "x", b"1")
            s1 = io.create_self_managed_snap()
            s2 = io.create_self_managed_snap()
            io.set_self_managed_snap_write([s1, s2])
            io.write_full("o", b"two")
            io.remove_self_managed_snap(s2)
        with LocalStore(root) as second:
            io = second.open_ioctx("p")
            assert io.create_self_managed_snap() == s2 + 1
            assert io.list_snaps("o").clones == (CloneInfo(s2, (s1,), 3),)
            io.set_read(s1)
            assert io.read("o") == b"one"
            assert io.get_xattrs("o") == {"x": b"1"}
            writer = io.dup()
            writer.set_self_managed_snap_write([s2 + 1, s2], s2 + 1)
            writer.write_full("o", b"three")
            # s2 stays removed: the new clone covers only s2 + 1
            assert writer.list_snaps("o").clones == (
                CloneInfo(s2, (s1,), 3),
                CloneInfo(s2 + 1, (s2 + 1,), 3),
            )

    def test_snapshot_data_files_are_accounted_for(self, tmp_path: Path) -> None:
        """Local-specific: clones own their files; trimming and removing unlink them."""
        root = tmp_path / "osd4"

        def data_files() -> list[Path]:
            return [f for f in (root / "pgs").rglob("*") if f.is_file() and f.name != "lock"]

        with LocalStore(root) as store:
            store.create_pool("p", 4)
            io = store.open_ioctx("p")
            for k in range(8):
                io.write_full(f"o{k}", bytes([k]) * 10_000)
            assert len(data_files()) == 8
            s1 = io.create_self_managed_snap()
            io.set_self_managed_snap_write([s1])
            for k in range(8):
                io.write(f"o{k}", b"new", 5)  # clone takes the file, head gets a new one
            assert len(data_files()) == 16
            s2 = io.create_self_managed_snap()
            io.set_self_managed_snap_write([s1, s2])
            for k in range(4):
                io.rollback_self_managed_snap(f"o{k}", s1)  # clone at s2 + new head file
            assert len(data_files()) == 20
            assert store.scrub() == 0
            io.remove_self_managed_snap(s1)
            assert len(data_files()) == 12
            for k in range(8):
                io.remove_object(f"o{k}")
            # the clones at s2: o0..o3 had one already, o4..o7 got one from the removal
            assert len(data_files()) == 8
            io.remove_self_managed_snap(s2)
            assert data_files() == []
            assert store.scrub() == 0
            for k in range(8):
                with pytest.raises(errors.ObjectNotFound):
                    io.list_snaps(f"o{k}")

    def test_clone_copy_keeps_holes(self, tmp_path: Path) -> None:
        """Local-specific: the head's copy of a cloned object stays sparse."""
        root = tmp_path / "osd5"
        with LocalStore(root) as store:
            store.create_pool("p", 1)
            io = store.open_ioctx("p")
            io.write("o", b"a" * 4096, 0)
            io.write("o", b"z" * 4096, (4 << 20) - 4096)
            (first,) = [f for f in (root / "pgs").rglob("*.*") if f.name != "lock"]
            if first.stat().st_blocks * 512 >= 1 << 20:
                pytest.skip("this filesystem does not keep holes")
            s1 = io.create_self_managed_snap()
            io.set_self_managed_snap_write([s1])
            io.set_xattr("o", "k", b"v")  # any change copies the data to a new head file
            files = [f for f in (root / "pgs").rglob("*.*") if f.name != "lock"]
            assert len(files) == 2
            for f in files:
                assert f.stat().st_size == 4 << 20
                assert f.stat().st_blocks * 512 < 1 << 20, f
            assert io.read("o", 4096, 0) == b"a" * 4096
            assert io.read("o", 4096, 4096) == bytes(4096)
            assert io.read("o", 4096, (4 << 20) - 4096) == b"z" * 4096

    def test_a_write_after_a_snap_copies_one_chunk_not_the_object(self, tmp_path: Path
                                                                    ) -> None:
        """Local-specific: the first write after a snap lays the head over the clone's
        file: the head's new file holds the chunks written (one copied up), the clone
        keeps the old bytes; trimming the snap makes the head whole again."""
        root = tmp_path / "osd7"
        with LocalStore(root) as store:
            store.create_pool("p", 1)
            io = store.open_ioctx("p")
            old = bytes(range(256)) * (4 << 12)  # 4 MiB
            io.write_full("o", old)
            s1 = io.create_self_managed_snap()
            io.set_self_managed_snap_write([s1])
            io.write("o", b"N" * 100, 70_000)  # inside chunk 1, in part: copied up first
            db = sqlite3.connect(root / "store.db")
            ((base, own),) = db.execute("SELECT base, own FROM objects WHERE base != 0")
            assert base != 0 and int.from_bytes(own, "little") == 0b10
            files = sorted((f for f in (root / "pgs").rglob("*.*") if f.name != "lock"),
                           key=lambda f: f.stat().st_blocks)
            assert [f.stat().st_size for f in files] == [4 << 20, 4 << 20]
            assert files[0].stat().st_blocks * 512 <= 128 * 1024, "the head copied more"
            new = bytearray(old)
            new[70_000:70_100] = b"N" * 100
            assert io.read("o", len(old), 0) == bytes(new)
            io.write("o", b"W" * (1 << 20), 2 << 20)  # whole chunks: nothing copied up
            new[2 << 20:3 << 20] = b"W" * (1 << 20)
            assert io.read("o", len(old), 0) == bytes(new)
            # the chunks the head does not own are the clone's bytes (RADOS clone_overlap)
            (clone,) = io.list_snaps("o").clones
            kib = 1 << 10
            assert clone.overlap == ((0, 64 * kib), (128 * kib, (2 << 20) - 128 * kib),
                                     (3 << 20, 1 << 20))
            with sc.reader(io, s1) as r:
                assert r.read("o", len(old), 0) == old
            io.remove_self_managed_snap(s1)  # the clone's file goes: the head is filled
            assert db.execute("SELECT COUNT(*) FROM objects WHERE base != 0").fetchone() == (0,)
            db.close()
            assert io.read("o", len(old), 0) == bytes(new)
            assert [f.stat().st_size for f in (root / "pgs").rglob("*.*")
                    if f.name != "lock"] == [4 << 20]
            assert store.scrub() == 0

    def test_schema_2_gains_layered_heads(self, tmp_path: Path) -> None:
        """Local-specific: a store of schema 2 (before layered heads) opens, its objects
        plain heads; its data and snapshots are kept."""
        root = tmp_path / "osd8"
        with LocalStore(root) as first:
            first.create_pool("p", 1)
            io = first.open_ioctx("p")
            io.write_full("o", b"x" * 100_000)
        db = sqlite3.connect(root / "store.db")
        db.execute("ALTER TABLE objects DROP COLUMN own")
        db.execute("ALTER TABLE objects DROP COLUMN base")
        db.execute("UPDATE meta SET v = 2 WHERE k = 'schema'")
        db.commit()
        db.close()
        with LocalStore(root) as second:
            io = second.open_ioctx("p")
            assert io.read("o", 200_000, 0) == b"x" * 100_000
            s1 = io.create_self_managed_snap()
            io.set_self_managed_snap_write([s1])
            io.write("o", b"y", 99_999)
            assert io.read("o", 200_000, 0) == b"x" * 99_999 + b"y"

    def test_old_schema_is_refused(self, tmp_path: Path) -> None:
        """Local-specific: a data directory of another schema is not opened."""
        root = tmp_path / "osd6"
        root.mkdir()
        db = sqlite3.connect(root / "store.db")
        db.execute("CREATE TABLE meta(k TEXT PRIMARY KEY, v INTEGER NOT NULL)")
        db.execute("INSERT INTO meta VALUES ('schema', 1)")
        db.commit()
        db.close()
        with pytest.raises(errors.Unavailable):
            LocalStore(root)
