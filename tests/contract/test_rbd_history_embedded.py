"""The clone-history contract, run against shoal's embedded engine on the local object store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import shoal.rbd
from shoal.objstore.local import LocalStore

from .rbd_contract_history import CloneHistoryContract


class TestEmbeddedCloneHistory(CloneHistoryContract):
    @pytest.fixture
    def lib(self) -> ModuleType:
        return shoal.rbd

    @pytest.fixture
    def ioctx(self, tmp_path: Path) -> Iterator[Any]:
        with LocalStore(tmp_path / "osd") as store:
            store.create_pool("rbd", 8)
            yield store.open_ioctx("rbd")
