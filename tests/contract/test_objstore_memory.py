"""The object-store contract, run against :class:`shoal.objstore.memory.MemoryStore`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shoal import errors
from shoal.objstore import ObjectStore
from shoal.objstore.memory import MemoryStore

from .objstore_contract import ObjectStoreContract
from .snapshot_contract import SnapshotContract


class TestMemoryStore(ObjectStoreContract, SnapshotContract):
    @pytest.fixture
    def store(self) -> Iterator[ObjectStore]:
        with MemoryStore() as store:
            yield store

    def test_closed_store_is_unavailable(self) -> None:
        """Memory-specific: close() drops everything and later calls fail."""
        store = MemoryStore()
        store.create_pool("p")
        ioctx = store.open_ioctx("p")
        ioctx.write("o", b"x")
        store.close()
        store.close()  # idempotent
        with pytest.raises(errors.Unavailable):
            ioctx.read("o")
        with pytest.raises(errors.Unavailable):
            store.list_pools()
