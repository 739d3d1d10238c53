"""The clone-history contract against real librbd (Ceph's own python ``rbd``)."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from tests.contract.rbd_contract_history import CloneHistoryContract

from .conftest import import_ceph_bindings, temporary_pool


class TestCephCloneHistory(CloneHistoryContract):
    @pytest.fixture
    def lib(self, rados_cluster: Any) -> Any:
        _, rbd = import_ceph_bindings()
        return SimpleNamespace(
            RBD=rbd.RBD,
            Image=rbd.Image,
            FEATURE_LAYERING=rbd.RBD_FEATURE_LAYERING,
            FEATURE_DEEP_FLATTEN=rbd.RBD_FEATURE_DEEP_FLATTEN,
        )

    @pytest.fixture
    def ioctx(self, rados_cluster: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
        with temporary_pool(rados_cluster, request.node.name) as pool:
            io = rados_cluster.open_ioctx(pool)
            try:
                yield io
            finally:
                io.close()
