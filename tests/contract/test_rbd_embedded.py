"""The RBD contract, run against shoal's embedded engine on the local object store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import shoal.rbd
from shoal.objstore.local import LocalStore

from .rbd_contract import EmbeddedRbdContract


class TestEmbeddedRbd(EmbeddedRbdContract):
    @pytest.fixture
    def lib(self) -> ModuleType:
        return shoal.rbd

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[LocalStore]:
        with LocalStore(tmp_path / "osd") as store:
            store.create_pool("rbd", 8)
            store.create_pool("rbd2", 8)
            yield store

    @pytest.fixture
    def ioctx(self, store: LocalStore) -> Any:
        return store.open_ioctx("rbd")

    @pytest.fixture
    def ioctx2(self, store: LocalStore) -> Any:
        return store.open_ioctx("rbd2")
