"""The object-store contract, run against :class:`shoal.objstore.local.LocalStore`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shoal.objstore import ObjectStore
from shoal.objstore.local import LocalStore

from .objstore_contract import ObjectStoreContract


class TestLocalStore(ObjectStoreContract):
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
