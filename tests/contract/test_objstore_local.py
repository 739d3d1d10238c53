"""The object-store contract, run against :class:`shoal.objstore.local.LocalStore`."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from shoal import errors
from shoal.objstore import CloneInfo, ObjectStore
from shoal.objstore.local import LocalStore

from .objstore_contract import ObjectStoreContract
from .snapshot_contract import SnapshotContract


class TestLocalStore(ObjectStoreContract, SnapshotContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[ObjectStore]:
        with LocalStore(tmp_path / "osd") as store:
            yield store

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
